"""Notebook 01's checks and hidden tests tell the right get_digit / label_counts from the usual mistakes."""

from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell, run_hidden_tests, run_test_cell, same_function

from mnistlib.checks import CheckFailed
from mnistlib.checks.loading_data import check_get_digit, check_label_counts, example_images

NOTEBOOK = (
    Path(__file__).resolve().parents[1] / "course" / "source" / "01-loading-data" / "01-loading-data.ipynb"
)


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
def get_digit(images, n):
    """The n-th image of ``images``, counting from 1 as R does.

    images: array of shape (count, 28, 28), uint8 pixels 0-255.
    n: a position counting from 1: 1 is the first image, len(images) the last.
    Returns the (28, 28) image ``images[n - 1]``.
    Raises IndexError when n < 1 or n > len(images).
    """
    if n < 1 or n > len(images):
        raise IndexError(f"there is no image number {n}: counting from 1, n must be from 1 to {len(images)}")
    return images[n - 1]


def label_counts(labels):
    """How many times each digit 0-9 occurs in ``labels``.

    labels: array of shape (n,) with whole numbers 0-9 (any integer dtype, e.g. uint8).
    Returns an integer array of shape (10,): element d is the number of labels equal to d
    (0 for digits that do not occur).
    """
    return np.bincount(labels, minlength=10)


def _checked(pick):
    """A get_digit that rejects bad n correctly but picks the image with ``pick(images, n)``."""

    def get_digit(images, n):
        if n < 1 or n > len(images):
            raise IndexError(f"no image {n}")
        return pick(images, n)

    return get_digit


GET_DIGIT_MISTAKES = {
    "images[n]": (lambda images, n: images[n], "count from 1"),
    "images[n] checked": (
        _checked(lambda images, n: images[n] if n < len(images) else images[0]),
        "count from 1",
    ),
    "images[n - 2]": (_checked(lambda images, n: images[n - 2]), "off by one"),
    "images[:, n - 1]": (_checked(lambda images, n: images[:, n - 1]), "wrong axis"),
    "transposed": (_checked(lambda images, n: images[n - 1].T), "transposed"),
    "no check for n < 1": (lambda images, n: images[n - 1], "negative index"),
    "no check at all on the low side": (
        lambda images, n: images[n - 1] if n <= len(images) else None,
        "negative index",
    ),
    "no check for n > len": (
        lambda images, n: images[min(n, len(images)) - 1] if n >= 1 else images[999],
        "n > len(images)",
    ),
    "a list": (_checked(lambda images, n: images[n - 1].tolist()), "numpy array"),
    "not written": (lambda images, n: (_ for _ in ()).throw(NotImplementedError()), "not written yet"),
}

LABEL_COUNTS_MISTAKES = {
    "np.unique counts": (lambda labels: np.unique(labels, return_counts=True)[1], "np.unique"),
    "bincount without minlength": (lambda labels: np.bincount(labels), "minlength=10"),
    "a list": (lambda labels: [int(np.sum(labels == d)) for d in range(10)], "numpy array"),
    "floats": (lambda labels: np.bincount(labels, minlength=10).astype(float), "whole numbers"),
    "nine digits": (lambda labels: np.array([np.sum(labels == d) for d in range(9)]), "length 10"),
    "shifted by one": (lambda labels: np.array([np.sum(labels == d) for d in range(1, 11)]), "index d"),
}


def _fancy_counts(labels):
    counts = np.zeros(10, dtype=int)
    counts[labels] += 1  # adds 1 once per distinct label: the classic mistake
    return counts


def _float_loop_counts(labels):
    counts = np.zeros(10)
    for label in labels:
        counts[label] += 1
    return counts


def _counts_in_labels_dtype(labels):
    counts = np.zeros(10, dtype=labels.dtype)  # uint8 for MNIST's labels: at most 255
    np.add.at(counts, labels, 1)
    return counts


LABEL_COUNTS_MISTAKES["counts in the labels' dtype"] = (_counts_in_labels_dtype, "wrapped around")
LABEL_COUNTS_MISTAKES["counts[labels] += 1"] = (_fancy_counts, "at most once")
LABEL_COUNTS_MISTAKES["np.zeros(10) loop"] = (_float_loop_counts, "np.zeros(10, dtype=int)")


def test_reference_is_the_solution():
    assert same_function(get_digit, NOTEBOOK)
    assert same_function(label_counts, NOTEBOOK)


def test_checks_pass_on_the_solution(capsys):
    check_get_digit(get_digit)
    check_label_counts(label_counts)
    assert capsys.readouterr().out.count("\u2714") == 2


def test_checks_pass_on_the_notebook_answer_cells():
    check_get_digit(run_answer_cell(NOTEBOOK, "get_digit", np=np)["get_digit"])
    check_label_counts(run_answer_cell(NOTEBOOK, "label_counts", np=np)["label_counts"])


def test_acceptable_variants_pass():
    check_get_digit(_checked(lambda images, n: images[n - 1].copy()))  # a copy is fine
    check_get_digit(_checked(lambda images, n: np.array(images[n - 1, :, :])))
    check_label_counts(lambda labels: np.array([np.count_nonzero(labels == d) for d in range(10)]))
    check_label_counts(lambda labels: np.bincount(labels, minlength=10).astype(np.int32))


def test_get_digit_matches_r_and_raises_a_clear_error():
    images = example_images()
    assert np.array_equal(get_digit(images, 1), images[0])
    assert np.array_equal(get_digit(images, len(images)), images[-1])
    for n in (0, -1, len(images) + 1):
        with pytest.raises(IndexError, match=rf"no image number {n}: counting from 1, n must be from 1 to 7"):
            get_digit(images, n)


@pytest.mark.parametrize("name", GET_DIGIT_MISTAKES)
def test_check_get_digit_names_the_mistake(name):
    wrong, hint = GET_DIGIT_MISTAKES[name]
    with pytest.raises(CheckFailed, match=hint.replace("(", r"\(").replace(")", r"\)")):
        check_get_digit(wrong)


@pytest.mark.parametrize("name", LABEL_COUNTS_MISTAKES)
def test_check_label_counts_names_the_mistake(name):
    wrong, hint = LABEL_COUNTS_MISTAKES[name]
    with pytest.raises(CheckFailed) as failure:
        check_label_counts(wrong)
    assert hint in str(failure.value)


def test_label_counts_keeps_missing_digits():
    assert label_counts(np.array([0, 0, 1], dtype=np.uint8)).tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert label_counts(np.array([], dtype=np.uint8)).tolist() == [0] * 10


def test_notebook_test_cells_pass_on_the_solution():
    run_test_cell(NOTEBOOK, "test_get_digit", get_digit=get_digit)
    run_test_cell(NOTEBOOK, "test_label_counts", label_counts=label_counts)


@pytest.mark.parametrize("name", [n for n in GET_DIGIT_MISTAKES if n != "not written"])
def test_notebook_hidden_tests_fail_on_get_digit_mistakes(name):
    wrong, _ = GET_DIGIT_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_get_digit", get_digit=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_get_digit", get_digit=wrong)


@pytest.mark.parametrize("name", LABEL_COUNTS_MISTAKES)
def test_notebook_hidden_tests_fail_on_label_counts_mistakes(name):
    wrong, _ = LABEL_COUNTS_MISTAKES[name]
    with pytest.raises(CheckFailed):
        run_test_cell(NOTEBOOK, "test_label_counts", label_counts=wrong)
    with pytest.raises(CheckFailed):
        run_hidden_tests(NOTEBOOK, "test_label_counts", label_counts=wrong)
