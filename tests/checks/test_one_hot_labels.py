"""Notebook 03's solution beyond the table (tests/checks/test_exercises.py): Keras agrees, errors are clear."""

import numpy as np
import pytest
from checks.exercises.one_hot_labels import one_hot


def test_solution_matches_keras_to_categorical():
    keras = pytest.importorskip("keras")
    labels = np.random.default_rng(0).integers(0, 10, size=1000).astype(np.uint8)
    got = one_hot(labels)
    assert got.dtype == np.float32
    assert np.array_equal(got, keras.utils.to_categorical(labels, num_classes=10))


def test_solution_encodes_the_tutorial_example_and_rejects_bad_labels():
    assert one_hot(np.array([3, 0, 9])).argmax(axis=1).tolist() == [3, 0, 9]
    assert one_hot(np.array([3, 0, 9])).sum() == 3
    with pytest.raises(ValueError, match="label -1 is not a class: labels must be 0 to 9"):
        one_hot(np.array([1, -1]))
    with pytest.raises(ValueError, match="label 10 is not a class"):
        one_hot(np.array([10]))
