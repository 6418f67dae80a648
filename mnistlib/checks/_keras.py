"""What the Keras-model checks share: calling a model builder, and describing layers in words.

Notebooks 04 (network), 07 (dropout) and 09 (going further) each ask for a
``keras.Sequential``; their checks call the learner's builder the same way,
refuse the old ``input_shape=`` argument the same way, and print layers in one
notation: ``Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Dense(10, softmax)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from . import CheckFailed, call, describe, fail


def build_sequential(fn, name: str, error_hint: Callable[[Exception], str] | None = None) -> tuple[Any, bool]:
    """Call a learner's model-building function; return ``(model, used_input_shape)``.

    Fails unless it returns a ``keras.Sequential``. ``used_input_shape`` says whether
    a layer was given the old ``input_shape=`` argument (Keras 3 warns about it).
    With ``error_hint``, an exception raised while building becomes a failure
    whose hint is ``error_hint(exception)``.
    """
    import keras

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = call(fn, name=name)
        except CheckFailed:
            raise
        except Exception as error:
            if error_hint is None:
                raise
            fail(
                f"{name}() to return a model",
                f"{type(error).__name__}: {error}",
                error_hint(error),
                mistake="build-raised",
            )
    if not isinstance(model, keras.Sequential):
        fail(
            "a keras.Sequential model",
            describe(model),
            "return keras.Sequential([...]) from the function",
            mistake="not-a-model",
        )
    used_input_shape = any("input_shape" in str(w.message) for w in caught) or any(
        getattr(layer, "_input_shape_arg", None) is not None for layer in model.layers
    )
    return model, used_input_shape


def expect_declared_input(
    model, used_input_shape: bool, input_code: str, expected_text: str, no_input_hint: str
) -> None:
    """Fail unless the model declares its input with ``input_code`` (a ``keras.Input``) first in its list."""
    if used_input_shape:
        fail(
            f"the input declared with {input_code} as the first item of the list",
            "input_shape= passed to a layer",
            f"Keras 3 warns about input_shape= on a layer: put {input_code} first instead",
            mistake="input-shape-argument",
        )
    if not model.built or len(model.inputs) != 1:
        fail(
            f"a network that knows its input: {expected_text}",
            "no input declared",
            no_input_hint,
            mistake="no-input",
        )


def expect_parameters(model, expected: int, hint: str) -> None:
    """Fail unless the model has ``expected`` parameters in all."""
    if model.count_params() != expected:
        fail(f"{expected:,} parameters", f"{model.count_params():,}", hint, mistake="wrong-parameter-count")


def expect_uncompiled(model, what: str, function: str, hint: str) -> None:
    """Fail if the builder already compiled its model: the notebook compiles it in a later cell."""
    if getattr(model, "compiled", False):
        fail(
            f"an uncompiled {what} ({function} only builds)",
            f"a {what} already compiled with {type(model.optimizer).__name__}",
            hint,
            mistake="compiled-in-build",
        )


def _activation(layer) -> str:
    return getattr(layer.activation, "__name__", str(layer.activation))


def describe_layer(layer) -> tuple:
    """``(kind, size, window, activation, padding)`` of a Keras layer, None where it does not apply.

    size: filters (Conv2D), units (Dense) or rate (Dropout); window: kernel_size or pool_size.
    """
    kind = type(layer).__name__
    if kind == "Conv2D":
        return (kind, layer.filters, tuple(layer.kernel_size), _activation(layer), layer.padding)
    if kind == "MaxPooling2D":
        return (kind, None, tuple(layer.pool_size), None, layer.padding)
    if kind == "Dense":
        return (kind, layer.units, None, _activation(layer), None)
    if kind == "Dropout":
        return (kind, round(float(layer.rate), 6), None, None, None)
    return (kind, None, None, None, None)


def layer_text(described: tuple) -> str:
    """One layer as text, e.g. ``Conv2D(32, 3x3, relu)``."""
    kind, size, window, activation, padding = described
    same = ", same" if padding == "same" else ""
    if kind == "Conv2D":
        return f"Conv2D({size}, {window[0]}x{window[1]}, {activation}{same})"
    if kind == "MaxPooling2D":
        return f"MaxPooling2D({window[0]}x{window[1]}{same})"
    if kind == "Dense":
        return f"Dense({size}, {activation})"
    if kind == "Dropout":
        return f"Dropout({size:g})"
    return kind


def layers_text(layers) -> str:
    """A one-line description such as ``Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> ...``."""
    return " -> ".join(layer_text(d) for d in layers)


#: Keras layers that only apply an activation function.
ACTIVATION_LAYERS = ("Activation", "ReLU", "Softmax")


def separate_activation(layers) -> str | None:
    """The hint for an activation written as a layer of its own (None when there is none).

    ``Dense(10)`` followed by ``Softmax()`` (or ``Activation("softmax")``), or a ``Dense``/``Conv2D``
    followed by ``ReLU()``, computes the same numbers as the layer with ``activation=`` inside; but
    every notebook of the course writes each activation inside its layer, lists its network layer by
    layer, and its check and later cells compare (and count) the layers one by one.
    """
    for before, layer in zip(layers, layers[1:], strict=False):
        kind = type(layer).__name__
        if kind not in ACTIVATION_LAYERS or type(before).__name__ not in ("Dense", "Conv2D"):
            continue
        if kind == "Activation":
            name = getattr(layer.activation, "__name__", str(layer.activation))
        else:
            name = kind.lower()
        shown = f"{kind}()" if kind != "Activation" else f"Activation({name!r})"
        owner = type(before).__name__
        return (
            f"the {name} is a layer of its own here: {owner} followed by {shown} computes the same numbers, "
            f"but the notebook's network writes each activation inside its layer, "
            f"{owner}(..., activation={name!r}): one layer, so that the layers (which this check and the "
            "notebook's later cells compare and count one by one) are the notebook's"
        )
    return None
