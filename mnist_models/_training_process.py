"""A process of its own that trains configurations one after another, recycled when it grows.

TensorFlow keeps native memory for every model a process trains (with oneDNN, the CPU
default, several MB per convolutional model, which neither ``clear_session`` nor garbage
collection returns): a process that trains hundreds of models one after another grows
without bound. So a trial slot does not train in its own process but asks a
``TrainingProcess`` to; once that process has grown ``recycle_mb`` past what it held after
its first model, it is ended after the model in hand and a fresh one takes the next.

The caller hands the data once per process (sent through a socket pair), then for each
model a configuration, a seed and optionally a checkpoint folder to go on from; after
every epoch the process sends the epoch's figures and a checkpoint folder, and waits to be
told to go on or to stop (the caller's scheduler may stop the trial there). No Ray here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from mnist_models._device import DeviceError, Placement

RECYCLE_MB = 120.0
START_TIMEOUT_S = 300.0

# The child's side is ``_training_child`` (run as ``python -m``, apart from this package's face).
# Messages: to the process ("data", arrays), ("train", config, seed, resume_dir), "continue",
# "stop", "exit"; from it ("ready", thread pools, placement) once TensorFlow is configured and
# the device checked, or ("refused", one line) for a GPU share it cannot use; ("epoch",
# metrics, folder), ("done",), ("stopped",), ("failed", message).
EpochCallback = Callable[[dict[str, Any], str], None]


class TrainingFailed(RuntimeError):
    """Training in the process raised; the message is the process's own error, as one line."""


class TrainingProcess:
    """Trains configurations in a child process; ``threads`` and ``use_gpu`` as
    ``configure_tensorflow`` takes them, ``gpu_share`` the share of a GPU the caller holds
    (default: a whole one when ``use_gpu``). A child given a GPU share whose backend lists
    no GPU refuses to start: ``DeviceError``."""

    def __init__(self, *, threads: int, use_gpu: bool, recycle_mb: float = RECYCLE_MB,
                 env: Mapping[str, str] | None = None, gpu_share: float | None = None) -> None:
        self._threads = threads
        self._use_gpu = use_gpu
        self._gpu_share = (1.0 if use_gpu else 0.0) if gpu_share is None else float(gpu_share)
        self._recycle_mb = recycle_mb
        self._env = dict(env or {})
        self._child: subprocess.Popen | None = None
        self._connection: Connection | None = None
        self._data_key: Any = None
        self._baseline_mb: float | None = None
        self.started = 0  # processes started so far (the first, and every recycled one)
        self.threads_in_use: dict[str, int] = {}  # TensorFlow's thread pools, as the process set them
        self.placement: Placement | None = None  # where the process trains, once started

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    def train(self, config: Mapping[str, Any], data: Sequence[Any], *, seed: int, resume_dir: str | None,
              on_epoch: EpochCallback, data_key: Any = None) -> None:
        """Train ``config`` on ``data`` (x_train, y_train, x_val, y_val); ``on_epoch(figures,
        checkpoint folder)`` sees each epoch before the next one starts, and whatever it raises
        stops the training and is raised here. Raises ``TrainingFailed`` if training did."""
        connection = self._ready(data, data_key if data_key is not None else id(data))
        connection.send(("train", dict(config), int(seed), resume_dir))
        try:
            while True:
                message = connection.recv()
                if message[0] == "epoch":
                    self._epoch(connection, message[1], message[2], on_epoch)
                elif message[0] in ("done", "stopped"):
                    break
                else:
                    raise TrainingFailed(message[1])
        finally:
            if self._baseline_mb is None:
                self._baseline_mb = self.resident_mb()

    def recycle_if_grown(self) -> bool:
        """End the process if it has grown ``recycle_mb`` past its size after its first model
        (the next ``train`` starts a fresh one); returns whether it did."""
        if self._baseline_mb is None or self.resident_mb() - self._baseline_mb < self._recycle_mb:
            return False
        self.close()
        return True

    def resident_mb(self) -> float:
        """The process's resident memory now (0 when there is none)."""
        if self._child is None:
            return 0.0
        try:
            pages = int(Path(f"/proc/{self._child.pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.send("exit")
            except OSError:
                pass
            self._connection.close()
        if self._child is not None:
            try:
                self._child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        self._child = self._connection = None
        self._data_key = self._baseline_mb = None

    def _epoch(self, connection: Connection, figures: dict[str, Any], folder: str, on_epoch: EpochCallback) -> None:
        try:
            on_epoch(figures, folder)
        except BaseException:
            connection.send("stop")
            while connection.recv()[0] not in ("stopped", "done", "failed"):
                pass
            raise
        connection.send("continue")

    def _ready(self, data: Sequence[Any], data_key: Any) -> Connection:
        if self._child is not None and self._child.poll() is not None:
            self.close()  # it died (killed, out of memory): start another
        if self._child is None:
            self._start()
        if self._data_key != data_key:
            self._connection.send(("data", tuple(data)))
            self._data_key = data_key
        return self._connection

    def _start(self) -> None:
        """Start the child on one end of a socket pair (no address, nothing to guess) and wait
        until it has configured TensorFlow."""
        ours, theirs = socket.socketpair()
        with theirs:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "mnist_models._training_child", str(theirs.fileno()), str(self._threads),
                 repr(self._gpu_share if self._use_gpu else 0.0)], env={**os.environ, **self._env}, pass_fds=[theirs.fileno()])
        self._connection = Connection(ours.detach())
        waited = 0.0
        while not self._connection.poll(1.0):
            waited += 1.0
            if self._child.poll() is not None or waited > START_TIMEOUT_S:
                code = self._child.poll()
                self.close()
                raise TrainingFailed(f"the training process did not start (exit status {code}; see the "
                                     f"worker's log)")
        ready = self._connection.recv()
        if ready[0] == "refused":
            self.close()
            raise DeviceError(ready[1])
        if ready[0] != "ready":
            self.close()
            raise TrainingFailed("the training process did not start")
        self.threads_in_use, self.placement = ready[1], ready[2]
        self.started += 1
