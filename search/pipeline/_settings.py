"""From the parsed command line to the plain settings each step is handed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mnist_models import SearchSplit
from search.cli import RunOptions
from search.confirmation import ConfirmSettings, confirm_seeds
from search.run_folder import NOTEBOOK_CACHE_FOLDER, driver_identity, library_versions, now, run_uri
from search.study import WarmStart
from search.verdict import SHIPPED_DATA, published_bar
from search.cluster import RayCluster
from search.tuning import SearchPlan, default_concurrency


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


def confirm_settings(options: RunOptions, record: dict[str, Any]) -> ConfirmSettings | None:
    """The confirmation's settings, or None for ``--no-confirm``; ``record`` is run.json."""
    if not options.confirm:
        return None
    return ConfirmSettings(
        top_k=options.top_k, seeds=confirm_seeds(options.seed, options.confirm_seeds),
        train_limit=options.confirm_train_limit, cpus_per_job=options.cpus_per_trial,
        gpus_per_job=options.gpus_per_trial, concurrency=int(record["max_concurrent"]),
        cache_folder=Path(options.results).expanduser().resolve() / NOTEBOOK_CACHE_FOLDER,
        versions=record.get("versions", {}), search_train_images=record.get("search_train_images"),
        max_failures=options.max_failures,
        # Smoke runs (--confirm-train-limit) also cap the notebook models' epochs at --max-epochs.
        notebook_max_epochs=options.max_epochs if options.confirm_train_limit else None,
        budget_s=options.confirm_budget_s,
        objective=options.objective,
        threshold=published_bar(record.get("data")),
    )


def run_document(options: RunOptions, *, plan: SearchPlan, data_sha256: str, split: SearchSplit,
                 cluster: RayCluster, warm_start: WarmStart | None = None) -> dict[str, Any]:
    """What ``run.json`` holds when a run starts."""
    return {
        "name": plan.name,
        "space": options.space,
        "command": "python -m search.run " + " ".join(options.argv),
        "argv": list(options.argv),
        "seed": options.seed,
        "data_sha256": data_sha256,
        "data": options.data or SHIPPED_DATA,
        "train_limit": options.train_limit,
        "search_train_images": int(split.x_train.shape[0]),
        "validation_images": int(split.x_val.shape[0]),
        "max_epochs": options.max_epochs,
        "num_samples": options.num_samples,
        "time_budget_s": options.time_budget_s,
        "objective": options.objective,
        "max_params": options.max_params,
        "stop_at": options.stop_at,
        "warm_start_from": warm_start.runs if warm_start else [],
        "max_concurrent": plan.max_concurrent,
        "cpus_per_trial": options.cpus_per_trial,
        "gpus_per_trial": options.gpus_per_trial,
        "cluster_resources": cluster.resources,
        # Seconds the run waited, before its search and budget began, for the cluster to start a
        # node that holds a trial (a cluster launched with no GPU node, say).
        "waited_for_nodes_s": round(cluster.waited_for_nodes_s, 1),
        "versions": library_versions(),
        "started": now(),
        "ended": None,
        "state": "running",
        "driver": driver_identity(),
        "heartbeat": now(),
    }


def resumed_options(original: RunOptions, options: RunOptions, *, name: str) -> RunOptions:
    """The run's own settings, with where to run and write taken from the resuming command."""
    return dataclasses.replace(original, address=options.address, dashboard=options.dashboard,
                               results=options.results, name=name)
