"""The dense (multi-layer perceptron) search space."""

from __future__ import annotations

from typing import Any

import optuna

from spaces._common import suggest_training

MAX_HIDDEN_LAYERS = 4
ACTIVATIONS = ("relu", "elu", "gelu", "swish")
LABEL_SMOOTHING_RANGE = (0.0, 0.2)
# Where a dense search starts besides the notebook's models: a wide two-layer net with batch
# norm, dropout, label smoothing and light augmentation, the recipe published for dense nets
# on MNIST (docs/PERFORMANCE.md, "Choices measured", gives the designs measured for it and
# what it reaches here). Augmented, it starts slower
# than the notebook's nets, so ASHA compares augmented trials only with augmented ones
# (its ``Space.early_stopping_bands``).
DENSE_START_POINTS = {
    "wide_augmented": {
        "n_layers": 2, "units_0": 1024, "dropout_0": 0.3, "units_1": 1024, "dropout_1": 0.3,
        "activation": "relu", "batch_norm": True, "augment": True, "label_smoothing": 0.1,
        "optimizer": "adam", "learning_rate": 2e-3, "lr_schedule": "cosine", "batch_size": 128, "epochs": 20,
    },
}


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
