"""``python -m benchmarks longer_training``: what training longer, and wider than the CNN space
allows, buys on the search's own split (the test set is never read).

Trains fixed CNN designs (``LONGER_DESIGNS``) for ``--epochs`` epochs each on the search's
training images, one thread a model, ``--processes`` at a time, and records every epoch's
validation accuracy and seconds. The designs: the widest the space offers (two blocks of 32
filters), and twice as wide in the second block (32, 64), without and with the space's
augmentation; and two convolutions a block (16-32, 32-32, 32-64), which the space offers a
search whose trials may train 10 epochs or more. ``--run RESULTS/NAME`` adds that run's best
configuration (ranked as the confirmation ranks them) and trains every design on that run's
split (its data, seed and training limit). Each is scored at its last epoch and at its best,
and, for the shape of its curve, at the CNN space's epoch cap (there its learning rate has
decayed less than a trial of that many epochs would have it), so the table says what a longer
cap, or wider filters, would buy a search, and at what cost an epoch.

One seed a design: differences smaller than the spread between seeds (docs/PERFORMANCE.md
gives it) are not told apart.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Mapping, Sequence, TextIO

from benchmarks._errors import BenchError
from benchmarks._finished_run import finished_run
from benchmarks._output import emit, table
from benchmarks._split_workers import split_workers, worker_split
from mnist_models import fit_config, load_mnist, parameter_count, search_split
from search.confirmation import select_top_configurations
from spaces import SPACES

# Every design trains with the same values: Adam with a cosine decay over the design's epochs
# (as the default searches' best configurations train), batch norm and dropout, batch 64.
_TRAINING = {"family": "cnn", "n_blocks": 2, "kernel_0": 3, "kernel_1": 3, "padding": "valid", "pooling": "max",
             "batch_norm": True, "dropout": 0.25, "dense_units": 128, "dense_dropout": 0.3, "optimizer": "adam",
             "learning_rate": 2e-3, "lr_schedule": "cosine", "batch_size": 64}
LONGER_DESIGNS: dict[str, dict[str, Any]] = {
    "32-32 (the space's widest)": {**_TRAINING, "filters_0": 32, "filters_1": 32, "augment": False},
    "32-32, augmentation": {**_TRAINING, "filters_0": 32, "filters_1": 32, "augment": True},
    "32-64 (wider than the space)": {**_TRAINING, "filters_0": 32, "filters_1": 64, "augment": False},
    "32-64, augmentation": {**_TRAINING, "filters_0": 32, "filters_1": 64, "augment": True},
    # Two convolutions a block, as the CNN space offers a search that trains long (an hour's).
    "16-32, two convolutions a block": {**_TRAINING, "filters_0": 16, "filters_1": 32, "convs_per_block": 2,
                                        "augment": False},
    "32-32, two convolutions a block": {**_TRAINING, "filters_0": 32, "filters_1": 32, "convs_per_block": 2,
                                        "augment": False},
    "32-64, two convolutions a block": {**_TRAINING, "filters_0": 32, "filters_1": 64, "convs_per_block": 2,
                                        "augment": False},
}
DEFINITIONS = {
    "val_accuracy_at_cap": "validation accuracy after as many epochs as the CNN space allows, within the longer run "
                           "(its learning rate decayed less than in a trial of that many epochs)",
    "val_accuracy_last": "validation accuracy after the last epoch",
    "best_val_accuracy": "the highest validation accuracy of any epoch, and that epoch (best_epoch)",
    "seconds_an_epoch": "median seconds of an epoch, validation included, one thread",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, **_: Any) -> None:
    parser.add_argument("--epochs", type=positive_int("--epochs"), default=12,
                        help="epochs each design trains, its learning rate decayed over them (default 12)")
    parser.add_argument("--designs", type=chosen_designs, default=list(LONGER_DESIGNS),
                        help="which designs, by their number in the table, separated by commas (default all: "
                             + "; ".join(f"{index} {name}" for index, name in enumerate(LONGER_DESIGNS)) + ")")
    parser.add_argument("--processes", type=positive_int("--processes"), default=2,
                        help="models trained at once, one thread each (default 2)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=None,
                        help="train on the first N search-training images only (for a quick try)")
    parser.add_argument("--run", metavar="RESULTS/NAME", default=None,
                        help="add this finished run's best configuration, and train every design on its split")


def chosen_designs(text: str) -> list[str]:
    """'0,2' -> the names of designs 0 and 2 (``--designs``); refuses numbers that name no design."""
    names = list(LONGER_DESIGNS)
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        indices = []
    if not indices or any(not 0 <= index < len(names) for index in indices):
        raise argparse.ArgumentTypeError(f"--designs is {text!r}, but must be numbers from 0 to {len(names) - 1} "
                                         f"separated by commas, like 0,2")
    return [names[index] for index in dict.fromkeys(indices)]


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    cap = SPACES["cnn"].max_epochs
    designs = {name: LONGER_DESIGNS[name] for name in args.designs}
    data, seed, train_limit = None, args.seed, args.train_limit
    if args.run is not None:
        label, best, data, seed, run_limit = _best_of_run(args.run)
        designs[label] = best
        train_limit = train_limit or run_limit
    jobs = [(name, {**design, "epochs": args.epochs}, seed) for name, design in designs.items()]
    started = time.perf_counter()
    with split_workers(min(args.processes, len(jobs)), data=data, seed=seed, train_limit=train_limit) as pool:
        curves = list(pool.map(_train, jobs))
    wall_s = time.perf_counter() - started
    split = search_split(load_mnist(data), seed, train_limit=train_limit)
    conditions = {"epochs": args.epochs, "space_epoch_cap": cap, "split_seed": seed, "run": args.run,
                  "threads_per_model": 1, "processes": args.processes, "train_images": int(split.y_train.size),
                  "validation_images": int(split.y_val.size), "training_wall_s": round(wall_s, 1)}
    records = [{"benchmark": "longer_training", "record": "design", "machine": machine, "versions": versions,
                "conditions": conditions, "definitions": DEFINITIONS, "design": name,
                "config": dict(config),
                "parameters": parameter_count(config), **curve_figures(val_accuracy, seconds, cap=cap)}
               for (name, config, _), (val_accuracy, seconds) in zip(jobs, curves)]
    text = table(("design", "parameters", f"val after {cap} (the cap)", f"val after {args.epochs}",
                  "best val (epoch)", "s an epoch"),
                 [(r["design"], f"{r['parameters']:,}", _accuracy_cell(r["val_accuracy_at_cap"]),
                   f"{r['val_accuracy_last']:.4f}", f"{r['best_val_accuracy']:.4f} ({r['best_epoch']})",
                   f"{r['seconds_an_epoch']:.1f}") for r in records])
    emit(records, as_json=args.json, stream=stream,
         text=f"longer_training: {len(records)} designs x {args.epochs} epochs on {conditions['train_images']:,} "
              f"search-training images in {wall_s:.0f} s; validation on {conditions['validation_images']:,}; the "
              f"CNN space trains at most {cap} epochs\n\n{text}")
    return 0


def curve_figures(val_accuracy: Sequence[float], seconds: Sequence[float], *, cap: int) -> dict[str, Any]:
    """A design's figures (``DEFINITIONS``) from its per-epoch validation accuracies and
    seconds; the first best epoch wins a tie, and a curve shorter than ``cap`` has no
    figure at the cap (None)."""
    best = max(range(len(val_accuracy)), key=lambda index: (val_accuracy[index], -index))
    return {"val_accuracy_by_epoch": [round(value, 4) for value in val_accuracy],
            "val_accuracy_at_cap": val_accuracy[cap - 1] if len(val_accuracy) >= cap else None,
            "val_accuracy_last": val_accuracy[-1], "best_val_accuracy": val_accuracy[best], "best_epoch": best + 1,
            "seconds_an_epoch": statistics.median(seconds)}


def _best_of_run(run: str) -> tuple[str, dict[str, Any], str | None, int, int | None]:
    """The best configuration of run ``run`` (a CNN search's) with its label in the table, and
    the run's split: data (None: the shipped MNIST), seed and training limit."""
    finished = finished_run(run)
    record = finished.record
    if record.space != "cnn":
        raise BenchError(f"{run!r} searched space {record.space!r}, not 'cnn': give a CNN run")
    candidates = select_top_configurations(finished.rows, 1)
    if not candidates:
        raise BenchError(f"{run!r} has no scored configuration: give a run whose trials trained")
    data = record.data_file
    best = candidates[0]
    return f"{finished.folder.name}'s best ({best.name})", dict(best.config), data, int(record.seed or 0), record.train_limit


def _accuracy_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _train(job: tuple[str, Mapping[str, Any], int]) -> tuple[list[float], list[float]]:
    _, config, seed = job
    split = worker_split()
    # Keras only in the worker processes, after split_workers set their threads.
    import keras

    from benchmarks._epochs import EpochLog

    keras.backend.clear_session()
    log = EpochLog()
    fit_config(config, split.x_train, split.y_train, seed=seed, validation_data=(split.x_val, split.y_val),
               callbacks=[log])
    return log.val_accuracy, log.epoch_seconds
