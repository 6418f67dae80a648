"""Visible checks for notebook 07, dropout: ``dropout`` and ``build_dropout_network``.

``dropout(x, rate, rng)`` is inverted dropout in training mode: every entry of
``x`` is set to 0 with probability ``rate`` and the survivors are multiplied by
``1 / (1 - rate)``, so that on average nothing changes. ``rng`` is a
``numpy.random.Generator``: the same seed must give the same result. The result
is a new array of x's shape and float dtype; ``x`` itself is left unchanged.
``rate == 0`` returns an unchanged copy; a rate outside [0, 1) raises
ValueError. The check names: keeping entries with probability ``rate`` instead
of dropping them, the missing 1 / (1 - rate) scaling, multiplying by
(1 - rate) instead, ignoring ``rng``, changing ``x`` in place and a wrong shape
or dtype.

``build_dropout_network()`` returns the tutorial's second network, uncompiled:
``keras.Input((784,))``, then Dense 512 relu, Dropout 0.4, Dense 512 relu,
Dropout 0.3, Dense 512 relu, Dropout 0.2, Dense 10 softmax. The check names:
dropout rates in the wrong order, a missing dropout or Dense layer, the
deprecated ``input_shape=`` instead of ``keras.Input`` and wrong activations.
"""

from __future__ import annotations

import numpy as np

from . import CheckFailed, call, describe, fail, guided, passed
from ._keras import (
    build_sequential,
    describe_layer,
    expect_declared_input,
    expect_parameters,
    expect_uncompiled,
    layer_text,
    separate_activation,
)

__all__ = ["check_build_dropout_network", "check_dropout"]


# ------------------------------------------------------------------------------------------------- dropout

IN_PLACE_X = (
    "dropout returns a new array and leaves x as it was: build it, e.g. x * mask / (1 - rate), "
    "instead of assigning into x"
)


def _dropout(fn, x, rate, rng, what):
    try:
        return call(fn, x, rate, rng, name="dropout", in_place_hint=IN_PLACE_X)
    except CheckFailed:
        raise
    except Exception as error:
        hint = "rate is a float in [0, 1); rng a Generator"
        if rate == 0 and isinstance(error, ValueError | AssertionError):
            hint = (
                "rate 0 is allowed: it drops nothing and returns a copy of x (it is how dropout is switched "
                "off). Reject only rates outside 0 <= rate < 1"
            )
        fail(
            f"{what} to work",
            f"{type(error).__name__}: {error}",
            hint,
            mistake="error-raised",
        )


def _expect_shape_dtype(got, x: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(got, np.ndarray):
        fail(
            f"{what} as a numpy array",
            describe(got),
            "return a numpy array of x's shape",
            mistake="not-an-array",
        )
    if got.shape != x.shape:
        fail(
            f"{what} with x's shape {x.shape}",
            f"shape {got.shape}",
            "drop entries, never reshape: same shape as x",
            mistake="wrong-shape",
        )
    if got.dtype != x.dtype:
        fail(
            f"{what} with x's dtype {x.dtype}",
            f"dtype {got.dtype}",
            "a float64 mask (e.g. from rng.random(...).astype(float)) turns float32 activations into float64; "
            "keep x's dtype, e.g. with a boolean mask or .astype(x.dtype)",
            mistake="float64-mask",
        )
    return got


def _check_ones(fn, rate: float) -> None:
    """Dropout on 200 x 500 ones: the fraction of zeros and the survivors' value tell the mistakes apart."""
    x = np.ones((200, 500), dtype=np.float32)
    what = f"dropout(np.ones((200, 500), float32), rate={rate}, rng)"
    got = _expect_shape_dtype(_dropout(fn, x, rate, np.random.default_rng(7), what), x, what)
    zero_fraction = float(np.mean(got == 0))
    survivors = got[got != 0]
    scale = 1 / (1 - rate)
    if abs(zero_fraction - (1 - rate)) < 0.02 and abs(zero_fraction - rate) > 0.05:
        fail(
            f"about {rate:.0%} of the entries set to 0 (each dropped with probability rate)",
            f"{zero_fraction:.1%} set to 0",
            f"entries were KEPT with probability rate, so {1 - rate:.0%} were dropped. rng.random(shape) < rate "
            "marks the entries to DROP; keep the others: mask = rng.random(x.shape) >= rate",
            mistake="kept-with-probability-rate",
        )
    if abs(zero_fraction - rate) > 0.02:
        fail(
            f"about {rate:.0%} of the entries set to 0 (each dropped with probability rate)",
            f"{zero_fraction:.1%} set to 0",
            "each entry must be dropped, independently, with probability rate: mask = rng.random(x.shape) >= rate",
            mistake="wrong-drop-fraction",
        )
    if survivors.size and np.allclose(survivors, 1.0):
        fail(
            f"the surviving ones scaled to 1 / (1 - {rate}) = {scale:.4g}",
            "they are still 1",
            "the 1 / (1 - rate) scaling is missing: divide the survivors by (1 - rate) so the average stays "
            "the same as without dropout",
            mistake="not-rescaled",
        )
    if survivors.size and np.allclose(survivors, 1 - rate):
        fail(
            f"the surviving ones scaled to 1 / (1 - {rate}) = {scale:.4g}",
            f"{1 - rate:.4g}",
            "the survivors were MULTIPLIED by (1 - rate): that is what non-inverted dropout does at test time. "
            "Inverted dropout DIVIDES them by (1 - rate) during training",
            mistake="multiplied-by-keep-probability",
        )
    if not np.allclose(survivors, scale, rtol=1e-5):
        fail(
            f"every surviving entry equal to 1 / (1 - {rate}) = {scale:.4g}",
            f"values from {survivors.min():.4g} to {survivors.max():.4g}",
            "each entry is either 0 (dropped) or x / (1 - rate) (kept)",
            mistake="wrong-kept-values",
        )
    kept = got != 0
    if np.all(kept == kept[:1]) or np.all(kept == kept[:, :1]):
        fail(
            "each entry dropped independently of the others",
            "the same entries dropped in every row (or whole rows dropped together)",
            "draw one random number per ENTRY, rng.random(x.shape), not one per row or per column",
            mistake="mask-not-per-entry",
        )
    mean = float(got.mean())
    if abs(mean - 1) > 0.03:
        fail(
            "an average close to 1 (the average of x)",
            f"{mean:.4f}",
            "inverted dropout keeps the average",
            mistake="average-not-kept",
        )


def _check_values(fn) -> None:
    """On signed float64 values in 3 dimensions: each entry either 0 or x / (1 - rate)."""
    x = np.random.default_rng(11).normal(size=(4, 30, 50))
    x[0, 0, :5] = 0.0
    original = x.copy()
    rate = 0.25
    what = f"dropout(x of shape {x.shape}, float64, rate={rate}, rng)"
    got = _expect_shape_dtype(_dropout(fn, x, rate, np.random.default_rng(3), what), x, what)
    kept = got != 0
    if not np.allclose(got[kept], original[kept] / (1 - rate)):
        fail(
            f"each entry either 0 or x / (1 - {rate})",
            "other values",
            "multiply x by the 0/1 mask and divide by (1 - rate); do not take absolute values or clip",
            mistake="abs-or-clip",
        )


def _check_rng(fn) -> None:
    x = np.linspace(0.1, 1.0, 400).reshape(20, 20)
    rate = 0.5
    first = _dropout(fn, x, rate, np.random.default_rng(42), "dropout(x, 0.5, np.random.default_rng(42))")
    again = _dropout(fn, x, rate, np.random.default_rng(42), "dropout(x, 0.5, np.random.default_rng(42))")
    other = _dropout(fn, x, rate, np.random.default_rng(43), "dropout(x, 0.5, np.random.default_rng(43))")
    if not np.array_equal(np.asarray(first), np.asarray(again)):
        fail(
            "the same result from two generators made with the same seed, np.random.default_rng(42)",
            "different results",
            "draw the random numbers from the rng argument (rng.random(x.shape)), not from np.random.random or "
            "another generator: then the same seed reproduces the same mask",
            mistake="global-random",
        )
    if np.array_equal(np.asarray(first), np.asarray(other)):
        fail(
            "different masks for np.random.default_rng(42) and np.random.default_rng(43)",
            "the same mask",
            "the mask ignores the rng passed in (a fixed seed inside the function?): use rng.random(x.shape)",
            mistake="fixed-seed",
        )


def _check_rate_zero(fn) -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    what = "dropout(x, 0.0, rng)"
    got = _expect_shape_dtype(_dropout(fn, x, 0.0, np.random.default_rng(0), what), x, what)
    if got is x:
        fail(
            f"{what} to return a copy of x",
            "x itself",
            "return a new array even when nothing is dropped (x.copy()), so changing the result never changes x",
            mistake="returned-x-itself",
        )
    if not np.array_equal(got, x):
        fail(
            f"{what} equal to x (nothing dropped, scale 1)",
            describe(got),
            "with rate 0 every entry survives",
            mistake="dropped-at-rate-zero",
        )


def _check_bad_rates(fn) -> None:
    x = np.ones((2, 3))
    for rate in (1.0, 1.5, -0.1):
        what = f"dropout(x, rate={rate}, rng) to raise ValueError"
        reason = (
            "dropping everything leaves nothing to scale: 1 / (1 - 1) divides by zero"
            if rate == 1.0
            else ("a probability must be between 0 and 1")
        )
        try:
            got = call(fn, x.copy(), rate, np.random.default_rng(0), name="dropout")
        except ValueError:
            continue
        except CheckFailed:
            raise
        except AssertionError as error:
            fail(
                what,
                f"AssertionError: {error}",
                "an assert raises AssertionError, not ValueError, and Python skips asserts altogether when run "
                "with -O: check the rate with if ... and raise ValueError(...) yourself",
                mistake="assert-not-valueerror",
            )
        except Exception as error:
            fail(
                what,
                f"{type(error).__name__}: {error}",
                f"{reason}; check rate first and raise ValueError",
                mistake="rate-checked-wrongly",
            )
        fail(
            what,
            f"it returned {describe(got)}",
            f"{reason}; check 0 <= rate < 1 first and raise ValueError",
            mistake="rate-not-validated",
        )


@guided
def check_dropout(fn) -> None:
    """Check ``dropout(x, rate, rng)``: inverted dropout, reproducible with rng, x unchanged."""
    _check_ones(fn, 0.2)
    _check_ones(fn, 0.6)
    _check_values(fn)
    _check_rng(fn)
    _check_rate_zero(fn)
    _check_bad_rates(fn)
    passed(
        "dropout zeroes each entry with probability rate, scales the rest by 1 / (1 - rate), follows rng, "
        "leaves x alone and rejects rates outside [0, 1)."
    )


# ------------------------------------------------------------------------------------ build_dropout_network

EXPECTED_LAYERS = [
    ("Dense", 512, "relu"),
    ("Dropout", 0.4, None),
    ("Dense", 512, "relu"),
    ("Dropout", 0.3, None),
    ("Dense", 512, "relu"),
    ("Dropout", 0.2, None),
    ("Dense", 10, "softmax"),
]
PARAMETERS = (784 * 512 + 512) + 2 * (512 * 512 + 512) + (512 * 10 + 10)  # 932,362


def _describe_layer(layer) -> tuple:
    """``(kind, size, activation)``: the parts of :func:`describe_layer` a dense network has."""
    kind, size, _, activation, _ = describe_layer(layer)
    return (kind, size, activation)


def layers_text(layers) -> str:
    """A one-line description of layers such as ``Dense(512, relu) -> Dropout(0.4) -> ...``."""
    return " -> ".join(layer_text((kind, size, None, activation, None)) for kind, size, activation in layers)


def _build(fn):
    return build_sequential(fn, "build_dropout_network")


@guided
def check_build_dropout_network(fn) -> None:
    """Check ``build_dropout_network()``: the tutorial's second network as an uncompiled keras.Sequential."""
    model, used_input_shape = _build(fn)
    expected_text = "keras.Input((784,)) -> " + layers_text(EXPECTED_LAYERS)
    start = "start the list with keras.Input(shape=(784,)), the 784 pixels of a flattened image"
    expect_declared_input(model, used_input_shape, "keras.Input(shape=(784,))", expected_text, start)
    if tuple(model.inputs[0].shape) != (None, 784):
        fail(
            "an input of 784 numbers per image: keras.Input(shape=(784,))",
            f"input shape {tuple(model.inputs[0].shape)}",
            "the images are flattened to 784 pixels; the batch dimension (None) is added by Keras",
            mistake="wrong-input-shape",
        )
    got = [_describe_layer(layer) for layer in model.layers]
    if got != EXPECTED_LAYERS:
        got_text = layers_text(got)
        dense = [d for d in got if d[0] == "Dense"]
        drops = [d for d in got if d[0] == "Dropout"]
        kinds = [d[0] for d in got]
        separate = separate_activation(model.layers)
        if separate:
            fail(expected_text, "keras.Input -> " + got_text, separate, mistake="separate-activation-layer")
        if len(drops) == 3 and sorted(d[1] for d in drops) == [0.2, 0.3, 0.4] and drops[0][1] != 0.4:
            hint = "the dropout rates are in the wrong order: 0.4 after the first Dense, then 0.3, then 0.2"
        elif len(drops) < 3 and len(dense) == 4:
            hint = "a Dropout layer is missing: one after each of the three 512-unit layers (0.4, 0.3, 0.2)"
        elif len(dense) < 4:
            hint = (
                "the tutorial's second network has THREE hidden Dense layers of 512 units (the third is new), "
                "each followed by a Dropout"
            )
        elif kinds != [k for k, _, _ in EXPECTED_LAYERS]:
            hint = "the layers are in the wrong order: Dense, Dropout, Dense, Dropout, Dense, Dropout, Dense"
        elif any(g[1] != e[1] for g, e in zip(got, EXPECTED_LAYERS, strict=False)):
            hint = (
                "check the sizes and rates: three hidden layers of 512 units (network 2's first layer has 512, "
                "not 784), 10 outputs, dropout rates 0.4, 0.3, 0.2"
            )
        else:
            hint = (
                "check the activations: relu in the three hidden layers, softmax in the output layer (ten "
                "probabilities that add up to 1)"
            )
        fail(expected_text, "keras.Input -> " + got_text, hint, mistake="wrong-layers")
    expect_parameters(model, PARAMETERS, "check the input size (784) and the units")
    expect_uncompiled(
        model,
        "network",
        "build_dropout_network",
        "leave model.compile(...) out of the function: the notebook compiles the network in a later cell, "
        "with the same settings as network 1, so that only the architecture changes",
    )
    passed(
        "build_dropout_network builds Input(784) -> 3 x (Dense 512 relu + Dropout 0.4/0.3/0.2) -> Dense 10 softmax."
    )
