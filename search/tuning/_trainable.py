"""The Ray Tune trainable: train one configuration, report every epoch with a checkpoint.

The trainable is handed a ``SearchSplit`` only (training and validation images): the test
set never reaches a search trial. It trains in a ``TrainingProcess`` that the trial actor
keeps from one trial to the next, and recycles once it has grown: TensorFlow keeps memory
for every model a process trains, which would otherwise pile up in a reused actor. Keras is
imported in that process only, never in the driver or the actor. A trial Tune runs again
(its worker was lost, or the search resumed after its driver was killed) goes on from its
last checkpoint.

Each epoch's report says where the trial trains (the ``device_*`` columns of
``search.run_folder.device_columns``): a GPU trial's process checks, before it trains, that its
backend sees the GPU Ray gave it, and refuses with ``mnist_models.DeviceError`` otherwise,
which ends the search (``_device_refusal``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from typing import Any

import ray
from ray import tune

from mnist_models import SearchSplit, TrainingProcess, trial_seed
from search.run_folder import device_columns

# One training process per trial actor (a Ray worker process), kept across the trials it runs.
_PROCESSES: dict[tuple[int, float], TrainingProcess] = {}


def train_trial(
    config: dict[str, Any], *, split: SearchSplit, run_seed: int, threads: int, gpu_share: float
) -> None:
    """Train ``config`` on ``split`` with ``gpu_share`` of a GPU (0: on the CPU) and report
    validation accuracy, and where it trains, to Tune each epoch."""
    process = training_process(threads=threads, gpu_share=gpu_share)
    node_id = ray.get_runtime_context().get_node_id()

    def report(figures: dict[str, Any], folder: str) -> None:
        # The trial slot's memory: this actor's and its training process's.
        metrics = {**figures, "node_id": node_id, "worker_rss_mb": resident_mb() + process.resident_mb(),
                   **device_columns(process.placement)}
        # Tune copies the checkpoint folder into the trial's storage before report returns.
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint is not None else contextlib.nullcontext() as resume_dir:
        try:
            process.train(config, (split.x_train, split.y_train, split.x_val, split.y_val),
                          seed=trial_seed(run_seed, config), resume_dir=resume_dir, on_epoch=report,
                          data_key=id(split))
        finally:
            process.recycle_if_grown()


def training_process(*, threads: int, gpu_share: float) -> TrainingProcess:
    """This actor's training process (started at its first trial)."""
    key = (threads, float(gpu_share))
    if key not in _PROCESSES:
        _PROCESSES[key] = TrainingProcess(threads=threads, use_gpu=gpu_share > 0, gpu_share=gpu_share)
    return _PROCESSES[key]


def resident_mb() -> float:
    """This process's resident memory now, in MB (its peak where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
        return peak / (1e6 if sys.platform == "darwin" else 1e3)
