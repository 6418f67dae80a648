"""Notebook 07's checks and hidden tests tell the right dropout and build_dropout_network from the usual mistakes."""

from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.dropout import check_build_dropout_network, check_dropout

keras = pytest.importorskip("keras")

NOTEBOOK = Path(__file__).resolve().parents[1] / "course" / "source" / "07-dropout" / "07-dropout.ipynb"


# The reference implementations: the same code as the notebook's solutions (test_references_are_the_solutions).
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


NETWORK_MISTAKES = {
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


def test_references_are_the_solutions():
    assert same_function(dropout, NOTEBOOK)
    assert same_function(build_dropout_network, NOTEBOOK)


def test_checks_pass_on_the_solutions(capsys):
    check_dropout(dropout)
    check_dropout(run_answer_cell(NOTEBOOK, "dropout", np=np)["dropout"])
    check_build_dropout_network(build_dropout_network)
    check_build_dropout_network(
        run_answer_cell(NOTEBOOK, "build_dropout_network", keras=keras)["build_dropout_network"]
    )
    assert capsys.readouterr().out.count("\u2714") == 4


def test_dropout_keeps_the_average_and_rejects_bad_rates():
    x = np.random.default_rng(0).uniform(0, 2, size=200_000).astype(np.float32)
    for rate in (0.2, 0.4, 0.6):
        got = dropout(x, rate, np.random.default_rng(1))
        assert got.dtype == np.float32 and got.shape == x.shape
        assert abs(np.mean(got == 0) - rate) < 0.01
        assert abs(got.mean() - x.mean()) < 0.01
    same = dropout(x, 0.0, np.random.default_rng(1))
    assert same is not x and np.array_equal(same, x)
    for rate in (1.0, -0.01, 3):
        with pytest.raises(ValueError, match="rate must be at least 0 and below 1"):
            dropout(x, rate, np.random.default_rng(1))


def test_dropout_matches_keras_dropout_statistics():
    ones = np.ones((500, 512), dtype="float32")
    by_keras = keras.ops.convert_to_numpy(keras.layers.Dropout(0.4, seed=3)(ones, training=True))
    by_hand = dropout(ones, 0.4, np.random.default_rng(3))
    for out in (by_keras, by_hand):
        assert abs(np.mean(out == 0) - 0.4) < 0.01
        assert np.allclose(out[out != 0], 1 / 0.6)
    assert np.array_equal(keras.ops.convert_to_numpy(keras.layers.Dropout(0.4)(ones, training=False)), ones)


def test_network_has_the_tutorial_architecture():
    model = build_dropout_network()
    assert model.count_params() == 932_362
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout"] * 3 + ["Dense"]
    assert model.compiled is False  # uncompiled: the notebook compiles it


@pytest.mark.parametrize("name", DROPOUT_MISTAKES)
def test_dropout_check_names_the_mistake(name):
    wrong, hint = DROPOUT_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_dropout(wrong)
    assert hint in str(failure.value)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
@pytest.mark.parametrize("name", NETWORK_MISTAKES)
def test_network_check_names_the_mistake(name):
    wrong, hint = NETWORK_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_build_dropout_network(wrong)
    assert hint in str(failure.value)


def test_notebook_test_cells_pass_on_the_solutions():
    run_test_cell(NOTEBOOK, "test_dropout", dropout=dropout)
    run_test_cell(NOTEBOOK, "test_build_dropout_network", build_dropout_network=build_dropout_network)


@pytest.mark.parametrize("name", DROPOUT_MISTAKES)
def test_notebook_hidden_tests_catch_dropout_mistakes(name):
    wrong, _ = DROPOUT_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_dropout", dropout=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_dropout", dropout=wrong)


# The visible check, first in the same test cell, catches these two; the hidden tests need not repeat it.
VISIBLE_ONLY = ("input_shape=", "no input")


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
@pytest.mark.parametrize("name", NETWORK_MISTAKES)
def test_notebook_test_cell_catches_network_mistakes(name):
    wrong, _ = NETWORK_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_build_dropout_network", build_dropout_network=wrong)
    if name not in VISIBLE_ONLY:
        with pytest.raises(CheckFailed):
            run_hidden_tests(NOTEBOOK, "test_build_dropout_network", build_dropout_network=wrong)
