"""Pictures for notebook 02 (reshaping): images as rows of pixels, and their values.

Like :mod:`mnistlib.plots`, every function returns a matplotlib Figure built
without ``pyplot``: make it the last expression of a notebook cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from . import MAIN

SIDE = 28


def plot_pixel_rows(
    matrix, labels: Sequence | None = None, *, max_rows: int = 20, title: str | None = None
) -> Figure:
    """The input matrix as the network sees it: one image per row, its 784 pixels left to right.

    ``matrix``: (n, 784), uint8 0-255 or floats in [0, 1]. At most ``max_rows``
    rows are drawn, each labelled with its digit when ``labels`` is given. Tick
    marks fall every 28 pixels, where one row of the original image ends.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"expected a matrix of shape (n, 784), got shape {matrix.shape}")
    rows = matrix[:max_rows]
    white = 1.0 if np.issubdtype(rows.dtype, np.floating) and rows.max(initial=0) <= 1.0 else 255.0
    fig = Figure(figsize=(11, 0.28 * len(rows) + 1.1))
    ax = fig.add_subplot()
    ax.imshow(rows, cmap="gray", vmin=0, vmax=white, aspect="auto", interpolation="nearest")
    width = rows.shape[1]
    ax.set_xticks(np.arange(0, width + 1, SIDE * 4))
    ax.set_xticks(np.arange(0, width + 1, SIDE), minor=True)
    ax.set_xlabel(
        f"pixel position 0 to {width - 1} (small ticks: every {SIDE} pixels a new image row starts)"
    )
    if labels is not None:
        ax.set_yticks(range(len(rows)), [str(v) for v in list(labels)[: len(rows)]])
        ax.set_ylabel("label")
    else:
        ax.set_ylabel("image")
    ax.set_title(title or f"the first {len(rows)} rows of the input matrix")
    fig.tight_layout()
    return fig


def plot_value_histograms(
    before, after, *, before_title: str = "before", after_title: str = "after"
) -> Figure:
    """Two histograms of pixel values side by side (log scale), e.g. 0-255 before scaling and 0-1 after."""
    fig = Figure(figsize=(9, 2.8))
    for i, (values, title) in enumerate(((before, before_title), (after, after_title))):
        values = np.asarray(values).ravel()
        lo, hi = float(values.min()), float(values.max())
        span = (hi - lo) or 1.0
        # Bin on the 256 possible levels, so uint8 and scaled values fall into the same bins.
        levels = np.rint((values - lo) / span * 255)
        edges = np.append(np.arange(-0.5, 255, 5), 255.5)
        counts, _ = np.histogram(levels, bins=edges)
        ax = fig.add_subplot(1, 2, i + 1)
        ax.stairs(counts, lo + edges * span / 255, fill=True, color=MAIN)
        ax.set_yscale("log")
        ax.set_title(f"{title}: {lo:g} to {hi:g}, dtype {values.dtype}", fontsize=9)
        ax.set_xlabel("pixel value")
        ax.set_ylabel("pixels (log scale)")
    fig.tight_layout()
    return fig
