"""The convolutional search space."""

from __future__ import annotations

from typing import Any

import optuna

from spaces._common import suggest_training

MAX_CONV_BLOCKS = 3


def cnn_space(trial: optuna.Trial, *, max_epochs: int) -> dict[str, Any]:
    """1-3 convolution blocks (filters, kernel), padding, pooling, batch norm, dropout,
    a dense layer, light augmentation on or off, and the training values.

    Every block is convolution -> [batch norm] -> ReLU -> 2x2 pooling. Three blocks of
    5x5 'valid' convolutions would shrink a 28x28 image to nothing, so with three blocks
    the padding is 'same' (a constant, not a suggestion). Filters stop at 64: on one CPU
    core an epoch of three 128-filter blocks takes about 10 minutes, three 64-filter blocks
    about 1.5 minutes (measured here), and small CNNs already pass 99 %.
    """
    n_blocks = trial.suggest_int("n_blocks", 1, MAX_CONV_BLOCKS)
    for block in range(n_blocks):
        trial.suggest_int(f"filters_{block}", 8, 64, log=True)
        trial.suggest_categorical(f"kernel_{block}", (3, 5))
    constants: dict[str, Any] = {"family": "cnn"}
    if n_blocks < MAX_CONV_BLOCKS:
        trial.suggest_categorical("padding", ("valid", "same"))
    else:
        constants["padding"] = "same"
    trial.suggest_categorical("pooling", ("max", "avg"))
    trial.suggest_categorical("batch_norm", (False, True))
    trial.suggest_float("dropout", 0.0, 0.5)
    trial.suggest_int("dense_units", 32, 256, log=True)
    trial.suggest_float("dense_dropout", 0.0, 0.5)
    trial.suggest_categorical("augment", (False, True))
    suggest_training(trial, max_epochs=max_epochs)
    return constants
