"""Wire the search: a seeded TPE study proposes, ASHA stops, Tune runs the trials."""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Mapping, Sequence

import optuna

from ray import tune
from ray.tune.logger import CSVLoggerCallback

from mnist_models import SearchSplit, parameter_count
from search.run_folder import STUDY_FILE, TUNE_FOLDER, is_shared_path
from search.study import METRIC, MODE, make_sampler, open_study_storage
from search.tuning._checkpoints import CHECKPOINTS_KEPT
from search.tuning._curves import TrialCurves
from search.tuning._device_refusal import DeviceRefusal
from search.tuning._plan import SearchPlan
from search.tuning._ray_compat import TrialResultLog
from search.tuning._scheduler import (ASHA_GRACE_EPOCHS, LONG_TRAINING_GRACE_EPOCHS, SIZE_AWARE_GRACE_EPOCHS,
                                      BandedASHA, RecordingASHA, size_band)
from search.tuning._searcher import StudyCloser, StudySearcher
from search.tuning._target import TargetReached
from search.tuning._trainable import train_trial
from spaces import SPACES, config_from_point, get_space, start_points


class NoProgressCsv(CSVLoggerCallback):
    """Takes the place of Tune's CSV logger, so Tune does not add one, and writes nothing.

    Every result is already in each trial's ``result.json`` (Tune's JSON logger, kept), which
    is what Tune's own analysis and the reports read; the CSV copy only cost the driver time
    on every result (docs/PERFORMANCE.md)."""

    def log_trial_start(self, trial: Any) -> None:
        pass

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        pass

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        pass


def make_searcher(plan: SearchPlan, *, stopped_early: set[str],
                  points: Mapping[str, Mapping[str, Any]] | None = None,
                  warm_trials: Sequence[optuna.trial.FrozenTrial] = ()) -> StudySearcher:
    """TPE over the plan's space, seeded, starting from ``points`` (default: the space's start
    points within the plan's parameter budget, ``start_points_within_budget``); the study is
    stored in the run's folder so optuna-dashboard can show it, with the trials in
    ``stopped_early`` (the scheduler's live set) told to Optuna as PRUNED, and ``warm_trials``
    (earlier runs' trials) weighed from the start."""
    if points is None:
        points, _ = start_points_within_budget(plan)
    return StudySearcher(
        space=get_space(plan.space, max_epochs=plan.max_epochs, size_aware=plan.size_aware),
        metric=METRIC,
        mode=MODE,
        points_to_evaluate=[dict(point) for point in points.values()],
        sampler=make_sampler(plan.seed),
        storage=open_study_storage(plan.run_dir / STUDY_FILE, write_ahead_log=not is_shared_path(plan.run_dir)),
        study_name=plan.name,
        stopped_early=stopped_early,
        objective=plan.objective,
        parameter_count=parameter_count,
        max_params=plan.max_params,
        warm_trials=warm_trials,
    )


def start_points_within_budget(plan: SearchPlan) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Where the search starts (``spaces.start_points``: the space's designs first, then the
    notebook's models, then those with a cosine decay), and those left out because they are
    over the plan's parameter budget (name: parameters)."""
    points = start_points(plan.space, max_epochs=plan.max_epochs, size_aware=plan.size_aware)
    if plan.max_params is None:
        return points, {}
    sizes = {name: parameter_count(config_from_point(plan.space, point, max_epochs=plan.max_epochs,
                                                      size_aware=plan.size_aware))
             for name, point in points.items()}
    kept = {name: point for name, point in points.items() if sizes[name] <= plan.max_params}
    return kept, {name: size for name, size in sizes.items() if name not in kept}


def make_scheduler(plan: SearchPlan) -> RecordingASHA | BandedASHA:
    """ASHA on validation accuracy, comparing like with like: with ``--objective pareto`` a
    trial only with trials of its size band, and in a space with slow-starting choices
    (its ``Space.early_stopping_bands``: augmentation on a dense net) only with trials that made the
    same choices. In a search for accuracy whose trials may train long (``Space.trains_long``:
    an hour's CNN search) also only with trials of the same choices the long search adds (one or
    two convolutions a block) and on the same side of ``Space.long_training_min_epochs`` planned
    epochs. Elsewhere (the CNN space for accuracy) every trial with every other.

    A size-aware search (pareto, or ``--max-params``) first compares trials after
    ``SIZE_AWARE_GRACE_EPOCHS``: a small model's first epoch says little of where it ends; one
    that trains long after ``LONG_TRAINING_GRACE_EPOCHS``, for the same reason.
    """
    space = SPACES[plan.space]
    pareto = plan.objective == "pareto"
    trains_long = space.trains_long(plan.max_epochs, size_aware=plan.size_aware)
    choices = (*space.early_stopping_bands, *(space.long_training_fixed if trains_long else ()))
    long_from = space.long_training_min_epochs if trains_long else None
    grace = (SIZE_AWARE_GRACE_EPOCHS if plan.size_aware else LONG_TRAINING_GRACE_EPOCHS if trains_long
             else ASHA_GRACE_EPOCHS)
    if pareto or choices or long_from is not None:
        band_of = functools.partial(trial_band, by_size=pareto, choices=choices, long_from=long_from)
        return BandedASHA(max_epochs=plan.max_epochs, metric=METRIC, mode=MODE, band_of=band_of, grace_epochs=grace)
    return RecordingASHA(max_epochs=plan.max_epochs, metric=METRIC, mode=MODE, grace_epochs=grace)


def trial_band(config: dict[str, Any], *, by_size: bool, choices: Sequence[str] = (),
               long_from: int | None = None) -> tuple:
    """The band of a trial's configuration within which ASHA compares it: its size band
    (``by_size``), its values of ``choices``, and with ``long_from`` whether it plans that
    many epochs or more. (Module-level: Tune pickles the scheduler for ``--resume``.)"""
    size = size_band(parameter_count(config)) if by_size else None
    planned_long = () if long_from is None else (int(config.get("epochs", 0)) >= long_from,)
    return (size, *(config.get(choice) for choice in choices), *planned_long)


def make_trainable(plan: SearchPlan, split: SearchSplit, *, function: Callable[..., None] = train_trial) -> Any:
    """``function`` (default: ``train_trial``; another one only from the scale benchmark, through
    ``make_tuner``) with its data in Ray's object store (put once, shared by every trial) and
    the trial's resources; TensorFlow gets as many threads as the trial has CPUs, and the
    trial's training process its share of a GPU (which it checks it can use)."""
    threads = max(1, math.floor(plan.cpus_per_trial))
    with_data = tune.with_parameters(
        function, split=split, run_seed=plan.seed, threads=threads, gpu_share=plan.gpus_per_trial
    )
    return tune.with_resources(with_data, {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})


def make_tuner(plan: SearchPlan, split: SearchSplit, *, callbacks: list, scheduler: Any, searcher: StudySearcher,
               stop: Any = None, function: Callable[..., None] = train_trial) -> tune.Tuner:
    """The search's Tuner over ``searcher`` (made by ``make_searcher`` with ``scheduler``'s
    ``stopped_early``). ``stop`` is a Tune stopper, by default the plan's ``stop_at`` target, if
    any (the budgets end the search); ``function`` is what a trial runs, by default ``train_trial``.

    Two options exist for the benchmarks alone (``benchmarks/``): the overhead and target
    benchmarks pass a ``stop`` that sees every result, to time each epoch and end the search at
    their target; the scale benchmark passes a ``function`` that sleeps instead of training,
    so that what it measures is the driver alone."""
    target = None
    if stop is None and plan.stop_at is not None:
        stop = target = TargetReached(plan.run_dir, plan.stop_at)
    # TrialCurves takes the place of Tune's own TensorBoard logger; StudyCloser closes the
    # Optuna trials that Tune ends without telling the searcher (time budget, target, failed reuse);
    # DeviceRefusal stops the search at the first trial refused its GPU; TrialResultLog takes the
    # place of Tune's result.json logger, so that a retried trial keeps the epochs it reported.
    watchers = [StudyCloser(searcher, target=target), NoProgressCsv(), TrialResultLog(), TrialCurves(plan.run_dir),
                DeviceRefusal(plan.run_dir)]
    return tune.Tuner(
        make_trainable(plan, split, function=function),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=plan.num_samples,
            max_concurrent_trials=plan.max_concurrent,
            time_budget_s=plan.time_budget_s,
            reuse_actors=True,
        ),
        run_config=make_run_config(plan, callbacks=[*callbacks, *watchers], stop=stop),
    )


def make_run_config(plan: SearchPlan, *, callbacks: list, stop: Any = None) -> tune.RunConfig:
    """Where Tune writes (the run's ``tune/`` folder, or the storage URI's), its callbacks, the
    stopper, how often a crashed trial is retried, and how many checkpoints a trial keeps."""
    return tune.RunConfig(
        name=TUNE_FOLDER,
        storage_path=plan.storage_uri or str(plan.run_dir),
        verbose=0,
        stop=stop,
        callbacks=callbacks,
        failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        # A trial goes on from its last epoch's checkpoint; the one before is kept too (why: CHECKPOINTS_KEPT).
        checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_KEPT),
    )


def default_concurrency(cluster: dict[str, float], *, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """As many trials as the cluster's CPUs (and GPUs, when trials use them) hold at once.

    A joined cluster with no node that holds a trial yet (no GPU yet for GPU trials, or a head
    with no CPU for trials: its autoscaler starts nodes on demand) gets as many as the
    autoscaler can make room for (``autoscaler_max_trials``): pending trials are what make the
    autoscaler add nodes.
    """
    by_cpu = math.floor(cluster.get("CPU", 1) / cpus_per_trial + 1e-9)
    if gpus_per_trial > 0:
        by_gpu = math.floor(cluster.get("GPU", 0) / gpus_per_trial + 1e-9)
        if by_gpu > 0:
            return max(1, min(by_cpu, by_gpu))
    # No node holds a trial yet (GPU trials before the first GPU node, or CPU trials on a head
    # that keeps its CPUs for the driver): as many as the autoscaler's nodes can hold.
    if (gpus_per_trial > 0 or by_cpu == 0) and cluster.get("autoscaler_max_trials"):
        return int(cluster["autoscaler_max_trials"])
    return max(1, by_cpu)
