"""The notebook's three models, as points of their search spaces.

Only suggested parameters appear here, never the constants a space returns: OptunaSearch
enqueues these points, and a constant returned by a define-by-run function would silently
override an enqueued value (ray issue 35319).
"""

from __future__ import annotations

from typing import Any

NOTEBOOK_POINTS: dict[str, dict[str, Any]] = {
    # 784 -> Dense 256 relu -> Dropout 0.2 -> Dense 256 relu -> Dense 10; RMSprop, batch 128, 10 epochs.
    "dense_256": {
        "n_layers": 2,
        "units_0": 256, "dropout_0": 0.2,
        "units_1": 256, "dropout_1": 0.0,
        "activation": "relu", "batch_norm": False, "augment": False, "label_smoothing": 0.0,
        "optimizer": "rmsprop", "learning_rate": 0.001, "lr_schedule": "constant", "batch_size": 128, "epochs": 10,
    },
    # 784 -> 512 (Dropout 0.25) -> 256 (Dropout 0.2) -> 128 -> 64 -> 10; RMSprop, batch 128, 15 epochs.
    "dense_deep": {
        "n_layers": 4,
        "units_0": 512, "dropout_0": 0.25,
        "units_1": 256, "dropout_1": 0.2,
        "units_2": 128, "dropout_2": 0.0,
        "units_3": 64, "dropout_3": 0.0,
        "activation": "relu", "batch_norm": False, "augment": False, "label_smoothing": 0.0,
        "optimizer": "rmsprop", "learning_rate": 0.001, "lr_schedule": "constant", "batch_size": 128, "epochs": 15,
    },
    # Conv 10 k5 -> MaxPool -> Conv 20 k5 -> MaxPool -> Dropout 0.25 -> Dense 100 -> 10; Adam, batch 32, 5 epochs.
    "cnn_small": {
        "n_blocks": 2,
        "filters_0": 10, "kernel_0": 5,
        "filters_1": 20, "kernel_1": 5,
        "pooling": "max", "batch_norm": False,
        "dropout": 0.25, "dense_units": 100, "dense_dropout": 0.0, "augment": False,
        "optimizer": "adam", "learning_rate": 0.001, "lr_schedule": "constant", "batch_size": 32, "epochs": 5,
    },
}

NOTEBOOK_SPACE = {"dense_256": "dense", "dense_deep": "dense", "cnn_small": "cnn"}
