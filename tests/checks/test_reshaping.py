"""Notebook 02's solution beyond the table (tests/checks/test_exercises.py): row-major, scaled, input kept."""

import numpy as np
from checks.exercises.reshaping import flatten_images

from mnistlib.checks.reshaping import example_images


def test_solution_is_row_major_scaled_float32_and_leaves_input_alone():
    images = example_images(2)
    before = images.copy()
    flat = flatten_images(images)
    assert flat.shape == (2, 784) and flat.dtype == np.float32
    assert flat[0, 28] == np.float32(images[0, 1, 0]) / 255  # pixel 28 is row 1, column 0
    assert flat.max() == 1.0 and flat.min() == 0.0
    assert np.array_equal(images, before) and images.dtype == np.uint8
