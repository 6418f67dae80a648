"""Visible check for notebook 02, reshaping: ``flatten_images``.

``flatten_images(images)`` turns a stack of (n, 28, 28) uint8 images into an
(n, 784) float32 matrix with values in [0, 1], each row one image read row by
row (row-major, like R's ``array_reshape``). The check names the usual
mistakes: no scaling, dividing by 256 or by the largest value present,
column-major order, float64, the wrong shape, integer division, and changing
the caller's array.
"""

from __future__ import annotations

import numpy as np

from . import IN_PLACE_IMAGES, call, describe, expect_close, fail, guided, passed

__all__ = ["check_flatten_images"]


def example_images(n: int = 3, *, brightest: int = 255, seed: int = 0) -> np.ndarray:
    """``n`` made-up uint8 images of shape (28, 28), not symmetric, whose largest pixel is ``brightest``.

    Each image has its own largest value (``brightest``, then a bit less), so
    dividing by a per-image maximum is caught as well as dividing by the
    overall maximum.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, brightest - 20, size=(n, 28, 28), dtype=np.int64)
    images[:, :, :6] = 0  # a black margin on the left only: the transpose differs from the image
    for i in range(n):
        images[i, 10, 20] = brightest - 7 * i
    return images.astype(np.uint8)


def reference(images: np.ndarray) -> np.ndarray:
    """What ``flatten_images`` must return (float32, row-major, divided by 255)."""
    return images.reshape(len(images), 28 * 28).astype(np.float32) / np.float32(255)


def _expect_flat(fn, images: np.ndarray) -> None:
    n = len(images)
    original = images.copy()
    what = f"flatten_images of {n} images of shape (28, 28)"
    got = call(fn, images, name="flatten_images", in_place_hint=IN_PLACE_IMAGES)
    expected = reference(original)

    if not isinstance(got, np.ndarray):
        fail(
            f"{what}: a numpy array of shape ({n}, 784)",
            describe(got),
            "return a numpy array",
            mistake="not-an-array",
        )
    if got.shape != (n, 784):
        if got.shape == (784, n):
            hint = "one row per image: the shape must be (n, 784), not (784, n). Did you transpose?"
            mistake = "transposed-shape"
        elif got.shape == (n * 784,):
            hint = (
                "everything was flattened into one long vector. Keep one row per image: "
                "images.reshape(len(images), 28 * 28)"
            )
            mistake = "one-long-vector"
        elif got.shape == images.shape:
            hint = "the images were not reshaped: unfold each 28 x 28 image into 784 values"
            mistake = "not-reshaped"
        else:
            hint = "reshape to (number of images, 28 * 28)"
            mistake = "wrong-shape"
        fail(f"{what} with shape ({n}, 784)", f"shape {got.shape}", hint, mistake=mistake)

    if np.issubdtype(got.dtype, np.integer) or (got.size and set(np.unique(got).tolist()) <= {0.0, 1.0}):
        if got.size and got.max() <= 1:
            fail(
                f"{what}: values between 0 and 1 such as {expected[(expected > 0) & (expected < 1)][0]:.4f}",
                f"only the whole numbers {sorted(set(np.unique(got).tolist()))}",
                "integer division (//) or converting to int after dividing rounds every pixel down to 0 "
                "(or 1 for white). Divide as floats: images.astype(np.float32) / 255",
                mistake="integer-division",
            )
        if np.issubdtype(got.dtype, np.integer):
            fail(
                f"{what} with dtype float32 and values in [0, 1]",
                f"dtype {got.dtype}, largest value {got.max()}",
                "the pixels were not scaled: convert to float32 and divide by 255",
                mistake="uint8-kept",
            )

    if got.size and got.max() > 1.5:
        fail(
            f"{what}: values in [0, 1] (the brightest pixel, 255, becomes 1.0)",
            f"largest value {got.max():g}",
            "the pixels are still 0-255: divide by 255 to scale them to [0, 1]",
            mistake="not-scaled",
        )
    if got.dtype != np.float32:
        hint = "use float32, what Keras computes in: it needs half the memory of float64. "
        hint += "images.astype(np.float32) / 255 keeps float32"
        fail(f"{what} with dtype float32", f"dtype {got.dtype}", hint, mistake="float64")

    if not np.allclose(got, expected, rtol=1e-6, atol=1e-7):
        scrambled = np.asarray(original, dtype=np.float32).reshape(n, 784, order="F") / np.float32(255)
        by_max = original.astype(np.float32) / original.max()
        by_image_max = original.astype(np.float32) / original.max(axis=(1, 2), keepdims=True)
        if np.allclose(got, expected * 255 / 256, rtol=1e-5):
            hint = "divide by 255, not 256: the brightest 8-bit pixel is 255 and must become exactly 1.0"
            mistake = "divided-by-256"
        elif np.allclose(got, scrambled, rtol=1e-5):
            hint = (
                "the pixels come out column by column (column-major, order='F', or a transpose). "
                "numpy's reshape reads row by row by default, like R's array_reshape; keep that order"
            )
            mistake = "column-major"
        elif np.allclose(got, by_max.reshape(n, 784), rtol=1e-5) or np.allclose(
            got, by_image_max.reshape(n, 784), rtol=1e-5
        ):
            hint = (
                "divide by 255, the largest possible 8-bit value, not by images.max(): a faint image "
                "whose brightest pixel is 200 must stay faint (200 / 255), the same for every image"
            )
            mistake = "divided-by-max"
        else:
            hint = "row i must be image i read row by row (row-major), divided by 255"
            mistake = "wrong-values"
        expect_close(got, expected, what=what, hint=hint, rtol=1e-6, atol=1e-7, mistake=mistake)


@guided
def check_flatten_images(fn) -> None:
    """Check ``flatten_images(images)``: (n, 28, 28) uint8 -> (n, 784) float32 in [0, 1], row-major."""
    _expect_flat(fn, example_images(3, brightest=255, seed=0))
    _expect_flat(fn, example_images(2, brightest=200, seed=1))  # faint images: no 255 anywhere
    _expect_flat(fn, example_images(1, brightest=255, seed=2))
    passed("flatten_images gives one row of 784 float32 values in [0, 1] per image, in row-major order.")
