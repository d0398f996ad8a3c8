"""Wire the search: OptunaSearch (TPE, seeded) proposes, ASHA stops, Tune runs the trials."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from ray import tune
from ray.tune.search.optuna import OptunaSearch

from mnist_models import SearchSplit
from search.metrics import METRIC, MODE
from search.scheduler import RecordingASHA
from search.trainable import train_trial
from spaces import get_space, notebook_points

TUNE_FOLDER = "tune"
STUDY_FILE = "study.db"
TPE_STARTUP_TRIALS = 8


@dataclass(frozen=True)
class SearchPlan:
    """Everything the search needs, as plain values."""

    space: str
    name: str
    run_dir: Path
    num_samples: int
    time_budget_s: float
    max_epochs: int
    max_concurrent: int
    cpus_per_trial: float
    gpus_per_trial: float
    seed: int
    max_failures: int


def make_searcher(plan: SearchPlan) -> OptunaSearch:
    """TPE over the plan's space, seeded, starting from the notebook's models; the study is
    stored in the run's folder (``study.db``) so optuna-dashboard can show it."""
    points = notebook_points(plan.space, max_epochs=plan.max_epochs)
    storage = optuna.storages.RDBStorage(f"sqlite:///{plan.run_dir / STUDY_FILE}")
    return OptunaSearch(
        space=get_space(plan.space, max_epochs=plan.max_epochs),
        metric=METRIC,
        mode=MODE,
        points_to_evaluate=list(points.values()),
        sampler=optuna.samplers.TPESampler(seed=plan.seed, n_startup_trials=TPE_STARTUP_TRIALS),
        storage=storage,
        study_name=plan.name,
    )


def make_trainable(plan: SearchPlan, split: SearchSplit) -> Any:
    """The trainable with its data in Ray's object store (put once, shared by every trial)
    and the trial's resources; TensorFlow gets as many threads as the trial has CPUs."""
    threads = max(1, math.floor(plan.cpus_per_trial))
    with_data = tune.with_parameters(
        train_trial, split=split, run_seed=plan.seed, threads=threads, use_gpu=plan.gpus_per_trial > 0
    )
    return tune.with_resources(with_data, {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})


def make_tuner(plan: SearchPlan, split: SearchSplit, *, callbacks: list, scheduler: RecordingASHA) -> tune.Tuner:
    return tune.Tuner(
        make_trainable(plan, split),
        tune_config=tune.TuneConfig(
            search_alg=make_searcher(plan),
            scheduler=scheduler,
            num_samples=plan.num_samples,
            max_concurrent_trials=plan.max_concurrent,
            time_budget_s=plan.time_budget_s,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=TUNE_FOLDER,
            storage_path=str(plan.run_dir),
            verbose=0,
            callbacks=callbacks,
            failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        ),
    )


def default_concurrency(cluster: dict[str, float], *, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """As many trials as the cluster's CPUs (and GPUs, when trials use them) hold at once."""
    by_cpu = math.floor(cluster.get("CPU", 1) / cpus_per_trial + 1e-9)
    if gpus_per_trial > 0:
        by_gpu = math.floor(cluster.get("GPU", 0) / gpus_per_trial + 1e-9)
        by_cpu = min(by_cpu, by_gpu) if by_gpu > 0 else by_cpu
    return max(1, by_cpu)
