"""Notebook 02's check and hidden tests tell the right flatten_images from the usual mistakes."""

from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.reshaping import check_flatten_images, example_images

NOTEBOOK = Path(__file__).resolve().parents[1] / "course" / "source" / "02-reshaping" / "02-reshaping.ipynb"


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


def test_reference_is_the_solution():
    assert same_function(flatten_images, NOTEBOOK)


def test_check_passes_on_the_solution(capsys):
    check_flatten_images(flatten_images)
    check_flatten_images(run_answer_cell(NOTEBOOK, "flatten_images", np=np)["flatten_images"])
    assert capsys.readouterr().out.count("\u2714") == 2


def test_acceptable_variants_pass():
    check_flatten_images(
        lambda images: (images / np.float32(255)).astype(np.float32).reshape(len(images), -1)
    )
    check_flatten_images(
        lambda images: np.reshape(images, (-1, 784)).astype(np.float32) * np.float32(1 / 255)
    )


def test_solution_is_row_major_scaled_float32_and_leaves_input_alone():
    images = example_images(2)
    before = images.copy()
    flat = flatten_images(images)
    assert flat.shape == (2, 784) and flat.dtype == np.float32
    assert flat[0, 28] == np.float32(images[0, 1, 0]) / 255  # pixel 28 is row 1, column 0
    assert flat.max() == 1.0 and flat.min() == 0.0
    assert np.array_equal(images, before) and images.dtype == np.uint8


@pytest.mark.parametrize("name", FLATTEN_MISTAKES)
def test_check_names_the_mistake(name):
    wrong, hint = FLATTEN_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_flatten_images(wrong)
    assert hint in str(failure.value)


def test_notebook_test_cell_passes_on_the_solution():
    run_test_cell(NOTEBOOK, "test_flatten_images", flatten_images=flatten_images)


@pytest.mark.parametrize("name", FLATTEN_MISTAKES)
def test_notebook_hidden_tests_fail_on_the_mistake(name):
    wrong, _ = FLATTEN_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_flatten_images", flatten_images=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_flatten_images", flatten_images=wrong)
