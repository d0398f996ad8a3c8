"""Search spaces that fail on purpose, for the fault tests (registered by the tests only)."""

from __future__ import annotations

from typing import Any

import optuna

from spaces import NOTEBOOK_POINTS


def diverging_every_other_space(trial: optuna.Trial, *, max_epochs: int) -> dict[str, Any]:
    """A small dense net; odd-numbered trials use a learning rate so large the loss turns NaN."""
    trial.suggest_float("dropout_0", 0.0, 0.5)
    diverges = trial.number % 2 == 1
    return {
        **{key: value for key, value in NOTEBOOK_POINTS["dense_256"].items() if key != "dropout_0"},
        "family": "dense", "n_layers": 1, "units_0": 64, "activation": "linear", "epochs": 1, "batch_size": 256,
        "optimizer": "sgd", "learning_rate": 1e30 if diverges else 1e-2,
    }


def always_diverging_space(trial: optuna.Trial, *, max_epochs: int) -> dict[str, Any]:
    trial.suggest_float("dropout_0", 0.0, 0.5)
    return {
        "family": "dense", "n_layers": 1, "units_0": 64, "activation": "linear", "epochs": 1,
        "batch_size": 256, "optimizer": "sgd", "learning_rate": 1e30,
    }
