"""The pictures of notebook 05 (mnistlib.plots.training): what they draw."""

from __future__ import annotations

import pytest
from figures import renders
from matplotlib.patches import Rectangle

from mnistlib.plots import training


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
