"""The pictures of notebook 09 draw what they say, from digits, filters and feature maps."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib.plots import going_further


def _digit():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[6:22, 12:16] = 255
    return digit


def test_plot_shift_shows_both_digits_their_difference_and_the_vectors():
    digit = _digit()
    shifted = np.zeros_like(digit)
    shifted[:, 2:] = digit[:, :-2]
    fig = going_further.plot_shift(digit, shifted, pixels=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert fig.axes[1].get_title() == "shifted 2 pixels right"
    vectors = fig.axes[3]
    assert [line.get_label() for line in vectors.get_lines()] == ["the digit", "shifted"]
    start, stop = vectors.get_xlim()
    assert start <= 6 * 28 + 12 and stop >= 21 * 28 + 17  # the stretch with ink is shown


def test_plot_convolution_centres_signed_maps_on_zero_and_prints_the_filter():
    kernel = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    feature_map = np.linspace(-3, 1, 26 * 26).reshape(26, 26)
    fig = going_further.plot_convolution(_digit(), kernel, feature_map)
    assert len(fig.axes) == 3
    assert fig.axes[2].get_title() == "feature map 26 x 26"
    assert fig.axes[2].images[0].get_clim() == (-3.0, 3.0)  # white is 0, not the middle of the range
    assert sorted(text.get_text() for text in fig.axes[1].texts) == sorted(["-1"] * 3 + ["0"] * 3 + ["1"] * 3)


def test_plot_maps_takes_maps_of_different_sizes_and_annotates_only_small_ones():
    maps = [np.eye(3), np.full((26, 26), 0.5), -np.ones((13, 13))]
    fig = going_further.plot_maps(maps, ["filter", "map", "pooled"], ncols=2, annotate=True)
    fig.savefig(io.BytesIO(), format="png")
    (ax,) = fig.axes
    (image,) = ax.images
    canvas = np.ma.filled(np.ma.asarray(image.get_array(), dtype=float), np.nan)
    assert image.get_clim() == (-1, 1), "each map scaled on its own to [-1, 1], 0 white"
    shown = canvas[~np.isnan(canvas)]
    # the 3 x 3 filter enlarged 8 times (24 x 24), the 13 x 13 map twice (26 x 26), the big map as it is
    assert shown.size == 24 * 24 + 26 * 26 + 26 * 26
    assert np.count_nonzero(shown == 1.0) == 3 * 8 * 8 + 26 * 26, (
        "the filter's diagonal and the 0.5 map at its max"
    )
    assert np.count_nonzero(shown == -1.0) == 26 * 26
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["filter", "map", "pooled"] + ["1"] * 3 + ["0"] * 6
    )
    with pytest.raises(ValueError, match="no maps"):
        going_further.plot_maps([])
    with pytest.raises(ValueError, match="one title per map"):
        going_further.plot_maps(maps, ["only one"])


def test_plot_learning_rate_draws_every_step_and_marks_the_epochs():
    rates = np.linspace(0.002, 0.0, 30)
    fig = going_further.plot_learning_rate(rates, steps_per_epoch=10)
    (ax,) = fig.axes
    (line,) = ax.get_lines()[:1]
    np.testing.assert_allclose(line.get_ydata(), rates)
    epoch_marks = [tuple(mark.get_xdata()) for mark in ax.get_lines()[1:]]
    assert epoch_marks == [(10, 10), (20, 20)]
    assert ax.get_ylim()[0] == 0 and "10 per epoch" in ax.get_xlabel()


@pytest.mark.parametrize(
    ("rates", "steps", "message"),
    [([], 10, "non-empty"), ([[0.1]], 10, "1-D"), ([0.1, 0.2], 0, "at least 1")],
)
def test_plot_learning_rate_rejects_bad_input(rates, steps, message):
    with pytest.raises(ValueError, match=message):
        going_further.plot_learning_rate(rates, steps_per_epoch=steps)
