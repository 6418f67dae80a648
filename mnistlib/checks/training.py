"""Visible checks for notebook 05, training: ``batches_per_epoch`` and ``predict_classes``.

``batches_per_epoch(n_samples, batch_size, validation_split=0.0)`` returns the
number of gradient steps Keras takes in one epoch of
``fit(..., batch_size=batch_size, validation_split=validation_split)``: Keras keeps
the first ``floor(n_samples * (1 - validation_split))`` samples for training (the
rest, at the end, for validation) and cuts them into batches, the last one
possibly smaller. The check names: rounding down the number of batches (the
last, partial batch still counts), the validation split ignored, the split
rounded the other way, and a float returned.

``predict_classes(model, x)`` returns the predicted digit of each row of ``x``,
an integer numpy array of shape (n,): the argmax over axis 1 of
``model.predict(x, verbose=0)``. The check uses a tiny model with hand-set
weights, so the right classes are known exactly, and names: the argmax over
axis 0 or over the whole array, probabilities or one-hot rows returned, the
largest probability instead of its position, floats, a list or a tensor,
shape (n, 1), and classes counted from 1 (R's which.max).
"""

from __future__ import annotations

import contextlib
import io
import math
import numbers
import re
import sys

import numpy as np

from . import CheckFailed, call, describe, fail, guided, passed

__all__ = ["check_batches_per_epoch", "check_predict_classes"]


# ---------------------------------------------------------------------------------------- batches_per_epoch


def training_samples(n_samples: int, validation_split: float = 0.0) -> int:
    """How many of ``n_samples`` Keras trains on with ``validation_split`` (the rest validate).

    Keras 3 (``keras.src.trainers.data_adapters.array_slicing.train_validation_split``)
    splits at ``floor(n_samples * (1 - validation_split))``: the training part is rounded down.
    """
    return math.floor(n_samples * (1.0 - validation_split))


def reference_batches_per_epoch(n_samples: int, batch_size: int, validation_split: float = 0.0) -> int:
    """Gradient steps per epoch: the training part cut into batches, a last partial batch included."""
    return math.ceil(training_samples(n_samples, validation_split) / batch_size)


def _batch_mistakes(n: int, batch: int, split: float) -> list[tuple[int, str]]:
    """The answers the usual mistakes give on one case, each with its hint (in this order of preference)."""
    train = training_samples(n, split)
    validation = n - train
    return [
        (
            math.ceil(train / batch) + math.ceil(validation / batch),
            "you counted the validation batches too: Keras takes a gradient step only on the training "
            f"batches ({train:,} samples here); the {validation:,} validation samples are only evaluated, at "
            "the end of each epoch",
        ),
        (
            math.ceil(n / batch),
            f"the validation split was ignored: with validation_split={split}, Keras trains on only "
            f"{train:,} of the {n:,} samples (the last {validation:,} are held out) and cuts those into batches",
        ),
        (
            math.floor(train / batch),
            f"{train:,} / {batch:,} = {train / batch:g}: the last, smaller batch is a step too, so round up "
            "(math.ceil), not down",
        ),
        (
            math.ceil((n - math.floor(n * split)) / batch),
            f"the training part was not rounded DOWN: {n} * (1 - {split}) = {n * (1 - split):g} is not a whole "
            f"number of samples, and Keras keeps floor({n} * (1 - {split})) = {train} of them for training "
            "(the rest validate). Take math.floor of it before cutting it into batches",
        ),
        (
            math.ceil(round(n * (1 - split)) / batch),
            f"the training part is rounded down, not to the nearest: floor({n} * (1 - {split})) = {train}",
        ),
        (
            math.ceil(validation / batch) if validation else -1,
            "that is the number of validation batches; the steps come from the training part, "
            "the first (1 - validation_split) of the samples",
        ),
        (
            math.ceil(n / batch * (1 - split)),
            "split the samples first, then cut the training part into batches: "
            "ceil(floor(n_samples * (1 - validation_split)) / batch_size)",
        ),
    ]


def _expect_batches(fn, n: int, batch: int, split: float | None) -> None:
    args = (n, batch) if split is None else (n, batch, split)
    split_value = 0.0 if split is None else split
    expected = reference_batches_per_epoch(n, batch, split_value)
    what = f"batches_per_epoch({n}, {batch}" + ("" if split is None else f", validation_split={split}") + ")"
    got = call(fn, *args, name="batches_per_epoch")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        fail(
            f"{what} = {expected} (an int)",
            describe(got),
            "return the number of steps as an int",
            mistake="steps-not-int",
        )
    if isinstance(got, np.integer) and got == expected:
        fail(
            f"{what} = {expected} as a Python int",
            f"{got!r}, a numpy integer ({type(got).__name__})",
            "the contract asks for an int: numpy's functions return numpy numbers, which other code (a "
            "range, json, Keras' own arguments) does not always take. Wrap the result in int(...)",
            mistake="steps-numpy-int",
        )
    if not isinstance(got, numbers.Integral):
        if got == expected:
            fail(
                f"{what} = {expected} as an int",
                f"{got!r} ({type(got).__name__})",
                "a number of steps is a whole number: math.ceil returns an int (np.ceil returns a float); "
                "or wrap the result in int(...)",
                mistake="steps-float",
            )
        if not float(got).is_integer():
            fail(
                f"{what} = {expected} (a whole number of steps)",
                f"{got!r}",
                "a batch is a step whether it is full or not: round the number of batches up with math.ceil",
                mistake="rounded-down",
            )
    if got == expected:
        return
    fail(
        f"{what} = {expected}",
        repr(got),
        _batch_hint(fn, n, batch, split_value, got),
        mistake="wrong-batch-count",
    )


#: The check's cases: (n_samples, batch_size, validation_split or None for the default).
BATCH_CASES = [(60_000, 1000, 0.1), (60_000, 1000, None), (60_000, 128, 0.0), (3_000, 1000, 0.1)]
BATCH_CASES += [(999, 100, 0.1), (15, 1, 0.1)]


def _batch_hint(fn, n: int, batch: int, split: float, got) -> str:
    """The hint of the mistake that gives ``got`` here; when two do, the one that fits every case."""
    matching = [index for index, (value, _) in enumerate(_batch_mistakes(n, batch, split)) if value == got]
    if not matching:
        return (
            "split first: floor(n_samples * (1 - validation_split)) samples train; then count the batches of "
            "batch_size in them, a last partial batch included"
        )
    if len(matching) > 1:
        answers = {}
        for case in BATCH_CASES:
            try:
                answers[case] = call(
                    fn, *(case if case[2] is not None else case[:2]), name="batches_per_epoch"
                )
            except Exception:  # noqa: BLE001 - a case it cannot answer tells nothing
                continue
        fits = [
            index
            for index in matching
            if all(
                _batch_mistakes(c_n, c_batch, c_split or 0.0)[index][0] == answer
                for (c_n, c_batch, c_split), answer in answers.items()
            )
        ]
        matching = fits or matching
    return _batch_mistakes(n, batch, split)[matching[0]][1]


@guided
def check_batches_per_epoch(fn) -> None:
    """Check ``batches_per_epoch(n_samples, batch_size, validation_split=0.0)`` against Keras' own rule."""
    # the tutorial's run (54,000 training images, 54 steps); the default split, 0.0; 468.75: 469 steps, the
    # last one with 96 images; quick mode (2,700 training images, 3 steps); 899.1 -> 899 training samples,
    # 9 steps; 13.5 -> 13 training samples (Keras rounds the training part down)
    for n, batch, split in BATCH_CASES:
        _expect_batches(fn, n, batch, split)
    passed("batches_per_epoch counts the steps as Keras does (54 for the tutorial's run).")


# ------------------------------------------------------------------------------------------ predict_classes


def hand_set_model(weights: np.ndarray, biases: np.ndarray):
    """A tiny softmax classifier, ``keras.Input((n_in,))`` -> ``Dense(n_out, softmax)``, with given weights.

    ``weights``: (n_in, n_out); ``biases``: (n_out,). It runs eagerly: no tracing, so predictions are fast.
    """
    import keras

    weights = np.asarray(weights, dtype=np.float32)
    model = keras.Sequential(
        [keras.Input(shape=(weights.shape[0],)), keras.layers.Dense(weights.shape[1], activation="softmax")]
    )
    model.set_weights([weights, np.asarray(biases, dtype=np.float32)])
    model.run_eagerly = True
    return model


# Three inputs, four classes: input i votes for class i; the bias makes class 3 win when no input is on.
_WEIGHTS = np.array([[4, 0, 0, -4], [0, 4, 0, -4], [0, 0, 4, -4]], dtype=np.float32)
_BIASES = np.array([0, 0, 0, 1], dtype=np.float32)
_X = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0.2, 0.9, 0.1], [0, 1, 0]], dtype=np.float32)
_CLASSES = np.array([0, 2, 3, 1, 1])


def _expect_classes(fn, model, x: np.ndarray, expected: np.ndarray, probabilities: np.ndarray) -> None:
    n, k = probabilities.shape
    what = f"predict_classes(model, x) for {n} rows and {k} classes"
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            got = call(fn, model, x.copy(), name="predict_classes")
    except CheckFailed:
        raise
    except Exception as error:
        problem = f"{type(error).__name__}: {str(error).splitlines()[0][:150] if str(error) else ''}"
    else:
        problem = None
    output = printed.getvalue()
    if "/step" in output:  # Keras' progress bar: "1/1 ━━━━━━━━━━━━━━━━━━━━ 0s 21ms/step"
        fail(
            f"{what} to print nothing",
            f"Keras' progress bar ({_progress_steps(output)}), printed by model.predict",
            "pass verbose=0 to model.predict: without it, every call prints a progress bar, and the "
            "notebook's later cells call predict_classes on many batches",
            mistake="predict-not-quiet",
        )
    sys.stdout.write(output)
    if problem is not None:
        fail(
            f"{what} to return the predicted classes",
            problem,
            "use the model and x you are given: np.argmax(model.predict(x, verbose=0), axis=1)",
            mistake="ignored-arguments",
        )
    if not isinstance(got, np.ndarray):
        if isinstance(got, np.generic | numbers.Number) and n == 1:
            hint = (
                "with one row, .squeeze() or .item() leave a single number: return the argmax over axis=1 "
                "as it is, one class per row, shape (n,)"
            )
        elif isinstance(got, np.generic | numbers.Number):
            hint = "argmax without an axis gives one index into the whole flattened array: pass axis=1"
        elif hasattr(got, "shape") and hasattr(got, "dtype"):
            hint = (
                "that is a tensor: use np.argmax (which returns a numpy array), or convert with "
                "keras.ops.convert_to_numpy"
            )
        elif isinstance(got, list | tuple):
            hint = "return the numpy array argmax gives you, not a list"
        else:
            hint = "np.argmax(probabilities, axis=1) returns the numpy array to give back"
        fail(f"{what}: a numpy array of shape ({n},)", describe(got), hint, mistake="not-an-array")
    if got.shape != (n,):
        if got.shape == (k,):
            hint = (
                "axis 0 runs down the rows: argmax over it gives, for each class, the row where it is most "
                "likely. Take the argmax along each row: axis=1"
            )
        elif got.shape == () and n == 1:
            hint = (
                ".squeeze() (or np.squeeze) also drops the row axis when there is one row, leaving a single "
                "number: return the argmax over axis=1 as it is, one class per row, shape (n,)"
            )
        elif got.shape == ():
            hint = "argmax without an axis gives one index into the whole flattened array: pass axis=1"
        elif got.shape == (n, 1):
            hint = "one number per row, shape (n,), not a column (n, 1): drop keepdims or reshape(-1)"
        elif got.shape == (n, k):
            hint = (
                "these are rows of ten probabilities (or one-hot rows); the class is the column of the "
                "largest one: np.argmax(..., axis=1)"
            )
        else:
            hint = "one predicted class per row of x: an array of shape (n,)"
        fail(f"{what}: shape ({n},)", f"shape {got.shape}", hint, mistake="wrong-shape")
    if not np.issubdtype(got.dtype, np.integer):
        if np.allclose(got, probabilities.max(axis=1)):
            hint = "that is the largest probability of each row; the class is its position: argmax, not max"
        else:
            hint = "classes are whole numbers: argmax returns ints, do not convert them to floats"
        fail(f"{what} with an integer dtype", f"dtype {got.dtype}: {got[:5]}", hint, mistake="not-integers")
    if np.array_equal(got, expected + 1):
        fail(
            f"{what} = {expected.tolist()}",
            f"{got.tolist()}",
            "every class is one too high: classes count from 0 (column 0 is class 0, the digit 0), and "
            "np.argmax already gives that position. R's which.max counts from 1; do not add 1 here",
            mistake="classes-off-by-one",
        )
    if not np.array_equal(got, expected):
        fail(
            f"{what} = {expected.tolist()}",
            f"{got.tolist()}",
            "the predicted class of a row is the column of its largest probability: "
            "np.argmax(model.predict(x, verbose=0), axis=1)",
            mistake="wrong-axis",
        )


@guided
def check_predict_classes(fn) -> None:
    """Check ``predict_classes(model, x)`` with a hand-set 3-input, 4-class model (classes known exactly)."""
    model = hand_set_model(_WEIGHTS, _BIASES)
    probabilities = reference_probabilities(_X)
    _expect_classes(fn, model, _X, _CLASSES, probabilities)
    _expect_classes(fn, model, _X[3:4], _CLASSES[3:4], probabilities[3:4])  # a single row
    passed("predict_classes returns the most likely class of each row as an int array of shape (n,).")


def reference_probabilities(x: np.ndarray, weights=_WEIGHTS, biases=_BIASES) -> np.ndarray:
    """softmax(x @ weights + biases), in numpy: what the hand-set model outputs."""
    scores = np.asarray(x, dtype=np.float64) @ weights + biases
    scores -= scores.max(axis=1, keepdims=True)
    exps = np.exp(scores)
    return exps / exps.sum(axis=1, keepdims=True)


def _progress_steps(output: str) -> str:
    """What a Keras progress bar counted, without its colours and timings (which change every run):
    "1/1 steps"."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    found = re.findall(r"(\d+)/(\d+)", plain)
    return f"{found[-1][0]}/{found[-1][1]} steps" if found else "a bar"
