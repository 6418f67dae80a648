"""Visible checks for notebook 04, building the network.

``build_network()`` returns the tutorial's network, *not yet compiled*: a
``keras.Sequential`` taking vectors of 784 pixels (``keras.Input(shape=(784,))``)
through Dense(784, relu), Dense(512, relu) and Dense(10, softmax). The check
names: a missing ``keras.Input`` or the old ``input_shape=`` argument, an input of
28 or (28, 28) numbers instead of 784, wrong units or their order, a wrong or
missing activation (softmax missing, relu on the output), an activation written as
a layer of its own (``Dense(10)`` then ``Softmax()``: the notebook, like 07 and 09,
writes each activation inside its Dense layer), a layer too many or too few, and a
model that is already compiled.

``dense_param_count(n_in, n_out)`` returns the number of numbers a dense layer
learns: ``n_in * n_out`` weights plus ``n_out`` biases. The check names: the biases
forgotten, one bias per input instead of per unit, and a float instead of an int.

``compile_network(model)`` compiles the model it is given with the rmsprop
optimizer, the categorical cross-entropy loss and the accuracy metric, and
returns that same model. The check accepts strings or objects
(``"rmsprop"`` or ``keras.optimizers.RMSprop()``, ``"categorical_crossentropy"``
or ``keras.losses.CategoricalCrossentropy()``, ``"accuracy"`` or
``keras.metrics.CategoricalAccuracy()``) and names: nothing returned, a new model
returned instead of the one given, another optimizer, another loss (sparse
categorical cross-entropy, mean squared error, ``from_logits=True``), and the
accuracy metric missing or of the wrong kind.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import call, describe, fail, guided, passed
from ._keras import separate_activation

__all__ = ["check_build_network", "check_dense_param_count", "check_compile_network"]

LAYERS = ((784, "relu"), (512, "relu"), (10, "softmax"))
TOTAL_PARAMS = 1_022_490


# ------------------------------------------------------------------------------------------- build_network


def dense_stack(model) -> list[tuple[str, int | None, str]]:
    """The model's layers as ``(kind, units, activation)``: ``(class name, None, "")`` for a non-Dense layer."""
    stack: list[tuple[str, int | None, str]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            stack.append(("Dense", int(layer.units), layer.activation.__name__))
        else:
            stack.append((kind, None, ""))
    return stack


def _layers_text(stack) -> str:
    parts = [f"Dense({units}, {act})" if kind == "Dense" else kind for kind, units, act in stack]
    return ", ".join(parts) or "no layers"


def _expected_text() -> str:
    return "Input(784), " + ", ".join(f"Dense({units}, {act})" for units, act in LAYERS)


def _build(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = call(fn, name="build_network")
    for warning in caught:
        if "input_shape" in str(warning.message):
            fail(
                "the input declared with keras.Input(shape=(784,)) as the first item of the Sequential",
                "a layer given input_shape=..., which Keras 3 warns about",
                "the R tutorial's input_shape = c(28 * 28) is the old way; in Keras 3 write "
                "keras.Input(shape=(784,)) as the first item of the list and drop input_shape from Dense",
                mistake="input-shape-argument",
            )
    return model


def _check_input(model) -> None:
    import keras

    if not isinstance(model, keras.Model):
        fail(
            "build_network() to return a keras model (keras.Sequential([...]))",
            describe(model),
            "build the model with keras.Sequential([...]) and return it",
            mistake="not-sequential",
        )
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, ValueError):
        shape = None  # a Sequential without an input does not know its size yet
    if shape is None:
        fail(
            "a model that knows its input: 784 numbers per image",
            "a Sequential without an input, so Keras does not know its size yet",
            "start the list with keras.Input(shape=(784,))",
            mistake="no-input",
        )
    if shape != (None, 784):
        if shape == (None, 28, 28):
            hint = (
                "the network takes each image already flattened into one row of 28 * 28 = 784 numbers: "
                "keras.Input(shape=(784,)), not (28, 28)"
            )
        elif shape == (None, 28):
            hint = "each image is 28 * 28 = 784 numbers, not 28: keras.Input(shape=(784,))"
        else:
            hint = "each input is one flattened image of 28 * 28 = 784 numbers: keras.Input(shape=(784,))"
        fail(
            "an input of shape (None, 784): a batch of rows of 784 pixels",
            f"input shape {shape}",
            hint,
            mistake="wrong-input-shape",
        )


def _check_layers(stack) -> None:
    others = [kind for kind, _, _ in stack if kind != "Dense"]
    if others:
        hint = "this network uses Dense layers only"
        if "Flatten" in others:
            hint += "; the images arrive already flattened to 784 numbers, so no Flatten layer is needed"
        fail(_expected_text(), _layers_text(stack), hint, mistake="wrong-layers")
    units = [u for _, u, _ in stack]
    expected_units = [u for u, _ in LAYERS]
    if len(stack) != len(LAYERS):
        more_or_fewer = "a layer too many" if len(stack) > len(LAYERS) else "a layer missing"
        fail(
            _expected_text(),
            _layers_text(stack),
            f"{more_or_fewer}: the tutorial's network has exactly three Dense layers, 784, 512 and 10 units "
            "(keras.Input is not a layer and does not count)",
            mistake="wrong-layer-count",
        )
    if units != expected_units:
        if sorted(units) == sorted(expected_units):
            hint = "the right sizes in the wrong order: 784 units first, then 512, then the 10 outputs"
        elif units[-1] != 10:
            hint = "the last layer needs 10 units, one per digit"
        else:
            hint = "the tutorial's sizes are 784, then 512, then 10 units"
        fail(_expected_text(), _layers_text(stack), hint, mistake="wrong-units")
    activations = [a for _, _, a in stack]
    if activations[-1] != "softmax":
        if activations[-1] == "linear":
            hint = (
                "the output layer has no activation: add activation='softmax' so the ten outputs are "
                "probabilities that add up to 1"
            )
        else:
            hint = (
                f"the output layer uses {activations[-1]}; it needs softmax, which turns the ten scores "
                "into probabilities that add up to 1"
            )
        fail(_expected_text(), _layers_text(stack), hint, mistake="wrong-activations")
    for position, activation in enumerate(activations[:-1]):
        if activation != "relu":
            which = "first" if position == 0 else "second"
            hint = (
                f"the {which} layer has no activation: without relu two Dense layers in a row are just one "
                "linear map; add activation='relu'"
                if activation == "linear"
                else f"the {which} layer uses {activation}; the tutorial's hidden layers use relu"
            )
            fail(_expected_text(), _layers_text(stack), hint, mistake="wrong-activation")


@guided
def check_build_network(fn) -> None:
    """Check ``build_network()``: uncompiled Sequential, Input(784) -> 784 relu -> 512 relu -> 10 softmax."""
    model = _build(fn)
    _check_input(model)
    stack = dense_stack(model)
    separate = separate_activation(model.layers)
    if separate:
        fail(_expected_text(), _layers_text(stack), separate, mistake="separate-activation-layer")
    _check_layers(stack)
    total = model.count_params()
    if total != TOTAL_PARAMS:
        fail(
            f"{TOTAL_PARAMS:,} parameters in all (weights and biases)",
            f"{total:,}",
            "keep the Dense layers' defaults (use_bias=True): every unit has a bias",
            mistake="no-bias",
        )
    if getattr(model, "compiled", False):
        fail(
            "an uncompiled model (build_network only builds)",
            f"a model already compiled with {type(model.optimizer).__name__}",
            "leave model.compile(...) out of build_network: compiling is the job of compile_network, "
            "so the two steps can be changed separately",
            mistake="compiled-in-build",
        )
    again = _build(fn)
    if again is model:
        fail(
            "a new model from each call of build_network()",
            "the same model object twice",
            "create the model inside the function, so every call starts from fresh random weights",
            mistake="model-reused",
        )
    if np.array_equal(model.layers[0].get_weights()[0], again.layers[0].get_weights()[0]):
        fail(
            "fresh random weights at every call of build_network()",
            "two models with the same starting weights",
            "a random seed is fixed inside the function (e.g. keras.utils.set_random_seed): leave seeding to "
            "the caller, so that each new network starts from its own random weights",
            mistake="seed-fixed",
        )
    passed(f"build_network gives an uncompiled Sequential: {_expected_text()}, {TOTAL_PARAMS:,} parameters.")


# --------------------------------------------------------------------------------------- dense_param_count


def reference_dense_param_count(n_in: int, n_out: int) -> int:
    """Weights plus biases of a dense layer from ``n_in`` inputs to ``n_out`` units."""
    return n_in * n_out + n_out


@guided
def check_dense_param_count(fn) -> None:
    """Check ``dense_param_count(n_in, n_out)`` on the tutorial's three layers and small cases."""
    cases = [(784, 784), (784, 512), (512, 10), (3, 2), (1, 1), (10, 7)]
    for n_in, n_out in cases:
        expected = reference_dense_param_count(n_in, n_out)
        what = f"dense_param_count({n_in}, {n_out})"
        got = call(fn, n_in, n_out, name="dense_param_count")
        if isinstance(got, bool) or not isinstance(got, numbers.Number):
            fail(
                f"{what} = {expected:,} (an int)",
                describe(got),
                "return the count as a whole number",
                mistake="count-not-a-number",
            )
        if not isinstance(got, numbers.Integral):
            if got == expected:
                fail(
                    f"{what} = {expected:,} as an int",
                    f"{got!r} ({type(got).__name__})",
                    "a count is a whole number: use * and + on the ints (no /), or wrap it in int(...)",
                    mistake="count-float",
                )
        if got == expected:
            continue
        if got == n_in * n_out:
            hint = (
                f"that is the weights only ({n_in} x {n_out}); each of the {n_out} units also has "
                "a bias: add n_out"
            )
        elif got == n_in * n_out + n_in or got == n_in * (n_out + 1):
            hint = "one bias per unit, i.e. per output (n_out of them), not one per input"
        elif got == n_in + n_out:
            hint = "every input connects to every unit: n_in * n_out weights, plus n_out biases"
        elif got == n_in * n_out + n_in + n_out:
            hint = "the inputs are not parameters: only the n_in * n_out weights and the n_out biases are learned"
        else:
            hint = "weights: one per (input, unit) pair, n_in * n_out; biases: one per unit, n_out"
        fail(f"{what} = {expected:,}", f"{got!r}", hint, mistake="wrong-count")
    passed("dense_param_count counts n_in * n_out weights plus n_out biases (615,440 for 784 -> 784).")


# ----------------------------------------------------------------------------------------- compile_network


def _tiny_softmax_model():
    import keras

    return keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, activation="softmax")])


# A small batch to tell the losses apart: one-hot targets and softmax-like outputs.
_Y_TRUE = np.eye(4, dtype=np.float32)[[0, 1, 2]]
_Y_PRED = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1]], dtype=np.float32)
_CCE = float(-np.mean(np.log([0.7, 0.5, 0.2])))

_RIGHT_METRICS = {"accuracy", "acc", "categorical_accuracy", "CategoricalAccuracy"}


def loss_value(loss, y_true=_Y_TRUE, y_pred=_Y_PRED) -> float:
    """The mean value of a compiled loss (string, function or Loss object) on a small batch.

    Raises whatever Keras raises when the loss cannot take one-hot targets.
    """
    import keras

    function = keras.losses.get(loss) if isinstance(loss, str) else loss
    return float(np.mean(keras.ops.convert_to_numpy(function(y_true, y_pred))))


def loss_name(loss) -> str:
    """A readable name for a compiled loss (a string, a function or a Loss object)."""
    if isinstance(loss, str):
        return loss
    config = getattr(loss, "get_config", None)
    if config is not None:
        return type(loss).__name__
    return getattr(loss, "__name__", type(loss).__name__)


def metric_names(metrics) -> list[str]:
    """The names of the metrics in a compile config (strings, serialized objects or functions)."""
    if metrics is None:
        return []
    if isinstance(metrics, dict | str):
        metrics = [metrics] if isinstance(metrics, str) or "class_name" in metrics else list(metrics.values())
    names = []
    for metric in metrics:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict) and metric.get("class_name") == "function":
            names.append(str(metric.get("config")))
        elif isinstance(metric, dict):
            names.append(str(metric.get("class_name")))
        else:
            names.append(getattr(metric, "__name__", type(metric).__name__))
    return names


def _check_optimizer(model) -> None:
    import keras

    optimizer = getattr(model, "optimizer", None)
    if not isinstance(optimizer, keras.optimizers.RMSprop):
        name = type(optimizer).__name__
        fail(
            "the model compiled with optimizer='rmsprop'",
            f"optimizer {name}",
            f"{name} is another way of following the gradient; the tutorial uses rmsprop: "
            "optimizer='rmsprop' (or keras.optimizers.RMSprop())",
            mistake="wrong-optimizer",
        )


def _check_loss(model) -> None:
    loss = model.loss
    name = loss_name(loss)
    expected = "the model compiled with loss='categorical_crossentropy'"
    if loss is None:
        fail(expected, "no loss", "pass loss='categorical_crossentropy' to compile", mistake="no-loss")
    try:
        value = loss_value(loss)
    except Exception as error:  # a loss that cannot take one-hot targets, e.g. a sparse one
        value, problem = None, type(error).__name__
    if value is not None and abs(value - _CCE) <= 1e-4:
        return
    lowered = name.lower()
    got = (
        f"loss {name}, value {value:.4f}"
        if value is not None
        else f"loss {name} ({problem} on one-hot targets)"
    )
    if "sparse" in lowered:
        hint = (
            "sparse_categorical_crossentropy expects each label as one whole number; our targets are "
            "one-hot rows of ten, which is what categorical_crossentropy expects"
        )
    elif getattr(loss, "get_config", None) and loss.get_config().get("from_logits"):
        hint = (
            "from_logits=True tells Keras the outputs are raw scores, but the last layer already applies "
            "softmax: keep the default, from_logits=False"
        )
    elif "squared" in lowered or lowered in {"mse", "mae"} or "absolute" in lowered:
        hint = (
            "a squared (or absolute) error treats the ten probabilities as ordinary numbers; for "
            "probabilities against one-hot targets use loss='categorical_crossentropy'"
        )
    elif "binary" in lowered:
        hint = "binary cross-entropy is for yes/no outputs; ten classes need categorical_crossentropy"
    else:
        hint = "use loss='categorical_crossentropy', made for one-hot targets and softmax outputs"
    fail(f"{expected} (on a small test batch its value is {_CCE:.4f})", got, hint, mistake="wrong-loss")


def _check_metrics(model) -> None:
    names = metric_names(model.get_compile_config().get("metrics"))
    expected = "the model compiled with metrics=['accuracy']"
    if any(name in _RIGHT_METRICS for name in names):
        return
    if "Accuracy" in names:
        hint = (
            "keras.metrics.Accuracy() counts outputs exactly equal to the targets, which probabilities "
            "never are; write metrics=['accuracy'] and Keras picks the categorical accuracy"
        )
    elif any("sparse" in name.lower() for name in names):
        hint = "sparse accuracy expects whole-number labels; with one-hot targets write metrics=['accuracy']"
    else:
        hint = (
            "the accuracy (the share of images whose most likely digit is the right one) is not "
            "measured: add metrics=['accuracy'] (a list)"
        )
    fail(expected, f"metrics {names}", hint, mistake="wrong-metrics")


@guided
def check_compile_network(fn) -> None:
    """Check ``compile_network(model)``: compiled in place with rmsprop, categorical cross-entropy, accuracy."""
    model = _tiny_softmax_model()
    got = call(fn, model, name="compile_network")
    if got is None:
        fail(
            "compile_network(model) to return the model",
            "None",
            "model.compile(...) changes the model in place and returns None: "
            "call it, then `return model` on a line of its own",
            mistake="returned-none",
        )
    if got is not model:
        fail(
            "compile_network(model) to return the model it was given, compiled",
            f"another {type(got).__name__} object (a new model, not the one passed in)",
            "compile the `model` argument itself and return it, instead of building a new network inside",
            mistake="new-model",
        )
    if not getattr(model, "compiled", False):
        fail(
            "the model compiled",
            "a model that was never compiled",
            "call model.compile(...)",
            mistake="not-compiled",
        )
    _check_optimizer(model)
    _check_loss(model)
    _check_metrics(model)
    passed(
        "compile_network compiles the model it is given with rmsprop, categorical cross-entropy, accuracy."
    )
