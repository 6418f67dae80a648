"""Notebook 05's checks and hidden tests tell the right training helpers from the usual mistakes."""

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.training import (
    check_batches_per_epoch,
    check_predict_classes,
    hand_set_model,
    reference_batches_per_epoch,
    training_samples,
)

NOTEBOOK = Path(__file__).resolve().parents[1] / "course" / "source" / "05-training" / "05-training.ipynb"


# The reference implementations: the same code as the notebook's solutions (test_references_are_the_solutions).
def batches_per_epoch(n_samples, batch_size, validation_split=0.0):
    """Gradient steps in one epoch of model.fit(..., batch_size, validation_split), as Keras counts them.

    n_samples: number of rows given to fit (images); batch_size: images per step;
    validation_split: fraction of the rows, taken from the end, held out for validation (0 <= it < 1).
    Keras trains on the first floor(n_samples * (1 - validation_split)) rows.
    Returns an int: that number of training rows divided by batch_size, rounded up (a last partial batch
    is a step too).
    """
    n_train = math.floor(n_samples * (1.0 - validation_split))
    return math.ceil(n_train / batch_size)


def predict_classes(model, x):
    """The predicted class of each row of x: the column of its largest probability.

    model: a Keras model whose output is one probability per class, shape (n, num_classes).
    x: array of shape (n, number of inputs), e.g. (n, 784) flattened images.
    Returns an int numpy array of shape (n,), values 0 to num_classes - 1.
    """
    probabilities = model.predict(x, verbose=0)
    return np.argmax(probabilities, axis=1)


def test_references_are_the_solutions():
    assert same_function(batches_per_epoch, NOTEBOOK)
    assert same_function(predict_classes, NOTEBOOK)


# ---------------------------------------------------------------------------------------- batches_per_epoch


class StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


@pytest.mark.parametrize(
    ("n", "batch", "split"),
    [(105, 10, 0.1), (15, 1, 0.1), (7, 1, 0.5), (999, 100, 0.1), (200, 15, 0.25), (50, 7, 0.3), (60, 7, 0.0)],
)
def test_the_rule_is_what_keras_does(n, batch, split):
    """A real one-epoch fit counts its steps; the reference rule (and the split size) must agree."""
    rng = np.random.default_rng(n)
    x = rng.random((n, 2), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, n)]
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    counter = StepCounter()
    model.fit(x, y, epochs=1, batch_size=batch, validation_split=split, callbacks=[counter], verbose=0)
    assert counter.steps == reference_batches_per_epoch(n, batch, split) == batches_per_epoch(n, batch, split)
    if batch == 1:  # one image per step: the steps are the training part itself, floor(n * (1 - split))
        assert counter.steps == training_samples(n, split) == math.floor(n * (1 - split))


def test_the_tutorials_numbers():
    assert batches_per_epoch(60_000, 1000, 0.1) == 54
    assert batches_per_epoch(6_000, 1000, 0.1) == 6  # quick mode
    assert batches_per_epoch(60_000, 1000) == 60
    assert training_samples(60_000, 0.1) == 54_000


def _floor_batches(n, batch, split=0.0):
    return math.floor(math.floor(n * (1 - split)) / batch)


BATCH_MISTAKES = {
    "floor instead of ceil": (_floor_batches, "round up"),
    "validation split ignored": (
        lambda n, batch, split=0.0: math.ceil(n / batch),
        "validation split was ignored",
    ),
    "validation part rounded down": (
        lambda n, batch, split=0.0: math.ceil((n - math.floor(n * split)) / batch),
        "rounded the other way",
    ),
    "training part rounded to nearest": (
        lambda n, batch, split=0.0: math.ceil(round(n * (1 - split)) / batch),
        "rounded",
    ),
    "no rounding of the training part": (
        lambda n, batch, split=0.0: math.ceil(n * (1 - split) / batch),
        "rounded the other way",
    ),
    "np.ceil (a float)": (
        lambda n, batch, split=0.0: np.ceil(math.floor(n * (1 - split)) / batch),
        "np.ceil returns a float",
    ),
    "no rounding at all": (
        lambda n, batch, split=0.0: math.floor(n * (1 - split)) / batch,
        "whole number",
    ),
    "validation batches": (
        lambda n, batch, split=0.0: (
            math.ceil((n - math.floor(n * (1 - split))) / batch) if split else math.ceil(n / batch)
        ),
        "number of validation batches",
    ),
    "a string": (lambda n, batch, split=0.0: str(batches_per_epoch(n, batch, split)), "as an int"),
}

# Right answers written differently: all must pass.
BATCH_VARIANTS = {
    "n - ceil(n * split)": lambda n, batch, split=0.0: math.ceil((n - math.ceil(n * split)) / batch),
    "int() and floor division": lambda n, batch, split=0.0: -(-int(n * (1 - split)) // batch),
    "numpy, converted to int": lambda n, batch, split=0.0: int(np.ceil(int(n * (1 - split)) / batch)),
}


def test_batch_check_passes_on_the_solution(capsys):
    check_batches_per_epoch(batches_per_epoch)
    check_batches_per_epoch(run_answer_cell(NOTEBOOK, "batches_per_epoch")["batches_per_epoch"])
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize("name", BATCH_VARIANTS)
def test_batch_check_and_cell_accept_equivalent_code(name, capsys):
    check_batches_per_epoch(BATCH_VARIANTS[name])
    assert "\u2714" in capsys.readouterr().out
    run_test_cell(NOTEBOOK, "test_batches_per_epoch", batches_per_epoch=BATCH_VARIANTS[name])


@pytest.mark.parametrize("name", BATCH_MISTAKES)
def test_batch_check_names_the_mistake(name):
    wrong, hint = BATCH_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_batches_per_epoch(wrong)
    assert hint in str(failure.value)


def test_batch_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_batches_per_epoch", batches_per_epoch=batches_per_epoch)


@pytest.mark.parametrize("name", BATCH_MISTAKES)
def test_batch_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = BATCH_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_batches_per_epoch", batches_per_epoch=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_batches_per_epoch", batches_per_epoch=wrong)


# ------------------------------------------------------------------------------------------ predict_classes

_OTHER_MODEL = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])

PREDICT_MISTAKES = {
    "argmax over axis 0": (lambda model, x: np.argmax(model.predict(x, verbose=0), axis=0), "axis 0"),
    "argmax without axis": (lambda model, x: np.argmax(model.predict(x, verbose=0)), "without an axis"),
    "probabilities": (lambda model, x: model.predict(x, verbose=0), "rows of ten probabilities"),
    "one-hot rows": (
        lambda model, x: keras.utils.to_categorical(
            predict_classes(model, x), num_classes=model.output_shape[-1]
        ),
        "one-hot rows",
    ),
    "max instead of argmax": (lambda model, x: model.predict(x, verbose=0).max(axis=1), "argmax, not max"),
    "floats": (lambda model, x: predict_classes(model, x).astype(float), "do not convert them to floats"),
    "a list": (lambda model, x: predict_classes(model, x).tolist(), "not a list"),
    "shape (n, 1)": (
        lambda model, x: np.argmax(model.predict(x, verbose=0), axis=1, keepdims=True),
        "not a column (n, 1)",
    ),
    "a tensor": (lambda model, x: keras.ops.argmax(model.predict(x, verbose=0), axis=1), "that is a tensor"),
    "argmin": (lambda model, x: np.argmin(model.predict(x, verbose=0), axis=1), "column of its largest"),
    "classes from 1 (R's which.max)": (lambda model, x: predict_classes(model, x) + 1, "count from 0"),
    "784 inputs assumed": (
        lambda model, x: np.argmax(model.predict(x.reshape(-1, 784), verbose=0), axis=1),
        "use the model and x you are given",
    ),
    "another model": (
        lambda model, x: np.argmax(_OTHER_MODEL.predict(x, verbose=0), axis=1),
        "use the model",
    ),
}

PREDICT_VARIANTS = {
    "model(x)": lambda model, x: np.argmax(model(x), axis=1),
    "argmax method, axis -1": lambda model, x: model.predict(x, verbose=0).argmax(axis=-1),
    "int32": lambda model, x: np.argmax(model.predict(x, verbose=0), axis=1).astype(np.int32),
}


def test_hand_set_model_gives_the_known_classes():
    model = hand_set_model(np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0.0, 0.5]))
    assert predict_classes(model, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])).tolist() == [0, 1, 1]


def test_predict_check_passes_on_the_solution(capsys):
    check_predict_classes(predict_classes)
    check_predict_classes(run_answer_cell(NOTEBOOK, "predict_classes", np=np)["predict_classes"])
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize("name", PREDICT_VARIANTS)
def test_predict_check_and_cell_accept_equivalent_code(name, capsys):
    check_predict_classes(PREDICT_VARIANTS[name])
    assert "\u2714" in capsys.readouterr().out
    run_test_cell(NOTEBOOK, "test_predict_classes", predict_classes=PREDICT_VARIANTS[name])


@pytest.mark.parametrize("name", PREDICT_MISTAKES)
def test_predict_check_names_the_mistake(name):
    wrong, hint = PREDICT_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_predict_classes(wrong)
    assert hint in str(failure.value)


def test_predict_check_says_not_written_yet():
    def predict_classes(model, x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        check_predict_classes(predict_classes)


def test_predict_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_predict_classes", predict_classes=predict_classes)


@pytest.mark.parametrize("name", PREDICT_MISTAKES)
def test_predict_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = PREDICT_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_predict_classes", predict_classes=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_predict_classes", predict_classes=wrong)
