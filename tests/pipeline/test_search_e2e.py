"""One real search on a slice of MNIST, end to end through the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from spaces import notebook_points
from tests.conftest import PROJECT_ROOT, PYTHON
from tests.cli.test_run_cli import snapshot

pytestmark = pytest.mark.e2e

SMOKE = ["--space", "cnn", "--train-limit", "3000", "--num-samples", "4", "--max-epochs", "2",
         "--no-dashboard", "--no-confirm", "--name", "smoke"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("results")
    completed = subprocess.run([PYTHON, "-m", "search.run", *SMOKE, "--results", str(results)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return results / "smoke", completed


def test_the_run_writes_one_row_per_trial_with_its_hyperparameters(finished_run) -> None:
    run_dir, _ = finished_run
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(rows) == 4
    assert len({row["trial_id"] for row in rows}) == 4
    for row in rows:
        assert row["state"] in {"completed", "early_stopped", "cut_by_budget"}
        assert row["hp_family"] == "cnn"
        for name in ("optimizer", "learning_rate", "batch_size", "epochs", "n_blocks", "padding", "pooling",
                     "batch_norm", "dropout", "dense_units", "dense_dropout", "augment"):
            assert row[f"hp_{name}"] is not None, name
        for block in range(row["hp_n_blocks"]):
            assert row[f"hp_filters_{block}"] and row[f"hp_kernel_{block}"]
        assert 1 <= row["epochs_run"] <= row["hp_epochs"] <= 2
        assert len(row["val_accuracy_per_epoch"]) == row["epochs_run"]
        assert row["best_val_accuracy"] == max(row["val_accuracy_per_epoch"])
        assert row["last_val_accuracy"] == row["val_accuracy_per_epoch"][-1]
        assert row["val_accuracy_per_epoch"][row["best_epoch"] - 1] == row["best_val_accuracy"]
        assert 0.0 <= row["best_val_accuracy"] <= 1.0
        assert row["num_params"] > 0 and row["wall_seconds"] > 0
        assert row["node_id"] and row["error"] is None
        if row["state"] == "completed":
            assert row["epochs_run"] == row["hp_epochs"]


def test_the_search_starts_from_the_notebooks_model(finished_run) -> None:
    run_dir, _ = finished_run
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    point = notebook_points("cnn", max_epochs=2)["cnn_small"]
    matches = [row for row in rows if all(row[f"hp_{key}"] == value for key, value in point.items())]
    assert len(matches) == 1
    assert matches[0]["num_params"] == 38_390


def test_run_json_records_the_command_seed_versions_and_data(finished_run) -> None:
    run_dir, _ = finished_run
    info = json.loads((run_dir / "run.json").read_text())
    assert info["state"] == "finished" and info["seed"] == 0 and info["space"] == "cnn"
    assert info["command"].startswith("python -m search.run --space cnn")
    assert info["data_sha256"] == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
    assert set(info["versions"]) >= {"python", "ray", "tensorflow", "keras", "optuna"}
    assert info["started"] <= info["ended"]
    assert (run_dir / "tune").is_dir()


def test_each_trial_logs_its_results_as_json_lines_and_no_csv_copy(finished_run) -> None:
    run_dir, _ = finished_run
    trial_folders = [folder for folder in (run_dir / "tune").iterdir() if folder.is_dir()]
    assert len(trial_folders) == 4
    for folder in trial_folders:
        assert (folder / "result.json").stat().st_size > 0
        assert not (folder / "progress.csv").exists()


def test_the_closing_table_shows_the_best_trials_next_to_the_notebook(finished_run) -> None:
    _, completed = finished_run
    assert "best val acc" in completed.stdout
    assert "cnn_small" in completed.stdout


def test_running_it_again_with_the_same_name_refuses_and_changes_nothing(finished_run) -> None:
    run_dir, _ = finished_run
    before = snapshot(run_dir)
    completed = subprocess.run([PYTHON, "-m", "search.run", *SMOKE, "--results", str(run_dir.parent)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "run 'smoke' already exists" in completed.stderr
    assert snapshot(run_dir) == before
