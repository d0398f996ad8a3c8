"""The machine and the software a figure came from (printed with every benchmark)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mnist_models import keras_backend
from search.run_folder import library_versions


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # Not Linux.
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def gpu_names() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists; empty where there is no NVIDIA driver or GPU."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listing.returncode != 0:
        return []
    return [line.strip() for line in listing.stdout.splitlines() if line.startswith("GPU ")]


def versions() -> dict[str, str]:
    found = library_versions()
    for package in ("keras-tuner", "optuna-integration", "jax", "jaxlib"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["keras_backend"] = keras_backend()
    return found


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, memory, GPUs and the load average when the benchmark started (the
    machine may be shared: a load near or above nproc means the figures are noisy)."""
    try:
        load = [round(value, 2) for value in os.getloadavg()]
    except OSError:
        load = []
    return {
        "nproc": cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib(),
        "gpus": gpu_names(),
        "hostname": platform.node(),
        "os": platform.platform(),
        "load_average_at_start": load,
    }
