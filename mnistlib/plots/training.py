"""Pictures for notebook 05, training: how one epoch cuts the training images into mini-batches.

Like :mod:`mnistlib.plots`, every function returns a matplotlib Figure built
without ``pyplot``: make it the last expression of a notebook cell.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def plot_epoch_split(n_samples: int, batch_size: int, validation_split: float = 0.0) -> Figure:
    """One epoch as a bar of ``n_samples`` images: the mini-batches, then the held-out validation part.

    Keras keeps the first ``floor(n_samples * (1 - validation_split))`` images for
    training, cut into batches of ``batch_size`` (the last one possibly smaller), and
    the remaining images, at the end, for validation. Batches alternate in two
    shades; the validation part is hatched.
    """
    if n_samples <= 0 or batch_size <= 0:
        raise ValueError("n_samples and batch_size must be positive")
    train = math.floor(n_samples * (1.0 - validation_split))
    steps = math.ceil(train / batch_size)
    fig = Figure(figsize=(10, 1.9))
    ax = fig.add_subplot()
    for step in range(steps):
        start = step * batch_size
        width = min(batch_size, train - start)
        shade = "#4c72b0" if step % 2 == 0 else "#8fb0dd"
        ax.add_patch(Rectangle((start, 0), width, 1, facecolor=shade, edgecolor="white", linewidth=0.3))
    if train < n_samples:
        ax.add_patch(
            Rectangle((train, 0), n_samples - train, 1, facecolor="#f2c6a0", edgecolor="#c4723a", hatch="//")
        )
        ax.text(
            train + (n_samples - train) / 2,
            0.5,
            f"validation\n{n_samples - train:,}",
            ha="center",
            va="center",
            fontsize=9,
        )
    ax.text(
        train / 2,
        0.5,
        f"training: {train:,} images = {steps} batches of {batch_size:,}",
        ha="center",
        va="center",
        fontsize=9,
        color="white",
        fontweight="bold",
        bbox={"facecolor": "#1f3b66", "edgecolor": "none", "alpha": 0.85},
    )
    ax.set_xlim(0, n_samples)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel("image index (in the order of the training set)")
    ax.set_title(
        f"one epoch: {n_samples:,} images, validation_split={validation_split:g}, batch_size={batch_size:,}"
    )
    fig.tight_layout()
    return fig
