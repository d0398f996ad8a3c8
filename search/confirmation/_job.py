"""One confirmation job: train a configuration from scratch with one seed, score it once on test.

No Ray here: the pool's actors call ``confirm_job``, and so can a test. A job first finds where
it trains and refuses, before training, a GPU share that its Keras backend cannot use: Ray
hands out a node's GPUs whatever the backend sees, and such a job would train on the CPU.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mnist_models import (PREDICTION_BATCH_SIZE, SHIFTS, FinalSplit, check_placement, configure_tensorflow,
                          fit_config, keras_backend, placement, save_for_plain_keras, shifted)
from search.confirmation._plan import Job
from search.verdict import NOTEBOOK_KIND
from search.run_folder import BEST_MODEL_FILE, DEVICE_COLUMNS, config_columns, device_columns
from spaces import NOTEBOOK_POINTS

LOSS_EPSILON = 1e-7  # Keras clips probabilities the same way in its cross-entropy.


def confirm_job(
    config: Mapping[str, Any], split: FinalSplit, *, seed: int, train_limit: int | None,
    threads: int, gpu_share: float, keep_model: bool = False,
) -> dict[str, Any]:
    """Train ``config`` from scratch on the training images with ``seed``; score it once on test.

    Returns test accuracy and loss, training seconds, parameter count, the per-image
    correctness vector (for paired statistics), where it trained (the ``device_*`` columns)
    and, with ``keep_model``, the saved model's bytes (a ``.keras`` file) and its test
    probabilities averaged over each test image and its one-pixel shifts (float32, images x
    classes: what the ensemble averages; ``mnist_models.SHIFTS``). Raises
    ``mnist_models.DeviceError`` before training when given ``gpu_share`` of a GPU that the
    backend does not list.
    """
    configure_tensorflow(threads=threads, use_gpu=gpu_share > 0)
    where = placement(keras_backend(), gpu_share=gpu_share)
    check_placement(where)
    # Lazy: the driver imports this module to hand the job to Ray, and never pays for Keras.
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x_train, y_train = split.x_train, split.y_train
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    started, cpu_started = time.perf_counter(), time.process_time()
    model, _ = fit_config(config, x_train, y_train, seed=seed)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    probabilities = model.predict(split.x_test, batch_size=PREDICTION_BATCH_SIZE, verbose=0)
    labels = np.asarray(split.y_test, dtype=np.int64)
    correct = np.argmax(probabilities, axis=1) == labels
    chosen = np.clip(probabilities[np.arange(labels.size), labels], LOSS_EPSILON, 1.0 - LOSS_EPSILON)
    result: dict[str, Any] = {
        "test_accuracy": float(correct.mean()),
        "test_loss": float(-np.log(chosen).mean()),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # of the whole worker process while it trained
        "num_params": int(model.count_params()),
        "train_images": int(x_train.shape[0]),
        "test_correct": correct,
        **device_columns(where),
    }
    if keep_model:
        result["test_probabilities"] = _shifted_probabilities(model, split.x_test, probabilities)
        result["model_bytes"] = _model_bytes(model)  # last: it compiles the model again
    return result


def _shifted_probabilities(model: Any, images: np.ndarray, unshifted: np.ndarray) -> np.ndarray:
    """The model's class probabilities averaged over ``images`` and their shifted copies
    (``unshifted``: its probabilities on the images themselves, already predicted)."""
    views = [unshifted if (rows, columns) == (0, 0) else
             model.predict(shifted(images, rows, columns), batch_size=PREDICTION_BATCH_SIZE, verbose=0)
             for rows, columns in SHIFTS]
    return np.mean(np.asarray(views, dtype=np.float64), axis=0).astype(np.float32)


def _model_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / BEST_MODEL_FILE
        save_for_plain_keras(model, path)
        return path.read_bytes()


def confirm_row(job: Job, result: Mapping[str, Any], *, cached: bool = False) -> dict[str, Any]:
    """One row of ``confirm.parquet``: a configuration x seed, with its hyperparameters and where
    it trained (a cached measurement: where it was measured; None for a cache entry written
    before the device was recorded, and for a job that failed)."""
    candidate = job.candidate
    correct = result.get("test_correct")
    row: dict[str, Any] = {
        "name": candidate.name,
        "kind": candidate.kind,
        "trial_id": candidate.trial_id,
        "seed": int(job.seed),
        "test_accuracy": result.get("test_accuracy"),
        "test_loss": result.get("test_loss"),
        "epochs": candidate.epochs,
        "num_params": result.get("num_params"),
        "seconds": result.get("seconds"),
        "cpu_seconds": result.get("cpu_seconds"),
        "train_images": result.get("train_images"),
        "test_images": None if correct is None else int(len(correct)),
        "best_val_accuracy": candidate.best_val_accuracy,
        "search_epochs": candidate.search_epochs,
        "cached": cached,
        "node_id": result.get("node_id"),
        "error": result.get("error"),
        **{column: result.get(column) for column in DEVICE_COLUMNS},
        "test_correct": None if correct is None else [bool(value) for value in np.asarray(correct)],
    }
    row.update(config_columns(candidate.config))
    return row


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notebook models first (in the notebook's order), then searched configurations; by seed."""
    order = {model: index for index, model in enumerate(NOTEBOOK_POINTS)}
    return sorted(rows, key=lambda row: (row["kind"] != NOTEBOOK_KIND, order.get(row["name"], 99),
                                         row["name"], row["seed"]))
