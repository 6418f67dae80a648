"""The dropout pictures of notebook 07: one panel per image or vector, shared scales, clear errors."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib.plots import dropout


def test_dropped_images_share_one_colour_scale_up_to_the_largest_value():
    digit = np.linspace(0, 1, 784).reshape(28, 28)
    scaled = (
        digit * (np.arange(784).reshape(28, 28) % 2) / 0.4
    )  # survivors above 1, as inverted dropout makes
    fig = dropout.plot_dropped_images([digit, scaled.ravel()], ["original", "rate 0.6"])
    assert isinstance(fig, Figure)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert all(image.get_clim() == (0, pytest.approx(scaled.max())) for image in images)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["original", "rate 0.6"]


def test_dropped_vectors_mark_only_the_units_dropout_switched_off():
    original = np.array([0.0, 1.0, 2.0, 3.0])
    dropped = np.array([0.0, 0.0, 4.0, 6.0])  # unit 0 was 0 already (relu); unit 1 was dropped
    fig = dropout.plot_dropped_vectors(original, [dropped], ["outputs", "rate 0.5"])
    assert len(fig.axes) == 2
    (marks,) = fig.axes[1].lines
    assert marks.get_xdata().tolist() == [1]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()


def test_titles_must_match_the_panels():
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        dropout.plot_dropped_images([np.zeros(784), np.zeros(784)], ["one"])
    with pytest.raises(ValueError, match="2 vectors but 3 titles"):
        dropout.plot_dropped_vectors(np.ones(3), [np.ones(3)], ["a", "b", "c"])
