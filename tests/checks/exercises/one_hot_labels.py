"""Notebook 03's exercise: one_hot, its usual mistakes and its contract."""

import numpy as np
from checks.harness import Exercise

from mnistlib.checks.one_hot_labels import check_one_hot


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


EXERCISES = [
    Exercise(
        reference=one_hot,
        check=check_one_hot,
        answer_globals={"np": np},
        mistakes=ONE_HOT_MISTAKES,
        contract={
            "One-hot encode whole-number class labels.": ["column d + 1"],
            "labels: array of shape (n,), whole numbers from 0 to num_classes - 1.": [
                "column d - 1",
                "columns from the largest label",
            ],
            "num_classes: the number of classes, i.e. of columns (10 digits for MNIST).": [
                "num_classes ignored"
            ],
            "Returns a float32 array of shape (n, num_classes): row i is all 0 except a 1 in column labels[i].": [
                "int",
                "float64",
                "transposed",
                "a list",
            ],
            "Raises ValueError if any label is < 0 or >= num_classes.": [
                "np.eye, no checks",
                "negative labels let through",
                "labels > num_classes rejected, not >=",
            ],
        },
    ),
]
