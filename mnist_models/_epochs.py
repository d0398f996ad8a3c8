"""The child's side of an epoch (``_training_process``): the figures, a checkpoint, and the
question whether to go on (imports Keras: loaded in the training process only)."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from multiprocessing.connection import Connection

import keras

from mnist_models._training import save_checkpoint


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite: the configuration diverged."""


class TrainingStopped(Exception):
    """The caller said stop after an epoch (its scheduler stopped the trial)."""


class EpochPipe(keras.callbacks.Callback):
    """After each epoch: check the loss, save a checkpoint, send the figures and the
    checkpoint's folder to the caller, and wait for "continue" or "stop"."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self._connection = connection
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        seconds = time.perf_counter() - self._epoch_started
        train_loss = float(logs.get("loss", math.nan))
        if not math.isfinite(train_loss):
            raise NonFiniteLossError(
                f"training loss became {train_loss} in epoch {epoch + 1}: the configuration "
                f"diverged (learning rate too high?)"
            )
        figures = {
            "epoch": epoch + 1,
            "val_accuracy": float(logs["val_accuracy"]),
            "val_loss": float(logs["val_loss"]),
            "train_accuracy": float(logs["accuracy"]),
            "train_loss": train_loss,
            "epoch_seconds": seconds,
            "num_params": int(self.model.count_params()),
        }
        folder = tempfile.mkdtemp(prefix="epoch-checkpoint-")
        try:
            save_checkpoint(self.model, folder, epochs_done=epoch + 1)
            self._connection.send(("epoch", figures, folder))
            answer = self._connection.recv()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if answer != "continue":
            raise TrainingStopped
