"""Load, check and split MNIST.

The project ships the official MNIST as package data (``mnist_models/data/mnist.npz``)
so a fresh clone runs offline. Every file, shipped or given with ``--data``, is checked
before anything trains: keys, shapes, dtypes, label range, and enough images of every class
for the validation split.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
# The validation split: this fraction of every class's training images, and never fewer than
# the floor, so that a small data set still scores every class. On the shipped MNIST the
# fraction gives the 6,000 validation images every run before it was sized to the data had.
VALIDATION_FRACTION = 0.1
MIN_VALIDATION_PER_CLASS = 10
# A class must keep as many images to train on as the floor holds back for validation.
MIN_IMAGES_PER_CLASS = 2 * MIN_VALIDATION_PER_CLASS
SHIPPED_MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(ValueError):
    """A data file that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays as stored (uint8 pixels 0-255, integer labels 0-9)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sha256: str
    source: str


@dataclass(frozen=True)
class SearchSplit:
    """What a search trial may see: training and validation images, never the test set.

    Pixels are float32 in [0, 1], shaped (n, 28, 28); labels are int32 class indices.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class FinalSplit:
    """All training images and the test set, for the final re-training only."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def shipped_mnist_path() -> Path:
    """The path of the MNIST copy shipped inside this package."""
    return Path(str(resources.files("mnist_models") / "data" / "mnist.npz"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist(path: str | Path | None = None) -> Mnist:
    """Load MNIST from ``path`` (default: the shipped copy) and check every array.

    Raises ``DataError`` with a one-line message naming the file, what is wrong and the fix.
    """
    shipped = path is None
    data_path = shipped_mnist_path() if shipped else Path(path)
    if not data_path.is_file():
        what = "is a folder, not a file" if data_path.is_dir() else "does not exist"
        raise DataError(
            f"data file {str(data_path)!r} {what}: give --data the path of an .npz "
            f"file with the arrays {', '.join(REQUIRED_KEYS)}"
        )
    sha256 = file_sha256(data_path)
    if shipped and sha256 != SHIPPED_MNIST_SHA256:
        raise DataError(
            f"the shipped MNIST {str(data_path)!r} has sha256 {sha256}, expected "
            f"{SHIPPED_MNIST_SHA256}: the file is damaged; restore it with "
            f"`git checkout -- mnist_models/data/mnist.npz`"
        )
    arrays = _read_npz(data_path)
    _check_arrays(arrays, data_path)
    return Mnist(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
        sha256=sha256,
        source=str(data_path),
    )


def _read_npz(data_path: Path) -> dict[str, np.ndarray]:
    try:
        # allow_pickle=False: a data file must never execute code.
        with np.load(data_path, allow_pickle=False) as npz:
            missing = [key for key in REQUIRED_KEYS if key not in npz.files]
            if missing:
                raise DataError(
                    f"data file {str(data_path)!r} lacks the arrays {missing} (it has "
                    f"{sorted(npz.files)}): save it with np.savez(path, x_train=..., "
                    f"y_train=..., x_test=..., y_test=...)"
                )
            return {key: npz[key] for key in REQUIRED_KEYS}
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as error:
        raise DataError(
            f"data file {str(data_path)!r} is not a readable .npz archive ({error}): give "
            f"--data a file written by np.savez or np.savez_compressed"
        ) from error


def _check_arrays(arrays: dict[str, np.ndarray], data_path: Path) -> None:
    where = f"data file {str(data_path)!r}"
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{where}: x_{part} has shape {images.shape}, but must be (n, 28, 28): "
                f"store 28x28 grey images, one per row"
            )
        if images.dtype != np.uint8:
            raise DataError(
                f"{where}: x_{part} has dtype {images.dtype}, but must be uint8 (pixels 0-255): "
                f"convert with x.astype(np.uint8)"
            )
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DataError(
                f"{where}: y_{part} has shape {labels.shape}, but must be ({images.shape[0]},), "
                f"one label per image of x_{part}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{where}: y_{part} has dtype {labels.dtype}, but must be an integer type: "
                f"store class indices 0-9, not one-hot vectors"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DataError(
                f"{where}: y_{part} holds labels from {labels.min()} to {labels.max()}, but "
                f"labels must lie in 0..{NUM_CLASSES - 1}: fix the labels"
            )
    classes, counts = np.unique(arrays["y_train"], return_counts=True)
    if classes.size == 0 or counts.min() < MIN_IMAGES_PER_CLASS:
        label, count = (0, 0) if classes.size == 0 else (int(classes[counts.argmin()]), int(counts.min()))
        raise DataError(
            f"{where}: y_train has {count} images of class {label}, but every class needs at least "
            f"{MIN_IMAGES_PER_CLASS}: the validation split takes {VALIDATION_FRACTION:.0%} of each class and "
            f"at least {MIN_VALIDATION_PER_CLASS}, and leaves as many to train on; give at least "
            f"{MIN_IMAGES_PER_CLASS} training images of every class"
        )
    if arrays["x_test"].shape[0] == 0:
        raise DataError(f"{where}: x_test is empty: the final confirmation needs test images")
    unseen = np.setdiff1d(arrays["y_test"], classes)
    if unseen.size:
        raise DataError(f"{where}: y_test holds class {int(unseen[0])}, of which y_train has no image: a model "
                        f"never learns a class it is not shown; give training images of every class the test "
                        f"set holds, or leave that class out of the test set")


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels to float32 in the [0, 1] range."""
    return (images.astype(np.float32) / 255.0).astype(np.float32)


def validation_quotas(labels: np.ndarray) -> dict[int, int]:
    """How many images of each class the validation split holds: ``VALIDATION_FRACTION`` of the
    training images, apportioned to the classes in proportion, each raised to
    ``MIN_VALIDATION_PER_CLASS`` where its share is smaller.

    The proportional shares are apportioned by largest remainder, so that without the floor
    they add up to the fraction of all images exactly: the split of the shipped MNIST is the
    fixed 6,000 images, image for image, that runs had before the split was sized to the data.
    """
    classes, counts = np.unique(labels, return_counts=True)
    validation_size = int(round(labels.shape[0] * VALIDATION_FRACTION))
    exact = counts * validation_size / labels.shape[0]
    quotas = np.floor(exact).astype(int)
    shortfall = validation_size - int(quotas.sum())
    quotas[np.argsort(-(exact - quotas), kind="stable")[:shortfall]] += 1
    quotas = np.maximum(quotas, MIN_VALIDATION_PER_CLASS)
    return {int(label): int(quota) for label, quota in zip(classes, quotas)}


def stratified_validation_indices(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, validation) by ``validation_quotas``, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    validation_parts = []
    for label, quota in validation_quotas(labels).items():
        members = np.flatnonzero(labels == label)
        validation_parts.append(rng.choice(members, size=quota, replace=False))
    validation = np.sort(np.concatenate(validation_parts))
    train = np.setdiff1d(np.arange(labels.shape[0]), validation, assume_unique=True)
    return train, validation


def search_split(mnist: Mnist, seed: int, *, train_limit: int | None = None) -> SearchSplit:
    """Carve a stratified validation split, sized to the data, from the training images; drop
    the test set.

    The split holds ``VALIDATION_FRACTION`` of every class and at least
    ``MIN_VALIDATION_PER_CLASS`` images of each (``validation_quotas``); the search trains on
    the rest. ``train_limit`` keeps only the first N search-training images (for smoke runs);
    the validation split stays whole so scores stay comparable.
    """
    train_idx, val_idx = stratified_validation_indices(mnist.y_train, seed)
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    return SearchSplit(
        x_train=scale_pixels(mnist.x_train[train_idx]),
        y_train=mnist.y_train[train_idx].astype(np.int32),
        x_val=scale_pixels(mnist.x_train[val_idx]),
        y_val=mnist.y_train[val_idx].astype(np.int32),
    )


def final_split(mnist: Mnist) -> FinalSplit:
    """All training images and the test images, scaled, for confirmation."""
    return FinalSplit(
        x_train=scale_pixels(mnist.x_train),
        y_train=mnist.y_train.astype(np.int32),
        x_test=scale_pixels(mnist.x_test),
        y_test=mnist.y_test.astype(np.int32),
    )
