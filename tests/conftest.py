"""Shared fixtures: small synthetic MNIST-shaped files and the path of the real one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def synthetic_arrays(n_train: int = 6_200, n_test: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """MNIST-shaped arrays: balanced labels; every test pixel is 7, which no training image has."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8)
    x_train[x_train == 7] = 8
    return {
        "x_train": x_train,
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": np.full((n_test, 28, 28), 7, dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


@pytest.fixture
def synthetic_npz(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.npz"
    np.savez(path, **synthetic_arrays())
    return path
