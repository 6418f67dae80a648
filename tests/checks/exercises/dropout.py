"""Notebook 07's exercises: dropout and build_dropout_network, their usual mistakes and their contracts."""

import keras
import numpy as np
from checks.harness import Exercise

from mnistlib.checks import CheckFailed
from mnistlib.checks.dropout import check_build_dropout_network, check_dropout


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
def dropout(x, rate, rng):
    """Inverted dropout, training mode.

    x: float array of any shape (e.g. (batch, units) activations, or a (28, 28) image).
    rate: the probability of dropping each entry, 0 <= rate < 1.
    rng: a numpy.random.Generator, the only source of randomness (the same seed gives the same result).
    Returns a new array of x's shape and dtype: each entry is 0 with probability rate, else x / (1 - rate).
    Raises ValueError if rate is outside [0, 1).
    """
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be at least 0 and below 1, got {rate}")
    x = np.asarray(x)
    keep = rng.random(x.shape) >= rate  # True with probability 1 - rate
    return (x * keep / (1 - rate)).astype(x.dtype)


def build_dropout_network():
    """The tutorial's second network, uncompiled.

    Input: (batch, 784) pixels in [0, 1]. Output: (batch, 10) digit probabilities (softmax).
    Layers: Dense 512 relu, Dropout 0.4, Dense 512 relu, Dropout 0.3, Dense 512 relu, Dropout 0.2,
    Dense 10 softmax.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28 * 28,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.4),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _checked(body):
    """A dropout with the right rate validation whose body is ``body(x, rate, rng)``."""

    def dropout(x, rate, rng):
        if not 0 <= rate < 1:
            raise ValueError("bad rate")
        return body(x, rate, rng)

    return dropout


def _in_place(x, rate, rng):
    x[rng.random(x.shape) < rate] = 0
    x /= 1 - rate
    return x


def _unchecked(x, rate, rng):
    with np.errstate(divide="ignore", invalid="ignore"):  # rate 1 divides by 0: the check must see it through
        return (x * (rng.random(x.shape) >= rate) / (1 - rate)).astype(x.dtype)


def _rate_zero_returns_x(x, rate, rng):
    if rate == 0:
        return x
    return _unchecked(x, rate, rng)


DROPOUT_MISTAKES = {
    "keeps with probability rate": (
        _checked(lambda x, r, rng: (x * (rng.random(x.shape) < r) / (1 - r)).astype(x.dtype)),
        "KEPT with probability rate",
    ),
    "no scaling": (_checked(lambda x, r, rng: x * (rng.random(x.shape) >= r)), "scaling is missing"),
    "times (1 - rate)": (
        _checked(lambda x, r, rng: (x * (rng.random(x.shape) >= r) * (1 - r)).astype(x.dtype)),
        "MULTIPLIED by (1 - rate)",
    ),
    "np.random instead of rng": (
        _checked(lambda x, r, rng: (x * (np.random.random(x.shape) >= r) / (1 - r)).astype(x.dtype)),
        "from the rng argument",
    ),
    "fixed seed inside": (
        _checked(
            lambda x, r, rng: (x * (np.random.default_rng(0).random(x.shape) >= r) / (1 - r)).astype(x.dtype)
        ),
        "ignores the rng passed in",
    ),
    "x changed in place": (_checked(_in_place), "in place"),
    "flattened": (_checked(lambda x, r, rng: _unchecked(x, r, rng).ravel()), "never reshape"),
    "float64 mask": (
        _checked(lambda x, r, rng: x * (rng.random(x.shape) >= r).astype(float) / (1 - r)),
        "keep x's dtype",
    ),
    "one mask for all rows": (
        _checked(lambda x, r, rng: (x * (rng.random(x.shape[-1]) >= r) / (1 - r)).astype(x.dtype)),
        "one random number per ENTRY",
    ),
    "rate 0 returns x itself": (
        _checked(_rate_zero_returns_x),
        "return a new array even when nothing is dropped",
    ),
    "no rate validation": (_unchecked, "ValueError"),
}


def _asserts_the_rate(x, rate, rng):
    assert 0 <= rate < 1, "rate must be in [0, 1)"
    return _unchecked(x, rate, rng)


def _rejects_rate_zero(x, rate, rng):
    if not 0 < rate < 1:
        raise ValueError("rate must be between 0 and 1")
    return _unchecked(x, rate, rng)


DROPOUT_MISTAKES["assert instead of raise"] = (_asserts_the_rate, "an assert raises AssertionError")
DROPOUT_MISTAKES["rate 0 rejected"] = (_rejects_rate_zero, "rate 0 is allowed")


def _network(
    rates=(0.4, 0.3, 0.2), hidden=3, dropouts=3, activations=("relu", "relu", "relu", "softmax"), first=512
):
    def build_dropout_network():
        L = keras.layers
        layers = [keras.Input(shape=(784,))]
        for i in range(hidden):
            layers.append(L.Dense(first if i == 0 else 512, activation=activations[i]))
            if i < dropouts:
                layers.append(L.Dropout(rates[i]))
        layers.append(L.Dense(10, activation=activations[3]))
        return keras.Sequential(layers)

    return build_dropout_network


def _with_input_shape():
    L = keras.layers
    return keras.Sequential(
        [
            L.Dense(512, activation="relu", input_shape=(784,)),
            L.Dropout(0.4),
            L.Dense(512, activation="relu"),
            L.Dropout(0.3),
            L.Dense(512, activation="relu"),
            L.Dropout(0.2),
            L.Dense(10, activation="softmax"),
        ]
    )


def _compiled_network():
    model = build_dropout_network()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _without_input():
    return keras.Sequential(build_dropout_network().layers)  # the same layers, but no keras.Input


def _separate_softmax():
    layers = _network(activations=("relu", "relu", "relu", None))().layers
    return keras.Sequential([keras.Input(shape=(784,)), *layers, keras.layers.Softmax()])


def _separate_relu():
    layers = _network(activations=(None, "relu", "relu", "softmax"))().layers
    return keras.Sequential([keras.Input(shape=(784,)), layers[0], keras.layers.ReLU(), *layers[1:]])


NETWORK_MISTAKES = {
    "a separate Softmax layer": (_separate_softmax, "the softmax is a layer of its own"),
    "a separate ReLU layer": (_separate_relu, "the relu is a layer of its own"),
    "rates reversed": (_network(rates=(0.2, 0.3, 0.4)), "wrong order"),
    "a dropout missing": (_network(dropouts=2), "Dropout layer is missing"),
    "no third hidden layer": (_network(hidden=2, dropouts=2), "THREE hidden Dense layers"),
    "input_shape=": (_with_input_shape, "input_shape="),
    "no input": (_without_input, "no input declared"),
    "sigmoid output": (_network(activations=("relu", "relu", "relu", "sigmoid")), "activations"),
    "linear hidden layer": (_network(activations=("relu", None, "relu", "softmax")), "activations"),
    "first layer of 784 (network 1's)": (_network(first=784), "not 784"),
    "compiled already": (_compiled_network, "leave model.compile(...) out"),
}

EXERCISES = [
    Exercise(
        reference=dropout,
        check=check_dropout,
        answer_globals={"np": np},
        mistakes=DROPOUT_MISTAKES,
        # the hidden tests alone let the learner's own AssertionError or ValueError fail the cell
        hidden_errors=(CheckFailed, AssertionError, ValueError),
        contract={
            "Inverted dropout, training mode.": ["no scaling", "times (1 - rate)"],
            "x: float array of any shape (e.g. (batch, units) activations, or a (28, 28) image).": [
                "flattened",
                "one mask for all rows",
            ],
            "rate: the probability of dropping each entry, 0 <= rate < 1.": [
                "keeps with probability rate",
                "rate 0 rejected",
            ],
            "rng: a numpy.random.Generator, the only source of randomness (the same seed gives the same "
            "result).": ["np.random instead of rng", "fixed seed inside"],
            "Returns a new array of x's shape and dtype: each entry is 0 with probability rate, else "
            "x / (1 - rate).": ["float64 mask", "x changed in place", "rate 0 returns x itself"],
            "Raises ValueError if rate is outside [0, 1).": ["no rate validation", "assert instead of raise"],
        },
    ),
    Exercise(
        reference=build_dropout_network,
        check=check_build_dropout_network,
        answer_globals={"keras": keras},
        mistakes=NETWORK_MISTAKES,
        # The visible check, first in the same test cell, catches these two; the hidden tests need not repeat it.
        visible_only=frozenset({"input_shape=", "no input"}),
        contract={
            "The tutorial's second network, uncompiled.": ["compiled already"],
            "Input: (batch, 784) pixels in [0, 1].": ["input_shape=", "no input"],
            "Output: (batch, 10) digit probabilities (softmax).": [
                "sigmoid output",
                "a separate Softmax layer",
            ],
            "Layers: Dense 512 relu, Dropout 0.4, Dense 512 relu, Dropout 0.3, Dense 512 relu, Dropout 0.2, "
            "Dense 10 softmax.": [
                "rates reversed",
                "a dropout missing",
                "no third hidden layer",
                "linear hidden layer",
                "first layer of 784 (network 1's)",
                "a separate ReLU layer",
            ],
        },
    ),
]
