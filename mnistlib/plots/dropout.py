"""Pictures for notebook 07, dropout. Every function returns a matplotlib Figure.

Inverted dropout scales the surviving values by 1 / (1 - rate), so a dropped-out
image can hold values above 1; these pictures therefore draw every panel on one
shared colour scale from 0 to the largest value shown, instead of the 0-1 or
0-255 scale of :mod:`mnistlib.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from . import MAIN, SECOND, WRONG


def plot_dropped_images(images: Sequence, titles: Sequence[str], *, size: float = 2.2) -> Figure:
    """Images side by side on one shared colour scale (0 black, the largest value white), with a colour bar.

    ``images``: a sequence of (28, 28) or (784,) float arrays, e.g. a digit scaled to [0, 1] and the
    same digit after dropout at several rates; ``titles``: one per image.
    """
    images = [np.asarray(image, dtype=float).reshape(28, 28) for image in images]
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    top = max(float(image.max()) for image in images) or 1.0
    fig = Figure(figsize=(size * len(images) + 0.8, size + 0.4), layout="constrained")
    axes = [fig.add_subplot(1, len(images), i + 1) for i in range(len(images))]
    for ax, image, title in zip(axes, images, titles, strict=True):
        shown = ax.imshow(image, cmap="gray", vmin=0, vmax=top, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=axes, shrink=0.8, label="pixel value")
    return fig


def plot_dropped_vectors(original, dropped: Sequence, titles: Sequence[str]) -> Figure:
    """An activation vector and dropped-out copies of it as bar charts, stacked on a shared y axis.

    ``original``: an (n,) array, e.g. one layer's outputs for one image; ``dropped``: (n,) arrays, the
    same vector after dropout; ``titles``: one for the original, then one per dropped copy. In the copies,
    entries that dropout set to 0 (non-zero in ``original``) are marked with a vermillion (red) x.
    """
    original = np.asarray(original, dtype=float).ravel()
    vectors = [original] + [np.asarray(v, dtype=float).ravel() for v in dropped]
    if len(vectors) != len(titles):
        raise ValueError(f"{len(vectors)} vectors but {len(titles)} titles")
    fig = Figure(figsize=(8, 1.4 * len(vectors) + 0.5))
    first = None
    units = np.arange(len(original))
    for i, (vector, title) in enumerate(zip(vectors, titles, strict=True)):
        ax = fig.add_subplot(len(vectors), 1, i + 1, sharey=first)
        first = first or ax
        ax.bar(units, vector, color=MAIN if i == 0 else SECOND, width=0.8)
        if i > 0:
            dropped_units = units[(vector == 0) & (original != 0)]
            ax.plot(dropped_units, np.zeros(len(dropped_units)), "x", color=WRONG, markersize=6)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlim(-1, len(original))
        ax.grid(axis="y", alpha=0.3)
        if i < len(vectors) - 1:
            ax.tick_params(labelbottom=False)
    fig.axes[-1].set_xlabel("unit")
    fig.tight_layout()
    return fig
