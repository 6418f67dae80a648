"""Quick mode: the same notebooks on a small, fixed slice of MNIST.

Quick mode exists so that continuous integration and nbgrader can execute every
notebook in seconds without changing a line of it. It is on when

* ``MNISTLIB_QUICK`` is ``1`` / ``true`` / ``yes`` / ``on``, or
* ``MNISTLIB_QUICK`` is unset and ``NBGRADER_EXECUTION`` is set (nbgrader sets
  it while it executes a notebook for validation or autograding).

``MNISTLIB_QUICK=0`` turns it off even under nbgrader.

The subset keeps the first 300 images of each digit from the training set and
the first 100 of each digit from the test set, in their original order. Because
every image among the first few hundred is kept, the 200th training digit and
the first ten test digits are the same as in the full data.

Smaller data does not make Keras much faster: with batches of 1,000, an epoch
on 3,000 images costs mostly fixed overhead (docs/benchmarks.md, Notes). So the
training notebooks also train for fewer epochs in quick mode, and say so where
they do it: ``EPOCHS = 5 if mnistlib.is_quick() else 20`` (notebooks 05-07),
``EPOCHS = 2 if mnistlib.is_quick() else 6`` (notebook 09).
"""

from __future__ import annotations

import os
import sys

import numpy as np

TRAIN_PER_CLASS = 300
TEST_PER_CLASS = 100

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_announced = False


def is_quick(override: bool | None = None) -> bool:
    """Whether quick mode is on (``override`` wins when given)."""
    if override is not None:
        return bool(override)
    value = os.environ.get("MNISTLIB_QUICK")
    if value is None:
        return bool(os.environ.get("NBGRADER_EXECUTION"))
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"MNISTLIB_QUICK={value!r}: use 1 (quick mode on) or 0 (off)")


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Sorted indices of the first ``per_class`` occurrences of each label."""
    labels = np.asarray(labels)
    keep = np.zeros(labels.shape[0], dtype=bool)
    for digit in np.unique(labels):
        keep[np.flatnonzero(labels == digit)[:per_class]] = True
    return np.flatnonzero(keep)


def quick_subset(arrays, train_per_class: int = TRAIN_PER_CLASS, test_per_class: int = TEST_PER_CLASS):
    """Cut ``((x_train, y_train), (x_test, y_test))`` down to the quick-mode subset."""
    (x_train, y_train), (x_test, y_test) = arrays
    tr = first_per_class(y_train, train_per_class)
    te = first_per_class(y_test, test_per_class)
    return (x_train[tr], y_train[tr]), (x_test[te], y_test[te])


def announce() -> None:
    """Say once per process, visibly, that the numbers are not the full-data ones."""
    global _announced
    if _announced:
        return
    _announced = True
    n_train, n_test = 10 * TRAIN_PER_CLASS, 10 * TEST_PER_CLASS
    print(
        f"QUICK MODE: using {n_train:,} training and {n_test:,} test images, not the full "
        "60,000 / 10,000. Accuracies will be lower than the full-data ones. "
        "(Set MNISTLIB_QUICK=0 for the full data.)",
        file=sys.stdout,
        flush=True,
    )
