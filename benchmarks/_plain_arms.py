"""The benchmark arms that run a peer in one process, no Ray: a plain Optuna loop and KerasTuner.

- ``plain_fixed``: a fixed list in one process: Optuna ``study.optimize`` with the list
  enqueued and ``mnist_models.fit_config``, TensorFlow on every core.
- ``optuna_target``, ``kerastuner_target``: searches that stop when a trial first reaches
  the target validation accuracy, or at the cap.

TensorFlow and Keras are imported inside each arm, after the data is ready, so their import
is timed as a part of the peer's start (``import_s``), as a user's script would pay it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna

from mnist_models import configure_tensorflow, fit_config, trial_seed
from benchmarks._arm_common import SearchOver, epoch_guard, since, split_of, target_outcome
from benchmarks._configs import point_index
from benchmarks._machine import cpu_count
from search.study import make_sampler
from spaces import get_space, start_points


def _configure_plain_tensorflow() -> float:
    """TensorFlow on every core of this machine, as a hand-written loop would have it."""
    started = time.perf_counter()
    configure_tensorflow(threads=cpu_count(), use_gpu=False)
    import keras  # noqa: F401  (the import is part of what is timed)

    return time.perf_counter() - started


def plain_fixed(spec: dict[str, Any]) -> dict[str, Any]:
    split = split_of(spec)
    data_ready_at = since(spec)
    import_s = _configure_plain_tensorflow()
    from benchmarks._epochs import EpochLog  # imports Keras: after the timed import above
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

    optimize_started_at = since(spec)
    started = time.perf_counter()
    study.optimize(objective, n_trials=len(points))
    optimize_s = time.perf_counter() - started
    return {"data_ready_at": data_ready_at, "import_s": import_s, "optimize_started_at": optimize_started_at,
            "optimize_s": optimize_s, "threads": cpu_count(), "concurrency": 1, "trials": trials}


def optuna_target(spec: dict[str, Any]) -> dict[str, Any]:
    split = split_of(spec)
    _configure_plain_tensorflow()
    from benchmarks._epochs import EpochLog  # imports Keras: after the timed import above
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

    on_epoch, state = epoch_guard(spec, trials, prune)

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
        study.optimize(objective, timeout=max(1.0, float(spec["cap_s"]) - since(spec)))
    except SearchOver:
        pass
    return target_outcome(spec, state["reached_at"], trials, concurrency=1)


def kerastuner_target(spec: dict[str, Any]) -> dict[str, Any]:
    split = split_of(spec)
    _configure_plain_tensorflow()
    # Import KerasTuner and Keras after the timed import above.
    from benchmarks._epochs import EpochLog
    from benchmarks._kt_space import hypermodel, keras_tuner

    trials: list[dict[str, Any]] = []
    on_epoch, state = epoch_guard(spec, trials)

    def on_trial(config: dict[str, Any]) -> None:
        trials.append({"trial_id": str(len(trials)), "config": config, "val_accuracy": [], "ended_at": [],
                       "epoch_seconds": []})

    tuner = keras_tuner.Hyperband(
        hypermodel(spec["space"], run_seed=int(spec["seed"]), max_epochs=int(spec["max_epochs"]),
                   train_images=len(split.x_train), on_trial=on_trial),
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
    return target_outcome(spec, state["reached_at"], trained, concurrency=1)


ARMS = {"plain_fixed": plain_fixed, "optuna_target": optuna_target, "kerastuner_target": kerastuner_target}
