"""``python -m search.run``: search hyperparameters of MNIST Keras models with Ray Tune.

Order of work: check every input (nothing on disk is touched before that), start or join
Ray, run the search, write ``trials.parquet`` and ``run.json``, print the best trials.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from mnist_models import DataError, load_mnist, search_split
from search.options import RunOptions, UsageError, check_results_folder, parse_options
from search.results import library_versions, trial_rows, trials_table, write_json, write_parquet
from search.summary import summary_table

# Keep TensorFlow's C++ start-up chatter out of the terminal, in the driver and in workers.
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


class RunFailed(RuntimeError):
    """The search ran but produced nothing usable (every trial failed)."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_options(argv)
        return run(options)
    except (UsageError, DataError) as error:
        print(f"search.run: error: {error}", file=sys.stderr)
        return 2
    except RunFailed as error:
        print(f"search.run: failed: {error}", file=sys.stderr)
        return 1


def run(options: RunOptions) -> int:
    name = options.name or f"{options.space}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir = check_results_folder(options.results, name)
    mnist = load_mnist(options.data)
    split = search_split(mnist, options.seed, train_limit=options.train_limit)
    cluster = start_ray(options)
    try:
        return _search(options, name, run_dir, mnist.sha256, split, cluster)
    finally:
        import ray

        ray.shutdown()


def _search(options: RunOptions, name: str, run_dir: Path, data_sha256: str, split, cluster: dict) -> int:
    from search.progress import CompactProgress
    from search.scheduler import RecordingASHA
    from search.metrics import METRIC, MODE
    from search.tuner import SearchPlan, default_concurrency, make_tuner

    max_concurrent = options.max_concurrent or default_concurrency(
        cluster, cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial
    )
    plan = SearchPlan(
        space=options.space, name=name, run_dir=run_dir, num_samples=options.num_samples,
        time_budget_s=options.time_budget_s, max_epochs=options.max_epochs,
        max_concurrent=max_concurrent, cpus_per_trial=options.cpus_per_trial,
        gpus_per_trial=options.gpus_per_trial, seed=options.seed, max_failures=options.max_failures,
    )
    run_dir.mkdir(parents=True)
    run_info = {
        "name": name,
        "space": options.space,
        "command": "python -m search.run " + " ".join(options.argv),
        "argv": list(options.argv),
        "seed": options.seed,
        "data_sha256": data_sha256,
        "data": options.data or "shipped MNIST",
        "train_limit": options.train_limit,
        "search_train_images": int(split.x_train.shape[0]),
        "validation_images": int(split.x_val.shape[0]),
        "max_epochs": options.max_epochs,
        "num_samples": options.num_samples,
        "time_budget_s": options.time_budget_s,
        "max_concurrent": max_concurrent,
        "cpus_per_trial": options.cpus_per_trial,
        "gpus_per_trial": options.gpus_per_trial,
        "cluster_resources": cluster,
        "versions": library_versions(),
        "started": _now(),
        "ended": None,
        "state": "running",
    }
    write_json(run_dir / "run.json", run_info)
    print(f"run {name!r}: searching space {options.space!r} on {split.x_train.shape[0]:,} training and "
          f"{split.x_val.shape[0]:,} validation images, {max_concurrent} trial(s) at a time, "
          f"budget {options.num_samples} trials or {options.time_budget_s:.0f} s; results in {run_dir}")
    scheduler = RecordingASHA(max_epochs=options.max_epochs, metric=METRIC, mode=MODE)
    progress = CompactProgress(space=options.space, num_samples=options.num_samples,
                               time_budget_s=options.time_budget_s)
    started = time.monotonic()
    try:
        grid = make_tuner(plan, split, callbacks=[progress], scheduler=scheduler).fit()
    except BaseException:
        write_json(run_dir / "run.json", {**run_info, "state": "failed", "ended": _now()})
        raise
    rows = trial_rows(list(grid), scheduler.stopped_early)
    write_parquet(run_dir / "trials.parquet", trials_table(rows))
    wall_s = time.monotonic() - started
    succeeded = [row for row in rows if row["best_val_accuracy"] is not None]
    state = "finished" if succeeded else "failed"
    best = max((row["best_val_accuracy"] for row in succeeded), default=None)
    write_json(run_dir / "run.json", {
        **run_info, "state": state, "ended": _now(), "search_wall_s": round(wall_s, 1),
        "trials": len(rows), "best_val_accuracy": best,
        "trial_states": {s: sum(1 for row in rows if row["state"] == s) for s in sorted({r["state"] for r in rows})},
    })
    print()
    print(summary_table(rows, space=options.space, max_epochs=options.max_epochs))
    print(f"\n{len(rows)} trials in {wall_s:.0f} s; "
          + ", ".join(f"{count} {state}" for state, count in
                      sorted(_count_states(rows).items())) + f"; results in {run_dir}")
    if not succeeded:
        first_error = next((row["error"] for row in rows if row["error"]), "no trial reported an epoch")
        raise RunFailed(f"all {len(rows)} trials failed; the first error: {first_error}")
    return 0


def _count_states(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def start_ray(options: RunOptions) -> dict[str, float]:
    """Join the cluster at ``--address`` (or RAY_ADDRESS), or start Ray here on this machine's CPUs.

    Returns the cluster's resources. Refuses GPUs per trial where the cluster has none.
    """
    os.environ.update(WORKER_ENV)
    import ray

    address = options.address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": dict(WORKER_ENV)}
    if address:
        _check_address_answers(address)
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False,
                     logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UsageError(f"--address {address!r} does not answer ({_first_line(error)}): start the "
                             f"cluster (ray start --head, or ray up cluster.yaml) or fix the address")
    else:
        context = ray.init(include_dashboard=options.dashboard, dashboard_host="127.0.0.1",
                           runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
        if options.dashboard and context.dashboard_url:
            print(f"Ray dashboard: http://{context.dashboard_url}")
    cluster = {key: float(value) for key, value in ray.cluster_resources().items()
               if key in ("CPU", "GPU", "memory")}
    if options.gpus_per_trial > 0 and cluster.get("GPU", 0) == 0:
        ray.shutdown()
        raise UsageError(f"--gpus-per-trial is {options.gpus_per_trial}, but this Ray cluster has no GPU: "
                         f"use --gpus-per-trial 0 or run on a GPU cluster (see README)")
    if options.cpus_per_trial > cluster.get("CPU", 0):
        ray.shutdown()
        raise UsageError(f"--cpus-per-trial is {options.cpus_per_trial}, but the Ray cluster has "
                         f"{cluster.get('CPU', 0):g} CPUs: ask for at most that many")
    return cluster


def _check_address_answers(address: str) -> None:
    """A HOST:PORT address must accept a TCP connection within a few seconds."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--address {address!r} is not HOST:PORT or 'auto': write it like 10.0.0.5:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as error:
        raise UsageError(f"--address {address!r} does not answer ({error}): start the cluster "
                         f"(ray start --head) or fix the address")


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
