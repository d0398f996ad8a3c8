"""A run on a data set far smaller than MNIST, end to end: its validation split is sized to the
data, and the report's split sizes add up to its training images."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PROJECT_ROOT, PYTHON, synthetic_arrays

pytestmark = pytest.mark.e2e

TINY = ["--space", "cnn", "--max-epochs", "1", "--num-samples", "2", "--confirm-seeds", "1", "--top-k", "1",
        "--no-dashboard", "--name", "tiny"]


def test_a_tiny_data_set_runs_end_to_end_with_a_split_sized_to_it(tmp_path: Path) -> None:
    data = tmp_path / "tiny.npz"
    np.savez(data, **synthetic_arrays(n_train=300, n_test=100))  # 30 images of each class
    results = tmp_path / "results"
    completed = subprocess.run([PYTHON, "-m", "search.run", *TINY, "--data", str(data), "--results", str(results)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    record = json.loads((results / "tiny" / "run.json").read_text())
    # A tenth of each class would be 3 images: the floor of 10 a class holds back 100.
    assert (record["search_train_images"], record["validation_images"], record["data_train_images"]) == (200, 100, 300)
    report = (results / "tiny" / "report.md").read_text()
    assert ("on 100 validation images held out from the 300 training images (stratified by class, seed 0), "
            "trained on the other 200;") in report
    assert "retrained from scratch on 300 training images" in report and "100 test images" in report
    assert "| cnn_small |" in report
