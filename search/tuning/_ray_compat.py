"""The one place the service reaches into Ray's private names, each for a public API Ray lacks.

Ray is pinned (``pyproject.toml``); ``tests/tuning/test_ray_compat.py`` checks every function
here against the installed Ray, so an upgrade that moves a name fails there first.
"""

from __future__ import annotations

import copy
from typing import Any

from ray import tune
from ray.autoscaler._private.util import prepare_config, validate_config


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


def launcher_prepared(cluster_config: dict[str, Any]) -> dict[str, Any]:
    """``cluster.yaml`` as ``ray up`` makes it before it contacts the cloud: merged with the
    provider's defaults shipped in Ray, setup commands split, per-type worker limits filled;
    raises when the file is invalid (Ray's JSON schema and its head-node rules).

    Missing public API: ``ray up`` has no dry run (Ray 2.60); these are the two functions it
    calls first, ``ray.autoscaler._private.util.prepare_config`` and ``validate_config``.
    """
    prepared = prepare_config(copy.deepcopy(cluster_config))
    validate_config(prepared)
    return prepared
