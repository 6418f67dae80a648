"""Visible checks for notebook 09, going further: ``add_channel_axis``, ``build_convnet``, ``conv2d_valid``.

``add_channel_axis(images)`` turns (n, 28, 28) uint8 images into the (n, 28, 28, 1)
float32 tensor in [0, 1] that ``Conv2D`` expects (channels last, Keras' default).
The check names: no scaling, the channel axis first (n, 1, 28, 28) or in front of
the batch, no channel axis at all, flattened images, float64, integer division and
changing the caller's array.

``build_convnet()`` returns the notebook's convnet, uncompiled:
``keras.Input((28, 28, 1))``, Conv2D 32 3x3 relu, MaxPooling2D 2x2, Conv2D 64 3x3
relu, MaxPooling2D 2x2, Flatten, Dropout 0.5, Dense 10 softmax (34,826
parameters). The check compares the layers one by one and names each difference:
a missing Flatten or pooling layer, the filter counts swapped, another kernel
size, ``padding="same"``, a missing relu or softmax, another dropout rate, and the
deprecated ``input_shape=``.

``conv2d_valid(image, kernel)`` is the "valid" 2-D cross-correlation that Conv2D
computes for one channel and one filter: ``out[i, j] = sum(image[i:i+kh, j:j+kw] *
kernel)``, of shape (H - kh + 1, W - kw + 1), as floats. The check names: the
flipped kernel (true convolution), a "same"-sized or off-by-one output, rows and
columns swapped, a matrix product instead of an element-wise one, and an output
array that inherits the image's uint8 dtype.
"""

from __future__ import annotations

import numpy as np

from . import IN_PLACE_IMAGES, CheckFailed, call, describe, expect_close, fail, guided, passed
from ._keras import (
    build_sequential,
    describe_layer,
    expect_declared_input,
    expect_parameters,
    expect_uncompiled,
    layers_text,
    separate_activation,
)

__all__ = ["check_add_channel_axis", "check_build_convnet", "check_conv2d_valid"]


# ------------------------------------------------------------------------------------------ add_channel_axis


def example_images(n: int = 3, *, brightest: int = 255, seed: int = 0) -> np.ndarray:
    """``n`` made-up uint8 images of shape (28, 28), not symmetric, whose largest pixel is ``brightest``."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, brightest - 20, size=(n, 28, 28), dtype=np.int64)
    images[:, :, :6] = 0  # a black margin on the left only: a transposed image differs
    images[:, 10, 20] = brightest
    return images.astype(np.uint8)


def _channel_hint(shape: tuple, n: int) -> str:
    if shape == (n, 1, 28, 28):
        return (
            "the channel axis is FIRST (n, 1, 28, 28), PyTorch's layout. Keras' Conv2D expects channels LAST "
            "(data_format='channels_last'): images[..., np.newaxis] or images.reshape(n, 28, 28, 1)"
        )
    if shape == (1, n, 28, 28):
        return (
            "the new axis went in front of the batch: np.expand_dims(images, 0) adds it at position 0. "
            "Add it at the end: np.expand_dims(images, -1) or images[..., np.newaxis]"
        )
    if shape == (n, 28, 28):
        return "there is no channel axis yet: add a last axis of length 1, e.g. images[..., np.newaxis]"
    if shape in ((n, 784), (n, 784, 1)):
        return (
            "a convnet keeps the 28 x 28 grid: do not flatten; only add a channel axis of length 1 at the end"
        )
    return "the shape must be (number of images, 28, 28, 1): height, width, then one grayscale channel"


def _expect_channels_last(fn, images: np.ndarray) -> None:
    n = len(images)
    original = images.copy()
    what = f"add_channel_axis of {n} images of shape (28, 28)"
    try:
        got = call(fn, images, name="add_channel_axis", in_place_hint=IN_PLACE_IMAGES)
    except CheckFailed:
        raise
    except (ValueError, TypeError, IndexError) as error:
        text = f"{type(error).__name__}: {error}"
        if n == 0 and "zero-size array" in str(error):
            hint = (
                "divide by 255, the largest possible pixel value, not by images.max(): a batch with no "
                "images has no largest pixel (and a faint batch would be brightened)"
            )
        elif n == 0:
            hint = (
                "with no images at all (n = 0) the result is an empty array of shape (0, 28, 28, 1): work on "
                "the whole array at once (images[..., np.newaxis]) instead of image by image (np.stack needs "
                "at least one array)"
            )
        elif "reshape" in str(error):
            hint = (
                "the number of images is len(images), not a fixed number such as 60000: reshape to "
                "(len(images), 28, 28, 1), or use -1 for that axis, so any number of images works"
            )
        else:
            hint = "add an axis of length 1 at the end, for any number of images: images[..., np.newaxis]"
        fail(f"{what}: an array of shape ({n}, 28, 28, 1)", text[:200], hint, mistake="channel-axis-failed")
    expected = original.astype(np.float32)[..., np.newaxis] / np.float32(255)

    if not isinstance(got, np.ndarray):
        fail(
            f"{what}: a numpy array of shape ({n}, 28, 28, 1)",
            describe(got),
            "return a numpy array",
            mistake="channel-not-an-array",
        )
    if got.shape != (n, 28, 28, 1):
        fail(
            f"{what} with shape ({n}, 28, 28, 1)",
            f"shape {got.shape}",
            _channel_hint(got.shape, n),
            mistake="wrong-channel-shape",
        )
    if got.size and got.max() > 1.5:
        fail(
            f"{what}: values in [0, 1] (the brightest pixel, 255, becomes 1.0)",
            f"largest value {got.max():g}",
            "the pixels are still 0-255: divide by 255, as for the dense networks",
            mistake="channel-not-scaled",
        )
    if np.issubdtype(got.dtype, np.integer) or (got.size and set(np.unique(got).tolist()) <= {0.0, 1.0}):
        fail(
            f"{what}: float32 values between 0 and 1",
            f"dtype {got.dtype}, only the values {sorted(set(np.unique(got).tolist()))[:4]}",
            "integer division (//) or converting to int after dividing rounds every pixel down to 0. "
            "Divide as floats: images.astype(np.float32) / 255",
            mistake="channel-integer-division",
        )
    if got.dtype != np.float32:
        fail(
            f"{what} with dtype float32",
            f"dtype {got.dtype}",
            "Keras computes in float32 and float64 takes twice the memory: images.astype(np.float32) / 255",
            mistake="channel-float64",
        )
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-7):
        if np.allclose(got, expected * 255 / 256, rtol=1e-5):
            hint = "divide by 255, not 256: the brightest pixel must become exactly 1.0"
        elif np.allclose(got, original.astype(np.float32)[..., None] / original.max(), rtol=1e-5):
            hint = "divide by 255, the largest possible pixel value, not by images.max()"
        elif np.allclose(got, expected.transpose(0, 2, 1, 3), rtol=1e-5):
            hint = "the images came back transposed (rows and columns swapped): only add an axis, do not transpose"
        else:
            hint = "result[k, i, j, 0] must be images[k, i, j] / 255"
        expect_close(got, expected, what=what, hint=hint, rtol=1e-6, atol=1e-7, mistake="conv-wrong-values")


@guided
def check_add_channel_axis(fn) -> None:
    """Check ``add_channel_axis(images)``: (n, 28, 28) uint8 -> (n, 28, 28, 1) float32 in [0, 1]."""
    _expect_channels_last(fn, example_images(3, seed=0))
    _expect_channels_last(fn, example_images(0))  # an empty batch is a batch too
    _expect_channels_last(fn, example_images(1, brightest=190, seed=1))
    passed("add_channel_axis gives (n, 28, 28, 1) float32 images in [0, 1], channel last, as Conv2D expects.")


# --------------------------------------------------------------------------------------------- build_convnet

EXPECTED_LAYERS = [
    ("Conv2D", 32, (3, 3), "relu", "valid"),
    ("MaxPooling2D", None, (2, 2), None, "valid"),
    ("Conv2D", 64, (3, 3), "relu", "valid"),
    ("MaxPooling2D", None, (2, 2), None, "valid"),
    ("Flatten", None, None, None, None),
    ("Dropout", 0.5, None, None, None),
    ("Dense", 10, None, "softmax", None),
]
# 3*3*1*32 + 32, 3*3*32*64 + 64, 5*5*64*10 + 10
PARAMETERS = 320 + 18_496 + 16_010  # 34,826


def _kinds_hint(kinds: list[str]) -> str:
    expected = [d[0] for d in EXPECTED_LAYERS]
    if "Flatten" not in kinds:
        return (
            "Flatten is missing: without it Dense acts on the last axis only and the network outputs a "
            "5 x 5 grid of 10 values instead of 10 probabilities. Put keras.layers.Flatten() before Dropout"
        )
    if kinds.count("MaxPooling2D") < 2:
        return (
            "put a MaxPooling2D((2, 2)) after EACH Conv2D: it halves the height and width (26 -> 13, 11 -> 5)"
        )
    if kinds.count("Conv2D") < 2:
        return "the convnet has TWO Conv2D layers: 32 filters, then (after pooling) 64 filters"
    if "Dropout" not in kinds:
        return "Dropout(0.5) is missing: it goes between Flatten and the final Dense layer"
    if kinds.count("Dense") > 1:
        return "this convnet has ONE Dense layer, the output: Flatten -> Dropout(0.5) -> Dense(10, softmax)"
    if sorted(kinds) == sorted(expected):
        return "the layers are in the wrong order: (Conv2D, MaxPooling2D) twice, then Flatten, Dropout, Dense"
    return "the layers must be: Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Flatten, Dropout, Dense"


def _layer_hint(index: int, got: tuple, expected: tuple, all_got: list) -> str:
    kind, size, window, activation, padding = got
    conv_sizes = [d[1] for d in all_got if d[0] == "Conv2D"]
    if kind == "Conv2D":
        if conv_sizes == [64, 32]:
            return "the filter counts are swapped: 32 filters in the first Conv2D, 64 in the second"
        if size != expected[1]:
            return f"Conv2D layer {index + 1} has {size} filters; it needs {expected[1]}"
        if window != (3, 3):
            return f"use 3 x 3 kernels (kernel_size=(3, 3)), not {window[0]} x {window[1]}"
        if activation != "relu":
            return (
                f"the Conv2D layers need activation='relu' (got {activation!r}): without it two Conv2D layers "
                "stacked are just one linear filter"
            )
        if padding != "valid":
            return (
                "keep the default padding='valid' (each 3 x 3 filter only where it fits: 28 -> 26), as in the "
                "notebook; padding='same' changes every size after it"
            )
    if kind == "MaxPooling2D":
        if window != (2, 2):
            return f"pool over 2 x 2 windows (pool_size=(2, 2)), not {window[0]} x {window[1]}"
        return "keep the default padding='valid' in MaxPooling2D"
    if kind == "Dropout":
        return f"the dropout rate is 0.5 (half the 1,600 features dropped during training), not {size:g}"
    if kind == "Dense":
        if size != 10:
            return f"the output layer has 10 units, one per digit, not {size}"
        return (
            f"the output layer needs activation='softmax' (got {activation!r}): ten probabilities that add up "
            "to 1, as categorical cross-entropy expects"
        )
    return "compare this layer with the notebook's convnet"


def _build_error_hint(error: Exception) -> str:
    if "1, 28, 28)" in str(error):
        return "channels go LAST in Keras: keras.Input((28, 28, 1)), not (1, 28, 28)"
    return (
        "keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, (3, 3), "
        "activation='relu'), ...]); check each layer's arguments"
    )


def _build(fn):
    return build_sequential(fn, "build_convnet", _build_error_hint)


@guided
def check_build_convnet(fn) -> None:
    """Check ``build_convnet()``: the notebook's convnet as an uncompiled keras.Sequential."""
    model, used_input_shape = _build(fn)
    expected_text = "keras.Input((28, 28, 1)) -> " + layers_text(EXPECTED_LAYERS)
    start = "start the list with keras.Input((28, 28, 1)): 28 x 28 pixels, 1 channel"
    expect_declared_input(model, used_input_shape, "keras.Input((28, 28, 1))", expected_text, start)
    input_shape = tuple(model.inputs[0].shape)
    if input_shape != (None, 28, 28, 1):
        if input_shape == (None, 1, 28, 28):
            hint = "channels go LAST in Keras: keras.Input((28, 28, 1)), not (1, 28, 28)"
        elif input_shape in ((None, 784), (None, 28, 28)):
            hint = "Conv2D needs height, width AND channels: keras.Input((28, 28, 1))"
        else:
            hint = "the images are 28 x 28 with one grayscale channel: keras.Input((28, 28, 1))"
        fail(
            "an input of shape (None, 28, 28, 1)",
            f"input shape {input_shape}",
            hint,
            mistake="convnet-wrong-input",
        )

    got = [describe_layer(layer) for layer in model.layers]
    if got != EXPECTED_LAYERS:
        got_text = "keras.Input((28, 28, 1)) -> " + layers_text(got)
        kinds = [d[0] for d in got]
        separate = separate_activation(model.layers)
        if separate:
            fail(expected_text, got_text, separate, mistake="convnet-separate-activation")
        if kinds != [d[0] for d in EXPECTED_LAYERS]:
            fail(expected_text, got_text, _kinds_hint(kinds), mistake="convnet-wrong-layer-kinds")
        index = next(i for i, (g, e) in enumerate(zip(got, EXPECTED_LAYERS, strict=True)) if g != e)
        fail(
            expected_text,
            got_text,
            _layer_hint(index, got[index], EXPECTED_LAYERS[index], got),
            mistake="convnet-wrong-layer",
        )

    output_shape = tuple(model.outputs[0].shape)
    if output_shape != (None, 10):
        fail(
            "an output of shape (None, 10)",
            f"output shape {output_shape}",
            "end with Flatten, Dropout, Dense(10)",
            mistake="convnet-wrong-ending",
        )
    expect_parameters(
        model, PARAMETERS, "check use_bias and the input channels: 320 + 18,496 + 16,010 parameters"
    )
    expect_uncompiled(
        model,
        "convnet",
        "build_convnet",
        "leave model.compile(...) out of the function: the notebook compiles the convnet in a later cell",
    )
    passed(
        "build_convnet builds Input(28, 28, 1) -> Conv2D 32 3x3 relu -> MaxPool 2x2 -> Conv2D 64 3x3 relu -> "
        f"MaxPool 2x2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax ({PARAMETERS:,} parameters)."
    )


# ---------------------------------------------------------------------------------------------- conv2d_valid


def reference_conv2d_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """What ``conv2d_valid`` must return: ``out[i, j] = sum(image[i:i+kh, j:j+kw] * kernel)``, float64."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    windows = np.lib.stride_tricks.sliding_window_view(image, (kh, kw))  # (H-kh+1, W-kw+1, kh, kw)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def _matrix_product_version(image: np.ndarray, kernel: np.ndarray) -> np.ndarray | None:
    kh, kw = kernel.shape
    if kh != kw:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(image.astype(np.float64), (kh, kw))
    return (windows @ kernel).sum(axis=(2, 3))


def _short_loops(out: np.ndarray, *, rows: bool = True, columns: bool = True) -> np.ndarray:
    """``out`` as loops one position short leave it: the last row and/or column never written (0)."""
    short = out.copy()
    if rows:
        short[-1, :] = 0
    if columns:
        short[:, -1] = 0
    return short


def _conv_hint(got: np.ndarray, image: np.ndarray, kernel: np.ndarray) -> str:
    image_f = image.astype(np.float64)
    candidates = [
        (
            reference_conv2d_valid(image_f, kernel[::-1, ::-1]),
            "the kernel is flipped: that is the textbook CONVOLUTION. Conv2D (and this function) computes a "
            "cross-correlation: out[i, j] = sum(image[i:i+kh, j:j+kw] * kernel), the kernel as it is",
        ),
        (
            reference_conv2d_valid(image_f, kernel.T) if kernel.shape[0] == kernel.shape[1] else None,
            "the kernel is transposed: kernel[a, b] must multiply image[i + a, j + b] (a counts rows, b columns)",
        ),
        (
            _matrix_product_version(image, kernel),
            "multiply the window and the kernel ELEMENT BY ELEMENT (window * kernel) and sum; window @ kernel "
            "is a matrix product",
        ),
        (
            reference_conv2d_valid(image_f.T, kernel.T).T,
            "rows and columns are swapped: i counts rows (the first axis), j columns",
        ),
        (
            reference_conv2d_valid(image_f, kernel) / kernel.size,
            "that is the MEAN of each window's products: the output SUMS them, "
            "out[i, j] = np.sum(image[i:i+kh, j:j+kw] * kernel)",
        ),
        (
            _short_loops(reference_conv2d_valid(image_f, kernel)),
            "the last row and column of the output are still 0: the loops stop one position short. There are "
            "H - kh + 1 row positions, so loop over range(H - kh + 1) (and range(W - kw + 1) for columns)",
        ),
        (
            _short_loops(reference_conv2d_valid(image_f, kernel), columns=False),
            "the last row of the output is still 0: loop i over range(H - kh + 1), one more than range(H - kh)",
        ),
        (
            _short_loops(reference_conv2d_valid(image_f, kernel), rows=False),
            "the last column of the output is still 0: loop j over range(W - kw + 1), one more than range(W - kw)",
        ),
    ]
    for candidate, hint in candidates:
        if candidate is not None and candidate.shape == got.shape and np.allclose(got, candidate, atol=1e-6):
            return hint
    return "out[i, j] = sum(image[i:i+kh, j:j+kw] * kernel): the window whose top-left corner is (i, j)"


def _expect_conv(fn, image: np.ndarray, kernel: np.ndarray, what: str) -> None:
    original_image, original_kernel = image.copy(), kernel.copy()
    height, width = image.shape
    kh, kw = kernel.shape
    shape = (height - kh + 1, width - kw + 1)
    try:
        got = call(
            fn,
            image,
            kernel,
            name="conv2d_valid",
            in_place_hint="do not write into your arguments: make the output with np.zeros((rows, cols))",
        )
    except CheckFailed:
        raise
    except Exception as error:
        hint = (
            "take kh, kw = kernel.shape (the kernel need not be square) and loop i over range(H - kh + 1), "
            "j over range(W - kw + 1)"
        )
        if "matmul" in str(error):
            hint = (
                "window @ kernel is a matrix product, which needs the window's columns to match the kernel's "
                "rows: multiply ELEMENT BY ELEMENT (window * kernel) and sum"
            )
        fail(
            f"{what} to work",
            f"{type(error).__name__}: {error}",
            hint,
            mistake="error-raised",
        )
    expected = reference_conv2d_valid(original_image, original_kernel)
    if not isinstance(got, np.ndarray):
        fail(
            f"{what}: a numpy array of shape {shape}",
            describe(got),
            "return a numpy array",
            mistake="conv-not-an-array",
        )
    if got.shape != shape:
        if got.shape == image.shape:
            hint = (
                "that is the 'same' size. A 'valid' output keeps only the positions where the whole kernel fits: "
                "H - kh + 1 rows and W - kw + 1 columns"
            )
        elif got.shape == (height - kh, width - kw):
            hint = "off by one: there are H - kh + 1 positions, so loop over range(H - kh + 1), not range(H - kh)"
        elif got.shape in ((height - kh + 2, width - kw + 2), (height - kh + 1 + 1, width - kw + 1 + 1)):
            hint = "off by one: there are H - kh + 1 positions, not H - kh + 2"
        elif got.shape == shape[::-1]:
            hint = "rows and columns are swapped: the output has H - kh + 1 ROWS and W - kw + 1 columns"
        elif got.shape == (height - kw + 1, width - kh + 1):
            hint = "kh and kw are swapped: kh, kw = kernel.shape (rows first); the output is (H - kh + 1, W - kw + 1)"
        else:
            hint = "the output has H - kh + 1 rows and W - kw + 1 columns"
        fail(f"{what} with shape {shape}", f"shape {got.shape}", hint, mistake="conv-wrong-shape")
    if not np.issubdtype(got.dtype, np.floating):
        hint = "return floats: the sums can be negative and fractional"
        if got.dtype == image.dtype:
            hint = (
                f"the output has the image's dtype {image.dtype}: np.zeros(..., dtype=image.dtype) or "
                "np.zeros_like(image) cannot hold negative or fractional sums. Use np.zeros((rows, cols)), float"
            )
        fail(f"{what} with a float dtype", f"dtype {got.dtype}", hint, mistake="conv-integer-dtype")
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-5):
        expect_close(
            got,
            expected,
            what=what,
            hint=_conv_hint(got, original_image, original_kernel),
            atol=1e-5,
            mistake="conv-wrong-values",
        )


def example_problems() -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Small (image, kernel, description) cases: non-square, asymmetric, uint8 and float images."""
    rng = np.random.default_rng(9)
    image = rng.integers(-4, 5, size=(6, 8)).astype(np.float64)
    edge = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])  # top edge, not symmetric
    skew = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, -2.0]])  # no symmetry at all
    tall = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])  # 3 x 2
    digit_like = np.zeros((7, 9), dtype=np.uint8)
    digit_like[2:5, 3:7] = 200
    digit_like[3, 4] = 90
    return [
        (image, skew, "conv2d_valid(image of shape (6, 8), an asymmetric 3 x 3 kernel)"),
        (image, edge, "conv2d_valid(image of shape (6, 8), a 3 x 3 edge filter)"),
        (image, tall, "conv2d_valid(image of shape (6, 8), a 3 x 2 kernel)"),
        (digit_like, edge, "conv2d_valid(a uint8 image of shape (7, 9), a 3 x 3 edge filter)"),
    ]


@guided
def check_conv2d_valid(fn) -> None:
    """Check ``conv2d_valid(image, kernel)``: valid cross-correlation, (H - kh + 1, W - kw + 1) floats."""
    for image, kernel, what in example_problems():
        _expect_conv(fn, image, kernel, what)
    passed(
        "conv2d_valid slides the kernel (unflipped) over every position where it fits: "
        "(H - kh + 1, W - kw + 1) floats, like Conv2D with padding='valid'."
    )
