"""Notebook 01's solutions beyond the table (tests/checks/test_exercises.py): R's counting, clear errors."""

import numpy as np
import pytest
from checks.exercises.loading_data import get_digit, label_counts

from mnistlib.checks.loading_data import example_images


def test_get_digit_matches_r_and_raises_a_clear_error():
    images = example_images()
    assert np.array_equal(get_digit(images, 1), images[0])
    assert np.array_equal(get_digit(images, len(images)), images[-1])
    for n in (0, -1, len(images) + 1):
        with pytest.raises(IndexError, match=rf"no image number {n}: counting from 1, n must be from 1 to 7"):
            get_digit(images, n)


def test_label_counts_keeps_missing_digits():
    assert label_counts(np.array([0, 0, 1], dtype=np.uint8)).tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert label_counts(np.array([], dtype=np.uint8)).tolist() == [0] * 10
