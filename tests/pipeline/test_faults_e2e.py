"""Faults: a failing trial, every trial failing, Ctrl-C and resume, a full disk. Nothing finished is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import optuna
import pyarrow.parquet as pq
import pytest

import search.run
from search.run_folder import RecordWriter
from spaces import SPACES, Space
from tests.conftest import PROJECT_ROOT, PYTHON
from tests.pipeline.fault_spaces import always_diverging_space, diverging_every_other_space
from tests.cli.test_run_cli import snapshot

pytestmark = pytest.mark.e2e

SMALL = ["--train-limit", "1000", "--max-epochs", "1", "--no-dashboard", "--no-confirm", "--seed", "3"]


def test_a_trial_whose_loss_turns_nan_is_recorded_as_failed_and_the_search_goes_on(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(SPACES, "diverging", Space(diverging_every_other_space, max_epochs=1, size_aware_max_epochs=1))
    code = search.run.main(["--space", "diverging", "--num-samples", "4", "--max-failures", "0",
                            "--results", str(tmp_path), "--name", "nan", *SMALL])
    assert code == 0, capsys.readouterr().err
    rows = pq.read_table(tmp_path / "nan" / "trials.parquet").to_pylist()
    assert len(rows) == 4
    failed = [row for row in rows if row["state"] == "failed"]
    assert len(failed) == 2
    for row in failed:
        assert row["hp_learning_rate"] == 1e30
        assert "training loss became nan" in row["error"].lower() or "training loss became inf" in row["error"].lower()
    assert all(row["state"] == "completed" for row in rows if row["hp_learning_rate"] != 1e30)


def test_a_run_in_which_every_trial_fails_exits_non_zero_with_the_first_error(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(SPACES, "diverging", Space(always_diverging_space, max_epochs=1, size_aware_max_epochs=1))
    code = search.run.main(["--space", "diverging", "--num-samples", "2", "--max-failures", "0",
                            "--results", str(tmp_path), "--name", "allnan", *SMALL])
    err = capsys.readouterr().err
    assert code == 1
    assert "all 2 trials failed; the first error:" in err and "training loss became" in err
    assert json.loads((tmp_path / "allnan" / "run.json").read_text())["state"] == "failed"


def test_a_full_disk_at_the_start_leaves_nothing_behind(monkeypatch, tmp_path: Path, capsys) -> None:
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "run.json").write_text("{}")
    before = snapshot(tmp_path)

    def disk_full(writer: RecordWriter) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(writer.run_dir / "run.json"))

    monkeypatch.setattr(RecordWriter, "save", disk_full)
    code = search.run.main(["--results", str(tmp_path), "--name", "full", *SMALL])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("search.run: error: cannot write") and "No space left on device" in err
    assert len(err.splitlines()) == 1
    assert snapshot(tmp_path) == before


def _finished_trials(study_db: Path) -> int:
    """Trials the study holds as finished (the run's name is its study's name)."""
    if not study_db.exists():
        return 0
    try:
        study = optuna.load_study(study_name=study_db.parent.name, storage=f"sqlite:///{study_db}")
    except Exception:
        return 0
    return sum(trial.state.is_finished() for trial in study.trials)


def test_ctrl_c_saves_the_search_and_resume_finishes_it_without_losing_or_repeating_a_trial(tmp_path: Path) -> None:
    argv = [PYTHON, "-m", "search.run", "--space", "cnn", "--num-samples", "6", "--train-limit", "1500",
            "--max-epochs", "2", "--no-dashboard", "--no-confirm", "--results", str(tmp_path), "--name", "interrupted"]
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run_dir = tmp_path / "interrupted"
    deadline = time.monotonic() + 240
    while _finished_trials(run_dir / "study.db") < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    if process.poll() is not None:
        output, _ = process.communicate()
        pytest.fail(f"the search ended (exit {process.returncode}) before it could be interrupted:\n{output[-3000:]}")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-2000:]
    assert f"python -m search.run --resume interrupted --results {tmp_path}" in output
    info = json.loads((run_dir / "run.json").read_text())
    assert info["state"] == "interrupted"
    before = pq.read_table(run_dir / "trials.parquet").to_pylist()
    finished_before = {row["trial_id"] for row in before if row["state"] in ("completed", "early_stopped")}
    assert len(finished_before) >= 2

    resumed = subprocess.run([PYTHON, "-m", "search.run", "--resume", "interrupted", "--results", str(tmp_path),
                              "--no-dashboard"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    after = pq.read_table(run_dir / "trials.parquet").to_pylist()
    ids = [row["trial_id"] for row in after]
    assert len(ids) == len(set(ids)) == 6, "every trial exactly once, the budget counted from where it stopped"
    assert finished_before <= set(ids), "no finished trial lost"
    assert all(row["state"] != "interrupted" for row in after)
    for row in before:
        if row["trial_id"] in finished_before:
            again = next(r for r in after if r["trial_id"] == row["trial_id"])
            assert again["val_accuracy_per_epoch"] == row["val_accuracy_per_epoch"]
    final = json.loads((run_dir / "run.json").read_text())
    assert final["state"] == "finished" and final["resumed"] == 1


def test_a_killed_driver_is_told_from_a_running_one_and_resume_continues_it_exactly(tmp_path: Path) -> None:
    """SIGKILL of the driver and of Ray with it (a lost head node): run.json says nothing
    but "running", and no trials.parquet is written. The run is listed as having lost its
    driver, and --resume finishes it: every trial once, none called cut by the budget, every
    completed trial with its planned epochs, the budget counted from the heartbeat."""
    argv = [PYTHON, "-m", "search.run", "--space", "dense", "--num-samples", "8", "--train-limit", "1500",
            "--max-epochs", "2", "--max-concurrent", "1", "--no-dashboard", "--no-confirm", "--results", str(tmp_path),
            "--name", "killed"]
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    run_dir = tmp_path / "killed"
    deadline = time.monotonic() + 240
    while _finished_trials(run_dir / "study.db") < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, "the search ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert json.loads((run_dir / "run.json").read_text())["state"] == "running"
    listed = subprocess.run([PYTHON, "-m", "search.runs", "--results", str(tmp_path)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    assert "driver gone" in listed
    resumed = subprocess.run([PYTHON, "-m", "search.run", "--resume", "killed", "--results", str(tmp_path),
                              "--no-dashboard"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "its driver" in resumed.stdout and "is gone" in resumed.stdout
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len({row["trial_id"] for row in rows}) == len(rows) == 8
    assert {row["state"] for row in rows} <= {"completed", "early_stopped"}, [row["state"] for row in rows]
    assert all(row["epochs_run"] == row["hp_epochs"] for row in rows if row["state"] == "completed")
    study = optuna.load_study(study_name="killed", storage=f"sqlite:///{run_dir / 'study.db'}")
    assert not [trial for trial in study.trials if trial.state == optuna.trial.TrialState.RUNNING]
    final = json.loads((run_dir / "run.json").read_text())
    assert final["state"] == "finished" and final["resumed"] == 1


def test_a_run_whose_driver_is_alive_is_not_resumed(tmp_path: Path, capsys) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "run.json").write_text(json.dumps({
        "argv": ["--space", "cnn"], "state": "running", "driver": {"host": socket.gethostname(), "pid": os.getpid()},
        "heartbeat": datetime.now(timezone.utc).isoformat()}))
    before = snapshot(tmp_path)
    assert search.run.main(["--resume", "live", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "that run is still running" in err and f"pid {os.getpid()}" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume", "nothing-here"], "--resume 'nothing-here': there is no run of that name"),
    ],
)
def test_resume_of_a_run_that_does_not_exist_is_refused(argv, message, tmp_path: Path) -> None:
    completed = subprocess.run([PYTHON, "-m", "search.run", *argv, "--results", str(tmp_path)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_resume_with_another_space_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "cnn-run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"argv": ["--space", "cnn"], "state": "interrupted",
                                                  "data_sha256": "x"}))
    before = snapshot(tmp_path)
    completed = subprocess.run([PYTHON, "-m", "search.run", "--resume", "cnn-run", "--space", "dense",
                                "--results", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    assert "that run searched space 'cnn', not 'dense'" in completed.stderr
    assert snapshot(tmp_path) == before
