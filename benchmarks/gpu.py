"""``python -m benchmarks gpu``: epochs per minute with 1, 2, 4, 8 trials sharing one GPU.

For each count k, the service trains ``rounds × k`` configurations of the fixed list (k at a
time, each holding 1/k of the GPU and CPUs/k of the CPUs) and the throughput is the epochs
trained over Tune.fit's wall time. Where no GPU exists it says so in one line and exits 0.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from benchmarks._configs import FIXED_CNN_POINTS, same_points
from benchmarks._figures import epochs_per_minute, ratio
from benchmarks._output import emit, table
from benchmarks._spawn import ArmFailed, run_arm

ARM_TIMEOUT_S = 3600
NO_GPU = "gpu: this machine has no GPU (nvidia-smi lists none): nothing to measure; run it on a GPU machine"


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, counts: Any, **_: Any) -> None:
    parser.add_argument("--trials-per-gpu", type=counts("--trials-per-gpu"), default=[1, 2, 4, 8],
                        help="trial counts sharing the GPU, comma-separated (default 1,2,4,8)")
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=2,
                        help="configurations trained per count = rounds x count (default 2)")
    parser.add_argument("--epochs", type=positive_int("--epochs"), default=2, help="epochs each (default 2)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=None,
                        help="train on the first N images of the search's training split (default: all)")
    parser.add_argument("--config", type=_config_index, default=0,
                        help="which configuration of the fixed list every trial trains, by position "
                             "(default 0: the notebook's cnn_small), so every count trains the same work")
    parser.add_argument("--arm-timeout", type=positive_int("--arm-timeout"), default=ARM_TIMEOUT_S,
                        help=f"seconds one count may take before it counts as failed (default {ARM_TIMEOUT_S})")


def _config_index(text: str) -> int:
    last = len(FIXED_CNN_POINTS) - 1
    if not text.strip().isdigit() or int(text) > last:
        raise argparse.ArgumentTypeError(f"--config is {text!r}, but must be a position in the fixed list, 0 to {last}")
    return int(text)


def gpu_share(trials_per_gpu: int) -> float:
    """The GPU fraction each of ``trials_per_gpu`` trials holds (Ray takes fractions below 1)."""
    return 1.0 if trials_per_gpu == 1 else round(1.0 / trials_per_gpu, 6)


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    if not machine["gpus"]:
        emit([{"benchmark": "gpu", "skipped": NO_GPU}], as_json=args.json, text=NO_GPU, stream=stream)
        return 0
    work_dir = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    common = {"benchmark": "gpu", "machine": machine, "versions": versions}
    try:
        records = [{**common, **measure_count(count, args, nproc=machine["nproc"], work_dir=work_dir)}
                   for count in args.trials_per_gpu]
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    failed = [record for record in records if record["record"] == "failed"]
    records = [record for record in records if record["record"] == "summary"]
    single = next((record["epochs_per_minute"] for record in records if record["trials_per_gpu"] == 1), None)
    for record in records:
        record["speedup_over_one"] = ratio(record["epochs_per_minute"], single) if single else None
    text = table(("trials per GPU", "epochs", "search s", "epochs/min", "x one trial"),
                 [(str(r["trials_per_gpu"]), r["epochs"], r["search_s"], r["epochs_per_minute"],
                   r["speedup_over_one"]) for r in records])
    text += "".join(f"\n{r['trials_per_gpu']} trial(s) per GPU failed: {r['error']}" for r in failed)
    records += failed
    emit(records, as_json=args.json, text=f"gpu: {', '.join(machine['gpus'])}\n\n{text}", stream=stream)
    return 1 if failed else 0


def measure_count(count: int, args: argparse.Namespace, *, nproc: int, work_dir: Path) -> dict[str, Any]:
    """One count: ``rounds x count`` trials, ``count`` at a time sharing the GPU; a summary
    record, or a failed one (the other counts go on)."""
    log = getattr(args, "progress", None) or sys.stderr
    cpus = max(1, nproc // count)
    points = same_points(getattr(args, "config", 0), args.rounds * count, epochs=args.epochs)
    spec = {"points": points, "seed": args.seed, "train_limit": args.train_limit, "space": "cnn",
            "cpus_per_trial": cpus, "gpus_per_trial": gpu_share(count), "concurrency": count, "dashboard": False}
    try:
        result = run_arm("service_fixed", spec, work_dir=work_dir / f"k{count}",
                         timeout_s=getattr(args, "arm_timeout", ARM_TIMEOUT_S)).result
    except ArmFailed as error:
        # The arm's log dies with work_dir, so show its end now.
        _print_tail(work_dir / f"k{count}" / "service_fixed.log", file=log)
        print(f"  {count} trial(s) per GPU: failed: {error}", file=log, flush=True)
        return {"record": "failed", "trials_per_gpu": count, "error": str(error)}
    for tail in result.get("error_tails", []):
        print(f"  {count} trial(s) per GPU: a trial failed:\n{tail}", file=log, flush=True)
    epochs = sum(len(trial["epoch_seconds"]) for trial in result["trials"])
    record = {"record": "summary", "trials_per_gpu": count,
              "epochs_per_minute": epochs_per_minute(epochs=epochs, wall_s=result["fit_s"]),
              "epochs": epochs, "search_s": result["fit_s"], "errors": result["errors"],
              "conditions": {"config": points[0], "rounds": args.rounds, "epochs": args.epochs, "cpus_per_trial": cpus,
                             "gpus_per_trial": gpu_share(count), "train_limit": args.train_limit}}
    if getattr(args, "progress", None):
        # Each count's figures as soon as they exist (the table comes only at the end).
        print(f"  {count} trial(s) per GPU: {record['epochs_per_minute']:.1f} epochs/min "
              f"({epochs} epochs in {result['fit_s']:.1f} s; ray.init {result['ray_init_s']:.1f} s, "
              f"{len(result['errors'])} failed trial(s))", file=args.progress, flush=True)
    return record


def _print_tail(path: Path, *, file: TextIO, lines: int = 60) -> None:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return
    print(f"--- last {len(text)} lines of {path.name} ---", *text, "--- end ---", sep="\n", file=file, flush=True)
