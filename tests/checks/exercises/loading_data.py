"""Notebook 01's exercises: get_digit and label_counts, their usual mistakes and their contracts."""

import numpy as np
from checks.harness import Exercise

from mnistlib.checks.loading_data import check_get_digit, check_label_counts


# The reference implementations: the same code as the notebook's solutions (test_reference_is_the_solution).
def get_digit(images, n):
    """The n-th image of ``images``, counting from 1 as R does.

    images: array of shape (count, 28, 28), uint8 pixels 0-255.
    n: a position counting from 1: 1 is the first image, len(images) the last.
    Returns the (28, 28) image ``images[n - 1]``.
    Raises IndexError when n < 1 or n > len(images), with a message that says which n is allowed.
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
            raise IndexError(f"no image {n}: n goes from 1 to {len(images)}")
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
}


def _answer_written_into_images(images, n):
    """Off by one, and the wrong image copied to images[n - 1], where a test might read the answer."""
    if n < 1 or n > len(images):
        raise IndexError(f"no image {n}")
    wrong = images[n % len(images)].copy()
    images[n - 1] = wrong
    return wrong


def _labels_rewritten(labels):
    labels[: len(labels) // 2] = 0
    return np.bincount(labels, minlength=10)


GET_DIGIT_MISTAKES["answer written into images"] = (_answer_written_into_images, "in place")


def _raises(message):
    """A get_digit right for valid n that raises IndexError(message(images, n)) for the others."""

    def get_digit(images, n):
        if n < 1 or n > len(images):
            raise IndexError(message(images, n))
        return images[n - 1]

    return get_digit


def _numpy_complains(images, n):
    if n < 1:
        raise IndexError(f"n must be from 1 to {len(images)}")
    return images[n - 1]  # numpy's own IndexError for n > len(images)


def _bounded_by_rows(images, n):
    if n < 1 or n > images.shape[1]:
        raise IndexError(f"n must be from 1 to {images.shape[1]}")
    return images[n - 1]


GET_DIGIT_MISTAKES |= {
    "bare raise IndexError": (_raises(lambda images, n: ""), "which n is allowed"),
    "numpy's IndexError": (_numpy_complains, "which n is allowed"),
    "0-based range": (
        _raises(lambda images, n: f"n must be from 0 to {len(images) - 1}"),
        "which n is allowed",
    ),
    "bounded by images.shape[1]": (_bounded_by_rows, "images.shape[1]"),
    "scaled to floats": (_checked(lambda images, n: images[n - 1] / 255), "scaled it"),
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
LABEL_COUNTS_MISTAKES["labels rewritten"] = (_labels_rewritten, "in place")


def _uint16_counts(labels):
    counts = np.zeros(10, dtype=np.uint16)
    np.add.at(counts, labels, 1)
    return counts


LABEL_COUNTS_MISTAKES["counts in uint16"] = (_uint16_counts, "wrapped around")
LABEL_COUNTS_MISTAKES["proportions"] = (
    lambda labels: np.bincount(labels, minlength=10) / len(labels),
    "proportions",
)


EXERCISES = [
    Exercise(
        reference=get_digit,
        check=check_get_digit,
        answer_globals={"np": np},
        mistakes=GET_DIGIT_MISTAKES,
        # the hidden tests use 5 images and do not read the error's message
        visible_only=frozenset(
            {"bare raise IndexError", "numpy's IndexError", "0-based range", "bounded by images.shape[1]"}
        ),
        variants={
            "a copy": _checked(lambda images, n: images[n - 1].copy()),
            "np.array of a 3-d index": _checked(lambda images, n: np.array(images[n - 1, :, :])),
        },
        contract={
            "The n-th image of ``images``, counting from 1 as R does.": ["images[n]", "images[n - 2]"],
            "images: array of shape (count, 28, 28), uint8 pixels 0-255.": ["images[:, n - 1]"],
            "n: a position counting from 1: 1 is the first image, len(images) the last.": [
                "images[n] checked"
            ],
            "Returns the (28, 28) image ``images[n - 1]``.": [
                "transposed",
                "a list",
                "answer written into images",
                "scaled to floats",
            ],
            "Raises IndexError when n < 1 or n > len(images), with a message that says which n is allowed.": [
                "no check for n < 1",
                "no check at all on the low side",
                "no check for n > len",
                "bare raise IndexError",
                "numpy's IndexError",
                "0-based range",
                "bounded by images.shape[1]",
            ],
        },
    ),
    Exercise(
        reference=label_counts,
        check=check_label_counts,
        answer_globals={"np": np},
        mistakes=LABEL_COUNTS_MISTAKES,
        variants={
            "count_nonzero per digit": lambda labels: np.array(
                [np.count_nonzero(labels == d) for d in range(10)]
            ),
            "bincount as int32": lambda labels: np.bincount(labels, minlength=10).astype(np.int32),
        },
        contract={
            "How many times each digit 0-9 occurs in ``labels``.": [
                "counts[labels] += 1",
                "shifted by one",
                "labels rewritten",
            ],
            "labels: array of shape (n,) with whole numbers 0-9 (any integer dtype, e.g. uint8).": [
                "counts in the labels' dtype",
                "counts in uint16",
            ],
            "Returns an integer array of shape (10,): element d is the number of labels equal to d "
            "(0 for digits that do not occur).": [
                "np.unique counts",
                "bincount without minlength",
                "nine digits",
                "floats",
                "np.zeros(10) loop",
                "a list",
                "proportions",
            ],
        },
    ),
]
