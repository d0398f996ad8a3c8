"""Training values shared by every space: optimizer, learning rate, batch size, epochs."""

from __future__ import annotations

import optuna

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
BATCH_SIZES = (32, 64, 128, 256)
LEARNING_RATE_RANGE = (1e-4, 3e-2)


def suggest_training(trial: optuna.Trial, *, max_epochs: int) -> None:
    trial.suggest_categorical("optimizer", OPTIMIZERS)
    trial.suggest_float("learning_rate", *LEARNING_RATE_RANGE, log=True)
    trial.suggest_categorical("batch_size", BATCH_SIZES)
    trial.suggest_int("epochs", 1, max_epochs)
