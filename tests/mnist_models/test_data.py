"""MNIST loading, checking and splitting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from mnist_models import DataError, SearchSplit, final_split, load_mnist, search_split
from mnist_models._data import (
    MIN_IMAGES_PER_CLASS,
    MIN_VALIDATION_PER_CLASS,
    SHIPPED_MNIST_SHA256,
    VALIDATION_FRACTION,
    shipped_mnist_path,
)
from tests.conftest import synthetic_arrays


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_the_shipped_mnist_is_the_official_set(mnist) -> None:
    assert mnist.sha256 == SHIPPED_MNIST_SHA256
    assert (mnist.x_train.shape, mnist.x_test.shape) == ((60_000, 28, 28), (10_000, 28, 28))
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.x_train.mean() / 255 == pytest.approx(0.1306604762738429)


def test_a_damaged_shipped_copy_is_refused(monkeypatch, tmp_path: Path) -> None:
    damaged = tmp_path / "mnist.npz"
    payload = bytearray(shipped_mnist_path().read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    damaged.write_bytes(bytes(payload))
    monkeypatch.setattr("mnist_models._data.shipped_mnist_path", lambda: damaged)
    with pytest.raises(DataError, match="damaged"):
        load_mnist()


# The split of the shipped MNIST before it was sized to the data (a fixed 6,000 images):
# sha256 of x_train, y_train, x_val and y_val, in that order, by seed.
FIXED_SPLIT_SHA256 = {
    0: "fa325be0bf931672559abe2596a126d1b7f5f4faaa3822a61836e42662713ca2",
    3: "bbbc377ad653495c8bd67e52271cac9be40d8ef952225340877375da744fb03c",
}
VALIDATION_SIZE = 6_000


@pytest.mark.parametrize("seed", sorted(FIXED_SPLIT_SHA256))
def test_the_shipped_mnist_keeps_its_fixed_6000_image_split_byte_for_byte(mnist, seed: int) -> None:
    split = search_split(mnist, seed=seed)
    digest = hashlib.sha256()
    for array in (split.x_train, split.y_train, split.x_val, split.y_val):
        digest.update(array.tobytes())
    assert (split.x_train.shape[0], split.x_val.shape[0]) == (54_000, VALIDATION_SIZE)
    assert digest.hexdigest() == FIXED_SPLIT_SHA256[seed]


def test_the_validation_split_is_a_fraction_of_each_class_sized_to_the_data(tmp_path: Path) -> None:
    arrays = synthetic_arrays(n_train=1_500)  # 150 images of each class
    split = search_split(load_mnist(_save(tmp_path, arrays)), seed=0)
    assert VALIDATION_FRACTION == 0.1
    assert np.bincount(split.y_val).tolist() == [15] * 10
    assert (split.x_train.shape[0], split.x_val.shape[0]) == (1_350, 150)


def test_a_small_class_gets_the_floor_of_validation_images(tmp_path: Path) -> None:
    arrays = synthetic_arrays(n_train=1_500)
    keep = np.flatnonzero((arrays["y_train"] != 3) | (np.arange(1_500) < 300))  # 30 images of class 3
    arrays.update(x_train=arrays["x_train"][keep], y_train=arrays["y_train"][keep])
    split = search_split(load_mnist(_save(tmp_path, arrays)), seed=0)
    per_class = np.bincount(split.y_val)
    assert per_class[3] == MIN_VALIDATION_PER_CLASS == 10  # its tenth would be 3
    assert np.bincount(split.y_train)[3] == 20
    assert split.x_train.shape[0] + split.x_val.shape[0] == keep.size


def test_a_class_too_small_for_the_floor_is_refused_in_one_line_naming_the_floor(tmp_path: Path) -> None:
    arrays = synthetic_arrays(n_train=1_500)
    keep = np.flatnonzero((arrays["y_train"] != 3) | (np.arange(1_500) < 190))  # 19 images of class 3
    arrays.update(x_train=arrays["x_train"][keep], y_train=arrays["y_train"][keep])
    with pytest.raises(DataError) as refused:
        load_mnist(_save(tmp_path, arrays))
    message = str(refused.value)
    assert "\n" not in message
    assert "y_train has 19 images of class 3, but every class needs at least 20" in message
    assert "at least 10" in message and "give at least 20 training images of every class" in message
    assert MIN_IMAGES_PER_CLASS == 20


def test_the_validation_split_is_stratified_disjoint_and_seeded(mnist) -> None:
    split = search_split(mnist, seed=3)
    assert split.x_val.shape == (VALIDATION_SIZE, 28, 28)
    assert split.x_train.shape == (60_000 - VALIDATION_SIZE, 28, 28)
    # Each class holds its share of the validation split, to within one image.
    expected = np.bincount(mnist.y_train) * VALIDATION_SIZE / 60_000
    assert np.all(np.abs(np.bincount(split.y_val) - expected) <= 1)
    # Disjoint: no validation image is also a training image of the search.
    train_keys = {row.tobytes() for row in split.x_train.reshape(len(split.x_train), -1)}
    duplicates_in_mnist = 60_000 - len({row.tobytes() for row in mnist.x_train.reshape(60_000, -1)})
    overlap = sum(row.tobytes() in train_keys for row in split.x_val.reshape(VALIDATION_SIZE, -1))
    assert overlap <= duplicates_in_mnist
    # Fixed by the seed; another seed gives another split.
    assert np.array_equal(search_split(mnist, seed=3).y_val, split.y_val)
    assert not np.array_equal(search_split(mnist, seed=4).x_val, split.x_val)


def test_pixels_are_scaled_to_the_unit_interval(mnist) -> None:
    split = search_split(mnist, seed=0, train_limit=500)
    assert split.x_train.dtype == np.float32
    assert 0.0 <= split.x_train.min() and split.x_train.max() == 1.0


def test_train_limit_shrinks_the_search_training_set_only(mnist) -> None:
    split = search_split(mnist, seed=0, train_limit=3_000)
    assert split.x_train.shape[0] == 3_000
    assert split.x_val.shape[0] == VALIDATION_SIZE


def test_the_search_split_holds_no_test_image(synthetic_npz: Path) -> None:
    """Every test pixel of the synthetic set is 7 and no training pixel is: nothing of the
    test set may appear in what a search trial is handed."""
    split = search_split(load_mnist(synthetic_npz), seed=0)
    assert set(SearchSplit.__dataclass_fields__) == {"x_train", "y_train", "x_val", "y_val"}
    for array in (split.x_train, split.x_val):
        assert not np.any(np.all(array == np.float32(7 / 255), axis=(1, 2)))


def test_the_final_split_uses_every_training_image_and_the_test_set(mnist) -> None:
    final = final_split(mnist)
    assert final.x_train.shape[0] == 60_000 and final.x_test.shape[0] == 10_000


def _save(tmp_path: Path, arrays: dict[str, np.ndarray]) -> Path:
    path = tmp_path / "small.npz"
    np.savez(path, **arrays)
    return path


def _write(tmp_path: Path, **overrides) -> Path:
    arrays = synthetic_arrays()
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_test": None}, r"lacks the arrays \['y_test'\]"),
        ({"x_train": np.zeros((6_200, 32, 32), np.uint8)}, r"x_train has shape \(6200, 32, 32\), but must be \(n, 28, 28\)"),
        ({"x_test": np.zeros((200, 28, 28), np.float32)}, r"x_test has dtype float32, but must be uint8"),
        ({"y_train": np.full(6_200, 10, np.uint8)}, r"y_train holds labels from 10 to 10, but labels must lie in 0..9"),
        ({"y_test": np.zeros((200, 10), np.uint8)}, r"y_test has shape \(200, 10\), but must be \(200,\)"),
        ({"y_train": np.zeros(6_200, np.float32)}, r"y_train has dtype float32, but must be an integer type"),
        ({"x_train": np.zeros((100, 28, 28), np.uint8), "y_train": np.arange(100, dtype=np.uint8) % 10},
         r"y_train has 10 images of class 0, but every class needs at least 20"),
        ({"y_train": (np.arange(6_200) % 9).astype(np.uint8)}, r"y_test holds class 9, of which y_train has no image"),
    ],
)
def test_a_bad_data_file_is_refused_with_what_is_wrong(tmp_path: Path, overrides, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_mnist(_write(tmp_path, **overrides))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nope.npz")
    with pytest.raises(DataError, match=f"data file {str(tmp_path)!r} is a folder, not a file: give --data the path"):
        load_mnist(tmp_path)


def test_a_truncated_file_is_refused(tmp_path: Path, synthetic_npz: Path) -> None:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(synthetic_npz.read_bytes()[:5_000])
    with pytest.raises(DataError, match="is not a readable .npz archive"):
        load_mnist(truncated)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(DataError, match="is not a readable .npz archive"):
        load_mnist(text)


def test_a_pickled_object_array_is_refused_not_loaded(tmp_path: Path) -> None:
    arrays = synthetic_arrays()
    arrays["y_test"] = np.array([object()] * 200, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="not a readable .npz archive"):
        load_mnist(path)
