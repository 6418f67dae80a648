"""Visible checks for notebook 06, diagnosing overfitting: ``best_epoch`` and ``confusion_matrix``.

``best_epoch(history)`` takes the dict of per-epoch lists in ``History.history``
(keys such as ``"loss"``, ``"val_loss"``, ``"accuracy"``, ``"val_accuracy"``) and
returns the epoch, counting from 1 as Keras prints them, with the lowest
validation loss (the earliest one if several tie). The check names the usual
mistakes: counting from 0, the training loss instead of the validation loss,
the highest instead of the lowest loss, accuracy instead of loss, and a later
epoch that only ties the lowest loss instead of the earliest.

``confusion_matrix(y_true, y_pred, num_classes=10)`` returns a
(num_classes, num_classes) integer matrix whose entry [t, p] counts the images
of true digit t predicted as p. The check names: the matrix transposed (rows
predicted), float counts, counts in a dtype too small for the full test set
(uint8 wraps past 255), a matrix sized by the largest label present instead
of ``num_classes``, and ``num_classes`` ignored.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import call, describe, expect_equal, fail, guided, passed

__all__ = ["check_best_epoch", "check_confusion_matrix"]


# ---------------------------------------------------------------------------------------------- best_epoch


def reference_best_epoch(history) -> int:
    """The epoch (from 1) with the lowest ``history["val_loss"]``; the earliest if tied."""
    return int(np.argmin(history["val_loss"])) + 1


def _history(val_loss, loss=None, val_accuracy=None, accuracy=None) -> dict:
    n = len(val_loss)
    loss = loss if loss is not None else list(np.linspace(0.5, 0.01, n))
    accuracy = accuracy if accuracy is not None else list(np.linspace(0.88, 0.999, n))
    val_accuracy = val_accuracy if val_accuracy is not None else list(np.linspace(0.90, 0.98, n))
    return {
        "accuracy": [float(v) for v in accuracy],
        "loss": [float(v) for v in loss],
        "val_accuracy": [float(v) for v in val_accuracy],
        "val_loss": [float(v) for v in val_loss],
    }


# Ten epochs built so that every usual mistake gives a different answer:
#   lowest val_loss at epoch 5 (index 4) -> right answer 5, or 4 when counting from 0;
#   lowest training loss at epoch 10 (the last);  highest val_loss at epoch 2;
#   highest val_accuracy at epoch 7;  lowest val_accuracy at epoch 9.
_CASE_MAIN = _history(
    val_loss=[0.30, 0.34, 0.12, 0.09, 0.07, 0.08, 0.085, 0.10, 0.11, 0.13],
    val_accuracy=[0.930, 0.935, 0.960, 0.970, 0.975, 0.976, 0.981, 0.978, 0.920, 0.974],
)
# The best epoch is the first one: catches counting from 0 (answer 0) and "best of the later epochs".
_CASE_FIRST = _history(
    val_loss=[0.05, 0.06, 0.08, 0.11, 0.15, 0.2],
    val_accuracy=[0.97, 0.975, 0.98, 0.979, 0.978, 0.977],
)
# A long run whose best epoch is the 13th.
_CASE_LONG = _history(
    val_loss=[0.4 - 0.025 * i if i < 13 else 0.1 + 0.01 * (i - 12) for i in range(20)],
)

# Epochs 3 and 6 tie for the lowest val_loss (the earliest, 3, is the answer); neither is the last epoch.
_CASE_TIE = _history(
    val_loss=[0.20, 0.15, 0.09, 0.11, 0.10, 0.09, 0.12, 0.14],
    val_accuracy=[0.940, 0.950, 0.970, 0.972, 0.975, 0.971, 0.969, 0.968],
)


def _mistake_hints(history: dict, expected: int) -> dict[int, str]:
    """Each wrong answer a usual mistake gives on ``history``, with its hint."""
    hints: dict[int, str] = {}

    def add(value: int, hint: str) -> None:
        if value != expected and value not in hints:
            hints[value] = hint

    def both(index: int, hint: str) -> None:
        add(index + 1, hint)
        add(index, hint + " (and epochs count from 1: add 1 to the index)")

    val_loss = np.asarray(history["val_loss"], dtype=float)
    tied = [int(i) + 1 for i in np.flatnonzero(val_loss == val_loss.min())]
    for later in tied[1:]:
        add(
            later,
            f"epochs {' and '.join(map(str, tied))} tie for the lowest validation loss, and the answer is the "
            "EARLIEST of them (the later ones only matched it, they did not improve on it). np.argmin returns "
            "the first position of the smallest value; a loop that keeps `<=` or a search from the end "
            "returns a later one",
        )
    add(
        expected - 1,
        "one too low: that is the numpy index of the best epoch. Epochs count from 1 (Keras prints "
        "'Epoch 1/20' first), so add 1 to the index",
    )
    both(
        int(np.argmin(history["loss"])),
        "that is the epoch with the lowest TRAINING loss (history['loss']). Overfitting is judged on data "
        "the network does not train on: use history['val_loss']",
    )
    both(
        int(np.argmax(history["val_loss"])),
        "that is the epoch with the HIGHEST validation loss: use argmin, not argmax (a loss is best when low)",
    )
    both(
        int(np.argmax(history["val_accuracy"])),
        "that is the epoch with the highest validation accuracy. The best epoch here is the one with the lowest "
        "validation LOSS (history['val_loss']), the quantity EarlyStopping(monitor='val_loss') watches",
    )
    both(
        int(np.argmin(history["val_accuracy"])),
        "use the validation loss, history['val_loss'], not an accuracy",
    )
    return hints


def _expect_best_epoch(fn, history: dict, label: str) -> None:
    expected = reference_best_epoch(history)
    copy = {key: list(values) for key, values in history.items()}
    got = call(fn, copy, name="best_epoch", in_place_hint="do not sort or modify the lists in place")
    what = f"best_epoch on {label}"
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        if isinstance(got, float) and got.is_integer():
            hint = "return a whole number (an int), e.g. int(np.argmin(...)) + 1"
        elif isinstance(got, float):
            hint = "that looks like a loss value: return the epoch NUMBER, not the loss at that epoch"
        else:
            hint = "return the epoch number as an int, e.g. int(np.argmin(history['val_loss'])) + 1"
        fail(f"{what} = {expected} (an int)", describe(got), hint, mistake="best-epoch-not-int")
    got = int(got)
    if got != expected:
        hints = _mistake_hints(history, expected)
        val_loss = ", ".join(f"{v:g}" for v in history["val_loss"])
        fail(
            f"{what} = {expected} (val_loss by epoch: {val_loss})",
            str(got),
            hints.get(got, "find the position of the smallest history['val_loss'] and add 1"),
            mistake="best-epoch-wrong",
        )


@guided
def check_best_epoch(fn) -> None:
    """Check ``best_epoch(history) -> int``: the epoch, from 1, with the lowest validation loss."""
    _expect_best_epoch(fn, _CASE_MAIN, "a 10-epoch history whose validation loss is lowest at epoch 5")
    _expect_best_epoch(fn, _CASE_FIRST, "a 6-epoch history whose validation loss only ever rises")
    _expect_best_epoch(fn, _CASE_LONG, "a 20-epoch history")
    _expect_best_epoch(fn, _CASE_TIE, "an 8-epoch history where epochs 3 and 6 tie for the lowest val_loss")
    passed(
        "best_epoch returns the epoch (counting from 1) with the lowest validation loss, the earliest if tied."
    )


# ---------------------------------------------------------------------------------------- confusion_matrix


def reference_confusion_matrix(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; entry [t, p]: images of true class t predicted as p."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _expect_confusion(
    fn, y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None, label: str
) -> None:
    k = 10 if num_classes is None else num_classes
    args = (y_true.copy(), y_pred.copy()) + (() if num_classes is None else (num_classes,))
    shown = "" if num_classes is None else f", num_classes={num_classes}"
    what = f"confusion_matrix({label}{shown})"
    got = call(fn, *args, name="confusion_matrix", in_place_hint="do not modify the arguments")
    expected = reference_confusion_matrix(y_true, y_pred, k)
    if not isinstance(got, np.ndarray):
        fail(
            f"{what} as a numpy array",
            describe(got),
            "start from np.zeros((num_classes, num_classes), dtype=int)",
            mistake="confusion-not-an-array",
        )
    if got.shape != (k, k):
        largest = int(max(y_true.max(), y_pred.max())) + 1
        if got.shape == (largest, largest) and largest < k:
            hint = (
                f"the matrix was sized from the largest label present ({largest - 1}), but here no image is a "
                f"{k - 1} and none is predicted as one. Size it from num_classes: shape "
                "(num_classes, num_classes), with a row of zeros for an absent class"
            )
        elif got.shape == (10, 10) and k != 10:
            hint = (
                "num_classes was ignored: the matrix must be (num_classes, num_classes), not always 10 x 10"
            )
        else:
            hint = (
                "one row per true class and one column per predicted class: shape (num_classes, num_classes)"
            )
        fail(f"{what} with shape ({k}, {k})", f"shape {got.shape}", hint, mistake="confusion-wrong-shape")
    if not np.issubdtype(got.dtype, np.integer):
        fail(
            f"{what} with an integer dtype (these are counts)",
            f"dtype {got.dtype}",
            "np.zeros makes floats by default: write np.zeros((num_classes, num_classes), dtype=int)",
            mistake="confusion-float",
        )
    largest = np.iinfo(got.dtype).max
    if expected.max() > largest and np.array_equal(got, expected.astype(got.dtype)):
        fail(
            f"{what}: a diagonal of {np.diagonal(expected)[:4].tolist()}...",
            f"{np.diagonal(got)[:4].tolist()}... (dtype {got.dtype})",
            f"the counts wrapped around: dtype {got.dtype} holds whole numbers only up to {largest}, and on the "
            "10,000 test images each digit is right about 1,000 times. Count in the default integer dtype: "
            "np.zeros((num_classes, num_classes), dtype=int)",
            mistake="confusion-wrapped",
        )
    if not np.array_equal(got, expected) and np.array_equal(got, expected.T):
        fail(
            f"{what} with rows = true digits, columns = predicted digits",
            "the transposed matrix (rows = predicted digits)",
            "add 1 at matrix[true, predicted], not matrix[predicted, true]: row t counts the images whose "
            "TRUE digit is t",
            mistake="confusion-transposed",
        )
    if not np.array_equal(got, expected) and np.array_equal(got, (expected > 0).astype(got.dtype)):
        fail(
            f"{what} = {expected.tolist()}",
            f"{got.tolist()}",
            "a pair that occurs twice was counted once: matrix[y_true, y_pred] += 1 adds 1 per DISTINCT pair "
            "(numpy does not repeat the addition for repeated indices). Loop over zip(y_true, y_pred), or use "
            "np.add.at(matrix, (y_true, y_pred), 1)",
            mistake="confusion-counted-once",
        )
    expect_equal(
        got,
        expected,
        what=what,
        hint="for each image add 1 at [true digit, predicted digit]; every image is counted exactly once",
        mistake="confusion-wrong-counts",
    )


@guided
def check_confusion_matrix(fn) -> None:
    """Check ``confusion_matrix(y_true, y_pred, num_classes=10)`` -> (num_classes, num_classes) int counts."""
    # One 4 predicted as 9 twice, one 9 predicted as 4 once: the matrix is not symmetric.
    y_true = np.array([0, 4, 4, 9, 4, 1, 9, 7, 2, 3], dtype=np.uint8)
    y_pred = np.array([0, 9, 4, 4, 9, 1, 9, 7, 7, 5], dtype=np.int64)
    _expect_confusion(fn, y_true, y_pred, None, "10 digits, two 4s taken for 9s")
    _expect_confusion(
        fn,
        np.array([0, 1, 2, 3, 1, 2], dtype=np.int64),
        np.array([0, 2, 2, 3, 1, 1], dtype=np.int64),
        4,
        "6 labels of 4 classes",
    )
    # No 8 or 9 anywhere, neither true nor predicted: the matrix must still be 10 x 10.
    _expect_confusion(
        fn,
        np.array([0, 1, 2, 3, 5, 7, 7, 6], dtype=np.int64),
        np.array([0, 1, 3, 3, 5, 1, 7, 6], dtype=np.int64),
        10,
        "8 digits with no 8 and no 9",
    )
    # shaped like the full test set: 10,000 images, about 1,000 of each digit, most predicted right
    rng = np.random.default_rng(6)
    y_true = rng.integers(0, 10, size=10_000)
    y_pred = np.where(rng.random(10_000) < 0.98, y_true, rng.integers(0, 10, size=10_000))
    _expect_confusion(fn, y_true, y_pred, None, "10,000 digits, as many as the full test set")
    passed(
        "confusion_matrix counts [true digit, predicted digit] pairs in a num_classes x num_classes int matrix."
    )
