"""The training process's own side (``python -m mnist_models._training_child FD THREADS GPU_SHARE``):
configure TensorFlow, check that a process given a share of a GPU sees one, then train what
``TrainingProcess`` sends until told to exit.

A module apart from the package's face, so that ``python -m`` runs it without importing it
twice. Keras is imported here only (in ``_train``), never in the caller.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from multiprocessing.connection import Connection
from typing import Any

from mnist_models._device import DeviceError, check_placement, placement
from mnist_models._training import configure_tensorflow, fit_config, keras_backend, load_checkpoint


def _serve(descriptor: int, threads: int, gpu_share: float) -> None:
    """Configure TensorFlow and check the device, then train what is sent until told to exit
    (or the caller is gone). A process given a GPU share that its backend cannot use says
    so (``refused``) and ends before it trains anything."""
    connection = Connection(descriptor)
    configure_tensorflow(threads=threads, use_gpu=gpu_share > 0)
    where = placement(keras_backend(), gpu_share=gpu_share)
    try:
        check_placement(where)
    except DeviceError as error:
        connection.send(("refused", str(error)))
        return
    connection.send(("ready", _thread_pools(), where))
    data: tuple = ()
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return  # the caller is gone
        if message == "exit":
            return
        if message[0] == "data":
            data = message[1]
        elif message[0] == "train":
            outcome = _train(connection, data, *message[1:])
            _release_freed_memory()
            connection.send(outcome)


def _train(connection: Connection, data: tuple, config: dict[str, Any], seed: int, resume_dir: str | None) -> tuple:
    # Lazy: it imports Keras, which must come after configure_tensorflow has set the threads.
    from mnist_models._epochs import EpochPipe, TrainingStopped

    x_train, y_train, x_val, y_val = data
    try:
        resume_from = load_checkpoint(resume_dir) if resume_dir else None
        fit_config(config, x_train, y_train, seed=seed, validation_data=(x_val, y_val),
                   callbacks=[EpochPipe(connection)], resume_from=resume_from)
    except TrainingStopped:
        return ("stopped",)
    except Exception as error:  # sent back whole, as the caller's TrainingFailed
        return ("failed", f"{type(error).__name__}: {error}")
    return ("done",)


def _thread_pools() -> dict[str, int]:
    """TensorFlow's thread pools as configured (empty on another Keras backend)."""
    if "tensorflow" not in sys.modules:
        return {}
    import tensorflow as tf  # imported already, by configure_tensorflow

    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def _release_freed_memory() -> None:
    """Collect the model just trained and hand the memory it freed back to the system (glibc's
    malloc_trim), so that the process's size, which decides when it is recycled, counts
    what TensorFlow kept rather than what the allocator had not returned yet."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the size then includes the allocator's free memory


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
