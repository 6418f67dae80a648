"""Notebook 02's exercise: flatten_images, its usual mistakes and its contract."""

import numpy as np
from checks.harness import Exercise

from mnistlib.checks.reshaping import check_flatten_images


# The reference implementation: the same code as the notebook's solution (test_reference_is_the_solution).
def flatten_images(images):
    """Unfold images into rows of pixels scaled to [0, 1], ready for a dense network.

    images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).
    Returns a new float32 array of shape (n, 784), values pixel / 255 in [0, 1];
    row i is image i read row by row (row-major, like R keras' array_reshape).
    """
    flat = images.reshape(len(images), 28 * 28)
    return flat.astype(np.float32) / 255


def _rows(images):
    return images.reshape(len(images), 784)


def _reshape_in_place(images):
    images.shape = (len(images), 784)  # changes the caller's array
    return images.astype(np.float32) / 255


def _divide_in_place(images):
    flat = images.reshape(len(images), 784)  # a view: writing into it writes into the caller's images
    result = flat.astype(np.float32) / 255
    flat[:] = 0
    return result


FLATTEN_MISTAKES = {
    "no scaling": (lambda images: _rows(images).astype(np.float32), "divide by 255"),
    "divided by 256": (lambda images: _rows(images).astype(np.float32) / 256, "not 256"),
    "divided by max()": (
        lambda images: _rows(images).astype(np.float32) / images.max(),
        "not by images.max()",
    ),
    "divided by each image's max": (
        lambda images: _rows(images).astype(np.float32) / _rows(images).max(axis=1, keepdims=True),
        "not by images.max()",
    ),
    "order='F'": (
        lambda images: images.reshape(len(images), 784, order="F").astype(np.float32) / 255,
        "column-major",
    ),
    "transposed images": (
        lambda images: _rows(images.transpose(0, 2, 1)).astype(np.float32) / 255,
        "column-major",
    ),
    "float64": (lambda images: _rows(images) / 255, "float32"),
    "shape (784, n)": (lambda images: (_rows(images).astype(np.float32) / 255).T, "(784, n)"),
    "one long vector": (lambda images: images.reshape(-1).astype(np.float32) / 255, "one long vector"),
    "not reshaped": (lambda images: images.astype(np.float32) / 255, "not reshaped"),
    "integer division": (lambda images: _rows(images) // 255, "integer division"),
    "integer division, then float32": (
        lambda images: (_rows(images) // 255).astype(np.float32),
        "integer division",
    ),
    "uint8 kept": (lambda images: _rows(images).copy(), "not scaled"),
    "images.shape = ...": (_reshape_in_place, "in place"),
    "writes into the argument": (_divide_in_place, "in place"),
    "a list": (lambda images: (_rows(images).astype(np.float32) / 255).tolist(), "numpy array"),
}


EXERCISES = [
    Exercise(
        reference=flatten_images,
        check=check_flatten_images,
        answer_globals={"np": np},
        mistakes=FLATTEN_MISTAKES,
        variants={
            "divide by a float32 255, then reshape": lambda images: (
                (images / np.float32(255)).astype(np.float32).reshape(len(images), -1)
            ),
            "np.reshape with -1, times 1/255": lambda images: (
                np.reshape(images, (-1, 784)).astype(np.float32) * np.float32(1 / 255)
            ),
        },
        contract={
            "Unfold images into rows of pixels scaled to [0, 1], ready for a dense network.": [
                "no scaling",
                "not reshaped",
                "one long vector",
            ],
            "images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).": [
                "images.shape = ...",
                "writes into the argument",
            ],
            "Returns a new float32 array of shape (n, 784), values pixel / 255 in [0, 1]; row i is image i "
            "read row by row (row-major, like R keras' array_reshape).": [
                "float64",
                "divided by 256",
                "divided by max()",
                "integer division",
                "order='F'",
                "transposed images",
                "shape (784, n)",
                "a list",
            ],
        },
    ),
]
