"""``python -m benchmarks target``: wall time until a trial first reaches a validation accuracy.

Three peers search the same space from a fresh process each, one after another, with the
same data split and seed:

- ``service``: the service's search (``search.tuning.make_tuner``: TPE seeded, starting from
  the space's start points, ``spaces.start_points``, ASHA, trials filling the machine), ended
  by a Tune stopper when a result first reaches the target;
- ``optuna``: a plain Optuna loop (TPE, same seed and start-up trials, the same start points
  enqueued first, Optuna's MedianPruner fed every epoch), one trial at a time, TensorFlow on
  every core;
- ``kerastuner``: KerasTuner's Hyperband (factor 3, the same max epochs) over the same
  space written for KerasTuner (``_kt_space``), TensorFlow on every core;
- ``warm`` (with ``--warm-start RUN_FOLDER``): the service's search warm-started from that
  earlier run, as ``search.run --warm-start`` does.

The time counts from spawning the process (imports, data, Ray's start included) to the end
of the first epoch that reaches the target. An attempt that has not reached it at the cap
is stopped and counted as not reached.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence, TextIO

from benchmarks._arm_common import warm_start_of
from benchmarks._errors import BenchError
from benchmarks._figures import median, spread
from benchmarks._output import emit, table
from benchmarks._spawn import run_arm
from search.run_folder import RUN_FILE, RunFileError, is_run_folder
from search.study import TPE_STARTUP_TRIALS, WarmStartError
from spaces import SPACES

PEERS = {"service": "service_target", "optuna": "optuna_target", "kerastuner": "kerastuner_target",
         "warm": "service_target"}
COLD_PEERS = ("service", "optuna", "kerastuner")
DEFAULT_TARGET = {"cnn": 0.99, "dense": 0.985}
SHUTDOWN_GRACE_S = 300  # Beyond the cap: an epoch in flight, Ray's shut-down.
DEFINITIONS = {
    "time_to_target_s": "seconds from spawning the peer's process to the end of the first epoch whose "
                        "validation accuracy reached the target; the median over seeds counts an attempt "
                        "that did not reach it as slower than any that did (null when most did not)",
    "reached": "attempts (seeds) that reached the target within the cap",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, duration: Any, fraction: Any,
                  **_: Any) -> None:
    parser.add_argument("--space", choices=sorted(DEFAULT_TARGET), default="cnn", help="search space (default cnn)")
    parser.add_argument("--target", type=fraction("--target"), default=None,
                        help="validation accuracy to reach (default 0.99 for cnn, 0.985 for dense)")
    parser.add_argument("--seeds", type=positive_int("--seeds"), default=3, help="seeds per peer (default 3)")
    parser.add_argument("--cap", type=duration, default=600.0, help="time allowed per attempt (default 10m)")
    parser.add_argument("--peers", default=None,
                        help=f"comma-separated peers among {', '.join(PEERS)} (default {','.join(COLD_PEERS)}, "
                             f"and warm with --warm-start)")
    parser.add_argument("--warm-start", type=Path, default=None, metavar="RUN_FOLDER",
                        help="an earlier run's folder (results/NAME) for the warm peer to start from")
    parser.add_argument("--max-epochs", type=positive_int("--max-epochs"), default=None,
                        help="most epochs a trial trains (default: the service's, 6 for cnn, 20 for dense)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=None,
                        help="search on the first N training images (default: all 54,000)")
    parser.add_argument("--cpus-per-trial", type=positive_int("--cpus-per-trial"), default=1,
                        help="CPUs each service trial holds (default 1)")


def chosen_peers(text: str | None, *, warm_start: Path | None = None) -> list[str]:
    if text is None:
        text = ",".join([*COLD_PEERS, *(["warm"] if warm_start is not None else [])])
    peers = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [peer for peer in peers if peer not in PEERS]
    if not peers or unknown:
        raise BenchError(f"--peers {text!r} names {', '.join(map(repr, unknown)) or 'no peer'}: choose among "
                         f"{', '.join(PEERS)}, separated by commas")
    if "warm" in peers and warm_start is None:
        raise BenchError("peer 'warm' needs the run to start from: add --warm-start results/NAME (an earlier run "
                         "of the same space)")
    if "kerastuner" in peers and importlib.util.find_spec("keras_tuner") is None:
        raise BenchError("peer 'kerastuner' needs KerasTuner: pip install -e '.[bench]' "
                         "(or leave it out with --peers service,optuna)")
    return peers


def checked_warm_start(folder: Path | None, *, space: str, max_epochs: int) -> str | None:
    """The run folder the warm peer starts from, as an absolute path, once it is known to be a
    run of ``space`` whose study can be read (else one line: a BenchError)."""
    if folder is None:
        return None
    folder = folder.expanduser().resolve()
    if not is_run_folder(folder):
        raise BenchError(f"--warm-start {str(folder)!r} is not a run's folder (no {RUN_FILE}): give results/NAME "
                         f"of an earlier run")
    try:
        warm_start_of(folder, space=space, max_epochs=max_epochs)
    except WarmStartError as error:
        raise BenchError(str(error)) from error
    except RunFileError as error:
        raise BenchError(f"--warm-start {str(folder)!r}: {error}: give another run") from error
    return str(folder)


def censored_median(times: Sequence[float | None]) -> float | None:
    """The median time, an attempt that did not reach the target (None) counting as slower
    than all that did; None when that median falls on such an attempt."""
    ordered = sorted(math.inf if time is None else time for time in times)
    value = median(ordered) if ordered else math.inf
    return None if math.isinf(value) or math.isnan(value) else value


def peer_summary(peer: str, attempts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    times = [attempt["time_to_target_s"] if attempt["reached"] else None for attempt in attempts]
    reached = [time for time in times if time is not None]
    low, high = spread(reached)
    return {"peer": peer, "reached": len(reached), "attempts": len(attempts),
            "time_to_target_s": censored_median(times), "fastest_s": low if reached else None,
            "slowest_reached_s": high if reached else None, "seeds": [attempt["seed"] for attempt in attempts],
            "times_s": times, "best_val_accuracy": [attempt["best_val_accuracy"] for attempt in attempts]}


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    peers = chosen_peers(args.peers, warm_start=args.warm_start)
    target = args.target or DEFAULT_TARGET[args.space]
    max_epochs = args.max_epochs or SPACES[args.space].max_epochs
    warm_start_from = checked_warm_start(args.warm_start, space=args.space, max_epochs=max_epochs)
    conditions = {"space": args.space, "target": target, "cap_s": args.cap, "seeds": args.seeds,
                  "max_epochs": max_epochs, "train_limit": args.train_limit,
                  "service_cpus_per_trial": args.cpus_per_trial, "plain_threads": machine["nproc"],
                  "warm_start_from": warm_start_from}
    common = {"benchmark": "target", "machine": machine, "versions": versions, "conditions": conditions}
    work_dir = Path(tempfile.mkdtemp(prefix="bench-target-"))
    attempts: dict[str, list[dict[str, Any]]] = {peer: [] for peer in peers}
    records: list[dict[str, Any]] = []
    try:
        for seed in range(args.seed, args.seed + args.seeds):
            for peer in peers:
                spec = {"space": args.space, "target": target, "cap_s": args.cap, "seed": seed,
                        "max_epochs": max_epochs, "train_limit": args.train_limit,
                        "cpus_per_trial": args.cpus_per_trial, "dashboard": True,
                        "tpe_startup_trials": TPE_STARTUP_TRIALS,
                        **({"warm_start_from": warm_start_from} if peer == "warm" else {})}
                result = run_arm(PEERS[peer], spec, work_dir=work_dir / f"{peer}-{seed}",
                                 timeout_s=args.cap + SHUTDOWN_GRACE_S).result
                attempt = {key: value for key, value in result.items() if key != "trials"}
                attempt.update(seed=seed, peer=peer)
                attempts[peer].append(attempt)
                records.append({**common, "record": "attempt", **attempt})
                if getattr(args, "progress", None):
                    outcome = (f"reached in {attempt['time_to_target_s']:.0f} s" if attempt["reached"]
                               else f"not reached in {args.cap:.0f} s (best {attempt['best_val_accuracy']})")
                    print(f"  {peer}, seed {seed}: {outcome}", file=args.progress, flush=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    summaries = [{**common, "record": "summary", "target": target, "definitions": DEFINITIONS,
                  **peer_summary(peer, attempts[peer])} for peer in peers]
    emit(summaries + records, as_json=args.json, text=_text(summaries, conditions), stream=stream)
    return 0


def _text(summaries: list[dict[str, Any]], conditions: dict[str, Any]) -> str:
    limit = f"first {conditions['train_limit']:,}" if conditions["train_limit"] else "all 54,000"
    head = (f"target: validation accuracy {conditions['target']} on space {conditions['space']!r} ({limit} "
            f"training images, at most {conditions['max_epochs']} epochs a trial), {conditions['seeds']} seed(s), "
            f"cap {conditions['cap_s']:.0f} s per attempt")
    rows = []
    for summary in summaries:
        median_cell = (f"{summary['time_to_target_s']:.0f}" if summary["time_to_target_s"] is not None
                       else f"> {conditions['cap_s']:.0f} (not reached)")
        spread_cell = (f"{summary['fastest_s']:.0f}-{summary['slowest_reached_s']:.0f}"
                       if summary["fastest_s"] is not None else "-")
        best = max((value for value in summary["best_val_accuracy"] if value is not None), default=None)
        rows.append((summary["peer"], f"{summary['reached']}/{summary['attempts']}", median_cell, spread_cell,
                     f"{best:.4f}" if best is not None else "-"))
    notes = [f"{summary['peer']} did not reach {conditions['target']} within {conditions['cap_s']:.0f} s in "
             f"{summary['attempts'] - summary['reached']} of {summary['attempts']} attempt(s)"
             for summary in summaries if summary["reached"] < summary["attempts"]]
    return "\n\n".join([head, table(("peer", "reached", "median s", "reached in s", "best val acc"), rows),
                        *(["\n".join(notes)] if notes else []),
                        "time: " + DEFINITIONS["time_to_target_s"]])
