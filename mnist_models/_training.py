"""Keras training helpers shared by search trials and confirmation (no Ray here)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Mapping

PREDICTION_BATCH_SIZE = 1024  # scoring needs no small batches: large ones save time
CHECKPOINT_MODEL = "model.keras"
CHECKPOINT_STATE = "state.json"


def keras_backend() -> str:
    """The backend Keras runs on in this process, found without importing Keras (whose import
    loads the backend): ``KERAS_BACKEND``, else Keras's own answer if it is imported, else its
    config file ``$KERAS_HOME/keras.json`` (default ``~/.keras``), else "tensorflow"."""
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return str(keras.backend.backend())
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as config:
            return str(json.load(config).get("backend") or "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def configure_tensorflow(*, threads: int, use_gpu: bool) -> None:
    """Match TensorFlow's thread pools to the CPUs a trial holds; turn on GPU memory growth.

    Must run before TensorFlow executes its first op in this process; in a reused Ray
    actor it already has, with the same values, so a second call changes nothing.

    On another Keras backend (``KERAS_BACKEND=jax`` where TensorFlow is not installed)
    TensorFlow is not imported: with JAX on a GPU, memory is taken as needed instead of
    75 % of the GPU up front, so several trials can share one GPU (this must be in the
    environment before JAX first touches the GPU; the Ray workers inherit it from the
    driver too). JAX's CPU threads are left as they are.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    backend = keras_backend()
    if backend != "tensorflow":
        if use_gpu and backend == "jax":
            os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # Already initialized in this process (a reused actor): keep the first setting.
    if use_gpu:
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass  # Already initialized: memory growth was set by the first trial.


def trial_seed(run_seed: int, config: Mapping[str, Any]) -> int:
    """A seed fixed by the run's seed and the configuration, so a configuration re-run
    on CPU gives the same curve."""
    canonical = json.dumps({"run_seed": run_seed, "config": dict(config)}, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:4], "little") % (2**31 - 1)


def fit_config(
    config: Mapping[str, Any],
    x_train: Any,
    y_train: Any,
    *,
    seed: int,
    epochs: int | None = None,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: list | None = None,
    resume_from: tuple[Any, int] | None = None,
) -> tuple[Any, Any]:
    """Seed Keras, build ``config``'s model and train it; returns (model, history).

    The one place a configuration is trained, so a search trial and a re-run of the same
    configuration follow the same steps and, on CPU, the same curve. ``resume_from`` is a
    (model, epochs done) pair restored from a checkpoint (``load_checkpoint``): training
    goes on from the next epoch with the model's weights and optimizer state.
    """
    # Lazy, as everywhere in this package: only a process that trains pays for Keras.
    import keras

    from mnist_models._builders import build_model

    keras.utils.set_random_seed(seed)
    epochs = int(config["epochs"] if epochs is None else epochs)
    batch_size = int(config["batch_size"])
    model, initial_epoch = resume_from or (None, 0)
    if model is None:
        model = build_model(config, decay_steps=epochs * math.ceil(len(x_train) / batch_size))
    # Validation needs no small batches: large ones save time (docs/PERFORMANCE.md, "Choices measured").
    validation_batch_size = max(PREDICTION_BATCH_SIZE, batch_size)
    datasets = _datasets_without_autotune(x_train, y_train, batch_size, validation_data, validation_batch_size)
    if datasets is not None:
        data = {"x": datasets[0], "validation_data": datasets[1], "shuffle": False}
    else:
        data = {"x": x_train, "y": y_train, "batch_size": batch_size, "validation_data": validation_data,
                "validation_batch_size": validation_batch_size}
    history = model.fit(**data, epochs=epochs, initial_epoch=initial_epoch, callbacks=list(callbacks or []), verbose=0)
    return model, history


def save_for_plain_keras(model: Any, path: Path) -> None:
    """Save a trained model as a ``.keras`` file that ``keras.saving.load_model`` loads with
    nothing of this project imported: compiled with Keras's own sparse cross-entropy and
    accuracy, so that ``evaluate`` works too. The model may have trained with the project's
    label-smoothing loss, a class plain Keras cannot find; its weights are what it learned.
    ``model`` is compiled again in place: save it last."""
    model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(path)


def save_checkpoint(model: Any, folder: Path, *, epochs_done: int) -> None:
    """The model (weights, optimizer state, its schedule's step) after ``epochs_done`` epochs,
    into ``folder``, for ``load_checkpoint``."""
    folder = Path(folder)
    model.save(folder / CHECKPOINT_MODEL)
    (folder / CHECKPOINT_STATE).write_text(json.dumps({"epochs_done": int(epochs_done)}))


def load_checkpoint(folder: Path) -> tuple[Any, int]:
    """(model, epochs done) from a folder ``save_checkpoint`` wrote."""
    import keras  # Lazy: see fit_config.

    # The builders register the project's own loss (label smoothing) with Keras: a process that
    # resumes a trial loads its checkpoint before it has built any model.
    import mnist_models._builders  # noqa: F401

    folder = Path(folder)
    state = json.loads((folder / CHECKPOINT_STATE).read_text())
    return keras.saving.load_model(folder / CHECKPOINT_MODEL), int(state["epochs_done"])


def _datasets_without_autotune(
    x_train: Any, y_train: Any, batch_size: int, validation_data: tuple[Any, Any] | None, validation_batch_size: int
) -> tuple[Any, Any] | None:
    """The tf.data pipelines Keras itself builds for NumPy arrays, with tf.data's autotuning off.

    Keras feeds NumPy arrays through tf.data with ``AUTOTUNE`` parallelism, whose model thread
    an iterator waits for when it is destroyed: at the end of ``fit``, while another process
    keeps the CPUs busy (two trials on two cores), that wait lasts seconds per ``fit`` (and
    none with the machine to itself; docs/PERFORMANCE.md, "Choices measured"). Built here
    by Keras's own ``ArrayDataAdapter`` the batches, their order and so the curves are the
    same to the last digit; only the tuning thread is gone. None where that is not possible (another backend, or a Keras without
    that class): ``fit`` then gets the arrays as before.
    """
    if keras_backend() != "tensorflow":
        return None
    try:
        import tensorflow as tf
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        return None
    options = tf.data.Options()
    options.autotune.enabled = False

    def pipeline(x: Any, y: Any, size: int, *, shuffle: bool) -> Any:
        dataset = ArrayDataAdapter(x, y, batch_size=size, shuffle=shuffle).get_tf_dataset()
        batches = math.ceil(len(x) / size)
        return dataset.apply(tf.data.experimental.assert_cardinality(batches)).with_options(options)

    train = pipeline(x_train, y_train, batch_size, shuffle=True)
    validation = None
    if validation_data is not None:
        validation = pipeline(validation_data[0], validation_data[1], validation_batch_size, shuffle=False)
    return train, validation
