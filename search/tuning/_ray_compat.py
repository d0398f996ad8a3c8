"""The one place the Tune wiring reaches into Ray's private names, each for a public API Ray lacks
(the cluster launcher's are in ``search/cluster/_ray_launcher.py``).

Ray is pinned (``pyproject.toml``); ``tests/tuning/test_ray_compat.py`` checks every function
here against the installed Ray, so an upgrade that moves a name fails there first.
"""

from __future__ import annotations

from typing import Any

from ray import tune


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
