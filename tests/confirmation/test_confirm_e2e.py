"""Confirmation end to end: a small search, then the confirmation, through the command line.

Smoke mode (``--confirm-train-limit``) keeps it short: the confirmation trains on 3,000 of
the 60,000 training images, the notebook's models for at most ``--max-epochs`` epochs, but
scores every one of the 10,000 test images.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from search.run_folder import config_from_row
from spaces import NOTEBOOK_POINTS, notebook_model_of
from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

SMOKE = ["--space", "cnn", "--train-limit", "3000", "--num-samples", "3", "--max-epochs", "1", "--top-k", "1",
         "--confirm-seeds", "2", "--confirm-train-limit", "3000", "--no-dashboard"]
NOTEBOOK_PARAMS = {"dense_256": 269_322, "dense_deep": 575_050, "cnn_small": 38_390}


def run_search(results: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    completed = subprocess.run([PYTHON, "-m", "search.run", *SMOKE, *extra, "--name", name, "--results", str(results)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def first_run(results: Path) -> tuple[Path, subprocess.CompletedProcess]:
    return results / "first", run_search(results, "first")


def test_confirm_parquet_has_one_configuration_and_the_three_notebook_models_two_seeds_each(first_run) -> None:
    run_dir, _ = first_run
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    candidates = [t for t in trials if t["best_val_accuracy"] is not None and t["state"] != "failed"
                  and notebook_model_of(config_from_row(t)) not in NOTEBOOK_POINTS]
    best_trial = max(candidates, key=lambda t: (t["best_val_accuracy"], [-ord(c) for c in t["trial_id"]]))
    rows = pq.read_table(run_dir / "confirm.parquet").to_pylist()
    assert [(row["name"], row["seed"]) for row in rows] == [
        ("dense_256", 0), ("dense_256", 1), ("dense_deep", 0), ("dense_deep", 1), ("cnn_small", 0), ("cnn_small", 1),
        (best_trial["trial_id"], 0), (best_trial["trial_id"], 1), ("ensemble", 0)]
    rows = rows[:-1]  # the ensemble's row: see test_the_ensemble_of_the_confirmed_models_...
    for row in rows:
        searched = row["kind"] == "searched"
        assert row["kind"] == ("searched" if row["name"] == best_trial["trial_id"] else "notebook")
        assert row["error"] is None and row["cached"] is False
        assert (row["device_backend"], row["device"], row["device_gpu_share"]) == ("tensorflow", "CPU", 0.0)
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["test_loss"] > 0 and row["seconds"] > 0
        assert row["train_images"] == 3000 and row["test_images"] == 10_000
        assert len(row["test_correct"]) == 10_000
        assert np.mean(row["test_correct"]) == pytest.approx(row["test_accuracy"])
        if searched:
            assert row["trial_id"] == best_trial["trial_id"]
            assert row["epochs"] == best_trial["best_epoch"] == row["hp_epochs"]
            assert row["num_params"] == best_trial["num_params"]
            assert row["best_val_accuracy"] == best_trial["best_val_accuracy"]
        else:
            assert row["epochs"] == 1 == row["hp_epochs"]  # smoke mode: capped at --max-epochs
            assert row["num_params"] == NOTEBOOK_PARAMS[row["name"]]
    # Two seeds give two different models.
    cnn = [row for row in rows if row["name"] == "cnn_small"]
    assert cnn[0]["test_correct"] != cnn[1]["test_correct"]


def test_the_terminal_shows_the_verdict_table(first_run) -> None:
    _, completed = first_run
    out = completed.stdout
    assert "mean ± std" in out and "verdict" in out
    for name in ("dense_256", "dense_deep", "cnn_small"):
        assert name in out.split("mean ± std", 1)[1]
    assert "smoke mode" in out
    assert "confirmation: 8 job(s) in" in out and "(8 jobs on CPU)" in out


def test_the_best_model_loads_and_scores_on_the_test_set_what_the_report_says(first_run) -> None:
    import keras

    from mnist_models import final_split, load_mnist

    run_dir, _ = first_run
    best = json.loads((run_dir / "best_config.json").read_text())
    model = keras.saving.load_model(run_dir / "best_model.keras")
    split = final_split(load_mnist(None))
    predicted = np.argmax(model.predict(split.x_test, batch_size=1024, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == split.y_test))
    assert accuracy == pytest.approx(best["test_accuracy"], abs=1e-4)
    rows = pq.read_table(run_dir / "confirm.parquet").to_pylist()
    row = next(r for r in rows if r["name"] == best["name"] and r["seed"] == best["seed"])
    assert row["test_accuracy"] == best["test_accuracy"]
    assert f"test accuracy {best['test_accuracy']:.4f}" in (run_dir / "report.md").read_text()


ENSEMBLE_CHECK = """
import sys, numpy as np, keras
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
x, y = data["x_test"].astype("float32") / 255.0, data["y_test"]
print(float(np.mean(np.argmax(model.predict(x, batch_size=1024, verbose=0), axis=1) == y)))
ours = sorted(name for name in sys.modules if name.split(".")[0] in ("search", "mnist_models", "spaces", "tests"))
assert not ours, ours
"""


def test_the_ensemble_of_the_confirmed_models_is_scored_once_saved_and_loads_with_plain_keras(first_run,
                                                                                                tmp_path) -> None:
    run_dir, completed = first_run
    rows = pq.read_table(run_dir / "confirm.parquet").to_pylist()
    ensemble = rows[-1]
    searched = [row for row in rows if row["kind"] == "searched"]
    assert ensemble["kind"] == "ensemble" and ensemble["members"] == [f"{row['name']}/seed {row['seed']}"
                                                                       for row in searched]
    assert ensemble["num_params"] == sum(row["num_params"] for row in searched)
    assert np.mean(ensemble["test_correct"]) == pytest.approx(ensemble["test_accuracy"])
    # Loaded in a fresh interpreter, outside the project, with Keras alone: it scores what its row says.
    data = tmp_path / "test.npz"
    with np.load(PROJECT_ROOT / "mnist_models" / "data" / "mnist.npz") as mnist:
        np.savez(data, x_test=mnist["x_test"], y_test=mnist["y_test"])
    check = subprocess.run([PYTHON, "-c", ENSEMBLE_CHECK, str(run_dir / "ensemble_model.keras"), str(data)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert check.returncode == 0, check.stderr[-2000:]
    assert float(check.stdout.split()[-1]) == pytest.approx(ensemble["test_accuracy"], abs=2e-4)
    # The run names it: the closing lines, the verdict table, best_config.json, run.json, the report.
    assert re.search(r"ensemble_model.keras \(2 models, test accuracy 0\.\d{4}, built in \d+ s\)", completed.stdout)
    assert "\nensemble     ensemble     1" in completed.stdout
    assert "The ensemble of the confirmed models scores" in completed.stdout
    best = json.loads((run_dir / "best_config.json").read_text())
    recorded = json.loads((run_dir / "run.json").read_text())["confirmation"]["ensemble"]
    assert best["ensemble"] == recorded
    assert recorded["members"] == ensemble["members"] and recorded["test_accuracy"] == ensemble["test_accuracy"]
    assert recorded["model_file"] == "ensemble_model.keras" and recorded["beats_notebook"] in (True, False)
    assert "**The ensemble** averages the class probabilities of 2 confirmed models" in (run_dir / "report.md").read_text()


def test_the_report_and_its_figures_are_written(first_run) -> None:
    run_dir, _ = first_run
    text = (run_dir / "report.md").read_text()
    assert "**Smoke mode:**" in text and "notebook's models for at most 1 epoch(s)" in text
    assert "## Verdict" in text and "## Protocol" in text
    for figure in ("optimization_history.png", "learning_curves.png", "hyperparameter_importance.png",
                   "test_accuracy_vs_parameters.png"):
        assert (run_dir / figure).stat().st_size > 1000, figure
    assert (run_dir / "report.html").read_text().count("data:image/png;base64,") == 4
    info = json.loads((run_dir / "run.json").read_text())
    assert info["confirmation"]["seeds"] == [0, 1] and info["confirmation"]["jobs_run"] == 8
    assert info["keras_backend"] == "tensorflow" and info["confirmation"]["devices"] == "8 jobs on CPU"


def test_a_second_run_takes_the_notebook_models_from_the_cache(results: Path, first_run) -> None:
    first_dir, _ = first_run
    # One trial only (the space's design start point), one seed: the notebook's models come from
    # the cache, the one confirmed model is trained, and one model is too few to ensemble.
    completed = run_search(results, "second", "--num-samples", "1", "--confirm-seeds", "1")
    assert "3 notebook measurement(s) from" in completed.stdout
    assert "no ensemble: it needs at least 2 confirmed models and this run confirmed 1" in completed.stdout
    first = {(r["name"], r["seed"]): r for r in pq.read_table(first_dir / "confirm.parquet").to_pylist()}
    second = pq.read_table(results / "second" / "confirm.parquet").to_pylist()
    notebook = [row for row in second if row["kind"] == "notebook"]
    assert len(notebook) == 3 and len(second) == 4 and all(row["cached"] for row in notebook)
    for row in notebook:
        assert row["test_accuracy"] == first[(row["name"], row["seed"])]["test_accuracy"]
        assert row["test_correct"] == first[(row["name"], row["seed"])]["test_correct"]
    assert json.loads((results / "second" / "run.json").read_text())["confirmation"]["jobs_run"] == 1


def test_an_interrupted_confirmation_is_run_again_with_resume(results: Path, first_run) -> None:
    import shutil

    first_dir, _ = first_run
    again = results / "interrupted"
    shutil.copytree(first_dir, again)
    info = json.loads((again / "run.json").read_text())
    (again / "run.json").write_text(json.dumps({**info, "confirmation": {"state": "interrupted"}}))
    for leftover in ("confirm.parquet", "best_model.keras", "best_config.json"):
        (again / leftover).unlink()
    completed = subprocess.run([PYTHON, "-m", "search.run", "--resume", "interrupted", "--results", str(results),
                                "--no-dashboard"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "its search finished" in completed.stdout and "confirming again" in completed.stdout
    rows = pq.read_table(again / "confirm.parquet").to_pylist()
    before = {(r["name"], r["seed"]): r["test_accuracy"] for r in pq.read_table(first_dir / "confirm.parquet").to_pylist()}
    assert {(r["name"], r["seed"]): r["test_accuracy"] for r in rows} == before
    assert json.loads((again / "run.json").read_text())["confirmation"]["jobs_run"] == 2
    assert (again / "best_model.keras").is_file()
