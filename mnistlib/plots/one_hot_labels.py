"""Pictures for notebook 03 (one-hot labels): a one-hot matrix as a grid.

Like :mod:`mnistlib.plots`, every function returns a matplotlib Figure built
without ``pyplot``: make it the last expression of a notebook cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def plot_one_hot(matrix, labels: Sequence | None = None, *, title: str | None = None) -> Figure:
    """A one-hot matrix as a grid of cells: one row per label, one column per class, 1s filled in.

    ``matrix``: (n, num_classes) of 0s and 1s (or probabilities in [0, 1], drawn
    as shades). Each cell shows its value. Rows are titled "label d" for numbers in
    ``labels``, or by the text itself for strings.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a matrix of shape (n, num_classes), got shape {matrix.shape}")
    n, k = matrix.shape
    fig = Figure(figsize=(0.45 * k + 1.6, 0.45 * n + 1.0))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    for i in range(n):
        for j in range(k):
            value = matrix[i, j]
            text = f"{value:g}" if value in (0.0, 1.0) else f"{value:.2f}"
            color = "white" if value > 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(k), [str(j) for j in range(k)])
    ax.set_xticks(np.arange(-0.5, k), minor=True)
    ax.set_yticks(np.arange(-0.5, n), minor=True)
    ax.grid(which="minor", color="0.75", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.tick_top()
    ax.set_xlabel("column = class")
    ax.xaxis.set_label_position("top")
    if labels is not None:
        ax.set_yticks(range(n), [v if isinstance(v, str) else f"label {v}" for v in list(labels)[:n]])
    else:
        ax.set_yticks(range(n), [f"row {i}" for i in range(n)])
    if title:
        ax.set_title(title, pad=24)
    fig.tight_layout()
    return fig
