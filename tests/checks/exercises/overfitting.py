"""Notebook 06's exercises: best_epoch and confusion_matrix, their usual mistakes and their contracts."""

import numpy as np
from checks.harness import Exercise

from mnistlib.checks.overfitting import check_best_epoch, check_confusion_matrix


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
def best_epoch(history):
    """The epoch with the lowest validation loss.

    history: dict of per-epoch lists as in History.history; uses history["val_loss"], one float per epoch.
    Returns an int counting epochs from 1 (as Keras prints them); the earliest such epoch if several tie.
    """
    return int(np.argmin(history["val_loss"])) + 1


def confusion_matrix(y_true, y_pred, num_classes=10):
    """Count how often each true class was predicted as each class.

    y_true, y_pred: int arrays of shape (n,) with classes 0 to num_classes - 1 (true, predicted).
    Returns an int array of shape (num_classes, num_classes): entry [t, p] is the number of images of
    true class t predicted as p (rows: true classes, columns: predicted classes).
    """
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def _last_of_ties(history):
    best = 0
    for epoch, value in enumerate(history["val_loss"]):
        if value <= history["val_loss"][best]:  # `<=` moves on to a later epoch that only ties
            best = epoch
    return best + 1


def _sorts_in_place(history):
    losses = history["val_loss"]
    best = int(np.argmin(losses)) + 1
    losses.sort()
    return best


BEST_EPOCH_MISTAKES = {
    "counting from 0": (lambda h: int(np.argmin(h["val_loss"])), "Epochs count from 1"),
    "training loss": (lambda h: int(np.argmin(h["loss"])) + 1, "TRAINING loss"),
    "argmax": (lambda h: int(np.argmax(h["val_loss"])) + 1, "use argmin, not argmax"),
    "validation accuracy": (lambda h: int(np.argmax(h["val_accuracy"])) + 1, "highest validation accuracy"),
    "training loss from 0": (lambda h: int(np.argmin(h["loss"])), "TRAINING loss"),
    "the loss value": (lambda h: min(h["val_loss"]), "return the epoch NUMBER"),
    "a float": (lambda h: float(np.argmin(h["val_loss"]) + 1), "whole number"),
    "the last epoch": (lambda h: len(h["val_loss"]), "TRAINING loss"),
    "the last of tied epochs": (_last_of_ties, "EARLIEST"),
    "sorts val_loss in place": (_sorts_in_place, "do not sort or modify"),
}


def _counted(*, transpose=False, dtype=np.int64, size=None, fixed_size=None, buffered=False, as_list=False):
    def confusion_matrix(y_true, y_pred, num_classes=10):
        y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
        k = fixed_size or (int(max(y_true.max(), y_pred.max())) + 1 if size == "largest" else num_classes)
        matrix = np.zeros((k, k), dtype=dtype)
        rows, columns = (y_pred, y_true) if transpose else (y_true, y_pred)
        if buffered:
            matrix[rows, columns] += 1
        else:
            for row, column in zip(rows, columns, strict=True):
                matrix[row, column] += 1
        return matrix.tolist() if as_list else matrix

    return confusion_matrix


CONFUSION_MISTAKES = {
    "transposed": (_counted(transpose=True), "transposed"),
    "float counts": (_counted(dtype=float), "integer dtype"),
    "sized from the largest label": (_counted(size="largest"), "sized from the largest label present"),
    "num_classes ignored": (_counted(fixed_size=10), "num_classes was ignored"),
    "fancy-index +=": (_counted(buffered=True), "counted once"),
    "a list": (_counted(as_list=True), "numpy array"),
    "uint8 counts": (_counted(dtype=np.uint8), "wrapped around"),
}


EXERCISES = [
    Exercise(
        reference=best_epoch,
        check=check_best_epoch,
        answer_globals={"np": np},
        mistakes=BEST_EPOCH_MISTAKES,
        contract={
            "The epoch with the lowest validation loss.": ["argmax", "validation accuracy"],
            'history: dict of per-epoch lists as in History.history; uses history["val_loss"], one float per '
            "epoch.": ["training loss", "sorts val_loss in place"],
            "Returns an int counting epochs from 1 (as Keras prints them); the earliest such epoch if several "
            "tie.": ["counting from 0", "a float", "the loss value", "the last of tied epochs"],
        },
    ),
    Exercise(
        reference=confusion_matrix,
        check=check_confusion_matrix,
        answer_globals={"np": np},
        mistakes=CONFUSION_MISTAKES,
        contract={
            "Count how often each true class was predicted as each class.": ["fancy-index +="],
            "y_true, y_pred: int arrays of shape (n,) with classes 0 to num_classes - 1 (true, predicted).": [
                "sized from the largest label",
                "num_classes ignored",
            ],
            "Returns an int array of shape (num_classes, num_classes): entry [t, p] is the number of images of "
            "true class t predicted as p (rows: true classes, columns: predicted classes).": [
                "transposed",
                "float counts",
                "uint8 counts",
                "a list",
            ],
        },
    ),
]
