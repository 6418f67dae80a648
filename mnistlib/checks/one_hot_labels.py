"""Visible check for notebook 03, one-hot labels: ``one_hot``.

``one_hot(labels, num_classes=10)`` turns n whole-number labels into an
(n, num_classes) float32 matrix with a single 1 per row, in the label's column,
and raises ValueError for a label outside [0, num_classes). The check names the
usual mistakes: the 1 one column off, the matrix transposed, int or float64
values, ``num_classes`` ignored, labels out of range let through (numpy
quietly reads -1 as "the last column"), and a bound check off by one (label
``num_classes`` let through).
"""

from __future__ import annotations

import numpy as np

from . import CheckFailed, call, describe, expect_equal, fail, guided, passed

__all__ = ["check_one_hot"]


def reference(labels, num_classes: int = 10) -> np.ndarray:
    """The one-hot matrix ``one_hot`` must return: (n, num_classes) float32."""
    labels = np.asarray(labels)
    return np.eye(num_classes, dtype=np.float32)[labels]


def _text(labels: np.ndarray) -> str:
    return str(labels.tolist())


def _expect_one_hot(fn, labels: np.ndarray, num_classes: int | None) -> None:
    k = 10 if num_classes is None else num_classes
    args = (labels.copy(),) if num_classes is None else (labels.copy(), num_classes)
    call_text = (
        f"one_hot({_text(labels)}" + ("" if num_classes is None else f", num_classes={num_classes}") + ")"
    )
    n = len(labels)
    try:
        got = call(fn, *args, name="one_hot")
    except (IndexError, ValueError) as error:
        fail(
            f"{call_text} to return a ({n}, {k}) matrix",
            f"{type(error).__name__}: {error}",
            f"every label here is valid (0 to {k - 1}). Label d belongs in column d, counting from 0, so "
            f"the columns are 0 to {k - 1}; putting it in column d + 1 runs off the end for {k - 1}.",
            mistake="valid-label-rejected",
        )
    expected = reference(labels, k)
    if not isinstance(got, np.ndarray):
        fail(
            f"{call_text} as a numpy array",
            describe(got),
            "build the result with numpy, e.g. np.zeros",
            mistake="not-an-array",
        )
    if got.shape != (n, k):
        if got.shape == (k, n):
            hint = (
                "the matrix is transposed: one row per label and one column per class, shape (n, num_classes)"
            )
        elif got.ndim == 2 and got.shape[0] == n and got.shape[1] == labels.max() + 1:
            hint = "the columns must come from num_classes, not from the largest label present"
        elif got.ndim == 2 and got.shape[0] == n and got.shape[1] == 10:
            hint = "num_classes was ignored: the matrix needs num_classes columns, not always 10"
        else:
            hint = "one row per label, one column per class: shape (len(labels), num_classes)"
        fail(f"{call_text} with shape ({n}, {k})", f"shape {got.shape}", hint, mistake="wrong-shape")
    if got.dtype != np.float32:
        fail(
            f"{call_text} with dtype float32",
            f"dtype {got.dtype}",
            "Keras compares these targets with float32 probabilities: make the matrix float32, "
            "e.g. np.zeros((n, num_classes), dtype=np.float32)",
            mistake="not-float32",
        )
    if np.array_equal(got, np.roll(expected, 1, axis=1)) or np.array_equal(
        got, np.roll(expected, -1, axis=1)
    ):
        fail(
            f"{call_text} = {_rows(expected)}",
            _rows(got),
            "the 1 is one column off. Label d goes in column d, counting from 0: label 0 in the first column.",
            mistake="column-off-by-one",
        )
    expect_equal(
        got,
        expected,
        what=call_text,
        hint="each row must be all zeros except a single 1 in the column of its label",
        mistake="wrong-ones",
    )


def _rows(matrix: np.ndarray) -> str:
    return "rows " + ", ".join("".join(str(int(v)) for v in row) for row in matrix[:4])


def _rejects(fn, labels: np.ndarray, num_classes: int) -> bool:
    """Whether ``fn`` raises ValueError for these labels."""
    try:
        call(fn, labels.copy(), num_classes, name="one_hot")
    except ValueError:
        return True
    except CheckFailed:
        raise
    except Exception:
        return False
    return False


def _boundary_hint(fn, labels: np.ndarray, num_classes: int) -> str | None:
    """The hint for a bound check off by one (label == num_classes let through, larger ones rejected)."""
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size and np.all(bad == num_classes) and _rejects(fn, np.array([0, num_classes + 1]), num_classes):
        return (
            f"your check is off by one at the boundary: it rejects {num_classes + 1} but lets {num_classes} "
            f"through. With num_classes={num_classes} the columns are 0 to {num_classes - 1}, so label "
            f"{num_classes} is already outside: reject labels >= num_classes, not only > num_classes"
        )
    return None


def _expect_value_error(fn, labels: np.ndarray, num_classes: int) -> None:
    call_text = f"one_hot({_text(labels)}, num_classes={num_classes})"
    bad = labels[(labels < 0) | (labels >= num_classes)]
    try:
        got = call(fn, labels.copy(), num_classes, name="one_hot")
    except ValueError:
        return
    except CheckFailed:
        raise
    except Exception as error:
        fail(
            f"{call_text} to raise ValueError (label {bad[0]} is not a class 0 to {num_classes - 1})",
            f"{type(error).__name__}: {error}",
            _boundary_hint(fn, labels, num_classes)
            or "check the labels yourself before building the matrix and raise ValueError(...) with a message",
            mistake="boundary-off-by-one",
        )
    if bad.min() < 0:
        hint = (
            "a negative label got through: numpy reads index -1 as 'the last one', so it quietly lands in the "
            "last column. Check that every label is >= 0 and < num_classes, and raise ValueError if not"
        )
    else:
        hint = _boundary_hint(fn, labels, num_classes) or "raise ValueError when a label is >= num_classes"
    fail(
        f"{call_text} to raise ValueError (label {bad[0]} is not a class 0 to {num_classes - 1})",
        f"it returned {describe(got)}",
        hint,
        mistake="invalid-label-accepted",
    )


@guided
def check_one_hot(fn) -> None:
    """Check ``one_hot(labels, num_classes=10)``: (n,) ints -> (n, num_classes) float32, ValueError outside."""
    _expect_one_hot(fn, np.array([3, 0, 9], dtype=np.uint8), None)  # the tutorial's example
    _expect_one_hot(fn, np.array([3, 0, 9, 1], dtype=np.int64), 10)
    _expect_one_hot(fn, np.array([0, 1, 1], dtype=np.int64), 4)  # the largest class (3) does not occur
    _expect_one_hot(fn, np.array([2, 0, 1, 2, 1], dtype=np.int64), 3)
    _expect_value_error(fn, np.array([3, 10, 1], dtype=np.int64), 10)
    _expect_value_error(fn, np.array([3, -1, 1], dtype=np.int64), 10)
    _expect_value_error(fn, np.array([0, 4], dtype=np.int64), 4)
    passed("one_hot puts a single 1 per row in the label's column (float32) and rejects labels out of range.")
