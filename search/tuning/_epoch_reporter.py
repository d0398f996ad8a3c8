"""A Keras callback that reports every epoch to Ray Tune (imported inside trials only: it imports Keras)."""

from __future__ import annotations

import math
import time

import keras
from ray import tune


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite: the configuration diverged."""


class EpochReporter(keras.callbacks.Callback):
    """Reports each epoch's figures with ``tune.report``; one epoch is one step for ASHA."""

    def __init__(self, *, node_id: str) -> None:
        super().__init__()
        self._node_id = node_id
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        train_loss = float(logs.get("loss", math.nan))
        if not math.isfinite(train_loss):
            raise NonFiniteLossError(
                f"training loss became {train_loss} in epoch {epoch + 1}: the configuration "
                f"diverged (learning rate too high?)"
            )
        tune.report(
            {
                "epoch": epoch + 1,
                "val_accuracy": float(logs["val_accuracy"]),
                "val_loss": float(logs["val_loss"]),
                "train_accuracy": float(logs["accuracy"]),
                "train_loss": train_loss,
                "epoch_seconds": time.perf_counter() - self._epoch_started,
                "num_params": int(self.model.count_params()),
                "node_id": self._node_id,
            }
        )
