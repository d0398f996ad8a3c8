"""The dense (multi-layer perceptron) search space."""

from __future__ import annotations

from typing import Any

import optuna

from spaces._common import suggest_training

MAX_HIDDEN_LAYERS = 4
ACTIVATIONS = ("relu", "elu", "gelu", "swish")
LABEL_SMOOTHING_RANGE = (0.0, 0.2)


def dense_space(trial: optuna.Trial, *, max_epochs: int) -> dict[str, Any]:
    """1-4 hidden layers, each with its own width and dropout; activation; batch norm after
    every layer or none; light augmentation (the CNN's shifts and rotations) on or off; label
    smoothing; training values.

    Only suggests values and returns constants: no computation happens here.
    """
    n_layers = trial.suggest_int("n_layers", 1, MAX_HIDDEN_LAYERS)
    for layer in range(n_layers):
        trial.suggest_int(f"units_{layer}", 32, 1024, log=True)
        trial.suggest_float(f"dropout_{layer}", 0.0, 0.5)
    trial.suggest_categorical("activation", ACTIVATIONS)
    trial.suggest_categorical("batch_norm", (False, True))
    trial.suggest_categorical("augment", (False, True))
    trial.suggest_float("label_smoothing", *LABEL_SMOOTHING_RANGE)
    suggest_training(trial, max_epochs=max_epochs)
    return {"family": "dense"}
