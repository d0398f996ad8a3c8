"""The scale benchmark's arm: the service's driver over a simulated cluster, in a process of its own.

Ray starts here with ``slots`` logical CPUs; every trial holds one and, instead of training,
sleeps ``epoch_seconds`` an epoch and reports made-up scores with a small checkpoint, so what
is measured is the service's own driver path: the study searcher (TPE over the CNN space,
its SQLite study), ASHA, the progress table, the TensorBoard curves, the heartbeat, Tune's
experiment state, and at the end the trial rows, ``trials.parquet`` and ``run.json``.
ASHA's grace period is the trials' epochs, so it sees every result but stops none: every
trial runs all its epochs, and the ideal wall time is exact.
"""

from __future__ import annotations

import hashlib
import io
import os
import resource
import statistics
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Callable

import numpy as np
import ray
from ray import tune

from mnist_models import SearchSplit
from search.pipeline import run_search
from search.run_folder import RUN_RUNNING, RecordWriter, RunRecord, library_versions, now
from search.study import METRIC, MODE
from search.cluster import start_ray
from search.tuning import (CHECKPOINTS_KEPT, CompactProgress, Heartbeat, RecordingASHA, SearchPlan, make_searcher,
                           make_tuner)

EDGE_PROPOSALS = 20  # proposals at the start and at the end whose median time is reported


def sleeping_trial(epochs: int, epoch_seconds: float) -> Callable[..., None]:
    """A trainable with the service's signature that sleeps through ``epochs`` epochs and
    reports each, with scores that depend on the configuration (so TPE has something to
    learn) and a checkpoint of a few bytes (so the driver handles one as for a real trial)."""
    def trial(config: dict[str, Any], *, split: Any, run_seed: int, threads: int, gpu_share: float) -> None:
        digest = hashlib.sha256(repr(sorted(config.items())).encode()).digest()
        base = 0.90 + 0.08 * digest[0] / 255
        for epoch in range(1, epochs + 1):
            time.sleep(epoch_seconds)
            score = base + 0.01 * (1 - 0.5 ** epoch)
            metrics = {"epoch": epoch, METRIC: score, "val_loss": 1 - score, "train_accuracy": score,
                       "train_loss": 1 - score, "epoch_seconds": epoch_seconds, "num_params": 1000,
                       "node_id": "simulated"}
            with tempfile.TemporaryDirectory() as folder:
                Path(folder, "state.json").write_text(f'{{"epochs_done": {epoch}}}')
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    return trial


def scale(spec: dict[str, Any]) -> dict[str, Any]:
    trials, slots, epochs = int(spec["trials"]), int(spec["slots"]), int(spec["epochs"])
    epoch_seconds = float(spec["epoch_seconds"])
    cluster = start_ray(address=None, dashboard=False, cpus_per_trial=1.0, gpus_per_trial=0.0,
                        max_concurrent=slots, num_cpus=slots)
    try:
        run_dir = Path(spec["work_dir"]) / "scale"
        plan = SearchPlan(space="cnn", name="bench-scale", run_dir=run_dir, num_samples=trials,
                          time_budget_s=24 * 3600.0, max_epochs=epochs, max_concurrent=slots, cpus_per_trial=1.0,
                          gpus_per_trial=0.0, seed=int(spec["seed"]), max_failures=0)
        writer = new_record(plan, cluster_resources=cluster.resources)
        scheduler = RecordingASHA(max_epochs=epochs, metric=METRIC, mode=MODE, grace_epochs=epochs)
        searcher = make_searcher(plan, stopped_early=scheduler.stopped_early)
        progress = CompactProgress(space=plan.space, num_samples=trials, time_budget_s=plan.time_budget_s,
                                   stream=io.StringIO())
        tuner = make_tuner(plan, _no_data(), callbacks=[progress, Heartbeat(run_dir)], scheduler=scheduler,
                           searcher=searcher, function=sleeping_trial(epochs, epoch_seconds))
        started = time.perf_counter()
        with redirect_stdout(io.StringIO()):  # the closing table of thousands of trials
            outcome = run_search(tuner, plan=plan, scheduler=scheduler, writer=writer)
        wall_s = time.perf_counter() - started
    finally:
        ray.shutdown()
    return _figures(spec, outcome.rows, searcher, wall_s=wall_s, run_dir=run_dir)


def new_record(plan: SearchPlan, *, cluster_resources: dict[str, float]) -> RecordWriter:
    """The simulated run's ``run.json``, as the service starts one, through its one writer:
    ``run_search`` records the search's end in it. The one place the scale benchmark makes a
    run record."""
    return RecordWriter.create(plan.run_dir, RunRecord(name=plan.name, space=plan.space, state=RUN_RUNNING,
                                                       started=now(), versions=library_versions(),
                                                       cluster_resources=cluster_resources))


def _figures(spec: dict[str, Any], rows: list[dict[str, Any]], searcher: Any, *, wall_s: float,
             run_dir: Path) -> dict[str, Any]:
    trials, slots, epochs = int(spec["trials"]), int(spec["slots"]), int(spec["epochs"])
    epoch_seconds = float(spec["epoch_seconds"])
    ideal_s = trials * epochs * epoch_seconds / slots
    epochs_run = sum(int(row["epochs_run"]) for row in rows)
    proposals = searcher.suggest_seconds
    return {
        "trials": trials, "slots": slots, "epochs": epochs, "epoch_seconds": epoch_seconds,
        "trials_run": len(rows), "epochs_run": epochs_run,
        "wall_s": wall_s, "ideal_s": ideal_s, "ratio_wall_over_ideal": wall_s / ideal_s,
        "slot_utilization": epochs_run * epoch_seconds / (wall_s * slots),
        "suggest_ms_first": 1000 * statistics.median(proposals[:EDGE_PROPOSALS]) if proposals else None,
        "suggest_ms_last": 1000 * statistics.median(proposals[-EDGE_PROPOSALS:]) if proposals else None,
        "suggest_ms_max": 1000 * max(proposals) if proposals else None,
        "study_write_ms": 1000 * statistics.median(searcher.write_seconds) if searcher.write_seconds else None,
        "study_writes": len(searcher.write_seconds),
        "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "results_mb": sum(path.stat().st_size for path in run_dir.rglob("*") if path.is_file()) / 1e6,
        "states": {state: sum(row["state"] == state for row in rows) for state in {row["state"] for row in rows}},
    }


def bare_tune(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor on this machine: the same sleeping trials through Tune alone (random search
    over one number, FIFO, reused actors, no logger, no callback of the service)."""
    trials, slots, epochs = int(spec["trials"]), int(spec["slots"]), int(spec["epochs"])
    epoch_seconds = float(spec["epoch_seconds"])
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    ray.init(address="local", num_cpus=slots, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        sleeping = sleeping_trial(epochs, epoch_seconds)
        tuner = tune.Tuner(
            lambda config: sleeping(config, split=None, run_seed=0, threads=1, gpu_share=0.0),
            param_space={"x": tune.uniform(0, 1)},
            tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=slots, reuse_actors=True,
                                        metric=METRIC, mode=MODE),
            run_config=tune.RunConfig(storage_path=str(Path(spec["work_dir"]) / "bare"), verbose=0,
                                      checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_KEPT)))
        started = time.perf_counter()
        grid = tuner.fit()
        wall_s = time.perf_counter() - started
    finally:
        ray.shutdown()
    epochs_run = sum(int((result.metrics or {}).get("training_iteration") or 0) for result in grid)
    ideal_s = trials * epochs * epoch_seconds / slots
    return {"trials": trials, "slots": slots, "epochs": epochs, "epoch_seconds": epoch_seconds, "trials_run": len(grid),
            "epochs_run": epochs_run, "wall_s": wall_s, "ideal_s": ideal_s, "ratio_wall_over_ideal": wall_s / ideal_s,
            "slot_utilization": epochs_run * epoch_seconds / (wall_s * slots), "suggest_ms_first": None,
            "suggest_ms_last": None, "study_write_ms": None,
            "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, "results_mb": None}


def _no_data() -> SearchSplit:
    """The sleeping trials read no images: the smallest split there is."""
    empty = np.zeros((1, 28, 28), dtype=np.float32)
    label = np.zeros((1,), dtype=np.int32)
    return SearchSplit(x_train=empty, y_train=label, x_val=empty, y_val=label)


ARMS = {"scale": scale, "scale_bare_tune": bare_tune}
