"""Notebook 09's checks and hidden tests tell the right code from the usual mistakes.

Three exercises: ``add_channel_axis`` (images for Conv2D), ``build_convnet`` (the notebook's
convnet) and ``conv2d_valid`` (one channel, one filter, compared with Keras' own Conv2D).
"""

from pathlib import Path

import keras
import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.going_further import (
    PARAMETERS,
    check_add_channel_axis,
    check_build_convnet,
    check_conv2d_valid,
    example_images,
    example_problems,
    reference_conv2d_valid,
)

NOTEBOOK = (
    Path(__file__).resolve().parents[1] / "course" / "source" / "09-going-further" / "09-going-further.ipynb"
)


# ---- the reference implementations: the same code as the notebook's solutions (test_references_are_...)
def add_channel_axis(images):
    """Prepare grayscale images for Conv2D: add a last channel axis and scale to [0, 1].

    images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).
    Returns a new float32 array of shape (n, 28, 28, 1) (channels last), values pixel / 255 in [0, 1].
    """
    return images[..., np.newaxis].astype(np.float32) / 255


def build_convnet():
    """The notebook's convnet, uncompiled: (n, 28, 28, 1) images -> (n, 10) digit probabilities.

    Input (28, 28, 1) -> Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Conv2D 64 3x3 relu
    -> MaxPooling2D 2x2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax.
    Returns a keras.Sequential with 34,826 parameters.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def conv2d_valid(image, kernel):
    """Slide kernel over image ("valid" positions only) and return the feature map.

    image: array of shape (H, W), any numeric dtype (e.g. uint8 pixels or floats).
    kernel: array of shape (kh, kw) with kh <= H and kw <= W.
    Returns a new float array of shape (H - kh + 1, W - kw + 1) where
    out[i, j] = sum(image[i:i+kh, j:j+kw] * kernel) (cross-correlation, kernel not flipped).
    """
    kh, kw = kernel.shape
    rows = image.shape[0] - kh + 1
    cols = image.shape[1] - kw + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


# ------------------------------------------------------------------------------------ add_channel_axis


def _reshape_in_place(images):
    images.shape = (*images.shape, 1)  # changes the caller's array
    return images.astype(np.float32) / 255


CHANNEL_MISTAKES = {
    "no scaling": (lambda images: images[..., None].astype(np.float32), "divide by 255"),
    "channels first": (lambda images: images[:, None].astype(np.float32) / 255, "channel axis is FIRST"),
    "expand_dims(images, 0)": (
        lambda images: np.expand_dims(images, 0).astype(np.float32) / 255,
        "in front of the batch",
    ),
    "no channel axis": (lambda images: images.astype(np.float32) / 255, "no channel axis"),
    "flattened": (
        lambda images: images.reshape(len(images), 784).astype(np.float32) / 255,
        "do not flatten",
    ),
    "float64": (lambda images: images[..., None] / 255, "float32"),
    "integer division": (lambda images: images[..., None] // 255, "integer division"),
    "divided by 256": (lambda images: images[..., None].astype(np.float32) / 256, "not 256"),
    "divided by max()": (
        lambda images: images[..., None].astype(np.float32) / images.max(),
        "not by images.max()",
    ),
    "transposed": (
        lambda images: images.transpose(0, 2, 1)[..., None].astype(np.float32) / 255,
        "transposed",
    ),
    "reshaped in place": (_reshape_in_place, "in place"),
    "a list": (lambda images: (images[..., None].astype(np.float32) / 255).tolist(), "numpy array"),
}


def test_add_channel_axis_reference_is_the_solution():
    assert same_function(add_channel_axis, NOTEBOOK)


def test_add_channel_axis_check_passes_on_the_solution(capsys):
    check_add_channel_axis(add_channel_axis)
    check_add_channel_axis(run_answer_cell(NOTEBOOK, "add_channel_axis", np=np)["add_channel_axis"])
    check_add_channel_axis(lambda images: np.expand_dims(images, -1).astype(np.float32) / np.float32(255))
    check_add_channel_axis(lambda images: images.reshape(len(images), 28, 28, 1) / np.float32(255))
    assert capsys.readouterr().out.count("\u2714") == 4


def test_add_channel_axis_solution_is_channels_last_and_leaves_input_alone():
    images = example_images(2)
    before = images.copy()
    got = add_channel_axis(images)
    assert got.shape == (2, 28, 28, 1) and got.dtype == np.float32
    assert got[1, 10, 20, 0] == 1.0 and got[0, 3, 4, 0] == np.float32(images[0, 3, 4]) / 255
    assert np.array_equal(images, before)


@pytest.mark.parametrize("name", CHANNEL_MISTAKES)
def test_add_channel_axis_check_names_the_mistake(name):
    wrong, hint = CHANNEL_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_add_channel_axis(wrong)
    assert hint in str(failure.value)


# ---------------------------------------------------------------------------------------- build_convnet


def _convnet(
    *,
    filters=(32, 64),
    kernel=(3, 3),
    activation="relu",
    padding="valid",
    pool=(2, 2),
    rate=0.5,
    output="softmax",
    flatten=True,
    pools=(True, True),
    extra_dense=False,
    input_shape=(28, 28, 1),
):
    """The notebook's convnet with one thing changed (a mistake learners make); input_shape None: no Input."""
    layers = [] if input_shape is None else [keras.Input(input_shape)]
    for n_filters, with_pool in zip(filters, pools, strict=True):
        layers.append(keras.layers.Conv2D(n_filters, kernel, activation=activation, padding=padding))
        if with_pool:
            layers.append(keras.layers.MaxPooling2D(pool))
    if flatten:
        layers.append(keras.layers.Flatten())
    if extra_dense:
        layers.append(keras.layers.Dense(128, activation="relu"))
    if rate:
        layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(10, activation=output))
    return keras.Sequential(layers)


def _with_input_shape():
    return keras.Sequential(
        [
            keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _compiled_convnet():
    model = _convnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


CONVNET_MISTAKES = {
    "no Flatten": (lambda: _convnet(flatten=False), "Flatten is missing"),
    "one pooling layer missing": (lambda: _convnet(pools=(True, False)), "MaxPooling2D((2, 2)) after EACH"),
    "filters swapped": (lambda: _convnet(filters=(64, 32)), "swapped"),
    "5 x 5 kernels": (lambda: _convnet(kernel=(5, 5)), "3 x 3 kernels"),
    "no relu": (lambda: _convnet(activation=None), "activation='relu'"),
    "padding same": (lambda: _convnet(padding="same"), "padding='valid'"),
    "3 x 3 pooling": (lambda: _convnet(pool=(3, 3)), "2 x 2"),
    "no softmax": (lambda: _convnet(output=None), "softmax"),
    "dropout 0.25": (lambda: _convnet(rate=0.25), "0.5"),
    "no dropout": (lambda: _convnet(rate=0), "Dropout(0.5) is missing"),
    "an extra Dense layer": (lambda: _convnet(extra_dense=True), "ONE Dense layer"),
    "input_shape=": (_with_input_shape, "input_shape="),
    "no Input": (lambda: _convnet(input_shape=None), "no input declared"),
    "channels-first input": (lambda: _convnet(input_shape=(1, 28, 28)), "channels go LAST"),
    "returns nothing": (lambda: None, "keras.Sequential"),
    "compiled already": (_compiled_convnet, "leave model.compile(...) out"),
}


def test_build_convnet_reference_is_the_solution():
    assert same_function(build_convnet, NOTEBOOK)


def test_build_convnet_check_passes_on_the_solution(capsys):
    check_build_convnet(build_convnet)
    check_build_convnet(run_answer_cell(NOTEBOOK, "build_convnet", keras=keras)["build_convnet"])
    check_build_convnet(lambda: _convnet(kernel=3, pool=2))  # kernel_size=3 means 3 x 3
    assert capsys.readouterr().out.count("\u2714") == 3


def test_build_convnet_solution_has_the_taught_shapes_and_far_fewer_parameters_than_network_1():
    model = build_convnet()
    assert model.count_params() == PARAMETERS == 34_826
    assert [tuple(layer.output.shape) for layer in model.layers][::2] == [
        (None, 26, 26, 32),
        (None, 11, 11, 64),
        (None, 1600),
        (None, 10),
    ]
    network_1 = (784 * 784 + 784) + (784 * 512 + 512) + (512 * 10 + 10)
    assert network_1 == 1_022_490 and network_1 > 29 * PARAMETERS


@pytest.mark.parametrize("name", CONVNET_MISTAKES)
def test_build_convnet_check_names_the_mistake(name):
    wrong, hint = CONVNET_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_build_convnet(wrong)
    assert hint in str(failure.value)


# ----------------------------------------------------------------------------------------- conv2d_valid


def _loops(image, kernel, *, rows, cols, product=lambda window, kernel: np.sum(window * kernel), dtype=float):
    kh, kw = kernel.shape
    out = np.zeros((rows, cols), dtype=dtype)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = product(image[i : i + kh, j : j + kw], kernel)
    return out


def _valid_size(image, kernel):
    return image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1


def _flipped(image, kernel):
    rows, cols = _valid_size(image, kernel)
    return _loops(image, kernel[::-1, ::-1], rows=rows, cols=cols)


def _same_size(image, kernel):
    kh, kw = kernel.shape
    padded = np.pad(image.astype(float), ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)))
    return _loops(padded, kernel, rows=image.shape[0], cols=image.shape[1])


def _off_by_one(image, kernel):
    rows, cols = _valid_size(image, kernel)
    return _loops(image, kernel, rows=rows - 1, cols=cols - 1)


def _square_assumed(image, kernel):
    k = kernel.shape[0]
    rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(image[i : i + k, j : j + k] * kernel)
    return out


def _uint8_output(image, kernel):
    rows, cols = _valid_size(image, kernel)
    with np.errstate(all="ignore"):
        return _loops(image, kernel, rows=rows, cols=cols, dtype=image.dtype)


CONV_MISTAKES = {
    "flipped kernel (true convolution)": (_flipped, "flipped"),
    "'same' output size": (_same_size, "'same' size"),
    "off by one": (_off_by_one, "off by one"),
    "output transposed": (
        lambda image, kernel: conv2d_valid(image, kernel).T,
        "rows and columns are swapped",
    ),
    "kernel transposed": (lambda image, kernel: conv2d_valid(image, kernel.T), "kernel is transposed"),
    "matrix product": (
        lambda image, kernel: _loops(
            image,
            kernel,
            rows=_valid_size(image, kernel)[0],
            cols=_valid_size(image, kernel)[1],
            product=lambda window, k: np.sum(window @ k),
        ),
        "ELEMENT BY ELEMENT",
    ),
    "square kernel assumed": (_square_assumed, "need not be square"),
    "output with the image's dtype": (_uint8_output, "image's dtype"),
    "a list": (lambda image, kernel: conv2d_valid(image, kernel).tolist(), "numpy array"),
}


def test_conv2d_valid_reference_is_the_solution():
    assert same_function(conv2d_valid, NOTEBOOK)


def test_conv2d_valid_check_passes_on_the_solution(capsys):
    check_conv2d_valid(conv2d_valid)
    check_conv2d_valid(run_answer_cell(NOTEBOOK, "conv2d_valid", np=np)["conv2d_valid"])
    check_conv2d_valid(reference_conv2d_valid)
    assert capsys.readouterr().out.count("\u2714") == 3


def _keras_conv2d(image, kernel):
    """Keras' own Conv2D, one filter, no bias, padding 'valid', with ``kernel`` as its weights."""
    kh, kw = kernel.shape
    layer = keras.layers.Conv2D(1, (kh, kw), use_bias=False, padding="valid")
    layer.build((1, *image.shape, 1))
    layer.set_weights([kernel.reshape(kh, kw, 1, 1).astype(np.float32)])
    result = layer(image.reshape(1, *image.shape, 1).astype(np.float32))
    return keras.ops.convert_to_numpy(result)[0, :, :, 0]


def test_conv2d_valid_is_what_keras_conv2d_computes():
    rng = np.random.default_rng(5)
    problems = [(image, kernel) for image, kernel, _ in example_problems()]
    problems.append((rng.normal(size=(28, 28)), rng.normal(size=(3, 3))))
    problems.append((rng.normal(size=(11, 6)), rng.normal(size=(4, 2))))
    for image, kernel in problems:
        keras_result = _keras_conv2d(image, kernel)
        np.testing.assert_allclose(conv2d_valid(image, kernel), keras_result, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(reference_conv2d_valid(image, kernel), keras_result, rtol=1e-4, atol=1e-4)


def test_conv2d_valid_check_uses_asymmetric_kernels_and_non_square_images():
    for image, kernel, _ in example_problems():
        assert image.shape[0] != image.shape[1]
        if kernel.shape[0] == kernel.shape[1]:
            assert not np.array_equal(kernel, kernel[::-1, ::-1])
    assert any(kernel.shape[0] != kernel.shape[1] for _, kernel, _ in example_problems())
    assert any(image.dtype == np.uint8 for image, _, _ in example_problems())


@pytest.mark.parametrize("name", CONV_MISTAKES)
def test_conv2d_valid_check_names_the_mistake(name):
    wrong, hint = CONV_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_conv2d_valid(wrong)
    assert hint in str(failure.value)


# ------------------------------------------------------------------------- the notebook's own test cells

SOLUTIONS = {
    "add_channel_axis": add_channel_axis,
    "build_convnet": build_convnet,
    "conv2d_valid": conv2d_valid,
}
MISTAKES = {
    "add_channel_axis": CHANNEL_MISTAKES,
    "build_convnet": CONVNET_MISTAKES,
    "conv2d_valid": CONV_MISTAKES,
}


@pytest.mark.parametrize("function", SOLUTIONS)
def test_notebook_test_cell_passes_on_the_solution(function):
    run_test_cell(NOTEBOOK, f"test_{function}", **{function: SOLUTIONS[function]})
    run_hidden_tests(NOTEBOOK, f"test_{function}", **{function: SOLUTIONS[function]})


@pytest.mark.parametrize(
    ("function", "name"), [(function, name) for function, cases in MISTAKES.items() for name in cases]
)
def test_notebook_hidden_tests_fail_on_the_mistake(function, name):
    wrong, _ = MISTAKES[function][name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, f"test_{function}", **{function: wrong})
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, f"test_{function}", **{function: wrong})
