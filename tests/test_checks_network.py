"""Notebook 04's checks and hidden tests tell the right network code from the usual mistakes."""

from pathlib import Path

import keras
import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.network import (
    check_build_network,
    check_compile_network,
    check_dense_param_count,
    loss_value,
    metric_names,
)

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "course"
    / "source"
    / "04-building-the-network"
    / "04-building-the-network.ipynb"
)


# The reference implementations: the same code as the notebook's solutions (test_references_are_the_solutions).
def build_network():
    """The tutorial's network, not compiled.

    Input: rows of 784 pixels (batch shape (n, 784)); layers Dense(784, relu) -> Dense(512, relu) ->
    Dense(10, softmax). Output: (n, 10), ten probabilities per image.
    Returns a new keras.Sequential with fresh random weights at every call.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(784, activation="relu"),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def dense_param_count(n_in, n_out):
    """Parameters of one dense layer: its weights plus its biases.

    n_in: number of inputs (int); n_out: number of units (int).
    Returns an int: n_in * n_out weights (the kernel, shape (n_in, n_out)) + n_out biases.
    """
    return n_in * n_out + n_out


def compile_network(model):
    """Compile `model` in place for training on one-hot digit targets, and return it.

    model: a Keras model whose output is softmax probabilities, shape (n, classes).
    Uses the rmsprop optimizer, the categorical cross-entropy loss and the accuracy metric.
    Returns the same model object.
    """
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


# ------------------------------------------------------------------------------------------- build_network

Dense = keras.layers.Dense


def _sequential(*layers, inputs=(784,)):
    def build():
        head = [keras.Input(shape=inputs)] if inputs is not None else []
        return keras.Sequential(head + [make() for make in layers])

    return build


RELU_784 = lambda: Dense(784, activation="relu")  # noqa: E731
RELU_512 = lambda: Dense(512, activation="relu")  # noqa: E731
SOFTMAX_10 = lambda: Dense(10, activation="softmax")  # noqa: E731


def _old_input_shape():
    return keras.Sequential([Dense(784, activation="relu", input_shape=(784,)), RELU_512(), SOFTMAX_10()])


def _compiled():
    model = build_network()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


_SHARED = build_network()


def _seeded():
    keras.utils.set_random_seed(0)  # every call starts from the same "random" weights
    return build_network()


BUILD_MISTAKES = {
    "no keras.Input": (_sequential(RELU_784, RELU_512, SOFTMAX_10, inputs=None), "keras.Input(shape=(784,))"),
    "input_shape on the first layer": (_old_input_shape, "input_shape"),
    "input (28, 28)": (_sequential(RELU_784, RELU_512, SOFTMAX_10, inputs=(28, 28)), "not (28, 28)"),
    "input 28": (_sequential(RELU_784, RELU_512, SOFTMAX_10, inputs=(28,)), "784 numbers, not 28"),
    "units in the wrong order": (
        _sequential(lambda: Dense(512, activation="relu"), lambda: Dense(784, activation="relu"), SOFTMAX_10),
        "wrong order",
    ),
    "256 units": (_sequential(RELU_784, lambda: Dense(256, activation="relu"), SOFTMAX_10), "784, then 512"),
    "9 outputs": (_sequential(RELU_784, RELU_512, lambda: Dense(9, activation="softmax")), "10 units"),
    "softmax missing": (_sequential(RELU_784, RELU_512, lambda: Dense(10)), "no activation"),
    "relu on the output": (
        _sequential(RELU_784, RELU_512, lambda: Dense(10, activation="relu")),
        "uses relu",
    ),
    "sigmoid hidden layer": (
        _sequential(RELU_784, lambda: Dense(512, activation="sigmoid"), SOFTMAX_10),
        "uses sigmoid",
    ),
    "no activation on a hidden layer": (
        _sequential(lambda: Dense(784), RELU_512, SOFTMAX_10),
        "without relu",
    ),
    "a layer too many": (
        _sequential(RELU_784, RELU_512, lambda: Dense(512, activation="relu"), SOFTMAX_10),
        "a layer too many",
    ),
    "a layer missing": (_sequential(RELU_784, SOFTMAX_10), "a layer missing"),
    "no biases": (
        _sequential(
            lambda: Dense(784, activation="relu", use_bias=False),
            lambda: Dense(512, activation="relu", use_bias=False),
            lambda: Dense(10, activation="softmax", use_bias=False),
        ),
        "use_bias",
    ),
    "compiled already": (_compiled, "leave model.compile(...) out"),
    "one shared model": (lambda: _SHARED, "create the model inside"),
    "seed fixed inside": (_seeded, "a random seed is fixed inside"),
    "nothing returned": (lambda: None, "keras.Sequential"),
}

# Right answers written differently: all must pass.
BUILD_VARIANTS = {
    "add() one by one": lambda: _added(),
    "separate activation layers": _sequential(
        lambda: Dense(784),
        lambda: keras.layers.ReLU(),
        lambda: Dense(512),
        lambda: keras.layers.Activation("relu"),
        lambda: Dense(10),
        lambda: keras.layers.Softmax(),
    ),
    "activation functions": _sequential(
        lambda: Dense(784, activation=keras.activations.relu),
        lambda: Dense(512, activation=keras.activations.relu),
        lambda: Dense(10, activation=keras.activations.softmax),
    ),
}


def _added():
    model = keras.Sequential()
    model.add(keras.Input(shape=(28 * 28,)))
    model.add(RELU_784())
    model.add(RELU_512())
    model.add(SOFTMAX_10())
    return model


def test_references_are_the_solutions():
    for fn in (build_network, dense_param_count, compile_network):
        assert same_function(fn, NOTEBOOK), fn.__name__


def test_the_tutorials_numbers_hold_in_keras():
    """The parameter counts the notebook states, verified on a real Keras model."""
    model = build_network()
    assert [layer.count_params() for layer in model.layers] == [615_440, 401_920, 5_130]
    assert model.count_params() == 1_022_490
    assert [dense_param_count(a, b) for a, b in ((784, 784), (784, 512), (512, 10))] == [
        615_440,
        401_920,
        5_130,
    ]
    assert not model.compiled


def test_build_check_passes_on_the_solution(capsys):
    check_build_network(build_network)
    check_build_network(run_answer_cell(NOTEBOOK, "build_network", keras=keras)["build_network"])
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize("name", BUILD_VARIANTS)
def test_build_check_accepts_equivalent_code(name, capsys):
    check_build_network(BUILD_VARIANTS[name])
    assert "\u2714" in capsys.readouterr().out


@pytest.mark.parametrize("name", BUILD_MISTAKES)
def test_build_check_names_the_mistake(name):
    wrong, hint = BUILD_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_build_network(wrong)
    assert hint in str(failure.value)


def test_build_check_says_not_written_yet():
    def build_network():
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        check_build_network(build_network)


def test_build_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_build_network", build_network=build_network)
    run_test_cell(NOTEBOOK, "test_build_network", build_network=BUILD_VARIANTS["separate activation layers"])


@pytest.mark.parametrize("name", BUILD_MISTAKES)
def test_build_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = BUILD_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_build_network", build_network=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_build_network", build_network=wrong)


# --------------------------------------------------------------------------------------- dense_param_count

COUNT_MISTAKES = {
    "biases forgotten": (lambda n_in, n_out: n_in * n_out, "add n_out"),
    "one bias per input": (lambda n_in, n_out: n_in * (n_out + 1), "not one per input"),
    "n_in * n_out + n_in": (lambda n_in, n_out: n_in * n_out + n_in, "not one per input"),
    "n_in + n_out": (lambda n_in, n_out: n_in + n_out, "every input connects to every unit"),
    "inputs counted": (lambda n_in, n_out: n_in * n_out + n_in + n_out, "the inputs are not parameters"),
    "a float": (lambda n_in, n_out: float(n_in * n_out + n_out), "as an int"),
    "a string": (lambda n_in, n_out: f"{n_in * n_out + n_out:,}", "whole number"),
}


def test_count_check_passes_on_the_solution_and_the_other_right_formula(capsys):
    check_dense_param_count(dense_param_count)
    check_dense_param_count(lambda n_in, n_out: (n_in + 1) * n_out)  # one extra "input" of 1 per unit
    check_dense_param_count(lambda n_in, n_out: np.int64(n_in) * n_out + n_out)
    check_dense_param_count(run_answer_cell(NOTEBOOK, "dense_param_count")["dense_param_count"])
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize("name", COUNT_MISTAKES)
def test_count_check_names_the_mistake(name):
    wrong, hint = COUNT_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_dense_param_count(wrong)
    assert hint in str(failure.value)


def test_count_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_dense_param_count", dense_param_count=dense_param_count)


@pytest.mark.parametrize("name", COUNT_MISTAKES)
def test_count_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = COUNT_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_dense_param_count", dense_param_count=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_dense_param_count", dense_param_count=wrong)


# ----------------------------------------------------------------------------------------- compile_network


def _compiling(**settings):
    def compile_network(model):
        model.compile(**settings)
        return model

    return compile_network


RIGHT = {"optimizer": "rmsprop", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def _with(**changes):
    settings = {**RIGHT, **changes}
    return _compiling(**{key: value for key, value in settings.items() if value is not None})


def _no_return(model):
    model.compile(**RIGHT)


def _returns_compile(model):
    return model.compile(**RIGHT)


def _new_model(model):
    fresh = build_network()
    fresh.compile(**RIGHT)
    return fresh


COMPILE_MISTAKES = {
    "no return": (_no_return, "returns None"),
    "return model.compile(...)": (_returns_compile, "returns None"),
    "a new model": (_new_model, "instead of building a new network"),
    "adam": (_with(optimizer="adam"), "Adam is another way"),
    "sgd": (_with(optimizer=keras.optimizers.SGD()), "SGD is another way"),
    "sparse loss": (_with(loss="sparse_categorical_crossentropy"), "sparse_categorical_crossentropy expects"),
    "mse": (_with(loss="mse"), "squared"),
    "MeanSquaredError()": (_with(loss=keras.losses.MeanSquaredError()), "squared"),
    "from_logits": (_with(loss=keras.losses.CategoricalCrossentropy(from_logits=True)), "from_logits=True"),
    "binary loss": (_with(loss="binary_crossentropy"), "binary cross-entropy"),
    "no metrics": (_with(metrics=None), "add metrics=['accuracy']"),
    "mae metric only": (_with(metrics=["mae"]), "add metrics=['accuracy']"),
    "keras.metrics.Accuracy()": (_with(metrics=[keras.metrics.Accuracy()]), "exactly equal"),
    "sparse accuracy": (_with(metrics=["sparse_categorical_accuracy"]), "sparse accuracy"),
}

COMPILE_VARIANTS = {
    "objects": _with(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy()],
    ),
    "class-name strings and acc": _with(optimizer="RMSprop", loss="CategoricalCrossentropy", metrics=["acc"]),
    "loss function, metric function": _with(
        loss=keras.losses.categorical_crossentropy, metrics=[keras.metrics.categorical_accuracy]
    ),
    "a tuple and an extra metric": _with(metrics=("accuracy", "mse")),
}


def test_compile_check_passes_on_the_solution(capsys):
    check_compile_network(compile_network)
    check_compile_network(run_answer_cell(NOTEBOOK, "compile_network")["compile_network"])
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize("name", COMPILE_VARIANTS)
def test_compile_check_and_cell_accept_strings_or_objects(name, capsys):
    check_compile_network(COMPILE_VARIANTS[name])
    assert "\u2714" in capsys.readouterr().out
    run_test_cell(NOTEBOOK, "test_compile_network", compile_network=COMPILE_VARIANTS[name])


@pytest.mark.parametrize("name", COMPILE_MISTAKES)
def test_compile_check_names_the_mistake(name):
    wrong, hint = COMPILE_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_compile_network(wrong)
    assert hint in str(failure.value)


def test_compile_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_compile_network", compile_network=compile_network)


@pytest.mark.parametrize("name", COMPILE_MISTAKES)
def test_compile_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = COMPILE_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_compile_network", compile_network=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_compile_network", compile_network=wrong)


def test_loss_value_is_the_cross_entropy_for_strings_functions_and_objects():
    y_true = np.eye(3, dtype=np.float32)[[0, 2]]
    y_pred = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]], dtype=np.float32)
    expected = -np.mean(np.log([0.5, 0.8]))
    for loss in (
        "categorical_crossentropy",
        keras.losses.categorical_crossentropy,
        keras.losses.CategoricalCrossentropy(),
    ):
        assert loss_value(loss, y_true, y_pred) == pytest.approx(expected, rel=1e-5)


def test_metric_names_reads_strings_objects_and_functions():
    model = keras.Sequential([keras.Input(shape=(2,)), Dense(2, activation="softmax")])
    model.compile(
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.CategoricalAccuracy(), keras.metrics.categorical_accuracy],
    )
    assert metric_names(model.get_compile_config()["metrics"]) == [
        "accuracy",
        "CategoricalAccuracy",
        "categorical_accuracy",
    ]
    assert metric_names(None) == []
