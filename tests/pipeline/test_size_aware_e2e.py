"""A size-aware run end to end: a Pareto search within a parameter budget, its front confirmed,
then a second run warm-started from it that stops at a target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import keras
import pyarrow.parquet as pq
import pytest

from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

PARETO = ["--space", "cnn", "--objective", "pareto", "--max-params", "20000", "--train-limit", "1500",
          "--num-samples", "4", "--max-epochs", "1", "--top-k", "2", "--confirm-seeds", "1",
          "--confirm-train-limit", "1500", "--no-dashboard", "--name", "front"]


def run(results: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "search.run", *argv, "--results", str(results)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def pareto_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("results")
    completed = run(results, *PARETO)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return results, completed


def test_every_trained_model_is_within_the_budget_and_the_table_says_what_was_searched(pareto_run) -> None:
    results, completed = pareto_run
    rows = pq.read_table(results / "front" / "trials.parquet").to_pylist()
    assert len(rows) == 4
    assert all(0 < row["num_params"] <= 20_000 for row in rows)
    assert {row["objective"] for row in rows} == {"pareto"} and {row["max_params"] for row in rows} == {20_000}
    assert ("start points over --max-params 20,000, left out: two_blocks_5x5_3x3 (94,437 parameters), "
            "cnn_small (38,390 parameters)") in completed.stdout
    record = json.loads((results / "front" / "run.json").read_text())
    assert record["objective"] == "pareto" and record["max_params"] == 20_000


def test_the_front_is_confirmed_and_reported_with_its_size_table(pareto_run) -> None:
    results, completed = pareto_run
    assert "along the validation front" in completed.stdout
    report = (results / "front" / "report.md").read_text()
    assert "Best confirmed model within each size budget" in report
    assert (results / "front" / "accuracy_parameter_front.png").is_file()
    assert keras.saving.load_model(results / "front" / "best_model.keras").count_params() <= 20_000


def test_a_warm_started_run_records_its_source_and_stops_at_its_target(pareto_run) -> None:
    results, _ = pareto_run
    completed = run(results, "--space", "cnn", "--objective", "pareto", "--max-params", "20000", "--train-limit",
                    "1500", "--num-samples", "4", "--max-epochs", "1", "--no-confirm", "--no-dashboard",
                    "--warm-start", "front", "--stop-at", "0.05", "--name", "again")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "warm start: front (4 trials" in completed.stdout
    assert "the search stopped at its target" in completed.stdout
    record = json.loads((results / "again" / "run.json").read_text())
    assert [entry["run"] for entry in record["warm_start_from"]] == ["front"]
    assert record["stopped_at_target"]["val_accuracy"] >= 0.05
    assert len(pq.read_table(results / "again" / "trials.parquet")) < 4


def test_warm_starting_from_a_run_that_is_not_there_changes_nothing(pareto_run) -> None:
    results, _ = pareto_run
    before = sorted(path.name for path in results.iterdir())
    completed = run(results, "--space", "cnn", "--warm-start", "nowhere", "--name", "third")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == (
        f"search.run: error: --warm-start 'nowhere': there is no run of that name in {str(results)!r}: list the "
        f"runs with `python -m search.runs --results {results}`")
    assert sorted(path.name for path in results.iterdir()) == before
