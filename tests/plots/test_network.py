"""The pictures of notebook 04 (mnistlib.plots.network): what they draw."""

from __future__ import annotations

import numpy as np
import pytest
from figures import renders
from matplotlib.patches import Rectangle

from mnistlib.plots import network


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
