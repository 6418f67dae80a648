"""Notebook 03's check and hidden tests tell the right one_hot from the usual mistakes."""

from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.one_hot_labels import check_one_hot

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "course"
    / "source"
    / "03-one-hot-labels"
    / "03-one-hot-labels.ipynb"
)


# The reference implementation: the same code as the notebook's solution (test_reference_is_the_solution).
def one_hot(labels, num_classes=10):
    """One-hot encode whole-number class labels.

    labels: array of shape (n,), whole numbers from 0 to num_classes - 1.
    num_classes: the number of classes, i.e. of columns (10 digits for MNIST).
    Returns a float32 array of shape (n, num_classes): row i is all 0 except a 1 in column labels[i].
    Raises ValueError if any label is < 0 or >= num_classes.
    """
    labels = np.asarray(labels)
    outside = (labels < 0) | (labels >= num_classes)
    if np.any(outside):
        raise ValueError(f"label {labels[outside][0]} is not a class: labels must be 0 to {num_classes - 1}")
    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded


def _validated(build):
    """A one_hot that rejects bad labels correctly but builds the matrix with ``build(labels, k)``."""

    def one_hot(labels, num_classes=10):
        labels = np.asarray(labels)
        if np.any((labels < 0) | (labels >= num_classes)):
            raise ValueError("bad label")
        return build(labels.astype(np.int64), num_classes)

    return one_hot


def _filled(labels, k, *, shift=0, dtype=np.float32, width=None):
    encoded = np.zeros((len(labels), width or k), dtype=dtype)
    encoded[np.arange(len(labels)), labels + shift] = 1
    return encoded


def _only_too_big_rejected(labels, num_classes=10):
    labels = np.asarray(labels)
    if np.any(labels >= num_classes):
        raise ValueError("label too big")
    return np.eye(num_classes, dtype=np.float32)[labels]


def _bound_off_by_one(labels, num_classes=10):
    labels = np.asarray(labels)
    if np.any((labels < 0) | (labels > num_classes)):  # lets label num_classes through
        raise ValueError("bad label")
    return np.eye(num_classes, dtype=np.float32)[labels]


ONE_HOT_MISTAKES = {
    "column d + 1": (_validated(lambda labels, k: _filled(labels, k, shift=1)), "column d + 1"),
    "column d - 1": (_validated(lambda labels, k: _filled(labels, k, shift=-1)), "one column off"),
    "transposed": (_validated(lambda labels, k: _filled(labels, k).T), "transposed"),
    "int": (_validated(lambda labels, k: _filled(labels, k, dtype=int)), "float32"),
    "float64": (_validated(lambda labels, k: _filled(labels, k, dtype=np.float64)), "float32"),
    "num_classes ignored": (
        lambda labels, num_classes=10: (
            _filled(np.asarray(labels), 10) if np.all(np.asarray(labels) < 10) else 1 / 0
        ),
        "num_classes was ignored",
    ),
    "columns from the largest label": (
        _validated(lambda labels, k: _filled(labels, k, width=int(labels.max()) + 1)),
        "not from the largest label",
    ),
    "np.eye, no checks": (
        lambda labels, num_classes=10: np.eye(num_classes, dtype=np.float32)[labels],
        "ValueError",
    ),
    "negative labels let through": (_only_too_big_rejected, "negative"),
    "labels > num_classes rejected, not >=": (_bound_off_by_one, "off by one at the boundary"),
    "a list": (_validated(lambda labels, k: _filled(labels, k).tolist()), "numpy array"),
}


def test_reference_is_the_solution():
    assert same_function(one_hot, NOTEBOOK)


def test_check_passes_on_the_solution(capsys):
    check_one_hot(one_hot)
    check_one_hot(run_answer_cell(NOTEBOOK, "one_hot", np=np)["one_hot"])
    assert capsys.readouterr().out.count("\u2714") == 2


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


@pytest.mark.parametrize("name", ONE_HOT_MISTAKES)
def test_check_names_the_mistake(name):
    wrong, hint = ONE_HOT_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_one_hot(wrong)
    assert hint in str(failure.value)


def test_notebook_test_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_one_hot", one_hot=one_hot)


@pytest.mark.parametrize("name", ONE_HOT_MISTAKES)
def test_notebook_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = ONE_HOT_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_one_hot", one_hot=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_one_hot", one_hot=wrong)
