"""scikit-learn's 8x8 digits as a 28x28 ``--data`` file: the small data set the service is
checked on by hand (a run on 1,437 training images).

scikit-learn is no dependency of the project: this helper imports it only when run.

    python -m tests.mnist_models.sklearn_digits /tmp/digits.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DIGITS_MAX_PIXEL = 16  # load_digits' pixels are counts 0-16 of a 4x4 block of the original scan
TEST_IMAGES = 360  # 1,797 digits: 1,437 to train on, 360 to test


def upsampled_to_28(images: np.ndarray) -> np.ndarray:
    """8x8 images of pixels 0-16 as MNIST stores its own: each pixel a 3x3 block (24x24), a
    2-pixel black border (28x28), pixels scaled to 0-255 in uint8."""
    if images.ndim != 3 or images.shape[1:] != (8, 8):
        raise ValueError(f"images have shape {images.shape}, but must be (n, 8, 8)")
    scaled = np.rint(images.astype(np.float64) * 255.0 / DIGITS_MAX_PIXEL).astype(np.uint8)
    blocks = np.kron(scaled, np.ones((1, 3, 3), dtype=np.uint8))
    return np.pad(blocks, ((0, 0), (2, 2), (2, 2)))


def write_digits_npz(path: Path, *, seed: int = 0) -> dict[str, int]:
    """Write the digits, split stratified by class with ``seed``, as ``x_train, y_train,
    x_test, y_test``; returns the arrays' image counts."""
    from sklearn.datasets import load_digits  # not a dependency: only this helper needs it
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        upsampled_to_28(digits.images), digits.target.astype(np.uint8), test_size=TEST_IMAGES,
        random_state=seed, stratify=digits.target)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return {"train": int(x_train.shape[0]), "test": int(x_test.shape[0])}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "digits.npz")
    print(f"{target}: {write_digits_npz(target)}")
