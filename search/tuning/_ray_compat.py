"""The one place the Tune wiring reaches into Ray's private names, each for a public API Ray lacks
(the cluster launcher's are in ``search/cluster/_ray_launcher.py``).

Ray is pinned (``pyproject.toml``); ``tests/tuning/test_ray_compat.py`` checks every function
here against the installed Ray, so an upgrade that moves a name fails there first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from ray import tune
from ray.tune.logger import JsonLoggerCallback


def restored_tune_config(tuner: tune.Tuner) -> tune.TuneConfig:
    """The ``TuneConfig`` that ``Tuner.restore`` unpickled, to be changed before ``fit``.

    Missing public API: ``Tuner.restore(path, trainable, param_space, resume_*, ...)`` takes
    no ``TuneConfig`` (Ray 2.60), so a resumed search can neither be given the time budget it
    has left nor be handed back the scheduler it was pickled with except through here.
    """
    return tuner._local_tuner._tune_config


def restored_scheduler(tuner: tune.Tuner) -> Any:
    """The scheduler ``Tuner.restore`` unpickled (the same missing API as above)."""
    return restored_tune_config(tuner).scheduler


def result_grid_trials(grid: tune.ResultGrid) -> list[Any]:
    """Tune's ``Trial`` objects behind a ``ResultGrid``, in the grid's order.

    Missing public API: a ``Result`` has no trial status (TERMINATED, ERROR, PENDING) and no
    error file, which tell a trial the budget cut from one that was interrupted or failed.
    """
    return list(grid._experiment_analysis.trials)


class TrialResultLog(JsonLoggerCallback):
    """Tune's ``result.json`` logger, but a trial retried in the same search keeps the lines the
    driver already wrote.

    Tune's logger, when a trial starts again from a checkpoint (its node was lost, say),
    replaces the driver's copy of the trial's ``result.json`` with the one at the storage
    path. With results at a storage URI that copy is only as new as Tune's last upload, so
    the epochs reported since then vanished from the log, and with them from the trial's
    row (seen: a trial retried after its first epoch kept epochs 2 and 3 only, and was
    counted as cut by the budget). Here the storage's copy is taken only when the driver has
    none as long (a search resumed by a new driver, whose staging folder is empty).

    Private name: ``LoggerCallback._restore_from_remote(file_name, trial)`` (Ray 2.60), the
    step Tune's logger takes at each trial start; there is no public hook for it.
    """

    def _restore_from_remote(self, file_name: str, trial: Any) -> None:
        local = Path(trial.local_path, file_name)
        if local.is_file():
            remote = Path(trial.storage.trial_fs_path, file_name).as_posix()
            stored = trial.storage.storage_filesystem.get_file_info(remote)
            if stored.type != pafs.FileType.File or stored.size <= local.stat().st_size:
                return  # the driver's own copy is the longer one: both only ever grow
        super()._restore_from_remote(file_name, trial)
