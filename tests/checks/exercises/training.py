"""Notebook 05's exercises: batches_per_epoch and predict_classes, their usual mistakes and contracts."""

import math

import keras
import numpy as np
from checks.harness import Exercise

from mnistlib.checks.training import check_batches_per_epoch, check_predict_classes


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
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
    Prints nothing (no progress bar).
    """
    probabilities = model.predict(x, verbose=0)
    return np.argmax(probabilities, axis=1)


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
        "not rounded DOWN",
    ),
    "training part rounded to nearest": (
        lambda n, batch, split=0.0: math.ceil(round(n * (1 - split)) / batch),
        "rounded",
    ),
    "no rounding of the training part": (
        lambda n, batch, split=0.0: math.ceil(n * (1 - split) / batch),
        "not rounded DOWN",
    ),
    "training and validation batches": (
        lambda n, batch, split=0.0: (
            batches_per_epoch(n, batch, split) + math.ceil((n - math.floor(n * (1 - split))) / batch)
        ),
        "validation batches too",
    ),
    "np.int64": (lambda n, batch, split=0.0: np.int64(batches_per_epoch(n, batch, split)), "int(...)"),
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
    ".squeeze()": (
        lambda model, x: np.argmax(model.predict(x, verbose=0), axis=1).squeeze(),
        ".squeeze()",
    ),
    "progress bar": (lambda model, x: np.argmax(model.predict(x), axis=1), "verbose=0"),
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


EXERCISES = [
    Exercise(
        reference=batches_per_epoch,
        check=check_batches_per_epoch,
        mistakes=BATCH_MISTAKES,
        variants=BATCH_VARIANTS,
        contract={
            "Gradient steps in one epoch of model.fit(..., batch_size, validation_split), as Keras counts "
            "them.": ["validation batches", "training and validation batches"],
            "n_samples: number of rows given to fit (images); batch_size: images per step; validation_split: "
            "fraction of the rows, taken from the end, held out for validation (0 <= it < 1).": [
                "validation split ignored"
            ],
            "Keras trains on the first floor(n_samples * (1 - validation_split)) rows.": [
                "validation part rounded down",
                "training part rounded to nearest",
                "no rounding of the training part",
            ],
            "Returns an int: that number of training rows divided by batch_size, rounded up (a last partial "
            "batch is a step too).": [
                "floor instead of ceil",
                "np.ceil (a float)",
                "no rounding at all",
                "a string",
                "np.int64",
            ],
        },
    ),
    Exercise(
        reference=predict_classes,
        check=check_predict_classes,
        answer_globals={"np": np},
        mistakes=PREDICT_MISTAKES,
        variants=PREDICT_VARIANTS,
        visible_only=frozenset({".squeeze()", "progress bar"}),  # the hidden tests use 7 rows, quietly
        contract={
            "The predicted class of each row of x: the column of its largest probability.": [
                "argmax over axis 0",
                "argmax without axis",
                "max instead of argmax",
                "argmin",
            ],
            "model: a Keras model whose output is one probability per class, shape (n, num_classes).": [
                "another model",
                "probabilities",
            ],
            "x: array of shape (n, number of inputs), e.g. (n, 784) flattened images.": [
                "784 inputs assumed"
            ],
            "Returns an int numpy array of shape (n,), values 0 to num_classes - 1.": [
                "classes from 1 (R's which.max)",
                "floats",
                "a list",
                "a tensor",
                "shape (n, 1)",
                "one-hot rows",
                ".squeeze()",
            ],
            "Prints nothing (no progress bar).": ["progress bar"],
        },
    ),
]
