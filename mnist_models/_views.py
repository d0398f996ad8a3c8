"""Test-time shifts: an image and its copies moved by one pixel, whose class probabilities a
model's prediction may average (the ensemble does; docs/PERFORMANCE.md, "The ensemble's members").

One definition, in two forms that give the same pixels: ``shifted`` for NumPy arrays (what a
confirmation job scores) and ``shift_layer`` for a Keras model (what ``ensemble_model.keras``
holds, so that a user's ``predict`` gives what the ensemble was scored with).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_models._data import IMAGE_SHAPE

# (rows down, columns right): the image itself, then one pixel up, down, left, right.
SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
_SHIFT_NAMES = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}


def shifted(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``images`` (n, height, width) moved ``rows`` down and ``columns`` right; the pixels that
    move in are black (0), those that move out are dropped."""
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (abs(rows), abs(rows)), (abs(columns), abs(columns))))
    top, left = abs(rows) - rows, abs(columns) - columns
    return padded[:, top:top + height, left:left + width]


def shift_layer(rows: int, columns: int) -> Any:
    """A Keras layer that does what ``shifted`` does to a batch of (28, 28) images, built of
    Keras's own layers only (a saved model that holds it loads with Keras alone)."""
    import keras  # Lazy: only a process that builds a model pays for Keras.
    from keras import layers

    pad_rows, pad_columns = abs(rows), abs(columns)
    top, left = pad_rows - rows, pad_columns - columns
    name = _SHIFT_NAMES.get((rows, columns), f"{rows}_{columns}")
    return keras.Sequential([
        layers.Reshape((*IMAGE_SHAPE, 1)),
        layers.ZeroPadding2D(((pad_rows, pad_rows), (pad_columns, pad_columns))),
        layers.Cropping2D(((top, 2 * pad_rows - top), (left, 2 * pad_columns - left))),
        layers.Reshape(IMAGE_SHAPE),
    ], name=f"shift_{name}")
