"""Training values shared by every space: optimizer, learning rate and its schedule, batch size, epochs."""

from __future__ import annotations

from typing import Sequence

import optuna

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
BATCH_SIZES = (32, 64, 128, 256)
LEARNING_RATE_RANGE = (1e-4, 3e-2)
# 'cosine' decays the learning rate to zero over the trial's planned epochs (and, when a
# configuration is retrained for confirmation, over the epochs it is retrained for).
LR_SCHEDULES = ("constant", "cosine")


def suggest_training(
    trial: optuna.Trial, *, max_epochs: int, optimizers: Sequence[str] = OPTIMIZERS,
    learning_rate_range: tuple[float, float] = LEARNING_RATE_RANGE,
) -> None:
    trial.suggest_categorical("optimizer", tuple(optimizers))
    trial.suggest_float("learning_rate", *learning_rate_range, log=True)
    trial.suggest_categorical("lr_schedule", LR_SCHEDULES)
    trial.suggest_categorical("batch_size", BATCH_SIZES)
    trial.suggest_int("epochs", 1, max_epochs)
