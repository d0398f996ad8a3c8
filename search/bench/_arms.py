"""The ways a benchmark runs configurations, each in a process of its own (see ``_child``).

- ``service_fixed``: a fixed list of configurations through the service's own Tune wiring
  (``search.run.start_ray``, ``search.tuner.make_tuner``: the same trainable, data in the
  object store, StudySearch with its sqlite study, reused actors, the same callbacks), with
  two differences so every configuration trains every epoch: the notebook points the
  searcher enqueues are replaced by the fixed list (``num_samples`` = its length, so TPE
  never proposes), and a FIFO scheduler stands in for ASHA.
- ``plain_fixed``: the same list in one process, no Ray: Optuna ``study.optimize`` with the
  list enqueued and ``mnist_models.fit_config``, TensorFlow on every core.
- ``service_target``, ``optuna_target``, ``kerastuner_target``: searches that stop when a
  trial first reaches the target validation accuracy, or at the cap.

Every arm returns plain values (JSON): phase times, and one entry per trial with its epoch
seconds and validation accuracies. Times ``*_at`` are seconds since the parent spawned the
process (``spec["spawned_at"]``, a ``time.time()``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

from search.bench._configs import point_index
from search.bench._machine import cpu_count


class SearchOver(BaseException):
    """Raised from an epoch callback to end a peer's search at once (target reached or cap
    passed). A BaseException, so Optuna and KerasTuner let it through instead of recording a
    failed trial and carrying on."""


def _split(spec: dict[str, Any]):
    from mnist_models import load_mnist, search_split

    return search_split(load_mnist(spec.get("data")), int(spec["seed"]), train_limit=spec.get("train_limit"))


def _since(spec: dict[str, Any]) -> float:
    return time.time() - float(spec["spawned_at"])


def _service_options(spec: dict[str, Any], extra: list[str]):
    from search.options import parse_options

    argv = ["--space", spec["space"], "--seed", str(spec["seed"]), "--cpus-per-trial", str(spec["cpus_per_trial"]),
            "--gpus-per-trial", str(spec.get("gpus_per_trial", 0.0)), *extra]
    if not spec.get("dashboard", True):
        argv.append("--no-dashboard")
    return parse_options(argv)


def _trial_records(results: list[dict[str, Any]], points: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Results as Tune reported them (one per epoch) -> one record per trial."""
    trials: dict[str, dict[str, Any]] = {}
    for result in results:
        trial = trials.setdefault(result["trial_id"], {
            "trial_id": result["trial_id"], "config": result["config"],
            "config_index": point_index(result["config"], points) if points else None,
            "epoch_seconds": [], "val_accuracy": [], "ended_at": []})
        trial["epoch_seconds"].append(result["epoch_seconds"])
        trial["val_accuracy"].append(result["val_accuracy"])
        trial["ended_at"].append(result["at"])
    return list(trials.values())


def _result_collector(spec: dict[str, Any], target: float | None):
    """A Tune stopper that sees every result: it keeps them, and with a ``target`` ends the
    whole search when a result first reaches it (Tune calls stoppers in the driver, as each
    result arrives)."""
    from ray import tune

    class Collector(tune.Stopper):
        def __init__(self) -> None:
            self.results: list[dict[str, Any]] = []
            self.configs: dict[str, dict[str, Any]] = {}
            self.reached_at: float | None = None
            self.seen: set[tuple[str, Any]] = set()

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            at = _since(spec)
            step = (trial_id, result.get("training_iteration"))
            if step in self.seen:  # Tune shows a trial's last result to the stopper once more at its end.
                return False
            self.seen.add(step)
            accuracy = float(result.get("val_accuracy", math.nan))
            self.results.append({"trial_id": trial_id, "config": _plain(result.get("config", {})),
                                 "epoch_seconds": float(result.get("epoch_seconds", math.nan)),
                                 "val_accuracy": accuracy, "at": at})
            if target is not None and self.reached_at is None and accuracy >= target:
                self.reached_at = at
            return False

        def stop_all(self) -> bool:
            return self.reached_at is not None

    return Collector()


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if isinstance(value, (str, int, float, bool))}


def _worker_backend_env(gpus_per_trial: float) -> None:
    """On a Keras backend other than TensorFlow, give the Ray workers its name (and JAX's GPU
    memory setting) through this process's environment and the runtime_env that
    ``search.run.start_ray`` hands Ray (its ``WORKER_ENV``); nothing changes on TensorFlow."""
    import os

    import search.run as run_module
    from search.bench._spawn import worker_backend_env

    env = worker_backend_env(gpus_per_trial=gpus_per_trial)
    os.environ.update(env)
    run_module.WORKER_ENV.update(env)


def _shutdown() -> float:
    import ray

    started = time.perf_counter()
    ray.shutdown()
    return time.perf_counter() - started


def service_fixed(spec: dict[str, Any]) -> dict[str, Any]:
    from ray.tune.schedulers import FIFOScheduler

    import search.tuner as tuner_module
    from search.run import start_ray
    from search.tuner import SearchPlan, make_tuner

    points = [dict(point) for point in spec["points"]]
    epochs = int(points[0]["epochs"])
    options = _service_options(spec, ["--max-epochs", str(epochs)])
    split = _split(spec)
    data_ready_at = _since(spec)
    _worker_backend_env(options.gpus_per_trial)
    started = time.perf_counter()
    cluster = start_ray(options)
    ray_init_s = time.perf_counter() - started
    try:
        # The searcher enqueues "the notebook's points": here, the fixed list.
        tuner_module.start_points = lambda space, *, max_epochs: {
            f"fixed_{index}": point for index, point in enumerate(points)}
        run_dir = Path(spec["work_dir"]) / "service"
        run_dir.mkdir(parents=True, exist_ok=True)
        plan = SearchPlan(space="cnn", name="bench-overhead", run_dir=run_dir, num_samples=len(points),
                          time_budget_s=float(spec.get("time_budget_s", 24 * 3600)), max_epochs=epochs,
                          max_concurrent=int(spec["concurrency"]), cpus_per_trial=float(spec["cpus_per_trial"]),
                          gpus_per_trial=float(spec.get("gpus_per_trial", 0.0)), seed=int(spec["seed"]),
                          max_failures=0)
        scheduler = FIFOScheduler()
        scheduler.stopped_early = set()  # What make_tuner hands the searcher; FIFO stops nothing.
        collector = _result_collector(spec, None)
        tuner = make_tuner(plan, split, callbacks=[], scheduler=scheduler)
        tuner._local_tuner.get_run_config().stop = collector
        fit_started_at = _since(spec)
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
            "cluster": cluster,
            "concurrency": int(spec["concurrency"]), "trials": _trial_records(collector.results, points)}


def _configure_plain_tensorflow() -> float:
    """TensorFlow on every core of this machine, as a hand-written loop would have it."""
    started = time.perf_counter()
    from mnist_models import configure_tensorflow

    configure_tensorflow(threads=cpu_count(), use_gpu=False)
    import keras  # noqa: F401  (the import is part of what is timed)

    return time.perf_counter() - started


def plain_fixed(spec: dict[str, Any]) -> dict[str, Any]:
    import optuna

    from mnist_models import fit_config, trial_seed
    from spaces import get_space

    split = _split(spec)
    data_ready_at = _since(spec)
    import_s = _configure_plain_tensorflow()
    from search.bench._epochs import EpochLog
    points = [dict(point) for point in spec["points"]]
    epochs = int(points[0]["epochs"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = get_space("cnn", max_epochs=epochs)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=int(spec["seed"])))
    for point in points:
        study.enqueue_trial(point)
    trials: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        constants = space(trial)  # Suggests first: params are filled by it.
        config = {**trial.params, **constants}
        log = EpochLog()
        fit_config(config, split.x_train, split.y_train, seed=trial_seed(int(spec["seed"]), config),
                   validation_data=(split.x_val, split.y_val), callbacks=[log])
        trials.append({"trial_id": str(trial.number), "config": config, "config_index": point_index(config, points),
                       "epoch_seconds": log.epoch_seconds, "val_accuracy": log.val_accuracy,
                       "ended_at": [at - float(spec["spawned_at"]) for at in log.ended_at]})
        return max(log.val_accuracy)

    optimize_started_at = _since(spec)
    started = time.perf_counter()
    study.optimize(objective, n_trials=len(points))
    optimize_s = time.perf_counter() - started
    return {"data_ready_at": data_ready_at, "import_s": import_s, "optimize_started_at": optimize_started_at,
            "optimize_s": optimize_s, "threads": cpu_count(), "concurrency": 1, "trials": trials}


# Time to target ------------------------------------------------------------------------------

def service_target(spec: dict[str, Any]) -> dict[str, Any]:
    from search.metrics import METRIC, MODE
    from search.run import start_ray
    from search.scheduler import RecordingASHA
    from search.tuner import SearchPlan, default_concurrency, make_tuner

    options = _service_options(spec, ["--max-epochs", str(spec["max_epochs"])])
    split = _split(spec)
    cluster = start_ray(options)
    try:
        run_dir = Path(spec["work_dir"]) / "service"
        run_dir.mkdir(parents=True, exist_ok=True)
        concurrency = default_concurrency(cluster, cpus_per_trial=options.cpus_per_trial,
                                          gpus_per_trial=options.gpus_per_trial)
        plan = SearchPlan(space=options.space, name=f"bench-target-{spec['seed']}", run_dir=run_dir,
                          num_samples=options.num_samples, time_budget_s=max(1.0, spec["cap_s"] - _since(spec)),
                          max_epochs=options.max_epochs, max_concurrent=concurrency,
                          cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial,
                          seed=options.seed, max_failures=0)
        scheduler = RecordingASHA(max_epochs=options.max_epochs, metric=METRIC, mode=MODE)
        collector = _result_collector(spec, float(spec["target"]))
        tuner = make_tuner(plan, split, callbacks=[], scheduler=scheduler)
        tuner._local_tuner.get_run_config().stop = collector
        tuner.fit()
    finally:
        _shutdown()
    return _target_outcome(spec, collector.reached_at, _trial_records(collector.results, None),
                           concurrency=concurrency)


def _target_outcome(spec: dict[str, Any], reached_at: float | None, trials: list[dict[str, Any]],
                    **extra: Any) -> dict[str, Any]:
    scores = [score for trial in trials for score in trial["val_accuracy"] if score == score]
    return {"reached": reached_at is not None and reached_at <= float(spec["cap_s"]),
            "time_to_target_s": reached_at, "ended_at": _since(spec), "trials_started": len(trials),
            "epochs_trained": sum(len(trial["val_accuracy"]) for trial in trials),
            "best_val_accuracy": max(scores, default=None), "trials": trials, **extra}


def _epoch_guard(spec: dict[str, Any], trials: list[dict[str, Any]],
                 also: Callable[[int, float], None] | None = None):
    """The per-epoch hook of the in-process peers: record the epoch, end the search when it
    reaches the target or the cap has passed, then let ``also`` (pruning) decide."""
    target, cap_s = float(spec["target"]), float(spec["cap_s"])
    state: dict[str, float | None] = {"reached_at": None}

    def on_epoch(epoch: int, accuracy: float, ended: float) -> None:
        at = ended - float(spec["spawned_at"])
        trials[-1]["val_accuracy"].append(accuracy)
        trials[-1]["ended_at"].append(at)
        if accuracy >= target:
            state["reached_at"] = at
            raise SearchOver("target reached")
        if at >= cap_s:
            raise SearchOver("cap passed")
        if also is not None:
            also(epoch, accuracy)

    return on_epoch, state


def optuna_target(spec: dict[str, Any]) -> dict[str, Any]:
    import optuna

    from mnist_models import fit_config, trial_seed
    from search.sampler import make_sampler
    from spaces import get_space, start_points

    split = _split(spec)
    _configure_plain_tensorflow()
    from search.bench._epochs import EpochLog
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = get_space(spec["space"], max_epochs=int(spec["max_epochs"]))
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(),
        sampler=make_sampler(int(spec["seed"])))  # the service's own TPE settings
    for point in start_points(spec["space"], max_epochs=int(spec["max_epochs"])).values():
        study.enqueue_trial(point)
    trials: list[dict[str, Any]] = []
    current: dict[str, optuna.Trial] = {}

    def prune(epoch: int, accuracy: float) -> None:
        current["trial"].report(accuracy, epoch)
        if current["trial"].should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    on_epoch, state = _epoch_guard(spec, trials, prune)

    def objective(trial: optuna.Trial) -> float:
        constants = space(trial)  # Suggests first: params are filled by it.
        config = {**trial.params, **constants}
        current["trial"] = trial
        trials.append({"trial_id": str(trial.number), "config": config, "val_accuracy": [], "ended_at": [],
                       "epoch_seconds": []})
        log = EpochLog(on_epoch=on_epoch)
        fit_config(config, split.x_train, split.y_train, seed=trial_seed(int(spec["seed"]), config),
                   validation_data=(split.x_val, split.y_val), callbacks=[log])
        return max(trials[-1]["val_accuracy"])

    try:
        study.optimize(objective, timeout=max(1.0, float(spec["cap_s"]) - _since(spec)))
    except SearchOver:
        pass
    return _target_outcome(spec, state["reached_at"], trials, concurrency=1)


def kerastuner_target(spec: dict[str, Any]) -> dict[str, Any]:
    split = _split(spec)
    _configure_plain_tensorflow()
    import keras_tuner

    from search.bench._epochs import EpochLog
    from search.bench._kt_space import hypermodel

    trials: list[dict[str, Any]] = []
    on_epoch, state = _epoch_guard(spec, trials)

    def on_trial(config: dict[str, Any]) -> None:
        trials.append({"trial_id": str(len(trials)), "config": config, "val_accuracy": [], "ended_at": [],
                       "epoch_seconds": []})

    tuner = keras_tuner.Hyperband(
        hypermodel(spec["space"], run_seed=int(spec["seed"]), max_epochs=int(spec["max_epochs"]), on_trial=on_trial),
        objective="val_accuracy", max_epochs=int(spec["max_epochs"]), factor=3,
        hyperband_iterations=10_000,  # Go on until the target or the cap ends it.
        seed=int(spec["seed"]), directory=str(Path(spec["work_dir"]) / "kerastuner"), project_name="bench",
        overwrite=True)
    try:
        tuner.search(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val),
                     callbacks=[EpochLog(on_epoch=on_epoch)], verbose=0)
    except SearchOver:
        pass
    # KerasTuner builds one model before the search to learn the space: not a trial.
    trained = [trial for trial in trials if trial["val_accuracy"]]
    return _target_outcome(spec, state["reached_at"], trained, concurrency=1)


ARMS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "service_fixed": service_fixed,
    "plain_fixed": plain_fixed,
    "service_target": service_target,
    "optuna_target": optuna_target,
    "kerastuner_target": kerastuner_target,
}
