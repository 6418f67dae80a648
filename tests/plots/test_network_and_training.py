"""The pictures of notebooks 04 and 05 (mnistlib.plots.network, mnistlib.plots.training): what they draw."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mnistlib.plots import network, training


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == [], "a plot function registered a figure with pyplot"


def renders(fig: Figure) -> Figure:
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")
    return fig


def test_relu_is_zero_below_and_the_identity_above():
    fig = renders(network.plot_relu(-2, 2))
    z, y = fig.axes[0].lines[-1].get_data()
    assert np.allclose(y, np.maximum(z, 0))
    assert z.min() == -2 and z.max() == 2


def test_layer_stack_shows_each_layer_and_its_parameters():
    fig = renders(
        network.plot_layer_stack([784, 784, 512, 10], ["relu", "relu", "softmax"], [615440, 401920, 5130])
    )
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for expected in ("615,440", "401,920", "5,130", "Dense 512", "softmax", "784 pixels"):
        assert expected in texts
    assert "1,022,490" in fig.axes[0].get_title()
    bars = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert [round(b.get_height(), 3) for b in bars][-1] < bars[
        0
    ].get_height()  # 10 units drawn smaller than 784
    with pytest.raises(ValueError, match="one activation"):
        network.plot_layer_stack([784, 10], ["relu", "softmax"], [7850])


def test_probabilities_highlight_the_largest_and_mark_the_true_digit():
    p = np.full(10, 0.05)
    p[3] = 0.55
    fig = renders(network.plot_probabilities(p.reshape(1, 10), true_digit=7))
    bars = fig.axes[0].patches
    assert [round(b.get_height(), 2) for b in bars] == [round(v, 2) for v in p]
    colors = {b.get_facecolor() for i, b in enumerate(bars) if i != 3}
    assert len(colors) == 1 and bars[3].get_facecolor() not in colors
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[7] == "7\n(true)" and labels[3] == "3"
    with pytest.raises(ValueError, match="ten probabilities"):
        network.plot_probabilities(np.ones(9) / 9)


def test_epoch_split_draws_54_batches_and_the_last_6000_as_validation():
    fig = renders(training.plot_epoch_split(60_000, 1000, 0.1))
    patches = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    batches, validation = patches[:-1], patches[-1]
    assert len(batches) == 54
    assert validation.get_x() == 54_000 and validation.get_width() == 6_000
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "54 batches of 1,000" in texts and "6,000" in texts


def test_epoch_split_last_batch_is_partial_and_no_validation_without_split():
    fig = renders(training.plot_epoch_split(1000, 300))
    patches = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert [p.get_width() for p in patches] == [300, 300, 300, 100]
    with pytest.raises(ValueError):
        training.plot_epoch_split(0, 10)
