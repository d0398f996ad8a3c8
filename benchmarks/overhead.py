"""``python -m benchmarks overhead``: what the service costs beyond training, against a plain loop.

The same fixed list of CNN configurations is trained, in each repetition, by two fresh
processes one after the other (their order alternates between repetitions):

- the service: ``search.tuning.make_tuner``'s Tune wiring, ``concurrency`` trials at a time
  with ``cpus_per_trial`` CPUs each (the service's default on this machine);
- a plain loop: Optuna ``study.optimize`` with the list enqueued, ``mnist_models.fit_config``,
  one trial at a time with TensorFlow on every core, no Ray;

and the training itself is the sum of the epoch times each reports.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence, TextIO

from benchmarks._configs import FIXED_CNN_POINTS, fixed_points
from benchmarks._errors import BenchError
from benchmarks._figures import median, overhead_per_trial, ratio, slot_gaps, spread, trial_spans
from benchmarks._output import emit, table
from benchmarks._spawn import ArmRun, run_arm

ARM_TIMEOUT_S = 2 * 3600

DEFINITIONS = {
    "service_s": "wall time of the service's process, spawn to exit: Python start, data, ray.init, "
                 "Tuner.fit, ray.shutdown",
    "plain_s": "wall time of the plain loop's process, spawn to exit: Python start, data, import of "
               "TensorFlow/Keras, study.optimize",
    "ratio_service_over_plain": "service_s / plain_s, per repetition, then the median",
    "search_s": "Tuner.fit (service) or study.optimize (plain) only",
    "training_s": "sum over trials of the epoch times they reported (epoch begin to end, validation "
                  "included; model building and the first-fit set-up are not in it)",
    "overhead_per_trial_s": "(service search_s x concurrency - service training_s) / trials: the "
                            "trial-slot seconds not spent in an epoch (worker start and TensorFlow import, "
                            "model building, reporting, scheduling, slots idle at the end), per trial",
    "overhead_per_trial_end_to_end_s": "the same with service_s in place of search_s (start-up shared "
                                       "by the trials)",
    "plain_overhead_per_trial_s": "(plain search_s x 1 - plain training_s) / trials",
    "gap_per_trial_s": "median time a trial slot waits between one trial's last epoch and the next trial's "
                       "first (model building, fit set-up, reporting, scheduling, the searcher): the steady "
                       "per-trial cost, without the workers' start-up; needs more trials than concurrency",
    "to_first_epoch_s": "from the start of the search (Tuner.fit / study.optimize) to the start of the first "
                        "epoch: the workers' start-up and TensorFlow import (service), the first model",
}


class OverheadError(BenchError):
    pass


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, nproc: int, **_: Any) -> None:
    parser.add_argument("--configs", type=positive_int("--configs"), default=8,
                        help=f"configurations from the fixed list (at most {len(FIXED_CNN_POINTS)}; default 8)")
    parser.add_argument("--epochs", type=positive_int("--epochs"), default=2, help="epochs each (default 2)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=None,
                        help="train on the first N images of the search's training split (default: all 54,000)")
    parser.add_argument("--repeats", type=positive_int("--repeats"), default=3,
                        help="repetitions; medians are reported (default 3)")
    parser.add_argument("--cpus-per-trial", type=positive_int("--cpus-per-trial"), default=1,
                        help="CPUs each service trial holds (default 1, the service's default)")
    parser.add_argument("--concurrency", type=positive_int("--concurrency"), default=None,
                        help=f"service trials at once (default: CPUs / cpus-per-trial = {nproc} here)")
    parser.add_argument("--no-dashboard", dest="dashboard", action="store_false",
                        help="start the service's Ray without its dashboard (default: with, as search.run)")


def check_arguments(args: argparse.Namespace) -> None:
    if args.configs > len(FIXED_CNN_POINTS):
        raise OverheadError(f"--configs is {args.configs}, but the fixed list has {len(FIXED_CNN_POINTS)} "
                            f"configurations: ask for at most {len(FIXED_CNN_POINTS)}")


def training_seconds(result: dict[str, Any]) -> float:
    return sum(sum(trial["epoch_seconds"]) for trial in result["trials"])


def check_complete(arm: str, result: dict[str, Any], *, configs: int, epochs: int) -> None:
    """Every configuration ran once with every epoch, or the comparison is void."""
    ran = sorted(trial.get("config_index") for trial in result["trials"]
                 if len(trial["epoch_seconds"]) == epochs)
    if ran != list(range(configs)) or result.get("errors"):
        raise OverheadError(f"the {arm} ran configurations {ran} to their last epoch (errors: "
                            f"{result.get('errors') or 'none'}), not each of the {configs} once: "
                            f"the comparison is void; see the arm's log")


def repetition_figures(service: ArmRun, plain: ArmRun) -> dict[str, float]:
    """The figures of one repetition from both arms' measured times (see ``DEFINITIONS``)."""
    trials = len(service.result["trials"])
    concurrency = int(service.result["concurrency"])
    service_training = training_seconds(service.result)
    plain_training = training_seconds(plain.result)
    search_s, optimize_s = float(service.result["fit_s"]), float(plain.result["optimize_s"])
    return {
        "service_s": service.wall_s,
        "plain_s": plain.wall_s,
        "ratio_service_over_plain": ratio(service.wall_s, plain.wall_s),
        "service_search_s": search_s,
        "plain_search_s": optimize_s,
        "ratio_search_service_over_plain": ratio(search_s, optimize_s),
        "service_training_s": service_training,
        "plain_training_s": plain_training,
        "overhead_per_trial_s": overhead_per_trial(wall_s=search_s, concurrency=concurrency,
                                                   training_s=service_training, trials=trials),
        "overhead_per_trial_end_to_end_s": overhead_per_trial(wall_s=service.wall_s, concurrency=concurrency,
                                                              training_s=service_training, trials=trials),
        "plain_overhead_per_trial_s": overhead_per_trial(wall_s=optimize_s, concurrency=1,
                                                         training_s=plain_training, trials=trials),
        "service_startup_and_shutdown_s": service.wall_s - search_s,
        "plain_startup_s": plain.wall_s - optimize_s,
        "service_gap_per_trial_s": median(slot_gaps(trial_spans(service.result["trials"]), concurrency)),
        "plain_gap_per_trial_s": median(slot_gaps(trial_spans(plain.result["trials"]), 1)),
        "service_to_first_epoch_s": _to_first_epoch(service.result, "fit_started_at"),
        "plain_to_first_epoch_s": _to_first_epoch(plain.result, "optimize_started_at"),
        "ray_init_s": float(service.result["ray_init_s"]),
        "ray_shutdown_s": float(service.result["shutdown_s"]),
        "plain_import_s": float(plain.result["import_s"]),
    }


def _to_first_epoch(result: dict[str, Any], started_key: str) -> float:
    """Seconds from the start of the search to the start of its first epoch (workers' start-up,
    TensorFlow's import there, the first model)."""
    spans = trial_spans(result["trials"])
    return spans[0][0] - float(result[started_key]) if spans else math.nan


def per_configuration(service: ArmRun, plain: ArmRun) -> list[dict[str, float]]:
    """Each configuration's training seconds (its epochs summed) in both arms."""
    by_index: dict[int, dict[str, float]] = {}
    for arm, run in (("service", service), ("plain", plain)):
        for trial in run.result["trials"]:
            by_index.setdefault(int(trial["config_index"]), {})[f"{arm}_training_s"] = sum(trial["epoch_seconds"])
    return [by_index[index] for index in sorted(by_index)]


def summarize(repetitions: Sequence[dict[str, float]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Medians of every figure over the repetitions, and the raw values."""
    raw = {key: [repetition[key] for repetition in repetitions] for key in repetitions[0]}
    return {key: median(values) for key, values in raw.items()}, raw


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    check_arguments(args)
    concurrency = args.concurrency or max(1, machine["nproc"] // args.cpus_per_trial)
    points = fixed_points(args.configs, epochs=args.epochs)
    spec = {"points": points, "seed": args.seed, "train_limit": args.train_limit, "space": "cnn",
            "cpus_per_trial": args.cpus_per_trial, "concurrency": concurrency, "dashboard": args.dashboard}
    work_dir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    repetitions, configurations = [], []
    try:
        for repeat in range(args.repeats):
            order = ("service_fixed", "plain_fixed") if repeat % 2 == 0 else ("plain_fixed", "service_fixed")
            runs = {arm: run_arm(arm, spec, work_dir=work_dir / f"repeat{repeat}", timeout_s=ARM_TIMEOUT_S)
                    for arm in order}
            for arm, label in (("service_fixed", "service"), ("plain_fixed", "plain loop")):
                check_complete(label, runs[arm].result, configs=args.configs, epochs=args.epochs)
            repetitions.append(repetition_figures(runs["service_fixed"], runs["plain_fixed"]))
            configurations.append(per_configuration(runs["service_fixed"], runs["plain_fixed"]))
            if getattr(args, "progress", None):
                figures = repetitions[-1]
                print(f"  repetition {repeat + 1}/{args.repeats}: service {figures['service_s']:.1f} s, plain "
                      f"{figures['plain_s']:.1f} s, overhead {figures['overhead_per_trial_s']:.2f} s/trial",
                      file=args.progress, flush=True)
    except BaseException:
        print(f"benchmarks overhead: the arms' logs are kept in {work_dir}", file=sys.stderr)
        raise
    shutil.rmtree(work_dir, ignore_errors=True)
    medians, raw = summarize(repetitions)
    conditions = {"configs": args.configs, "epochs": args.epochs, "train_limit": args.train_limit,
                  "repeats": args.repeats, "concurrency": concurrency, "cpus_per_trial": args.cpus_per_trial,
                  "plain_threads": machine["nproc"], "dashboard": args.dashboard, "seed": args.seed,
                  "order": "service first in odd repetitions, plain first in even ones"}
    common = {"benchmark": "overhead", "machine": machine, "versions": versions, "conditions": conditions}
    records: list[dict[str, Any]] = [{**common, "record": "summary", **medians, "repeats": raw,
                                      "definitions": DEFINITIONS}]
    for index in range(args.configs):
        values = {key: [repetition[index].get(key) for repetition in configurations]
                  for key in ("service_training_s", "plain_training_s")}
        records.append({**common, "record": "configuration", "config_index": index, "config": points[index],
                        **{key: median(v for v in vals if v is not None) for key, vals in values.items()},
                        "repeats": values})
    emit(records, as_json=args.json, text=_text(medians, raw, records[1:], conditions), stream=stream)
    return 0


def _cell(raw: list[float], value: float, digits: int = 1) -> str:
    low, high = spread(raw)
    return f"{value:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


def _text(medians: dict[str, float], raw: dict[str, list[float]], configurations: list[dict[str, Any]],
          conditions: dict[str, Any]) -> str:
    limit = f"the first {conditions['train_limit']:,}" if conditions["train_limit"] else "all 54,000"
    head = (f"overhead: {conditions['configs']} CNN configurations x {conditions['epochs']} epochs on {limit} "
            f"training images; service {conditions['concurrency']} trials x {conditions['cpus_per_trial']} CPU, "
            f"plain loop 1 trial x {conditions['plain_threads']} threads; median [min-max] of "
            f"{conditions['repeats']} repetitions")
    rows = [
        ("wall time, whole command (s)", _cell(raw["service_s"], medians["service_s"]),
         _cell(raw["plain_s"], medians["plain_s"]), _cell(raw["ratio_service_over_plain"],
                                                         medians["ratio_service_over_plain"], 2)),
        ("wall time, search only (s)", _cell(raw["service_search_s"], medians["service_search_s"]),
         _cell(raw["plain_search_s"], medians["plain_search_s"]),
         _cell(raw["ratio_search_service_over_plain"], medians["ratio_search_service_over_plain"], 2)),
        ("training, sum of epochs (s)", _cell(raw["service_training_s"], medians["service_training_s"]),
         _cell(raw["plain_training_s"], medians["plain_training_s"]), ""),
        ("overhead per trial (s)", _cell(raw["overhead_per_trial_s"], medians["overhead_per_trial_s"], 2),
         _cell(raw["plain_overhead_per_trial_s"], medians["plain_overhead_per_trial_s"], 2), ""),
        ("  the same, end to end (s)", _cell(raw["overhead_per_trial_end_to_end_s"],
                                             medians["overhead_per_trial_end_to_end_s"], 2), "", ""),
        ("  gap between trials in a slot (s)", _cell(raw["service_gap_per_trial_s"],
                                                     medians["service_gap_per_trial_s"], 2),
         _cell(raw["plain_gap_per_trial_s"], medians["plain_gap_per_trial_s"], 2), ""),
        ("  search start to first epoch (s)", _cell(raw["service_to_first_epoch_s"],
                                                    medians["service_to_first_epoch_s"]),
         _cell(raw["plain_to_first_epoch_s"], medians["plain_to_first_epoch_s"]), ""),
        ("start-up and shut-down (s)", _cell(raw["service_startup_and_shutdown_s"],
                                             medians["service_startup_and_shutdown_s"]),
         _cell(raw["plain_startup_s"], medians["plain_startup_s"]), ""),
        ("  ray.init / import keras (s)", _cell(raw["ray_init_s"], medians["ray_init_s"]),
         _cell(raw["plain_import_s"], medians["plain_import_s"]), ""),
    ]
    per_config = table(("configuration", "service training s", "plain training s"),
                       [(f"{row['config_index']}: {_describe(row['config'])}", row["service_training_s"],
                         row["plain_training_s"]) for row in configurations])
    definitions = "\n".join(f"  {key}: {text}" for key, text in DEFINITIONS.items())
    return "\n\n".join([head, table(("figure", "service", "plain loop", "service/plain"), rows), per_config,
                        "definitions:\n" + definitions])


def _describe(point: dict[str, Any]) -> str:
    blocks = "-".join(str(point[f"filters_{block}"]) for block in range(point["n_blocks"]))
    extras = ("bn " if point["batch_norm"] else "") + ("aug " if point["augment"] else "")
    return f"conv {blocks} {extras}{point['optimizer']} b{point['batch_size']}"
