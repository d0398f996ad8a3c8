"""``python -m benchmarks utilization``: where the machine's CPU time goes during a search.

Runs a short search with the service's command line (``python -m search.run --no-confirm``)
and samples, every ``--interval`` seconds, /proc/stat (the machine's CPU time) and
/proc/PID/stat of every process of the command's tree: the trial workers (Ray worker
processes that ran a trial, with the processes they started: a trial trains in a child of its
worker, ``mnist_models._training_child``), idle workers, and the rest (the driver, raylet,
GCS, dashboard).
On a GPU machine it also samples ``nvidia-smi``'s GPU utilization.

Figures come for two intervals: the whole command (start-up and shut-down included) and the
search window (from the first sample with a trial worker to the last one in which a trial
worker used CPU). The machine may be shared: CPU time used by other programs is reported
apart (``others``), and ``*_of_available`` leaves it out of the denominator.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from benchmarks._errors import BenchError
from benchmarks._figures import cpu_shares, median, ratio
from benchmarks._output import emit, table
from benchmarks._procstat import TreeAccount, machine_seconds, process_table
from benchmarks._spawn import PROJECT_ROOT, worker_backend_env
from search.run_folder import RUN_FILE, read_json, trial_results

DEFINITIONS = {
    "worker_cpu_share": "CPU seconds of the trial workers and their training processes / (wall seconds x CPUs "
                        "of the machine); a trial worker's CPU time includes its TensorFlow import and model "
                        "building, not only epochs",
    "worker_cpu_share_of_available": "CPU seconds of the trial workers / (wall x CPUs - CPU seconds other "
                                     "programs used), i.e. with the machine's other users left out",
    "ray_and_driver": "the driver, raylet, GCS, dashboard and idle Ray workers",
    "others": "busy CPU time of the machine outside the command's processes and this sampler",
    "epoch_slot_share": "sum of the trials' epoch seconds / (window wall x concurrent trials): the share of "
                        "trial-slot time spent inside epochs",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, duration: Any, number: Any,
                  resource_share: Any, **_: Any) -> None:
    def budget(text: str) -> str:
        duration(text)  # a value that is no duration is refused here, in one line
        return text  # and passed to search.run as written

    parser.add_argument("--space", choices=("cnn", "dense"), default="cnn", help="search space (default cnn)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=12_000,
                        help="search on the first N training images (default 12000)")
    parser.add_argument("--num-samples", type=positive_int("--num-samples"), default=6, help="trials (default 6)")
    parser.add_argument("--max-epochs", type=positive_int("--max-epochs"), default=2,
                        help="most epochs a trial trains (default 2)")
    parser.add_argument("--time-budget", type=budget, default="4m", help="the search's time budget (default 4m)")
    parser.add_argument("--cpus-per-trial", type=resource_share("--cpus-per-trial", allow_zero=False), default=1.0,
                        help="CPUs each trial holds, as search.run's flag (default 1)")
    parser.add_argument("--gpus-per-trial", type=resource_share("--gpus-per-trial", allow_zero=True), default=0.0,
                        help="GPUs each trial holds, as search.run's flag: 0.25 puts four trials on a GPU "
                             "(default 0: CPU trials)")
    parser.add_argument("--interval", type=number("--interval", allow_zero=False), default=0.5,
                        help="seconds between samples (default 0.5)")
    parser.add_argument("--no-dashboard", dest="dashboard", action="store_false",
                        help="run the search without Ray's dashboard (default: with, as search.run)")


def gpu_utilization() -> list[float]:
    """Each GPU's utilization (percent) now, from nvidia-smi; empty without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        query = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [float(line) for line in query.stdout.split() if line.strip().replace(".", "", 1).isdigit()]


def interval_figures(start: dict[str, float], end: dict[str, float], *, nproc: int) -> dict[str, float]:
    """Shares of the machine's CPU time between two samples (see ``cpu_shares``)."""
    def delta(key: str) -> float:
        return end[key] - start[key]

    wall = delta("wall")
    capacity = wall * nproc
    # The machine's own tick count gives a capacity too; use it when /proc/stat moved (same
    # thing on an idle-accounting kernel, more exact under steal).
    if delta("machine_total") > 0:
        capacity = delta("machine_total")
    ray_s = delta("ray_and_driver_s") + delta("idle_workers_s")
    busy = delta("machine_busy") - delta("sampler_s")
    shares = cpu_shares(workers_s=delta("trial_workers_s"), ray_s=ray_s, busy_s=busy, capacity_s=capacity)
    return {"wall_s": wall, "capacity_cpu_s": capacity, "trial_workers_cpu_s": delta("trial_workers_s"),
            "ray_and_driver_cpu_s": ray_s, "worker_cpu_share": shares["workers"],
            "worker_cpu_share_of_available": shares["workers_of_available"],
            "ray_and_driver_share": shares["ray_and_driver"], "others_share": shares["others"],
            "idle_share": shares["idle"]}


def search_window(samples: list[dict[str, float]]) -> tuple[int, int]:
    """Indices of the first sample with trial-worker CPU time and of the last one in which it grew."""
    grew = [index for index in range(1, len(samples))
            if samples[index]["trial_workers_s"] > samples[index - 1]["trial_workers_s"]]
    if not grew:
        return 0, len(samples) - 1
    return grew[0] - 1, grew[-1]


def epoch_seconds(run_dir: Path) -> tuple[float, int]:
    """Sum of every trial's reported epoch seconds, and the number of epochs, from Tune's
    per-trial results."""
    reported = [float(line["epoch_seconds"]) for lines in trial_results(run_dir) for line in lines
                if "epoch_seconds" in line]
    return sum(reported), len(reported)


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    argv = ["--space", args.space, "--train-limit", str(args.train_limit), "--num-samples", str(args.num_samples),
            "--max-epochs", str(args.max_epochs), "--time-budget", args.time_budget, "--seed", str(args.seed)]
    if args.cpus_per_trial != 1.0 or args.gpus_per_trial:
        argv += ["--cpus-per-trial", f"{args.cpus_per_trial:g}", "--gpus-per-trial", f"{args.gpus_per_trial:g}"]
    argv.append("--no-confirm")
    if not args.dashboard:
        argv.append("--no-dashboard")
    sampled = sample_search(argv, args, with_gpu=bool(machine["gpus"]))
    samples, account, run_info = sampled["samples"], sampled["account"], sampled["run_info"]
    nproc = machine["nproc"]
    whole = interval_figures(samples[0], samples[-1], nproc=nproc)
    first, last = search_window(samples)
    window = interval_figures(samples[first], samples[last], nproc=nproc)
    concurrency = int(run_info.get("max_concurrent") or nproc)
    window["epoch_slot_share"] = ratio(sampled["epoch_seconds"], window["wall_s"] * concurrency)
    conditions = {"space": args.space, "train_limit": args.train_limit, "num_samples": args.num_samples,
                  "max_epochs": args.max_epochs, "time_budget": args.time_budget, "concurrency": concurrency,
                  "cpus_per_trial": args.cpus_per_trial, "gpus_per_trial": args.gpus_per_trial,
                  "dashboard": args.dashboard, "interval_s": args.interval, "samples": len(samples),
                  "trials": run_info.get("trials"), "epochs": sampled["epochs"],
                  "command": "python -m search.run " + " ".join(argv)}  # as a user would type it
    record = {"benchmark": "utilization", "record": "summary", "machine": machine, "versions": versions,
              "conditions": conditions, "definitions": DEFINITIONS,
              "worker_cpu_share": window["worker_cpu_share"],
              "worker_cpu_share_of_available": window["worker_cpu_share_of_available"],
              "window": window, "whole_command": whole, "epoch_seconds_total": sampled["epoch_seconds"],
              "gpu_utilization_percent_median": median(sampled["gpu"]) if sampled["gpu"] else None,
              "trial_worker_titles": sorted({title for titles in account.titles.values() for title in titles})}
    emit([record], as_json=args.json, text=_text(record), stream=stream)
    return 0


def sample_search(argv: list[str], args: argparse.Namespace, *, with_gpu: bool) -> dict[str, Any]:
    """Run ``python -m search.run ARGV`` in a scratch folder and sample it every
    ``args.interval`` seconds: the samples (with the tree's CPU seconds in each), the
    process account, GPU utilization, the run's run.json and its epochs' seconds."""
    work_dir = Path(tempfile.mkdtemp(prefix="bench-utilization-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
           **worker_backend_env(gpus_per_trial=args.gpus_per_trial)}
    samples: list[dict[str, float]] = []
    gpu: list[float] = []
    command: subprocess.Popen | None = None
    try:
        with open(work_dir / "search.log", "w") as log:
            command = subprocess.Popen([sys.executable, "-m", "search.run", *argv, "--results", str(work_dir),
                                        "--name", "utilization"], cwd=PROJECT_ROOT, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
            account = TreeAccount(root=command.pid)
            while True:
                samples.append(_sample(account))
                gpu += gpu_utilization() if with_gpu else []
                if command.poll() is not None:
                    break
                time.sleep(args.interval)
        if command.returncode != 0:
            _print_tail(work_dir / "search.log")
            raise BenchError(f"the search exited with status {command.returncode}: "
                             f"{_tail(work_dir / 'search.log')}")
        total_epoch_s, epochs = epoch_seconds(work_dir / "utilization")
        run_info = read_json(work_dir / "utilization" / RUN_FILE)
    finally:
        if command is not None and command.poll() is None:  # this sampler failed or was interrupted
            command.terminate()
            command.wait(timeout=60)
        shutil.rmtree(work_dir, ignore_errors=True)
    # Each process's kind is known only now: add the tree's CPU seconds to every sample.
    samples = [{**sample, **account.totals(index)} for index, sample in enumerate(samples)]
    return {"samples": samples, "account": account, "gpu": gpu, "run_info": run_info,
            "epoch_seconds": total_epoch_s, "epochs": epochs}


def _sample(account: TreeAccount) -> dict[str, float]:
    """The machine's and this sampler's CPU seconds now; the tree's go into ``account``."""
    table_now = process_table()
    busy, total = machine_seconds()
    account.sample(table_now)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": time.perf_counter(), "machine_busy": busy, "machine_total": total,
            "sampler_s": own.ru_utime + own.ru_stime}


def _print_tail(path: Path, lines: int = 60) -> None:
    """The end of the search's log, on stderr, before its folder is removed (a failed run on a
    machine one cannot log in to leaves nothing else)."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return
    print(f"--- last {len(text)} lines of the search's log ---", *text, "--- end of the log ---",
          sep="\n", file=sys.stderr, flush=True)


def _tail(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _text(record: dict[str, Any]) -> str:
    conditions = record["conditions"]
    head = (f"utilization: {conditions['command']} ({conditions['trials']} trials, {conditions['epochs']} epochs, "
            f"{conditions['concurrency']} at a time; {conditions['samples']} samples every "
            f"{conditions['interval_s']} s)")
    rows = []
    for label, figures in (("search window", record["window"]), ("whole command", record["whole_command"])):
        rows.append((label, figures["wall_s"], figures["worker_cpu_share"], figures["worker_cpu_share_of_available"],
                     figures["ray_and_driver_share"], figures["others_share"], figures["idle_share"]))
    lines = [head, table(("interval", "wall s", "trial workers", "  of available", "ray+driver", "others", "idle"),
                         rows),
             f"epoch slot share (search window): {record['window']['epoch_slot_share']:.2f}"]
    if record["gpu_utilization_percent_median"] is not None:
        lines.append(f"GPU utilization, median of samples: {record['gpu_utilization_percent_median']:.0f}%")
    lines.append("\n".join(f"  {key}: {text}" for key, text in DEFINITIONS.items()))
    return "\n\n".join(lines)
