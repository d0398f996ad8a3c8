"""``python -m search.bench levers``: small A/B measurements of the speed levers, in one process.

Each lever is measured by running its variants one after another in this process, the order
alternating between repetitions, on the same data and seeds:

- Keras, one trial as the service runs it (TensorFlow on ``--threads`` threads, default 1 = a
  trial's CPUs): ``steps_per_execution`` (1 as now, 8, 32), the validation batch size (the
  training batch as now, or 1024), numpy arrays handed to ``fit`` (as now) or a ``tf.data``
  pipeline. Figure: this process's CPU seconds per epoch after the first (on a shared
  machine CPU time is steadier than wall time, which is reported beside it), with the first
  epoch, the set-up (``fit`` called -> first epoch begins) and the model building.
- Keras, the end of ``fit`` while another trial trains on the other core (a child process
  fitting the notebook's CNN over and over): NumPy arrays handed to ``fit`` (Keras's tf.data
  pipeline with autotuning, as before) or ``mnist_models.fit_config`` (the same pipeline with
  autotuning off). Figures: the seconds from Keras's ``on_train_end`` to ``fit``'s return (the
  iterators' teardown), the wall seconds of the whole ``fit``, and its validation accuracy.
- Tune, trivial trials (2 reports each, no training) through a Tuner with reused actors,
  2 at a time: Tune's automatic loggers (CSV, JSON, TensorBoard), CSV + JSON, JSON only, or
  none. Figures: seconds per trial and the driver's CPU seconds per trial.
- Optuna, the searcher alone (no Ray): the service's ``StudySearch`` with its sqlite study
  (as now), sqlite in WAL mode without fsync on commit, Optuna's journal file, or memory.
  Figure: seconds per trial (suggest, two epoch reports, completion).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from search.bench._configs import FIXED_CNN_POINTS
from search.bench._figures import median
from search.bench._output import emit, table

LEVERS = ("steps_per_execution", "validation_batch_size", "input_pipeline", "fit_teardown", "tune_loggers",
          "optuna_storage")
# cnn_small (batch 32: the most steps per epoch) and a batch-128 two-block CNN.
LEVER_CONFIGS = (0, 1)


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, **_: Any) -> None:
    parser.add_argument("--levers", default=",".join(LEVERS), help=f"comma-separated, among {', '.join(LEVERS)}")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=5_000,
                        help="training images for the Keras levers (default 5000)")
    parser.add_argument("--epochs", type=positive_int("--epochs"), default=3, help="epochs per fit (default 3)")
    parser.add_argument("--repeats", type=positive_int("--repeats"), default=2, help="repetitions (default 2)")
    parser.add_argument("--threads", type=positive_int("--threads"), default=1,
                        help="TensorFlow threads for the Keras levers (default 1, a trial's CPUs)")
    parser.add_argument("--trials", type=positive_int("--trials"), default=16,
                        help="trivial trials per Tune variant, searcher trials per Optuna variant (default 16)")


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    from search.bench._errors import BenchError

    chosen = [lever.strip() for lever in args.levers.split(",") if lever.strip()]
    unknown = [lever for lever in chosen if lever not in LEVERS]
    if unknown or not chosen:
        raise BenchError(f"--levers {args.levers!r}: unknown {', '.join(unknown) or 'empty'}; choose among "
                         f"{', '.join(LEVERS)}")
    conditions = {"train_limit": args.train_limit, "epochs": args.epochs, "repeats": args.repeats,
                  "threads": args.threads, "trials": args.trials}
    common = {"benchmark": "levers", "record": "variant", "machine": machine, "versions": versions,
              "conditions": conditions}
    records: list[dict[str, Any]] = []
    keras_levers = [lever for lever in chosen if lever in LEVERS[:3]]
    if keras_levers:
        from mnist_models import configure_tensorflow

        configure_tensorflow(threads=args.threads, use_gpu=False)
        split = _split(args)
        for lever in keras_levers:
            for index in LEVER_CONFIGS:
                records += [{**common, **row} for row in _keras_lever(lever, index, split, args)]
                _progress(args, records[-1])
    if "fit_teardown" in chosen:
        records += [{**common, **row} for row in _fit_teardown(args)]
        _progress(args, records[-1])
    if "tune_loggers" in chosen:
        records += [{**common, **row} for row in _tune_loggers(args)]
        _progress(args, records[-1])
    if "optuna_storage" in chosen:
        records += [{**common, **row} for row in _optuna_storage(args)]
        _progress(args, records[-1])
    emit(records, as_json=args.json, text=_text(records, conditions), stream=stream)
    return 0


def _progress(args: argparse.Namespace, record: dict[str, Any]) -> None:
    if getattr(args, "progress", None):
        print(f"  {record['lever']}: done", file=args.progress, flush=True)


def _split(args: argparse.Namespace):
    from mnist_models import load_mnist, search_split

    return search_split(load_mnist(), args.seed, train_limit=args.train_limit)


# Keras -------------------------------------------------------------------------------------

KERAS_VARIANTS: dict[str, tuple[dict[str, Any], ...]] = {
    "steps_per_execution": ({"steps_per_execution": 1}, {"steps_per_execution": 8}, {"steps_per_execution": 32}),
    "validation_batch_size": ({"validation_batch_size": None}, {"validation_batch_size": 1024}),
    "input_pipeline": ({"input_pipeline": "numpy"}, {"input_pipeline": "tf.data"}),
}


def fit_variant(config: dict[str, Any], split: Any, *, epochs: int, seed: int, steps_per_execution: int = 1,
                validation_batch_size: int | None = None, input_pipeline: str = "numpy") -> dict[str, Any]:
    """Build, compile and fit ``config`` as ``mnist_models.fit_config`` does, with one lever
    changed; returns the model-building seconds, the set-up (fit called -> first epoch
    begins, input conversion included) and each epoch's seconds and validation accuracy."""
    import keras
    import tensorflow as tf

    from mnist_models._builders import build_model, make_optimizer
    from search.bench._epochs import EpochLog

    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = build_model(config)
    if steps_per_execution != 1:
        model.compile(optimizer=make_optimizer(config["optimizer"], config["learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=steps_per_execution)
    build_s = time.perf_counter() - started
    batch = int(config["batch_size"])
    log = EpochLog()
    fit_called = time.perf_counter()
    if input_pipeline == "tf.data":
        train = (tf.data.Dataset.from_tensor_slices((split.x_train, split.y_train))
                 .shuffle(len(split.x_train), seed=seed).batch(batch).prefetch(tf.data.AUTOTUNE))
        validation = tf.data.Dataset.from_tensor_slices((split.x_val, split.y_val)).batch(
            validation_batch_size or batch).prefetch(tf.data.AUTOTUNE)
        model.fit(train, epochs=epochs, validation_data=validation, callbacks=[log], verbose=0)
    else:
        model.fit(split.x_train, split.y_train, batch_size=batch, epochs=epochs,
                  validation_data=(split.x_val, split.y_val), validation_batch_size=validation_batch_size,
                  callbacks=[log], verbose=0)
    return {"build_s": build_s, "setup_s": log.began[0] - fit_called, "epoch_seconds": log.epoch_seconds,
            "epoch_cpu_seconds": log.epoch_cpu_seconds, "val_accuracy": log.val_accuracy}


def _keras_lever(lever: str, index: int, split: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from mnist_models import trial_seed
    from spaces import config_from_point

    config = config_from_point("cnn", {**FIXED_CNN_POINTS[index], "epochs": args.epochs}, max_epochs=args.epochs)
    seed = trial_seed(args.seed, config)
    variants = KERAS_VARIANTS[lever]
    runs: dict[int, list[dict[str, Any]]] = {position: [] for position in range(len(variants))}
    fit_variant(config, split, epochs=1, seed=seed)  # Warm-up: first graph tracing in this process.
    for repeat in range(args.repeats):
        order = range(len(variants)) if repeat % 2 == 0 else reversed(range(len(variants)))
        for position in order:
            runs[position].append(fit_variant(config, split, epochs=args.epochs, seed=seed, **variants[position]))
    rows = []
    for position, variant in enumerate(variants):
        later = [median(run["epoch_seconds"][1:]) for run in runs[position]]
        later_cpu = [median(run["epoch_cpu_seconds"][1:]) for run in runs[position]]
        rows.append({"lever": lever, "variant": _variant_name(variant), "config_index": index,
                     "batch_size": config["batch_size"], "seconds": median(later_cpu),
                     "metric": "median CPU seconds of the process per epoch after the first",
                     "wall_seconds": median(later), "raw_wall_seconds": later,
                     "first_epoch_s": median(run["epoch_seconds"][0] for run in runs[position]),
                     "setup_s": median(run["setup_s"] for run in runs[position]),
                     "build_s": median(run["build_s"] for run in runs[position]),
                     "last_val_accuracy": [run["val_accuracy"][-1] for run in runs[position]],
                     "raw_seconds": later_cpu})
    return rows


def _variant_name(variant: dict[str, Any]) -> str:
    (key, value), = variant.items()
    return f"{key}={value if value is not None else 'batch size (now)'}"


# Keras: the end of fit, on a busy machine ---------------------------------------------------

TEARDOWN_VARIANTS = ("arrays to fit (tf.data autotuned, before)", "fit_config (autotune off, now)")


def contend(train_limit: int, seed: int) -> None:
    """Another trial: fit the notebook's CNN on one thread, over and over, until killed."""
    from mnist_models import configure_tensorflow, fit_config, load_mnist, search_split
    from spaces import notebook_config

    configure_tensorflow(threads=1, use_gpu=False)
    split = search_split(load_mnist(), seed, train_limit=train_limit)
    config = dict(notebook_config("cnn_small"), epochs=1)
    print("training", flush=True)
    while True:
        fit_config(config, split.x_train, split.y_train, seed=seed, validation_data=(split.x_val, split.y_val))


def _fit_until_return(config: dict[str, Any], split: Any, seed: int, *, autotune: bool) -> dict[str, Any]:
    from unittest import mock

    import keras

    import mnist_models._training as training

    class TrainEnd(keras.callbacks.Callback):
        ended = 0.0

        def on_train_end(self, logs: dict | None = None) -> None:
            TrainEnd.ended = time.perf_counter()

    # autotune: fit_config as it was, the arrays handed to fit.
    as_before = mock.patch.object(training, "_datasets_without_autotune", return_value=None)
    started = time.perf_counter()
    with as_before if autotune else contextlib.nullcontext():
        _, history = training.fit_config(config, split.x_train, split.y_train, seed=seed,
                                         validation_data=(split.x_val, split.y_val), callbacks=[TrainEnd()])
    returned = time.perf_counter()
    return {"teardown_s": returned - TrainEnd.ended, "fit_s": returned - started,
            "val_accuracy": history.history["val_accuracy"][-1]}


def _fit_teardown(args: argparse.Namespace) -> list[dict[str, Any]]:
    import subprocess
    import sys

    from mnist_models import configure_tensorflow, trial_seed
    from spaces import config_from_point

    configure_tensorflow(threads=args.threads, use_gpu=False)
    split = _split(args)
    contender = subprocess.Popen(
        [sys.executable, "-c", f"from search.bench.levers import contend; contend({args.train_limit}, {args.seed})"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in TEARDOWN_VARIANTS}
    try:
        contender.stdout.readline()  # "training": the other core is busy from now on.
        for repeat in range(args.repeats):
            for index in LEVER_CONFIGS:
                config = config_from_point("cnn", {**FIXED_CNN_POINTS[index], "epochs": args.epochs},
                                           max_epochs=args.epochs)
                order = TEARDOWN_VARIANTS if repeat % 2 == 0 else tuple(reversed(TEARDOWN_VARIANTS))
                for variant in order:
                    runs[variant].append(_fit_until_return(config, split, trial_seed(args.seed, config),
                                                           autotune=variant == TEARDOWN_VARIANTS[0]))
    finally:
        contender.kill()
        contender.wait()
    return [{"lever": "fit_teardown", "variant": variant, "seconds": median(run["teardown_s"] for run in values),
             "metric": "median seconds from on_train_end to fit's return, another trial training beside it",
             "fit_seconds": median(run["fit_s"] for run in values),
             "raw_seconds": [run["teardown_s"] for run in values], "raw_fit_seconds": [run["fit_s"] for run in values],
             "last_val_accuracy": [run["val_accuracy"] for run in values]} for variant, values in runs.items()]


# Tune --------------------------------------------------------------------------------------

def _trivial_trial(config: dict[str, Any]) -> None:
    from ray import tune

    for epoch in range(2):
        tune.report({"val_accuracy": 0.5 + 0.01 * epoch, "epoch_seconds": 0.0, "epoch": epoch + 1})


# Tune's default adds CSV, JSON and TensorBoard loggers; the service gives its own TensorBoard
# callback (search.tensorboard.TrialCurves), so Tune adds CSV and JSON to it.
LOGGER_VARIANTS = ("CSV + JSON + TensorBoard (Tune's default)", "CSV + JSON (what Tune adds to the service)",
                   "JSON only", "none")


def _tune_fit(trials: int, storage: Path, *, loggers: str) -> tuple[float, float]:
    """Seconds and driver CPU seconds of one Tuner.fit of ``trials`` trivial trials."""
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "0" if loggers == LOGGER_VARIANTS[0] else "1"
    callbacks = {LOGGER_VARIANTS[1]: [CSVLoggerCallback(), JsonLoggerCallback()],
                 LOGGER_VARIANTS[2]: [JsonLoggerCallback()]}.get(loggers, [])
    tuner = tune.Tuner(
        tune.with_resources(_trivial_trial, {"cpu": 1}),
        param_space={"index": tune.grid_search(list(range(trials)))},
        tune_config=tune.TuneConfig(max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(storage), name=f"loggers-{time.time_ns()}",
                                  verbose=0, callbacks=callbacks))
    cpu_before = _own_cpu()
    started = time.perf_counter()
    tuner.fit()
    return time.perf_counter() - started, _own_cpu() - cpu_before


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tune_loggers(args: argparse.Namespace) -> list[dict[str, Any]]:
    import ray

    from search.run import WORKER_ENV

    os.environ.update(WORKER_ENV)  # As the service has it (Tune's own header off, among others).
    storage = Path(tempfile.mkdtemp(prefix="bench-levers-"))
    previous = os.environ.get("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        _tune_fit(4, storage, loggers=LOGGER_VARIANTS[0])  # Warm-up: Tune's first fit in this process.
        runs: dict[str, list[tuple[float, float]]] = {variant: [] for variant in LOGGER_VARIANTS}
        for repeat in range(args.repeats):
            for variant in (LOGGER_VARIANTS if repeat % 2 == 0 else reversed(LOGGER_VARIANTS)):
                runs[variant].append(_tune_fit(args.trials, storage, loggers=variant))
    finally:
        ray.shutdown()
        shutil.rmtree(storage, ignore_errors=True)
        if previous is None:
            os.environ.pop("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", None)
        else:
            os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = previous
    return [{"lever": "tune_loggers", "variant": variant,
             "seconds": median(wall / args.trials for wall, _ in runs[variant]),
             "metric": "seconds per trivial trial",
             "driver_cpu_per_trial_s": median(cpu / args.trials for _, cpu in runs[variant]),
             "raw_seconds": [wall / args.trials for wall, _ in runs[variant]]} for variant in LOGGER_VARIANTS]


# Optuna ------------------------------------------------------------------------------------

def _searcher_cycle(trials: int, storage: Any, seed: int) -> float:
    import optuna

    from search.metrics import METRIC, MODE
    from search.study import StudySearch
    from search.sampler import TPE_STARTUP_TRIALS
    from spaces import get_space

    searcher = StudySearch(stopped_early=set(), space=get_space("cnn", max_epochs=2), metric=METRIC, mode=MODE,
                           sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP_TRIALS),
                           storage=storage, study_name=f"levers-{time.time_ns()}")
    started = time.perf_counter()
    for trial in range(trials):
        trial_id = f"t{trial}"
        searcher.suggest(trial_id)
        for epoch in (1, 2):
            searcher.on_trial_result(trial_id, {METRIC: 0.9 + 0.001 * trial, "training_iteration": epoch})
        searcher.on_trial_complete(trial_id, {METRIC: 0.9 + 0.001 * trial, "training_iteration": 2})
    return (time.perf_counter() - started) / trials


def sqlite_without_fsync(path: Path) -> Any:
    """Optuna's RDBStorage on sqlite in write-ahead-log mode with ``synchronous=NORMAL``: a
    commit no longer waits for the disk (a crash can lose the last commits, not corrupt)."""
    import optuna
    import sqlalchemy

    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")

    @sqlalchemy.event.listens_for(storage.engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # Connections made from now on get the pragmas.
    return storage


def _optuna_storage(args: argparse.Namespace) -> list[dict[str, Any]]:
    import optuna

    folder = Path(tempfile.mkdtemp(prefix="bench-levers-"))
    makers: dict[str, Callable[[int], Any]] = {
        "sqlite study.db (now)": lambda run: optuna.storages.RDBStorage(f"sqlite:///{folder / f'study{run}.db'}"),
        "sqlite WAL, synchronous=NORMAL": lambda run: sqlite_without_fsync(folder / f"wal{run}.db"),
        "journal file": lambda run: optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(folder / f"journal{run}.log"))),
        "in-memory": lambda run: None,
    }
    runs: dict[str, list[float]] = {name: [] for name in makers}
    try:
        for repeat in range(args.repeats):
            names = list(makers) if repeat % 2 == 0 else list(reversed(makers))
            for name in names:
                runs[name].append(_searcher_cycle(args.trials, makers[name](len(runs[name]) + 10 * repeat), args.seed))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [{"lever": "optuna_storage", "variant": name, "seconds": median(values),
             "metric": "seconds per trial in the searcher (suggest, 2 epoch reports, completion)",
             "raw_seconds": values} for name, values in runs.items()]


def _text(records: list[dict[str, Any]], conditions: dict[str, Any]) -> str:
    head = (f"levers: A/B in one process, median of {conditions['repeats']} repetitions; Keras levers on "
            f"{conditions['train_limit']:,} images, {conditions['epochs']} epochs, {conditions['threads']} "
            f"TensorFlow thread(s)")
    rows = []
    for record in records:
        extra = ""
        if "first_epoch_s" in record:
            extra = (f"config {record['config_index']} (batch {record['batch_size']}): wall "
                     f"{record['wall_seconds']:.2f} s/epoch, first epoch {record['first_epoch_s']:.2f} s, "
                     f"set-up {record['setup_s']:.2f} s")
        elif "fit_seconds" in record:
            extra = (f"whole fit {record['fit_seconds']:.2f} s; teardowns "
                     f"{', '.join(f'{value:.2f}' for value in record['raw_seconds'])} s")
        elif "driver_cpu_per_trial_s" in record:
            extra = f"driver CPU {record['driver_cpu_per_trial_s']:.3f} s/trial"
        rows.append((record["lever"], record["variant"], f"{record['seconds']:.3f}", extra))
    return "\n\n".join([head, table(("lever", "variant", "seconds", "notes"), rows),
                        "seconds: " + "; ".join(sorted({f"{r['lever']}: {r['metric']}" for r in records}))])
