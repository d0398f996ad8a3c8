"""``python -m benchmarks memory``: a trial slot's memory over a long run of trials.

Runs the service's command line with one trial at a time (``python -m search.run
--max-concurrent 1 --max-epochs 1 --train-limit N --no-confirm``), so that every trial goes
to the same reused trial actor, and reads the memory each epoch reports (``worker_rss_mb``:
the actor's and its training process's resident memory). Prints that memory after trial 10
and after the last, and the growth per trial in between.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from benchmarks._errors import BenchError
from benchmarks._output import emit, table
from benchmarks._spawn import PROJECT_ROOT
from search.run_folder import trial_results

EARLY_TRIAL = 10
DEFINITIONS = {
    "rss_mb_after_10": "worker_rss_mb reported by the 10th trial (the trial actor's and its training process's "
                       "resident memory)",
    "rss_mb_after_last": "the same, by the last trial",
    "growth_mb_per_trial": "(rss_mb_after_last - rss_mb_after_10) / (trials - 10)",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, **_: Any) -> None:
    parser.add_argument("--trials", type=positive_int("--trials"), default=70, help="trials, one at a time (default 70)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=1500,
                        help="training images a trial trains on (default 1500)")
    parser.add_argument("--space", choices=("cnn", "dense"), default="cnn", help="search space (default cnn)")


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    if args.trials <= EARLY_TRIAL:
        raise BenchError(f"--trials is {args.trials}, but must be above {EARLY_TRIAL}: the growth is measured from "
                         f"trial {EARLY_TRIAL} on")
    argv = ["--space", args.space, "--max-concurrent", "1", "--max-epochs", "1", "--train-limit", str(args.train_limit),
            "--num-samples", str(args.trials), "--time-budget", "6h", "--no-confirm", "--no-dashboard",
            "--seed", str(args.seed)]
    work_dir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        completed = subprocess.run([sys.executable, "-m", "search.run", *argv, "--results", str(work_dir),
                                    "--name", "memory"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                   env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        if completed.returncode != 0:
            raise BenchError(f"the search exited with status {completed.returncode}: "
                             f"{(completed.stderr.strip().splitlines() or ['no output'])[-1]}")
        reports = sorted((line["timestamp"], line["worker_rss_mb"]) for lines in trial_results(work_dir / "memory")
                         for line in lines if "worker_rss_mb" in line)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    sizes = [size for _, size in reports]
    record = {"benchmark": "memory", "record": "summary", "machine": machine, "versions": versions,
              "conditions": {"command": "python -m search.run " + " ".join(argv), "trials": args.trials},
              "definitions": DEFINITIONS, "trials_reported": len(sizes),
              "rss_mb_after_10": sizes[EARLY_TRIAL - 1], "rss_mb_after_last": sizes[-1], "rss_mb_max": max(sizes),
              "growth_mb_per_trial": (sizes[-1] - sizes[EARLY_TRIAL - 1]) / (len(sizes) - EARLY_TRIAL),
              "rss_mb_every_10": sizes[::10]}
    text = table(("trials", "MB after 10", "MB after last", "MB at most", "MB a trial"),
                 [(len(sizes), record["rss_mb_after_10"], record["rss_mb_after_last"], record["rss_mb_max"],
                   record["growth_mb_per_trial"])])
    emit([record], as_json=args.json, text=f"memory: {record['conditions']['command']}\n\n{text}", stream=stream)
    return 0
