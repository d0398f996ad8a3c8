"""From the parsed command line to the plain settings each step is handed, and to the run's
record; and back, from a run's record to the settings its ``--resume`` runs with."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mnist_models import Mnist, SearchSplit, keras_backend
from search.cli import RunOptions, parse_options
from search.confirmation import ConfirmSettings, confirm_seeds
from search.run_folder import (
    NOTEBOOK_CACHE_FOLDER,
    RUN_RUNNING,
    SHIPPED_DATA,
    ConfirmOptions,
    Driver,
    RunRecord,
    driver_identity,
    library_versions,
    now,
    run_uri,
)
from search.study import WarmStart
from search.verdict import published_bar
from search.cluster import RayCluster
from search.tuning import SearchPlan, default_concurrency

# The settings of a run that its record keeps under the same name as ``RunOptions``.
_SAME_NAMED = ("space", "seed", "train_limit", "max_epochs", "num_samples", "time_budget_s", "objective",
               "max_params", "stop_at", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "max_failures")
# ``RunOptions``' names of what the record keeps in ``confirm_options``, by the record's names.
_CONFIRM_NAMES = {"enabled": "confirm", "top_k": "top_k", "seeds": "confirm_seeds", "train_limit": "confirm_train_limit",
                  "budget_s": "confirm_budget_s"}


def search_plan(options: RunOptions, *, name: str, run_dir: Path, cluster: RayCluster) -> SearchPlan:
    return SearchPlan(
        space=options.space, name=name, run_dir=run_dir, num_samples=options.num_samples,
        time_budget_s=options.time_budget_s, max_epochs=options.max_epochs,
        max_concurrent=options.max_concurrent or default_concurrency(
            cluster.resources, cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial),
        cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial,
        seed=options.seed, max_failures=options.max_failures, storage_uri=run_uri(options.results, name),
        objective=options.objective, max_params=options.max_params, stop_at=options.stop_at,
    )


def confirm_settings(options: RunOptions, record: RunRecord) -> ConfirmSettings | None:
    """The confirmation's settings, or None for ``--no-confirm``."""
    if not options.confirm:
        return None
    return ConfirmSettings(
        top_k=options.top_k, seeds=confirm_seeds(options.seed, options.confirm_seeds),
        train_limit=options.confirm_train_limit, cpus_per_job=options.cpus_per_trial,
        gpus_per_job=options.gpus_per_trial, concurrency=int(record.max_concurrent),
        cache_folder=Path(options.results).expanduser().resolve() / NOTEBOOK_CACHE_FOLDER,
        versions=record.versions, search_train_images=record.search_train_images,
        max_failures=options.max_failures,
        # Smoke runs (--confirm-train-limit) also cap the notebook models' epochs at --max-epochs.
        notebook_max_epochs=options.max_epochs if options.confirm_train_limit else None,
        budget_s=options.confirm_budget_s,
        objective=options.objective,
        threshold=published_bar(record.data_file),
        # The run's backend; a record of an older version lacks it: this process's, which the jobs inherit.
        keras_backend=record.keras_backend or keras_backend(),
    )


def new_run_record(options: RunOptions, *, plan: SearchPlan, mnist: Mnist, split: SearchSplit,
                   cluster: RayCluster, warm_start: WarmStart | None = None) -> RunRecord:
    """What ``run.json`` holds when a run starts: every setting its ``--resume`` needs among them."""
    return RunRecord(
        name=plan.name,
        command="python -m search.run " + " ".join(options.argv),
        argv=list(options.argv),
        data=options.data or SHIPPED_DATA,
        data_sha256=mnist.sha256,
        **recorded_settings(options, max_concurrent=plan.max_concurrent),
        warm_start_from=warm_start.runs if warm_start else [],
        search_train_images=int(split.x_train.shape[0]),
        validation_images=int(split.x_val.shape[0]),
        data_train_images=int(mnist.x_train.shape[0]),
        data_test_images=int(mnist.x_test.shape[0]),
        cluster_resources=cluster.resources,
        # Seconds the run waited, before its search and budget began, for the cluster to start a
        # node that holds a trial (a cluster launched with no GPU node, say).
        waited_for_nodes_s=round(cluster.waited_for_nodes_s, 1),
        versions=library_versions(),
        keras_backend=keras_backend(),
        started=now(),
        ended=None,
        state=RUN_RUNNING,
        driver=this_driver(),
        heartbeat=now(),
    )


def recorded_settings(options: RunOptions, *, max_concurrent: int) -> dict[str, Any]:
    """The run's settings as its record keeps them (``RunRecord``'s names); ``max_concurrent``
    is the one the run uses (the cluster's room when ``--max-concurrent`` was not given)."""
    settings = {name: getattr(options, name) for name in _SAME_NAMED}
    settings["max_concurrent"] = max_concurrent
    settings["confirm_options"] = ConfirmOptions(
        **{field: getattr(options, option) for field, option in _CONFIRM_NAMES.items()})
    return settings


def this_driver() -> Driver:
    """This process, as the record names the run's driver."""
    return Driver.from_json(driver_identity())


def resumed_options(record: RunRecord, options: RunOptions, *, name: str) -> RunOptions:
    """The settings a resumed run runs with: every one the run's record kept, whatever today's
    defaults are; where to run and write (address, dashboard, results, name) from the
    resuming command ``options``."""
    from_argv = options_from_recorded_argv(record) if _lacks_settings(record) else None
    settings: dict[str, Any] = {}
    for option in _SAME_NAMED:
        settings[option] = getattr(record, option) if record.recorded(option) else getattr(from_argv, option)
    recorded_confirm = record.confirm_options or ConfirmOptions(unrecorded=frozenset(_CONFIRM_NAMES))
    for field, option in _CONFIRM_NAMES.items():
        settings[option] = (getattr(recorded_confirm, field) if recorded_confirm.recorded(field)
                            else getattr(from_argv, option))
    if record.recorded("data"):
        settings["data"] = record.data_file
    else:
        settings["data"] = from_argv.data
    return RunOptions(
        **settings, argv=tuple(record.argv), results=options.results, name=name, address=options.address,
        dashboard=options.dashboard, resume=None, warm_start=(),
    )


def options_from_recorded_argv(record: RunRecord) -> RunOptions:
    """The run's command line as today's parser reads it, with today's defaults.

    Only for a record written before every setting was recorded (a run.json of an older
    version lacks ``max_failures`` and ``confirm_options``, say): for those settings its
    command line is all that is left, and what the command did not give is today's default,
    which may not be what the run used. Every setting the record holds wins over this.
    """
    return parse_options(record.argv)


def _lacks_settings(record: RunRecord) -> bool:
    confirm = record.confirm_options
    return (any(not record.recorded(name) for name in (*_SAME_NAMED, "data")) or confirm is None
            or any(not confirm.recorded(name) for name in _CONFIRM_NAMES))
