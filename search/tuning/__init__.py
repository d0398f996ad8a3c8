"""The Ray Tune wiring: the trainable and its epoch reports, the searcher over the Optuna study,
ASHA, TensorBoard curves, the terminal's progress table and the rows of ``trials.parquet``.
Ray itself is started or joined by ``search.cluster``.

Keras and TensorFlow are imported inside trials only (``_trainable``): the driver never pays
for them.
"""

from search.tuning._checkpoints import CHECKPOINTS_KEPT, remove_trial_checkpoints
from search.tuning._heartbeat import Heartbeat
from search.tuning._plan import SearchPlan
from search.tuning._progress import CompactProgress
from search.tuning._ray_compat import restored_scheduler, restored_tune_config, result_grid_trials
from search.tuning._scheduler import RecordingASHA
from search.tuning._trial_rows import trial_rows
from search.tuning._tuner import (
    default_concurrency,
    make_scheduler,
    make_searcher,
    make_trainable,
    make_tuner,
    start_points_within_budget,
)

__all__ = [
    "CHECKPOINTS_KEPT",
    "CompactProgress",
    "Heartbeat",
    "RecordingASHA",
    "SearchPlan",
    "default_concurrency",
    "make_scheduler",
    "make_searcher",
    "make_trainable",
    "make_tuner",
    "remove_trial_checkpoints",
    "restored_scheduler",
    "restored_tune_config",
    "result_grid_trials",
    "start_points_within_budget",
    "trial_rows",
]
