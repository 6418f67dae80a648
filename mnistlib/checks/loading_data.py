"""Visible checks for notebook 01, loading the data: ``get_digit`` and ``label_counts``.

Each check calls the learner's function on a small made-up stack of images or
labels (and, for the counts, on 60,000 labels like the full training set),
compares with what is expected and, when something is off, names the likely
mistake (counting from 0 instead of 1, the wrong axis, digits missing from the
counts, floats instead of whole numbers, counts in a dtype that wraps past 255).
"""

from __future__ import annotations

import re

import numpy as np

from . import CheckFailed, call, describe, expect_array, expect_equal, fail, guided, passed

__all__ = ["check_get_digit", "check_label_counts"]

N_IMAGES = 7  # not 28, so that a slice along the wrong axis has a different shape


def example_images(n: int = N_IMAGES) -> np.ndarray:
    """``n`` distinct made-up "digits": uint8, shape (n, 28, 28); image i holds only values from i's band.

    Every image is different and not symmetric, so the check can tell which
    image (or which transposed image) a function returned.
    """
    rows, cols = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    images = [(10 * i + (rows * 3 + cols) % 10).astype(np.uint8) for i in range(n)]
    return np.stack(images)


def numbered_images(n: int) -> np.ndarray:
    """``n`` distinct uint8 images (n up to 65,536): image k has k written in its first two pixels."""
    images = np.tile(example_images(1), (n, 1, 1))
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
    return images


def _which_image(got: np.ndarray, images: np.ndarray) -> int | None:
    """The 0-based index of the image ``got`` equals, or None."""
    for k, image in enumerate(images):
        if got.shape == image.shape and np.array_equal(got, image):
            return k
    return None


def _expect_digit(fn, images: np.ndarray, n: int) -> None:
    """``fn(images, n)`` must be ``images[n - 1]``; explain the usual mistakes otherwise."""
    try:
        got = call(fn, images, n, name="get_digit")
    except IndexError as error:
        hint = (
            f"n = {n} is a valid position when counting from 1. The n-th image counting from 1 "
            "is at Python index n - 1; images[n] runs off the end for the last one."
        )
        if n > images.shape[1]:
            hint = (
                f"n = {n} is a valid position: there are {len(images)} images. Is your upper bound "
                f"images.shape[1]? That is {images.shape[1]}, the height of one image; the number of images "
                "is len(images), images.shape[0]"
            )
        fail(
            f"get_digit(images, {n}) to return images[{n - 1}] (there are {len(images)} images)",
            f"IndexError: {error}",
            hint,
            mistake="valid-n-rejected",
        )
    what = f"get_digit(images, {n})"
    if isinstance(got, np.ndarray) and got.shape == (len(images), 28):
        fail(
            f"{what} with shape (28, 28), one whole image",
            f"shape {got.shape}",
            "that is the wrong axis: images[:, k] takes row k of every image. "
            "The first index chooses the image: images[n - 1].",
            mistake="wrong-axis",
        )
    got = expect_array(got, shape=(28, 28), what=what)
    k = _which_image(got, images)
    if k == n - 1:
        if got.dtype != images.dtype:
            fail(
                f"{what} with dtype {images.dtype}, as stored",
                f"dtype {got.dtype}",
                "return the image as it is",
                mistake="returned-a-copy",
            )
        return
    if k is not None:
        if k == n:
            hint = (
                "off by one: you returned the next image. R and this exercise count from 1, Python from 0, "
            )
            hint += "so the n-th image is images[n - 1], not images[n]."
        elif k == n - 2 or (n == 1 and k == len(images) - 1):
            hint = (
                "off by one: you returned the image before. The n-th image counting from 1 is images[n - 1]."
            )
        else:
            hint = f"you returned images[{k}]; the n-th image counting from 1 is images[n - 1]."
        fail(f"{what} = images[{n - 1}]", f"images[{k}]", hint, mistake="wrong-image")
    if _which_image(got.T, images) == n - 1:
        fail(
            f"{what} = images[{n - 1}]",
            "that image transposed",
            "return the image as stored, without .T",
            mistake="transposed",
        )
    right = images[n - 1].astype(np.float64)
    if np.issubdtype(got.dtype, np.number) and any(
        np.allclose(got, scaled, atol=1e-6) for scaled in (right / 255, right / right.max())
    ):
        fail(
            f"{what} = images[{n - 1}], uint8 pixels 0-255 as stored",
            f"that image scaled to 0-1 ({describe(got)})",
            "you picked the right image, then scaled it: get_digit returns the image as it is stored "
            "(dividing by 255 comes in notebook 02, for the whole data set at once)",
            mistake="scaled",
        )
    fail(
        f"{what} = images[{n - 1}]",
        describe(got),
        "the n-th image counting from 1 is images[n - 1]",
        mistake="counted-from-zero",
    )


def _expect_allowed_range(message: str, n: int, count: int) -> None:
    """The IndexError's message for ``n`` says which n is allowed: from 1 to ``count``."""
    if not (re.search(r"\b1\b", message) and re.search(rf"\b{count}\b", message)):
        fail(
            f"get_digit(images, {n}) with {count} images to raise IndexError with a message that says "
            f"which n is allowed (1 to {count})",
            f"IndexError({message!r})",
            "say what went wrong and what is allowed, counting from 1, e.g. "
            'IndexError(f"there is no image number {n}: n must be from 1 to {len(images)}"). '
            "numpy's own message counts from 0 and never says which n would work",
            mistake="index-error-message-unclear",
        )


def _expect_index_error(fn, images: np.ndarray, n: int) -> str:
    """``fn(images, n)`` must raise IndexError; return its message."""
    what = f"get_digit(images, {n}) with {len(images)} images"
    try:
        got = call(fn, images, n, name="get_digit")
    except IndexError as error:
        return str(error)
    except CheckFailed:
        raise
    except Exception as error:
        fail(
            f"{what} to raise IndexError",
            f"{type(error).__name__}: {error}",
            "raise IndexError(...) for this n",
            mistake="zero-or-past-end-accepted",
        )
    k = _which_image(np.asarray(got), images) if isinstance(got, np.ndarray) else None
    if n < 1:
        got_text = f"images[{k}]" if k is not None else describe(got)
        hint = (
            f"there is no image number {n} when counting from 1. Python quietly reads a negative index "
            "as 'from the end' (images[-1] is the last image), so check n yourself: "
            "if n < 1 or n > len(images): raise IndexError(...)"
        )
    else:
        got_text = describe(got)
        hint = "there are only len(images) images: raise IndexError when n > len(images)"
    fail(f"{what} to raise IndexError", f"it returned {got_text}", hint, mistake="no-index-error")


@guided
def check_get_digit(fn) -> None:
    """Check ``get_digit(images, n)``: the n-th image counting from 1, IndexError outside 1..len(images)."""
    images = example_images()
    n_images = len(images)
    for n in (1, 2, 4, n_images):
        _expect_digit(fn, images, n)
    _expect_digit(fn, images, np.int64(3))  # positions may arrive as numpy integers
    _expect_digit(fn, numbered_images(300), 200)  # more images than an image has rows: n bounded by len
    messages = {n: _expect_index_error(fn, images, n) for n in (0, -1, n_images + 1)}
    for n, message in messages.items():
        _expect_allowed_range(message, n, n_images)
    passed(
        f"get_digit counts from 1: get_digit(images, 1) is images[0], get_digit(images, {n_images}) the last "
        f"image, and 0, -1 and {n_images + 1} raise IndexError."
    )


def _counts_of(labels) -> np.ndarray:
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=10)


def _expect_counts(fn, labels: np.ndarray, label: str | None = None) -> None:
    what = f"label_counts({label or np.array2string(labels, separator=', ')})"
    got = call(fn, labels.copy(), name="label_counts")
    expected = _counts_of(labels)
    if isinstance(got, list | tuple):
        fail(
            f"{what} as a numpy array of 10 whole numbers",
            f"a Python {type(got).__name__}",
            "return a numpy array, e.g. np.array(counts) or the result of np.bincount",
            mistake="counts-not-an-array",
        )
    if not isinstance(got, np.ndarray):
        fail(
            f"{what} as a numpy array of 10 whole numbers",
            describe(got),
            "return a numpy array",
            mistake="not-an-array",
        )
    if got.shape != (10,):
        present = np.unique(labels)
        if got.ndim == 1 and got.shape[0] == present.size and np.array_equal(got, expected[present]):
            hint = (
                "np.unique(..., return_counts=True) lists only the digits that occur, so digits with no "
                "images are missing. There must be one count for every digit 0-9, zeros included."
            )
        elif (
            got.ndim == 1
            and got.shape[0] == labels.max() + 1
            and np.array_equal(got, expected[: got.shape[0]])
        ):
            hint = (
                "np.bincount stops at the largest label present; ask for all ten counts with "
                "np.bincount(labels, minlength=10)."
            )
        else:
            hint = "return one count per digit 0-9 (length 10), zeros included"
        fail(f"{what} with shape (10,)", f"shape {got.shape}", hint, mistake="counts-wrong-shape")
    if not np.issubdtype(got.dtype, np.integer):
        if np.issubdtype(got.dtype, np.floating) and np.allclose(got, expected / len(labels)):
            hint = (
                "those are proportions (each count divided by len(labels)): label_counts returns the counts "
                "themselves, whole numbers such as np.bincount(labels, minlength=10) gives"
            )
        elif np.issubdtype(got.dtype, np.floating):
            hint = (
                "counts are whole numbers, so use an integer dtype: np.zeros(10) makes floats, "
                "np.zeros(10, dtype=int) does not (or use np.bincount)"
            )
        else:
            hint = "counts are whole numbers: return an integer array"
        fail(f"{what} with an integer dtype", f"dtype {got.dtype}", hint, mistake="counts-not-integers")
    largest = np.iinfo(got.dtype).max
    if expected.max() > largest and np.array_equal(got, expected.astype(got.dtype)):
        fail(
            f"{what} = {expected.tolist()}",
            f"{got.tolist()} (dtype {got.dtype})",
            f"the counts wrapped around: dtype {got.dtype} holds whole numbers only up to {largest}, and "
            f"here a digit occurs {expected.max():,} times (the full training set has about 6,000 of each). "
            "Count in the default integer dtype, e.g. np.zeros(10, dtype=int), not in the labels' dtype "
            "(np.bincount does this for you)",
            mistake="counts-wrapped",
        )
    if np.array_equal(got, (expected > 0).astype(got.dtype)) and expected.max() > 1:
        fail(
            f"{what} = {expected.tolist()}",
            str(got.tolist()),
            "each digit was counted at most once. counts[labels] += 1 adds 1 only once per distinct "
            "digit; use np.bincount(labels, minlength=10) or np.add.at(counts, labels, 1)",
            mistake="counted-once",
        )
    expect_equal(
        got,
        expected,
        what=what,
        hint="index d of the result must hold how many times digit d appears in labels",
        mistake="counts-wrong",
    )


@guided
def check_label_counts(fn) -> None:
    """Check ``label_counts(labels)``: int array of length 10, how many of each digit, zeros included."""
    _expect_counts(fn, np.array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], dtype=np.uint8))  # no 6, 7, 8
    _expect_counts(fn, np.array([0, 0, 1, 3, 3, 3, 5, 6], dtype=np.uint8))  # stops at 6
    _expect_counts(fn, np.array([7, 7, 7], dtype=np.uint8))
    # shaped like the full training set: 60,000 uint8 labels, thousands of each digit (counts above 255)
    full = np.random.default_rng(1).integers(0, 10, size=60_000).astype(np.uint8)
    _expect_counts(fn, full, "60,000 uint8 labels, as many as the full training set")
    # all 70,000 of MNIST's images, training and test, with one label: more than uint16 holds
    _expect_counts(fn, np.full(70_000, 3, dtype=np.uint8), "70,000 uint8 labels, all 3")
    passed("label_counts gives an integer count for each of the ten digits, zeros included.")
