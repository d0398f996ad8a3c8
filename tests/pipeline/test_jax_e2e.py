"""The whole service on Keras's JAX backend (``KERAS_BACKEND=jax``), on the CPU: search,
confirmation, best model and report, the smallest run that does all four.

The results folder's notebook cache already holds TensorFlow measurements of the same models,
seeds and images (made up, so that a wrong reuse shows): a JAX run re-measures the notebook's
models on JAX, so the verdict compares like with like.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mnist_models import load_mnist
from search.confirmation import confirm_seeds
from search.confirmation._candidates import notebook_candidates
from search.confirmation._notebook_cache import BaselineCache, cache_key
from search.run_folder import library_versions
from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

IMAGES = 1000
# Under 300,000 parameters the search's two trials are dense_256 and its cosine variant, quick to train;
# the variant is the configuration confirmed.
RUN = ["--space", "dense", "--num-samples", "2", "--max-epochs", "1", "--max-params", "300000",
       "--train-limit", str(IMAGES), "--confirm-seeds", "1", "--confirm-train-limit", str(IMAGES), "--top-k", "1",
       "--max-concurrent", "2", "--no-dashboard"]
TENSORFLOW_ACCURACY = 0.0  # the made-up TensorFlow measurements: every test image wrong


def tensorflow_keys() -> dict[str, dict]:
    """The notebook cache's keys of a TensorFlow run of ``RUN``, by notebook model (one seed)."""
    (seed,) = confirm_seeds(0, 1)
    sha256 = load_mnist(None).sha256
    return {candidate.name: cache_key(model=candidate.name, config=candidate.config, seed=seed, data_sha256=sha256,
                                      train_images=IMAGES, versions=library_versions(), device="cpu",
                                      backend="tensorflow")
            for candidate in notebook_candidates(train_images=IMAGES, max_epochs=1)}


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory) -> tuple[Path, dict[str, dict], subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("results")
    cache = BaselineCache.for_results(results)
    planted = tensorflow_keys()
    for key in planted.values():
        cache.put(key, {"test_accuracy": TENSORFLOW_ACCURACY, "test_loss": 9.0, "seconds": 1.0, "num_params": 1,
                        "train_images": IMAGES, "test_correct": np.zeros(10_000, dtype=bool)})
    completed = subprocess.run([PYTHON, "-m", "search.run", *RUN, "--name", "jax", "--results", str(results)],
                               cwd=PROJECT_ROOT, env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return results / "jax", planted, completed


def test_a_jax_run_ends_with_the_verdict_table_and_records_its_backend(jax_run) -> None:
    run_dir, _, completed = jax_run
    assert "mean ± std" in completed.stdout and "verdict" in completed.stdout
    record = json.loads((run_dir / "run.json").read_text())
    assert record["keras_backend"] == "jax"
    assert record["confirmation"]["devices"] == "4 jobs on CPU"
    assert (run_dir / "best_model.keras").is_file()
    report = (run_dir / "report.md").read_text()
    assert "Keras's jax backend" in report and "## Verdict" in report


@pytest.mark.parametrize("table", ["confirm.parquet", "trials.parquet"])
def test_every_job_and_trial_says_it_trained_on_the_cpu_with_jax(jax_run, table: str) -> None:
    run_dir, _, _ = jax_run
    rows = pq.read_table(run_dir / table).to_pylist()
    assert rows and {(row["device_backend"], row["device"]) for row in rows} == {("jax", "CPU")}


def test_the_notebook_models_are_measured_on_jax_not_taken_from_tensorflows_cache(jax_run) -> None:
    run_dir, planted, _ = jax_run
    notebook = [row for row in pq.read_table(run_dir / "confirm.parquet").to_pylist() if row["kind"] == "notebook"]
    assert sorted(row["name"] for row in notebook) == sorted(planted)
    for row in notebook:
        assert row["cached"] is False and row["test_accuracy"] > TENSORFLOW_ACCURACY, row["name"]
    # The JAX measurements' keys differ from the TensorFlow ones by the backend alone.
    cached = [json.loads(path.read_text())["key"] for path in BaselineCache.for_results(run_dir.parent).folder.iterdir()]
    measured = {key["model"]: key for key in cached if key.get("backend") == "jax"}
    assert set(measured) == set(planted)
    for model, key in measured.items():
        versions = {name: value for name, value in key["versions"].items() if name != "jax"}
        assert {**key, "versions": versions, "backend": None} == {**planted[model], "backend": None}, model
