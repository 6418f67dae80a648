"""Notebook 09's exercises: add_channel_axis, build_convnet and conv2d_valid, mistakes and contracts."""

import keras
import numpy as np
from checks.harness import Exercise

from mnistlib.checks import CheckFailed
from mnistlib.checks.going_further import (
    check_add_channel_axis,
    check_build_convnet,
    check_conv2d_valid,
    reference_conv2d_valid,
)


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
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
    "60000 images assumed": (
        lambda images: images.reshape(60000, 28, 28, 1).astype(np.float32) / 255,
        "not a fixed number such as 60000",
    ),
    "image by image with np.stack": (
        lambda images: np.stack([image[..., None] for image in images]).astype(np.float32) / 255,
        "no images at all (n = 0)",
    ),
}

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
    """The solution's layers, but the first one declares input_shape= instead of a keras.Input."""
    first = keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))
    return keras.Sequential([first, *build_convnet().layers[1:]])


def _compiled_convnet():
    model = _convnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


CONVNET_MISTAKES = {
    "a separate Softmax layer": (
        lambda: keras.Sequential(
            [keras.Input((28, 28, 1)), *_convnet(output=None).layers, keras.layers.Softmax()]
        ),
        "the softmax is a layer of its own",
    ),
    "a separate ReLU layer": (
        lambda: keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Conv2D(32, (3, 3)), keras.layers.ReLU()]
            + _convnet().layers[1:]
        ),
        "the relu is a layer of its own",
    ),
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


def _loops_one_short(image, kernel):
    rows, cols = _valid_size(image, kernel)
    out = np.zeros((rows, cols))
    out[: rows - 1, : cols - 1] = _loops(image, kernel, rows=rows - 1, cols=cols - 1)  # range(H - kh)
    return out


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
    "mean instead of sum": (
        lambda image, kernel: _loops(
            image,
            kernel,
            rows=_valid_size(image, kernel)[0],
            cols=_valid_size(image, kernel)[1],
            product=lambda window, k: np.mean(window * k),
        ),
        "MEAN of each window",
    ),
    "loops one short": (_loops_one_short, "loops stop one position short"),
    "output with the image's dtype": (_uint8_output, "image's dtype"),
    "a list": (lambda image, kernel: conv2d_valid(image, kernel).tolist(), "numpy array"),
}


EXERCISES = [
    Exercise(
        reference=add_channel_axis,
        check=check_add_channel_axis,
        answer_globals={"np": np},
        mistakes=CHANNEL_MISTAKES,
        visible_only=frozenset({"image by image with np.stack"}),  # the hidden tests have no empty batch
        hidden_errors=(CheckFailed, ValueError),  # reshape(60000, ...) fails there with numpy's own error
        variants={
            "expand_dims(images, -1), float32 255": lambda images: (
                np.expand_dims(images, -1).astype(np.float32) / np.float32(255)
            ),
            "reshape to (n, 28, 28, 1)": lambda images: (
                images.reshape(len(images), 28, 28, 1) / np.float32(255)
            ),
        },
        contract={
            "Prepare grayscale images for Conv2D: add a last channel axis and scale to [0, 1].": [
                "no scaling",
                "no channel axis",
                "channels first",
            ],
            "images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).": [
                "reshaped in place",
                "60000 images assumed",
                "image by image with np.stack",
            ],
            "Returns a new float32 array of shape (n, 28, 28, 1) (channels last), values pixel / 255 in "
            "[0, 1].": ["float64", "integer division", "divided by 256", "expand_dims(images, 0)", "a list"],
        },
    ),
    Exercise(
        reference=build_convnet,
        check=check_build_convnet,
        answer_globals={"keras": keras},
        mistakes=CONVNET_MISTAKES,
        variants={"kernel_size=3 means 3 x 3": lambda: _convnet(kernel=3, pool=2)},
        contract={
            "The notebook's convnet, uncompiled: (n, 28, 28, 1) images -> (n, 10) digit probabilities.": [
                "compiled already",
                "channels-first input",
                "no softmax",
                "a separate Softmax layer",
            ],
            "Input (28, 28, 1) -> Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Conv2D 64 3x3 relu -> MaxPooling2D "
            "2x2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax.": [
                "no Input",
                "input_shape=",
                "filters swapped",
                "no relu",
                "padding same",
                "3 x 3 pooling",
                "one pooling layer missing",
                "no Flatten",
                "dropout 0.25",
                "no dropout",
                "a separate ReLU layer",
            ],
            "Returns a keras.Sequential with 34,826 parameters.": [
                "5 x 5 kernels",
                "an extra Dense layer",
                "returns nothing",
            ],
        },
    ),
    Exercise(
        reference=conv2d_valid,
        check=check_conv2d_valid,
        answer_globals={"np": np},
        mistakes=CONV_MISTAKES,
        variants={"the check's own reference": reference_conv2d_valid},
        contract={
            'Slide kernel over image ("valid" positions only) and return the feature map.': [
                "'same' output size",
                "off by one",
                "loops one short",
            ],
            "image: array of shape (H, W), any numeric dtype (e.g. uint8 pixels or floats).": [
                "output with the image's dtype",
                "output transposed",
            ],
            "kernel: array of shape (kh, kw) with kh <= H and kw <= W.": [
                "square kernel assumed",
                "kernel transposed",
            ],
            "Returns a new float array of shape (H - kh + 1, W - kw + 1) where out[i, j] = "
            "sum(image[i:i+kh, j:j+kw] * kernel) (cross-correlation, kernel not flipped).": [
                "flipped kernel (true convolution)",
                "matrix product",
                "a list",
                "mean instead of sum",
            ],
        },
    ),
]
