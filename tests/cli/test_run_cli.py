"""`python -m search.run` refuses bad input: one line on stderr, a non-zero exit, nothing on disk changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mnist_models._data import SHIPPED_MNIST_SHA256
from tests.conftest import PROJECT_ROOT, PYTHON, synthetic_arrays


def run_cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "search.run", *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder that already holds one finished run."""
    folder = tmp_path / "results"
    existing = folder / "earlier"
    existing.mkdir(parents=True)
    (existing / "run.json").write_text('{"state": "finished"}\n')
    (existing / "trials.parquet").write_bytes(b"PAR1 pretend")
    return folder


def _bad_npz(tmp_path: Path, **overrides) -> str:
    arrays = synthetic_arrays()
    arrays.update(overrides)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


def _damaged_run(tmp_path: Path, run_json: str, *, trials: bytes | None = None) -> str:
    """A run named "damaged" beside "earlier" in the results folder, its run.json ``run_json``."""
    folder = tmp_path / "results" / "damaged"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(run_json)
    if trials is not None:
        (folder / "trials.parquet").write_bytes(trials)
    return "damaged"


# A search that finished and whose confirmation was interrupted: --resume confirms again from trials.parquet.
CONFIRMATION_TO_RESUME = json.dumps({"state": "finished", "argv": [], "keras_backend": "tensorflow",
                                     "data": "shipped MNIST", "data_sha256": SHIPPED_MNIST_SHA256,
                                     "confirmation": {"state": "interrupted"}})


def _truncated_npz(tmp_path: Path) -> str:
    good = Path(_bad_npz(tmp_path))
    path = tmp_path / "truncated.npz"
    path.write_bytes(good.read_bytes()[:4_000])
    return str(path)


BAD_INPUTS = {
    "unknown space": (lambda tmp: ["--space", "resnet"], "--space 'resnet' is not a search space"),
    "non-positive number": (lambda tmp: ["--num-samples", "0"], "--num-samples is 0, but must be >= 1"),
    "malformed time budget": (lambda tmp: ["--time-budget", "ten minutes"], "is not a positive duration"),
    "missing data file": (lambda tmp: ["--data", str(tmp / "nowhere.npz")], "does not exist"),
    "truncated data file": (lambda tmp: ["--data", _truncated_npz(tmp)], "is not a readable .npz archive"),
    "images of the wrong shape": (
        lambda tmp: ["--data", _bad_npz(tmp, x_test=np.zeros((200, 28, 27), np.uint8))],
        "x_test has shape (200, 28, 27)",
    ),
    "labels out of range": (
        lambda tmp: ["--data", _bad_npz(tmp, y_train=np.full(6_200, 12, np.uint8))],
        "y_train holds labels from 12 to 12",
    ),
    "existing run name": (lambda tmp: ["--name", "earlier"], "run 'earlier' already exists"),
    "address that does not answer": (lambda tmp: ["--address", "127.0.0.1:9"], "--address '127.0.0.1:9' does not answer"),
    "address that is not HOST:PORT": (lambda tmp: ["--address", "nonsense"], "--address 'nonsense' is not HOST:PORT or 'auto'"),
    "results folder that is a file": (lambda tmp: ["--results", str(tmp / "results" / "earlier" / "run.json")], "is not a folder"),
    "resume of a run whose run.json is damaged": (
        lambda tmp: ["--resume", _damaged_run(tmp, '{"state": "interrupted", ')],
        "--resume 'damaged': ",
    ),
    "resume of a confirmation whose trials table is damaged": (
        lambda tmp: ["--resume", _damaged_run(tmp, CONFIRMATION_TO_RESUME, trials=b"PAR1 pretend")],
        "trials.parquet' is not a readable table",
    ),
    "warm start from a run whose run.json is damaged": (
        lambda tmp: ["--warm-start", _damaged_run(tmp, '{"space": "cnn", "objective": null}')],
        "--warm-start 'damaged': ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused_and_changes_nothing(case: str, results: Path, tmp_path: Path) -> None:
    make_argv, message = BAD_INPUTS[case]
    argv = make_argv(tmp_path)
    if "--results" not in argv:
        argv += ["--results", str(results)]
    before = snapshot(results)
    completed = run_cli(*argv)
    assert completed.returncode == 2, completed.stderr
    assert message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert snapshot(results) == before


def test_gpus_per_trial_where_no_gpu_exists_is_refused(results: Path) -> None:
    before = snapshot(results)
    completed = run_cli("--gpus-per-trial", "0.25", "--no-dashboard", "--results", str(results))
    assert completed.returncode == 2
    assert "--gpus-per-trial is 0.25, but this Ray cluster has no GPU" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert snapshot(results) == before
