"""Wire the search: OptunaSearch (TPE, seeded) proposes, ASHA stops, Tune runs the trials."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.logger import CSVLoggerCallback

from mnist_models import SearchSplit
from search.metrics import METRIC, MODE
from search.sampler import make_sampler
from search.scheduler import RecordingASHA
from search.study import StudyCloser, StudySearch, open_study_storage
from search.tensorboard import TrialCurves
from search.trainable import train_trial
from spaces import get_space, start_points

TUNE_FOLDER = "tune"
STUDY_FILE = "study.db"


class NoProgressCsv(CSVLoggerCallback):
    """Takes the place of Tune's CSV logger, so Tune does not add one, and writes nothing.

    Every result is already in each trial's ``result.json`` (Tune's JSON logger, kept), which
    is what Tune's own analysis, ``search.report`` and ``search.runs`` read; the CSV copy only
    cost the driver time on every result (``python -m search.bench levers``: 0.32 -> 0.25 s a
    trial for trivial trials)."""

    def log_trial_start(self, trial: Any) -> None:
        pass

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        pass

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        pass


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
    # Where Tune writes its folder (``storage_uri/tune``) when --results is a storage URI;
    # None: the run's folder. Our own files always go to ``run_dir`` (see search.storage).
    storage_uri: str | None = None


def make_searcher(plan: SearchPlan, *, stopped_early: set[str] | None = None) -> StudySearch:
    """TPE over the plan's space, seeded, starting from ``spaces.start_points``; the study is
    stored in the run's folder (``study.db``) so optuna-dashboard can show it, with the
    trials in ``stopped_early`` (the scheduler's live set) told to Optuna as PRUNED."""
    points = start_points(plan.space, max_epochs=plan.max_epochs)
    storage = open_study_storage(plan.run_dir / STUDY_FILE)
    return StudySearch(
        stopped_early=set() if stopped_early is None else stopped_early,
        space=get_space(plan.space, max_epochs=plan.max_epochs),
        metric=METRIC,
        mode=MODE,
        points_to_evaluate=list(points.values()),
        sampler=make_sampler(plan.seed),
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
    searcher = make_searcher(plan, stopped_early=scheduler.stopped_early)
    # TrialCurves takes the place of Tune's own TensorBoard logger; StudyCloser closes the
    # Optuna trials that Tune ends without telling the searcher (time budget, failed reuse).
    watchers = [StudyCloser(searcher), NoProgressCsv(),
                TrialCurves(plan.run_dir, notebook_points=start_points(plan.space, max_epochs=plan.max_epochs))]
    return tune.Tuner(
        make_trainable(plan, split),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=plan.num_samples,
            max_concurrent_trials=plan.max_concurrent,
            time_budget_s=plan.time_budget_s,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=TUNE_FOLDER,
            storage_path=plan.storage_uri or str(plan.run_dir),
            verbose=0,
            callbacks=[*callbacks, *watchers],
            failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        ),
    )


def default_concurrency(cluster: dict[str, float], *, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """As many trials as the cluster's CPUs (and GPUs, when trials use them) hold at once.

    A joined cluster with no GPU yet (its autoscaler starts GPU nodes on demand) gets as many
    as the autoscaler can make room for (``autoscaler_max_trials``, see search.cluster),
    else as many as its CPUs hold: pending trials are what make the autoscaler add nodes.
    """
    by_cpu = math.floor(cluster.get("CPU", 1) / cpus_per_trial + 1e-9)
    if gpus_per_trial > 0:
        by_gpu = math.floor(cluster.get("GPU", 0) / gpus_per_trial + 1e-9)
        if by_gpu > 0:
            by_cpu = min(by_cpu, by_gpu)
        elif cluster.get("autoscaler_max_trials"):
            by_cpu = int(cluster["autoscaler_max_trials"])
    return max(1, by_cpu)
