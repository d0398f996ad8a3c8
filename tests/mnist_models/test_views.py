"""Test-time shifts: the NumPy and the Keras forms move the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_models import SHIFTS, shift_layer, shifted


def test_the_views_are_the_image_itself_and_its_four_one_pixel_moves() -> None:
    assert SHIFTS[0] == (0, 0)
    assert sorted(SHIFTS[1:]) == [(-1, 0), (0, -1), (0, 1), (1, 0)]


def test_a_shift_moves_every_pixel_and_what_moves_in_is_black() -> None:
    image = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    assert shifted(image, 1, 0).tolist() == [[[0, 0, 0], [1, 2, 3], [4, 5, 6]]]
    assert shifted(image, -1, 0).tolist() == [[[4, 5, 6], [7, 8, 9], [0, 0, 0]]]
    assert shifted(image, 0, 1).tolist() == [[[0, 1, 2], [0, 4, 5], [0, 7, 8]]]
    assert shifted(image, 0, -1).tolist() == [[[2, 3, 0], [5, 6, 0], [8, 9, 0]]]
    assert shifted(image, 0, 0).tolist() == image.tolist()


@pytest.mark.parametrize("rows, columns", SHIFTS)
def test_the_keras_layer_gives_the_same_pixels_as_the_array_shift(rows: int, columns: int) -> None:
    images = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    layer = shift_layer(rows, columns)
    np.testing.assert_array_equal(np.asarray(layer(images)), shifted(images, rows, columns))
