"""``python -m benchmarks scale``: the service's driver at cluster scale, on a simulated cluster.

Each (trials, slots) pair runs in a fresh process (``_scale_arm``): Ray with ``slots``
logical CPUs, trials that sleep ``epoch_seconds`` an epoch instead of training, and the
service's own driver path (searcher, study, scheduler, progress table, curves, heartbeat,
Tune's state, the trial rows). ``ideal_s`` = trials x epochs x epoch seconds / slots.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any, TextIO

from benchmarks._errors import BenchError
from benchmarks._output import emit, table
from benchmarks._spawn import run_arm

PEERS = {"service": "scale", "tune": "scale_bare_tune"}
ARM_TIMEOUT_S = 3 * 3600
DEFINITIONS = {
    "wall_s": "Tuner.fit through the service's search step, to the trial rows, trials.parquet and run.json",
    "ideal_s": "trials x epochs x epoch_seconds / slots: every slot busy sleeping, nothing else",
    "ratio_wall_over_ideal": "wall_s / ideal_s",
    "slot_utilization": "epochs run x epoch_seconds / (wall_s x slots)",
    "suggest_ms_first": f"median time the searcher took to propose one of the first {20} trials (ms)",
    "suggest_ms_last": f"median time the searcher took to propose one of the last {20} trials (ms)",
    "study_write_ms": "median time of one write to the study (an epoch's value, a trial's end) (ms)",
    "driver_peak_rss_mb": "peak resident memory of the driver process (MB)",
    "results_mb": "size of the run's folder at the end (MB)",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, counts: Any, number: Any, **_: Any) -> None:
    parser.add_argument("--trials", type=counts("--trials"), default=[1000],
                        help="trials per search, comma-separated for several (default 1000)")
    parser.add_argument("--slots", type=counts("--slots"), default=[32],
                        help="simulated trial slots (logical CPUs), comma-separated for several (default 32)")
    parser.add_argument("--epochs", type=positive_int("--epochs"), default=3, help="epochs a trial (default 3)")
    parser.add_argument("--epoch-seconds", type=number("--epoch-seconds", allow_zero=False), default=1.0, help="seconds a trial sleeps an epoch (default 1)")
    parser.add_argument("--peers", default="service",
                        help="comma-separated: service (the service's driver path), tune (the same trials through "
                             "Tune alone: the floor on this machine) (default service)")


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    peers = [peer.strip() for peer in args.peers.split(",") if peer.strip()]
    unknown = [peer for peer in peers if peer not in PEERS]
    if unknown or not peers:
        raise BenchError(f"--peers {args.peers!r}: choose among {', '.join(PEERS)}, separated by commas")
    common = {"benchmark": "scale", "machine": machine, "versions": versions}
    records = []
    work_dir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        for trials in args.trials:
            for slots in args.slots:
                for peer in peers:
                    records.append({**common, "record": "summary", "definitions": DEFINITIONS,
                                    **_measure(peer, trials, slots, args, work_dir)})
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    rows = [(r["peer"], r["trials"], r["slots"], r["wall_s"], r["ideal_s"], r["ratio_wall_over_ideal"],
             r["slot_utilization"], r["suggest_ms_first"], r["suggest_ms_last"], r["study_write_ms"],
             r["driver_peak_rss_mb"], r["results_mb"]) for r in records]
    text = table(("peer", "trials", "slots", "wall s", "ideal s", "x ideal", "slots busy", "suggest ms first",
                  "suggest ms last", "write ms", "driver MB", "results MB"), rows)
    emit(records, as_json=args.json, text=f"scale: {args.epochs} epochs of {args.epoch_seconds:g} s a trial\n\n{text}",
         stream=stream)
    return 0


def _measure(peer: str, trials: int, slots: int, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    spec = {"trials": trials, "slots": slots, "epochs": args.epochs, "epoch_seconds": args.epoch_seconds,
            "seed": args.seed}
    result = run_arm(PEERS[peer], spec, work_dir=work_dir / f"{peer}-{trials}-{slots}", timeout_s=ARM_TIMEOUT_S).result
    if getattr(args, "progress", None):
        print(f"  {peer}: {trials} trials on {slots} slots: {result['wall_s']:.0f} s, "
              f"{result['ratio_wall_over_ideal']:.3f} x ideal", file=args.progress, flush=True)
    return {"peer": peer, "conditions": spec, **result}
