"""The benchmark arms that run the service itself, each in a process of its own (``_child``).

- ``service_fixed``: a fixed list of configurations through the service's own Tune wiring
  (``search.tuning``: the same trainable, data in the object store, the study searcher with
  its sqlite study, reused actors, the same callbacks), with two differences so every
  configuration trains every epoch: the searcher starts from the fixed list instead of the
  notebook's points (``num_samples`` = its length, so TPE never proposes), and a FIFO
  scheduler stands in for ASHA.
- ``service_target``: the service's search (its scheduler too: ``make_scheduler``), stopped
  when a trial first reaches the target validation accuracy, or at the cap; with ``warm_start_from`` (a run folder) the search is
  warm-started from that run as ``--warm-start`` does (its trials weighed from the start, its
  best configuration tried first).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.schedulers import FIFOScheduler

from benchmarks._arm_common import plain_values, since, split_of, target_outcome, trial_records, warm_start_of
from benchmarks._spawn import worker_backend_env
from search.cli import DEFAULT_NUM_SAMPLES
from search.study import METRIC
from search.cluster import start_ray
from search.tuning import SearchPlan, default_concurrency, make_scheduler, make_searcher, make_tuner


class ResultCollector(tune.Stopper):
    """A Tune stopper that sees every result: it keeps them, and with a ``target`` ends the
    whole search when a result first reaches it (Tune calls stoppers in the driver, as each
    result arrives)."""

    def __init__(self, spec: dict[str, Any], target: float | None) -> None:
        self._spec = spec
        self._target = target
        self.results: list[dict[str, Any]] = []
        self.reached_at: float | None = None
        self._seen: set[tuple[str, Any]] = set()

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        at = since(self._spec)
        step = (trial_id, result.get("training_iteration"))
        if step in self._seen:  # Tune shows a trial's last result to the stopper once more at its end.
            return False
        self._seen.add(step)
        accuracy = float(result.get(METRIC, math.nan))
        self.results.append({"trial_id": trial_id, "config": plain_values(result.get("config", {})),
                             "epoch_seconds": float(result.get("epoch_seconds", math.nan)),
                             "val_accuracy": accuracy, "at": at})
        if self._target is not None and self.reached_at is None and accuracy >= self._target:
            self.reached_at = at
        return False

    def stop_all(self) -> bool:
        return self.reached_at is not None


def _start(spec: dict[str, Any], *, max_concurrent: int | None = None) -> Any:
    """Ray as ``search.run`` starts it, with the spec's resources per trial (and, on a Keras
    backend other than TensorFlow, its name in every worker's environment)."""
    gpus = float(spec.get("gpus_per_trial", 0.0))
    return start_ray(address=None, dashboard=bool(spec.get("dashboard", True)),
                     cpus_per_trial=float(spec["cpus_per_trial"]), gpus_per_trial=gpus,
                     max_concurrent=max_concurrent, worker_env=worker_backend_env(gpus_per_trial=gpus))


def _shutdown() -> float:
    started = time.perf_counter()
    ray.shutdown()
    return time.perf_counter() - started


def _plan(spec: dict[str, Any], *, name: str, run_dir: Path, num_samples: int, time_budget_s: float,
          max_epochs: int, max_concurrent: int) -> SearchPlan:
    run_dir.mkdir(parents=True, exist_ok=True)
    return SearchPlan(space=spec["space"], name=name, run_dir=run_dir, num_samples=num_samples,
                      time_budget_s=time_budget_s, max_epochs=max_epochs, max_concurrent=max_concurrent,
                      cpus_per_trial=float(spec["cpus_per_trial"]), gpus_per_trial=float(spec.get("gpus_per_trial", 0.0)),
                      seed=int(spec["seed"]), max_failures=0)


def service_fixed(spec: dict[str, Any]) -> dict[str, Any]:
    points = [dict(point) for point in spec["points"]]
    epochs = int(points[0]["epochs"])
    split = split_of(spec)
    data_ready_at = since(spec)
    started = time.perf_counter()
    cluster = _start(spec)
    ray_init_s = time.perf_counter() - started
    try:
        plan = _plan(spec, name="bench-overhead", run_dir=Path(spec["work_dir"]) / "service",
                     num_samples=len(points), time_budget_s=float(spec.get("time_budget_s", 24 * 3600)),
                     max_epochs=epochs, max_concurrent=int(spec["concurrency"]))
        # FIFO stops nothing: no trial is ever told to Optuna as stopped early.
        searcher = make_searcher(plan, stopped_early=set(),
                                 points={f"fixed_{index}": point for index, point in enumerate(points)})
        collector = ResultCollector(spec, None)
        tuner = make_tuner(plan, split, callbacks=[], scheduler=FIFOScheduler(), searcher=searcher, stop=collector)
        fit_started_at = since(spec)
        started = time.perf_counter()
        grid = tuner.fit()
        fit_s = time.perf_counter() - started
        errors = [str(error).splitlines()[0] for error in grid.errors]
        # The end of each error's text (the trial's traceback), for a machine one cannot log in to.
        error_tails = ["\n".join(str(error).splitlines()[-25:]) for error in grid.errors]
    finally:
        shutdown_s = _shutdown()
    return {"data_ready_at": data_ready_at, "ray_init_s": ray_init_s, "fit_started_at": fit_started_at,
            "fit_s": fit_s, "shutdown_s": shutdown_s, "errors": errors, "error_tails": error_tails,
            "cluster": cluster.resources, "concurrency": int(spec["concurrency"]),
            "trials": trial_records(collector.results, points)}


def service_target(spec: dict[str, Any]) -> dict[str, Any]:
    split = split_of(spec)
    cluster = _start(spec)
    try:
        concurrency = default_concurrency(cluster.resources, cpus_per_trial=float(spec["cpus_per_trial"]),
                                          gpus_per_trial=float(spec.get("gpus_per_trial", 0.0)))
        max_epochs = int(spec["max_epochs"])
        plan = _plan(spec, name=f"bench-target-{spec['seed']}", run_dir=Path(spec["work_dir"]) / "service",
                     num_samples=DEFAULT_NUM_SAMPLES, time_budget_s=max(1.0, spec["cap_s"] - since(spec)),
                     max_epochs=max_epochs, max_concurrent=concurrency)
        scheduler = make_scheduler(plan)
        collector = ResultCollector(spec, float(spec["target"]))
        searcher = (_warm_searcher(spec, plan, scheduler) if spec.get("warm_start_from")
                    else make_searcher(plan, stopped_early=scheduler.stopped_early))
        make_tuner(plan, split, callbacks=[], scheduler=scheduler, searcher=searcher, stop=collector).fit()
    finally:
        _shutdown()
    return target_outcome(spec, collector.reached_at, trial_records(collector.results, None),
                          concurrency=concurrency)


def _warm_searcher(spec: dict[str, Any], plan: SearchPlan, scheduler: Any) -> Any:
    """The searcher ``--warm-start`` gives a run: the earlier run's finished trials weighed from
    the start, its best configuration proposed first."""
    warm = warm_start_of(Path(spec["warm_start_from"]), space=plan.space, max_epochs=plan.max_epochs)
    return make_searcher(plan, stopped_early=scheduler.stopped_early, points=warm.best_points,
                         warm_trials=warm.trials)


ARMS = {"service_fixed": service_fixed, "service_target": service_target}
