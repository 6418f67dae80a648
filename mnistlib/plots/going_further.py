"""Pictures for notebook 09 (convolutional networks). Every function returns a matplotlib Figure.

Feature maps and filters can be negative, so they are drawn with a diverging
colour map centred on 0: red for positive, blue for negative, white for 0.
Digits are drawn as in :mod:`mnistlib.plots`: black background, white ink.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from . import MAIN, SECOND, draw_digit, frame_panels, set_alt_text, tile, tiled_figure, title_panels


def _draw_signed(ax, values, title: str | None = None, *, annotate: bool = False) -> None:
    values = np.asarray(values, dtype=float)
    limit = float(np.abs(values).max()) or 1.0
    ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    if annotate:
        for (row, col), value in np.ndenumerate(values):
            color = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, f"{value + 0.0:.3g}", ha="center", va="center", fontsize=9, color=color)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)


def plot_shift(image, shifted, *, pixels: int = 2) -> Figure:
    """A digit, the same digit shifted, and their two flattened 784-vectors one above the other.

    ``image``, ``shifted``: (28, 28). The lower panel shows pixel value against position 0-783 (only the
    stretch that holds ink), so the reader sees the same strokes landing at other positions.
    """
    image, shifted = np.asarray(image, dtype=float), np.asarray(shifted, dtype=float)
    fig = Figure(figsize=(10, 4.6))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.3, 1])
    draw_digit(fig.add_subplot(grid[0, 0]), image, "the digit")
    draw_digit(fig.add_subplot(grid[0, 1]), shifted, f"shifted {pixels} pixels right")
    _draw_signed(fig.add_subplot(grid[0, 2]), shifted - image, "shifted - original")
    ax = fig.add_subplot(grid[1, :])
    flat_a, flat_b = image.ravel(), shifted.ravel()
    ink = np.flatnonzero((flat_a > 0) | (flat_b > 0))
    start, stop = max(int(ink.min()) - 5, 0), min(int(ink.max()) + 6, flat_a.size)
    positions = np.arange(start, stop)
    ax.plot(positions, flat_a[start:stop], color="black", linewidth=1, label="the digit")
    ax.plot(positions, flat_b[start:stop], color=SECOND, linewidth=1, alpha=0.8, label="shifted")
    ax.set_xlabel("position in the flattened vector")
    ax.set_ylabel("pixel value")
    ax.set_xlim(start, stop - 1)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_convolution(image, kernel, feature_map, *, kernel_title: str = "the 3 x 3 filter") -> Figure:
    """Input digit, filter (with its numbers) and the resulting feature map, side by side."""
    fig = Figure(figsize=(9.5, 3.4))
    axes = [fig.add_subplot(1, 3, i + 1) for i in range(3)]
    draw_digit(axes[0], image, f"input {np.shape(image)[0]} x {np.shape(image)[1]}")
    _draw_signed(axes[1], kernel, kernel_title, annotate=True)
    shape = np.shape(feature_map)
    _draw_signed(axes[2], feature_map, f"feature map {shape[0]} x {shape[1]}")
    fig.tight_layout()
    return fig


def plot_maps(
    maps, titles: Sequence[str] | None = None, *, ncols: int = 8, annotate: bool = False, cell: float = 1.3
) -> Figure:
    """A grid of signed 2-D arrays (feature maps or filters), each centred on 0 and scaled on its own.

    ``maps``: an (n, h, w) array or a list of 2-D arrays of any sizes; smaller ones are enlarged by a
    whole number of times (each value a square block) to about the largest one's size. With
    ``annotate``, maps of at most 25 values (filters) show their numbers. ``cell``: inches per map.
    """
    maps = [np.asarray(m, dtype=float) for m in maps]
    if not maps:
        raise ValueError("no maps to plot")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"{len(titles)} titles for {len(maps)} maps: give one title per map")
    side = max(max(m.shape) for m in maps)
    panels = np.full((len(maps), side, side), np.nan)
    placed = []  # per map: (top, left, scale) inside its panel, and the value drawn darkest
    for i, m in enumerate(maps):
        scale = max(1, side // max(m.shape))
        limit = float(np.abs(m).max()) or 1.0
        big = np.kron(m / limit, np.ones((scale, scale)))
        top, left = (side - big.shape[0]) // 2, (side - big.shape[1]) // 2
        panels[i, top : top + big.shape[0], left : left + big.shape[1]] = big
        placed.append((top, left, scale, limit))
    gap = max(2, round(side * 0.2))
    canvas, origins = tile(panels, ncols, gap=gap, band=round(side * 0.35) if titles is not None else 0)
    fig, ax = tiled_figure(canvas, cmap="RdBu_r", vmin=-1, vmax=1, inch_per_px=cell / (side + gap))
    frame_panels(ax, origins, side, side)
    if titles is not None:
        title_panels(ax, origins, side, titles)
    for m, (row, col), (top, left, scale, limit) in zip(maps, origins, placed, strict=True):
        if annotate and m.size <= 25:
            for (r, c), value in np.ndenumerate(m):
                color = "white" if abs(value) > 0.6 * limit else "black"
                y, x = row + top + (r + 0.5) * scale - 0.5, col + left + (c + 0.5) * scale - 0.5
                ax.text(x, y, f"{value + 0.0:.3g}", ha="center", va="center", fontsize=9, color=color)
    sizes = sorted({"{} x {}".format(*m.shape) for m in maps})
    named = (
        f", titled {', '.join(titles[:12])}{', ...' if len(titles) > 12 else ''}"
        if titles is not None
        else ""
    )
    set_alt_text(
        fig,
        f"{len(maps)} maps of signed values ({' and '.join(sizes)}) in rows of {min(ncols, len(maps))}{named}; "
        "red positive, blue negative, white zero, each map scaled to its own largest value",
    )
    return fig


def plot_learning_rate(rates, *, steps_per_epoch: int) -> Figure:
    """The learning rate of every gradient step of a training run, with the epochs marked.

    ``rates``: 1-D sequence, the learning rate at step 0, 1, 2, ... (e.g. a Keras schedule called on
    each step). ``steps_per_epoch``: gradient steps in one epoch; a dashed line marks each epoch's end.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(f"rates must be a non-empty 1-D sequence, got shape {rates.shape}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    fig = Figure(figsize=(6.5, 3))
    ax = fig.add_subplot()
    ax.plot(np.arange(rates.size), rates, color=MAIN)
    for end in range(steps_per_epoch, rates.size, steps_per_epoch):
        ax.axvline(end, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel(f"gradient step ({steps_per_epoch} per epoch, dashed lines between epochs)")
    ax.set_ylabel("learning rate")
    ax.set_title("the learning rate during training")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig
