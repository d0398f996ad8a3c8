"""The Ray Tune wiring: the trainable and its epoch reports, the searcher over the Optuna study,
ASHA, TensorBoard curves, the terminal's progress table, Ray's start or join, and the rows
of ``trials.parquet``.

Keras and TensorFlow are imported inside trials only (``_trainable``): the driver never pays
for them.
"""

from search.tuning._autoscaler import (
    EC2_INSTANCE_TYPES,
    autoscaler_max_trials,
    node_type_resources,
    read_launcher_config,
    waiting_for_gpus_note,
)
from search.tuning._checkpoints import CHECKPOINTS_KEPT, remove_trial_checkpoints
from search.tuning._curves import FLUSH_SECONDS, SCALAR_TAGS, TrialCurves
from search.tuning._heartbeat import Heartbeat
from search.tuning._plan import SearchPlan
from search.tuning._progress import CompactProgress
from search.tuning._ray_cluster import (
    WORKER_ENV,
    ClusterError,
    NodeWaitTimeout,
    RayCluster,
    shutdown_ray,
    start_ray,
    wait_for_first_trial,
)
from search.tuning._ray_compat import (
    launcher_prepared,
    restored_scheduler,
    restored_tune_config,
    result_grid_trials,
)
from search.tuning._scheduler import (
    ASHA_GRACE_EPOCHS,
    ASHA_REDUCTION_FACTOR,
    SIZE_AWARE_GRACE_EPOCHS,
    SIZE_BANDS,
    RecordingASHA,
    BandedASHA,
    size_band,
)
from search.tuning._searcher import (
    STOPPED_BY,
    TUNE_TRIAL_ID,
    StudyCloser,
    StudySearcher,
)
from search.tuning._target import TargetReached
from search.tuning._trainable import train_trial
from search.tuning._trial_rows import TRIAL_STATES, trial_rows
from search.tuning._tuner import (
    default_concurrency,
    make_run_config,
    make_scheduler,
    make_searcher,
    make_trainable,
    make_tuner,
    start_points_within_budget,
)

__all__ = [
    "ASHA_GRACE_EPOCHS",
    "ASHA_REDUCTION_FACTOR",
    "CHECKPOINTS_KEPT",
    "EC2_INSTANCE_TYPES",
    "FLUSH_SECONDS",
    "SCALAR_TAGS",
    "SIZE_AWARE_GRACE_EPOCHS",
    "SIZE_BANDS",
    "STOPPED_BY",
    "TRIAL_STATES",
    "TUNE_TRIAL_ID",
    "WORKER_ENV",
    "ClusterError",
    "CompactProgress",
    "Heartbeat",
    "NodeWaitTimeout",
    "RayCluster",
    "RecordingASHA",
    "SearchPlan",
    "BandedASHA",
    "StudyCloser",
    "StudySearcher",
    "TargetReached",
    "TrialCurves",
    "autoscaler_max_trials",
    "default_concurrency",
    "launcher_prepared",
    "make_run_config",
    "make_scheduler",
    "make_searcher",
    "make_trainable",
    "make_tuner",
    "node_type_resources",
    "read_launcher_config",
    "remove_trial_checkpoints",
    "restored_scheduler",
    "restored_tune_config",
    "result_grid_trials",
    "shutdown_ray",
    "size_band",
    "start_points_within_budget",
    "start_ray",
    "train_trial",
    "trial_rows",
    "wait_for_first_trial",
    "waiting_for_gpus_note",
]
