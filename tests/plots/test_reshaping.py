"""The pictures of notebooks 02 and 03 draw what they claim, and refuse shapes they cannot draw."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib.plots.one_hot_labels import plot_one_hot
from mnistlib.plots.reshaping import plot_pixel_rows, plot_value_histograms


def test_pixel_rows_draws_one_row_per_image_and_labels_them():
    matrix = np.arange(30 * 784, dtype=np.float32).reshape(30, 784) / (30 * 784)
    fig = plot_pixel_rows(matrix, labels=list(range(30)), max_rows=12)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.images[0].get_array().shape == (12, 784)
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(i) for i in range(12)]
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        plot_pixel_rows(np.zeros((2, 28, 28)))


def test_value_histograms_put_the_same_counts_in_both_panels():
    pixels = np.random.default_rng(0).integers(0, 256, size=(50, 784)).astype(np.uint8)
    fig = plot_value_histograms(pixels, pixels.astype(np.float32) / 255)
    left, right = fig.axes
    heights = [np.asarray(ax.patches[0].get_path().vertices)[:, 1] for ax in (left, right)]
    assert np.array_equal(heights[0], heights[1])  # scaling changes the axis, not the histogram
    assert right.get_xlim()[1] < 1.1 and left.get_xlim()[1] > 250


def test_one_hot_grid_shows_every_value_and_names_rows():
    matrix = np.eye(10, dtype=np.float32)[[3, 0, 9]]
    fig = plot_one_hot(matrix, [3, 0, 9])
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 30 and texts.count("1") == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["label 3", "label 0", "label 9"]
    fig = plot_one_hot(np.array([[0.25, 0.75]]), ["network"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.25", "0.75"]
    with pytest.raises(ValueError):
        plot_one_hot(np.zeros(10))
