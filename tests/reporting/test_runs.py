"""`python -m search.runs` lists the runs of a results folder from their JSON and Parquet files."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from search.reporting import list_runs
from search.runs import main as runs_main
from search.run_folder import driver_identity, now
from tests.conftest import PROJECT_ROOT, PYTHON

FINISHED_START = "2026-11-20T10:00:00+00:00"
INTERRUPTED_START = "2026-11-21T09:30:00+00:00"


def confirm_row(name: str, kind: str, seed: int, accuracy: float) -> dict:
    return {"name": name, "kind": kind, "trial_id": None if kind == "notebook" else name, "seed": seed,
            "test_accuracy": accuracy, "test_loss": 0.05, "epochs": 3, "num_params": 1000, "seconds": 10.0,
            "cached": False, "error": None, "test_correct": [True, False]}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Two runs: a finished, confirmed CNN search (with its ensemble) and an interrupted dense one;
    and a cache folder."""
    folder = tmp_path / "results"
    finished = folder / "cnn-finished"
    finished.mkdir(parents=True)
    (finished / "run.json").write_text(json.dumps({
        "name": "cnn-finished", "space": "cnn", "started": FINISHED_START, "state": "finished",
        "trials": 3, "best_val_accuracy": 0.99}))
    pq.write_table(pa.Table.from_pylist([
        {"trial_id": "aaa", "state": "completed", "best_val_accuracy": 0.98},
        {"trial_id": "bbb", "state": "completed", "best_val_accuracy": 0.991},
        {"trial_id": "ccc", "state": "failed", "best_val_accuracy": None},
    ]), finished / "trials.parquet")
    pq.write_table(pa.Table.from_pylist([
        confirm_row("cnn_small", "notebook", 0, 0.9900), confirm_row("cnn_small", "notebook", 1, 0.9902),
        confirm_row("bbb", "searched", 0, 0.9930), confirm_row("bbb", "searched", 1, 0.9926),
        confirm_row("aaa", "searched", 0, 0.9850), confirm_row("aaa", "searched", 1, 0.9860),
        confirm_row("ensemble", "ensemble", 0, 0.9941),
    ]), finished / "confirm.parquet")

    interrupted = folder / "dense-interrupted"
    for trial, scores in (("train_trial_t1", [0.95, 0.97]), ("train_trial_t2", [0.96])):
        (interrupted / "tune" / trial).mkdir(parents=True)
        lines = [json.dumps({"training_iteration": i + 1, "val_accuracy": s}) for i, s in enumerate(scores)]
        (interrupted / "tune" / trial / "result.json").write_text("\n".join(lines) + "\n")
    (interrupted / "run.json").write_text(json.dumps({
        "name": "dense-interrupted", "space": "dense", "started": INTERRUPTED_START, "state": "interrupted"}))

    (folder / ".notebook-cache").mkdir()
    return folder


def run_runs(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "search.runs", *argv], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


def local(iso: str) -> list[str]:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M").split()


def test_it_lists_both_runs_oldest_first_with_their_figures_and_states(results: Path) -> None:
    completed = run_runs("--results", str(results))
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == f"2 run(s) in {results.resolve()}"
    header = lines[1].split()
    assert header[:5] == ["name", "space", "search", "started", "trials"]
    assert header[-4:] == ["verdict", "state", "trained", "on"]
    finished, interrupted = lines[3].split(), lines[4].split()
    assert finished == ["cnn-finished", "cnn", "accuracy", *local(FINISHED_START), "3", "0.9910", "0.9928", "0.9941",
                        "beats", "(1)", "finished", "-"]  # its trials.parquet predates the device columns
    assert interrupted == ["dense-interrupted", "dense", "accuracy", *local(INTERRUPTED_START), "2", "0.9700", "-", "-",
                           "-", "interrupted", "-"]
    assert len(lines) == 5, "the cache folder (no run.json) is not a run"


def test_it_says_where_a_runs_trials_trained_from_their_device_column(results: Path) -> None:
    rows = [{"trial_id": "aaa", "state": "completed", "best_val_accuracy": 0.98, "device": "CPU"},
            {"trial_id": "bbb", "state": "failed", "best_val_accuracy": None, "device": None}]
    pq.write_table(pa.Table.from_pylist(rows), results / "cnn-finished" / "trials.parquet")
    assert next(run for run in list_runs(results) if run.name == "cnn-finished").trained == "CPU"
    rows[1]["device"] = "GPU: NVIDIA A10G"
    pq.write_table(pa.Table.from_pylist(rows), results / "cnn-finished" / "trials.parquet")
    assert next(run for run in list_runs(results) if run.name == "cnn-finished").trained == "CPU, NVIDIA A10G"


def test_a_run_without_a_trial_table_says_where_from_its_record(results: Path) -> None:
    (results / "dense-interrupted" / "run.json").write_text(json.dumps({
        "name": "dense-interrupted", "space": "dense", "started": INTERRUPTED_START, "state": "interrupted",
        "trial_devices": "2 trials on CPU"}))
    assert next(run for run in list_runs(results) if run.name == "dense-interrupted").trained == "2 trials on CPU"


def test_a_confirmed_run_that_beats_nothing_says_no(results: Path) -> None:
    rows = [confirm_row("cnn_small", "notebook", 0, 0.9950), confirm_row("bbb", "searched", 0, 0.9930)]
    pq.write_table(pa.Table.from_pylist(rows), results / "cnn-finished" / "confirm.parquet")
    run = next(run for run in list_runs(results) if run.name == "cnn-finished")
    assert run.verdict == "no" and run.best_test_accuracy == pytest.approx(0.9930)


def test_a_run_still_going_reads_running_and_a_broken_run_json_is_named(results: Path) -> None:
    (results / "dense-interrupted" / "run.json").write_text(json.dumps({
        "name": "dense-interrupted", "space": "dense", "started": INTERRUPTED_START, "state": "running",
        "driver": driver_identity(), "heartbeat": now()}))
    broken = results / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    runs = {run.name: run for run in list_runs(results)}
    assert runs["dense-interrupted"].state == "running" and runs["dense-interrupted"].trials == 2
    assert runs["broken"].state == "unreadable run.json"


def test_runs_edited_out_of_shape_are_listed_with_what_can_be_read(results: Path) -> None:
    """A field of the wrong type makes run.json unreadable; scores written as text still count;
    a time without a zone is read as UTC. The other runs are listed as ever."""
    (results / "dense-interrupted" / "run.json").write_text(json.dumps({
        "name": "dense-interrupted", "space": "dense", "started": "2026-11-21T09:30:00", "state": "running",
        "driver": {"host": "head-1", "pid": 4242}, "heartbeat": "2026-11-21T09:40:00"}))
    null_objective = results / "null-objective"
    null_objective.mkdir()
    (null_objective / "run.json").write_text(json.dumps({"name": "null-objective", "objective": None}))
    pq.write_table(pa.Table.from_pylist([{"trial_id": "aaa", "best_val_accuracy": "0.98"},
                                         {"trial_id": "bbb", "best_val_accuracy": "0.991"}]),
                   results / "cnn-finished" / "trials.parquet")
    completed = run_runs("--results", str(results))
    assert completed.returncode == 0, completed.stderr[-2000:]
    runs = {run.name: run for run in list_runs(results)}
    assert runs["null-objective"].state == "unreadable run.json"
    assert runs["cnn-finished"].best_val_accuracy == 0.991 and runs["cnn-finished"].trials == 2
    assert runs["dense-interrupted"].state == "driver gone" and runs["dense-interrupted"].started != "?"


def test_a_run_that_says_running_but_whose_driver_died_is_listed_as_driver_gone(results: Path) -> None:
    (results / "dense-interrupted" / "run.json").write_text(json.dumps({
        "name": "dense-interrupted", "space": "dense", "started": INTERRUPTED_START, "state": "running",
        "driver": {"host": "head-1", "pid": 4242}, "heartbeat": INTERRUPTED_START}))
    runs = {run.name: run for run in list_runs(results)}
    assert runs["dense-interrupted"].state == "driver gone"


def test_a_missing_results_folder_is_one_line_on_stderr(tmp_path: Path) -> None:
    completed = run_runs("--results", str(tmp_path / "nowhere"))
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "is not a folder" in completed.stderr
    assert completed.stdout == ""


def test_an_empty_results_folder_says_so(tmp_path: Path) -> None:
    completed = run_runs("--results", str(tmp_path))
    assert completed.returncode == 0 and completed.stdout.startswith("no runs in ")


def test_runs_at_a_storage_uri_are_listed_as_from_a_folder(results: Path) -> None:
    from_folder = run_runs("--results", str(results))
    from_uri = run_runs("--results", results.resolve().as_uri())
    assert from_uri.returncode == 0, from_uri.stderr
    assert from_uri.stdout.splitlines()[0] == f"2 run(s) in {results.resolve().as_uri()}"
    assert from_uri.stdout.splitlines()[1:] == from_folder.stdout.splitlines()[1:]


def test_a_storage_uri_that_cannot_be_read_is_one_line_on_stderr() -> None:
    completed = run_runs("--results", "nosuchscheme://bucket/runs")
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "'nosuchscheme://bucket/runs' cannot be used" in completed.stderr


def test_a_file_uri_of_a_missing_folder_is_one_line_on_stderr(tmp_path: Path) -> None:
    completed = run_runs("--results", (tmp_path / "nowhere").as_uri())
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "is not a folder" in completed.stderr


def test_a_size_aware_run_shows_its_objective_and_parameter_budget(results: Path) -> None:
    record = json.loads((results / "cnn-finished" / "run.json").read_text())
    (results / "cnn-finished" / "run.json").write_text(json.dumps({**record, "objective": "pareto",
                                                                   "max_params": 5000}))
    run = next(run for run in list_runs(results) if run.name == "cnn-finished")
    assert run.search == "pareto <=5k"


def test_a_run_on_another_keras_backend_than_tensorflow_names_it(results: Path) -> None:
    for name, backend in (("cnn-finished", "jax"), ("dense-interrupted", "tensorflow")):
        record = json.loads((results / name / "run.json").read_text())
        (results / name / "run.json").write_text(json.dumps({**record, "keras_backend": backend}))
    searches = {run.name: run.search for run in list_runs(results)}
    assert searches == {"cnn-finished": "accuracy jax", "dense-interrupted": "accuracy"}


def test_an_unknown_flag_is_one_line_on_stderr(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        runs_main(["--bogus"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m search.runs: error: unrecognized arguments: --bogus (see --help)"]
