"""Notebook 04's exercises: build_network, dense_param_count and compile_network, mistakes and contracts."""

import keras
import numpy as np
from checks.harness import Exercise

from mnistlib.checks.network import check_build_network, check_compile_network, check_dense_param_count


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
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
    # Notebooks 04, 07 and 09 all write each activation inside its layer (and compare the layers one by
    # one): a softmax or relu as a layer of its own gets the same specific hint in all three.
    "a separate Softmax layer": (
        _sequential(RELU_784, RELU_512, lambda: Dense(10), lambda: keras.layers.Softmax()),
        "the softmax is a layer of its own",
    ),
    "a separate ReLU layer": (
        _sequential(lambda: Dense(784), lambda: keras.layers.ReLU(), RELU_512, SOFTMAX_10),
        "the relu is a layer of its own",
    ),
    "separate Activation layers": (
        _sequential(
            lambda: Dense(784),
            lambda: keras.layers.Activation("relu"),
            lambda: Dense(512),
            lambda: keras.layers.Activation("relu"),
            lambda: Dense(10),
            lambda: keras.layers.Activation("softmax"),
        ),
        "the relu is a layer of its own",
    ),
}

# Right answers written differently: all must pass.
BUILD_VARIANTS = {
    "add() one by one": lambda: _added(),
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


EXERCISES = [
    Exercise(
        reference=build_network,
        check=check_build_network,
        answer_globals={"keras": keras},
        mistakes=BUILD_MISTAKES,
        variants=BUILD_VARIANTS,
        contract={
            "The tutorial's network, not compiled.": ["compiled already"],
            "Input: rows of 784 pixels (batch shape (n, 784)); layers Dense(784, relu) -> Dense(512, relu) -> "
            "Dense(10, softmax).": [
                "no keras.Input",
                "input_shape on the first layer",
                "input (28, 28)",
                "units in the wrong order",
                "sigmoid hidden layer",
                "a layer missing",
                "no biases",
                "a separate ReLU layer",
                "separate Activation layers",
            ],
            "Output: (n, 10), ten probabilities per image.": [
                "9 outputs",
                "softmax missing",
                "relu on the output",
                "a separate Softmax layer",
            ],
            "Returns a new keras.Sequential with fresh random weights at every call.": [
                "one shared model",
                "seed fixed inside",
                "nothing returned",
            ],
        },
    ),
    Exercise(
        reference=dense_param_count,
        check=check_dense_param_count,
        mistakes=COUNT_MISTAKES,
        variants={
            "(n_in + 1) * n_out": lambda n_in, n_out: (n_in + 1) * n_out,  # one extra "input" of 1 per unit
            "a numpy integer": lambda n_in, n_out: np.int64(n_in) * n_out + n_out,
        },
        contract={
            "Parameters of one dense layer: its weights plus its biases.": ["biases forgotten"],
            "n_in: number of inputs (int); n_out: number of units (int).": [
                "n_in * n_out + n_in",
                "inputs counted",
            ],
            "Returns an int: n_in * n_out weights (the kernel, shape (n_in, n_out)) + n_out biases.": [
                "n_in + n_out",
                "a float",
                "a string",
            ],
        },
    ),
    Exercise(
        reference=compile_network,
        check=check_compile_network,
        mistakes=COMPILE_MISTAKES,
        variants=COMPILE_VARIANTS,
        contract={
            "Compile `model` in place for training on one-hot digit targets, and return it.": [
                "sparse loss",
                "no return",
            ],
            "model: a Keras model whose output is softmax probabilities, shape (n, classes).": [
                "from_logits"
            ],
            "Uses the rmsprop optimizer, the categorical cross-entropy loss and the accuracy metric.": [
                "adam",
                "sgd",
                "mse",
                "binary loss",
                "no metrics",
                "keras.metrics.Accuracy()",
            ],
            "Returns the same model object.": ["a new model", "return model.compile(...)"],
        },
    ),
]
