"""Run one arm (``benchmarks._child``) in a fresh Python process and time it from outside.

The benchmarks are not installed with the service: they run from a checkout, so every child
process starts in the checkout's root with it first on ``PYTHONPATH`` (``PROJECT_ROOT``), and
finds ``benchmarks`` (and the checkout's ``search``) there, as do the Ray workers it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_models import keras_backend
from benchmarks._errors import BenchError

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout: benchmarks/ sits at its top


class ArmFailed(BenchError):
    """An arm's process failed; the message names the arm, the cause and its log."""


@dataclass(frozen=True)
class ArmRun:
    arm: str
    wall_s: float  # From spawning the process to its exit, as a user would time the command.
    result: dict[str, Any]


def worker_backend_env(*, gpus_per_trial: float) -> dict[str, str]:
    """What a benchmark's Ray workers need in their environment when Keras runs on another
    backend than TensorFlow (``KERAS_BACKEND=jax`` on a machine without TensorFlow): the
    backend's name and, for JAX trials sharing a GPU, no preallocation of 75 % of the GPU's
    memory per process. Empty on TensorFlow, so that path is left as it was. Workers of a Ray
    started here inherit the driver's environment; ``_service_arms`` also hands this to Ray's
    runtime_env (``start_ray``'s ``worker_env``)."""
    backend = keras_backend()
    if backend == "tensorflow":
        return {}
    env = {"KERAS_BACKEND": backend}
    if backend == "jax" and gpus_per_trial > 0:
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


def run_arm(arm: str, spec: dict[str, Any], *, work_dir: Path, timeout_s: float) -> ArmRun:
    work_dir.mkdir(parents=True, exist_ok=True)
    spec_path, out_path, log_path = (work_dir / f"{arm}.{suffix}" for suffix in ("spec.json", "out.json", "log"))
    out_path.unlink(missing_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    started = time.perf_counter()
    spec_path.write_text(json.dumps({**spec, "work_dir": str(work_dir), "spawned_at": time.time()}))
    with open(log_path, "w") as log:
        try:
            completed = subprocess.run([sys.executable, "-m", "benchmarks._child", arm, str(spec_path),
                                        str(out_path)], cwd=PROJECT_ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ArmFailed(f"arm {arm!r} ran past its {timeout_s:.0f} s limit (log: {log_path}): "
                            f"shrink the benchmark (--train-limit, --configs, --epochs) or raise --cap")
    wall_s = time.perf_counter() - started
    result = json.loads(out_path.read_text()) if out_path.is_file() else {}
    if completed.returncode != 0 or "error" in result:
        cause = result.get("error") or _last_line(log_path) or f"exit status {completed.returncode}"
        raise ArmFailed(f"arm {arm!r} failed: {cause} (log: {log_path})")
    return ArmRun(arm=arm, wall_s=wall_s, result=result)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
