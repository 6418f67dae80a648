"""Notebook 06's checks and hidden tests tell the right best_epoch and confusion_matrix from the usual mistakes."""

from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.overfitting import check_best_epoch, check_confusion_matrix

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "course"
    / "source"
    / "06-diagnosing-overfitting"
    / "06-diagnosing-overfitting.ipynb"
)


# The reference implementations: the same code as the notebook's solutions (test_references_are_the_solutions).
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


def test_references_are_the_solutions():
    assert same_function(best_epoch, NOTEBOOK)
    assert same_function(confusion_matrix, NOTEBOOK)


def test_checks_pass_on_the_solutions(capsys):
    check_best_epoch(best_epoch)
    check_best_epoch(run_answer_cell(NOTEBOOK, "best_epoch", np=np)["best_epoch"])
    check_confusion_matrix(confusion_matrix)
    check_confusion_matrix(run_answer_cell(NOTEBOOK, "confusion_matrix", np=np)["confusion_matrix"])
    assert capsys.readouterr().out.count("\u2714") == 4


def test_solutions_on_small_examples():
    assert best_epoch({"loss": [0.3, 0.1, 0.05], "val_loss": [0.2, 0.09, 0.1]}) == 2
    assert best_epoch({"val_loss": [0.1, 0.2, 0.1]}) == 1  # ties go to the earliest epoch
    matrix = confusion_matrix(np.array([4, 4, 9, 7]), np.array([4, 9, 9, 1]))
    assert matrix.shape == (10, 10) and np.issubdtype(matrix.dtype, np.integer)
    assert matrix[4, 9] == 1 and matrix[9, 4] == 0 and matrix[7, 1] == 1 and matrix.trace() == 2


def test_best_epoch_agrees_with_keras_early_stopping():
    """On a real (tiny) training run, best_epoch names the epoch EarlyStopping restores."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype("float32")
    y = keras.utils.to_categorical((x[:, 0] + 0.8 * rng.normal(size=200) > 0).astype(int), 2)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.CategoricalCrossentropy(from_logits=True)
    )
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=30, restore_best_weights=True)
    history = model.fit(x, y, epochs=15, batch_size=50, validation_split=0.3, callbacks=[stopper], verbose=0)
    assert best_epoch(history.history) == stopper.best_epoch + 1


def test_confusion_matrix_agrees_with_a_direct_count():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 1000), rng.integers(0, 10, 1000)
    matrix = confusion_matrix(y_true, y_pred)
    for t in range(10):
        for p in range(10):
            assert matrix[t, p] == np.sum((y_true == t) & (y_pred == p))


@pytest.mark.parametrize("name", BEST_EPOCH_MISTAKES)
def test_best_epoch_check_names_the_mistake(name):
    wrong, hint = BEST_EPOCH_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_best_epoch(wrong)
    assert hint in str(failure.value)


@pytest.mark.parametrize("name", CONFUSION_MISTAKES)
def test_confusion_matrix_check_names_the_mistake(name):
    wrong, hint = CONFUSION_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_confusion_matrix(wrong)
    assert hint in str(failure.value)


def test_notebook_test_cells_pass_on_the_solutions():
    run_test_cell(NOTEBOOK, "test_best_epoch", best_epoch=best_epoch)
    run_test_cell(NOTEBOOK, "test_confusion_matrix", confusion_matrix=confusion_matrix)


@pytest.mark.parametrize("name", BEST_EPOCH_MISTAKES)
def test_notebook_hidden_tests_catch_best_epoch_mistakes(name):
    wrong, _ = BEST_EPOCH_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_best_epoch", best_epoch=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_best_epoch", best_epoch=wrong)


@pytest.mark.parametrize("name", CONFUSION_MISTAKES)
def test_notebook_hidden_tests_catch_confusion_matrix_mistakes(name):
    wrong, _ = CONFUSION_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_confusion_matrix", confusion_matrix=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_confusion_matrix", confusion_matrix=wrong)
