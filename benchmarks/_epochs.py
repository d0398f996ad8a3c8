"""A Keras callback that times every epoch and keeps its validation accuracy (imports Keras:
load it only in processes that train)."""

from __future__ import annotations

import time
from typing import Callable

import keras


class EpochLog(keras.callbacks.Callback):
    """Records each epoch's seconds (as the service measures them, ``mnist_models._epochs``: from epoch
    begin to epoch end, validation included), its validation accuracy, and the wall-clock
    time it ended; ``on_epoch`` (optional) sees every epoch as it ends."""

    def __init__(self, on_epoch: Callable[[int, float, float], None] | None = None) -> None:
        super().__init__()
        self.epoch_seconds: list[float] = []
        self.val_accuracy: list[float] = []
        self.ended_at: list[float] = []
        self.began: list[float] = []  # perf_counter() at each epoch's start.
        # CPU seconds of this process in each epoch: on a shared machine, steadier than wall time.
        self.epoch_cpu_seconds: list[float] = []
        self._cpu_began = 0.0
        self._on_epoch = on_epoch
        self._began = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._began = time.perf_counter()
        self.began.append(self._began)
        self._cpu_began = time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._began)
        self.epoch_cpu_seconds.append(time.process_time() - self._cpu_began)
        accuracy = float((logs or {}).get("val_accuracy", float("nan")))
        self.val_accuracy.append(accuracy)
        self.ended_at.append(time.time())
        if self._on_epoch is not None:
            self._on_epoch(epoch + 1, accuracy, self.ended_at[-1])
