"""Pictures for notebook 08, gradient descent by hand. Every function returns a matplotlib Figure.

Like :mod:`mnistlib.plots`, the figures are built without ``pyplot``: make the
returned Figure the last expression of a cell and Jupyter shows it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from . import (
    DIGIT_INCH,
    LINE_COLORS,
    MAIN,
    SECOND,
    WRONG,
    frame_panels,
    set_alt_text,
    tile,
    tiled_figure,
    title_panels,
)


def plot_batch_matrix(batch, *, title: str | None = None) -> Figure:
    """A batch of flattened images, ``(n, 784)``, drawn as the matrix it is: one row per image."""
    batch = np.asarray(batch)
    if batch.ndim != 2:
        raise ValueError(f"expected a rank-2 batch (n, features), got shape {batch.shape}")
    fig = Figure(figsize=(7, 2.6))
    ax = fig.add_subplot()
    ax.imshow(batch, cmap="gray", aspect="auto", interpolation="nearest")
    ax.set_xlabel(f"feature (pixel) index, 0 ... {batch.shape[1] - 1}")
    ax.set_ylabel(f"example, 0 ... {batch.shape[0] - 1}")
    ax.set_title(title or f"a batch as a rank-2 tensor, shape {batch.shape}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_activation(
    fn: Callable, derivative: Callable, *, name: str = "relu", lo: float = -3, hi: float = 3
) -> Figure:
    """An activation function and its derivative side by side, on ``z`` from ``lo`` to ``hi``.

    Raises ValueError, naming the function, when one does not return one value per ``z`` (e.g. a relu
    written with ``np.max``, which reduces the array), rather than failing inside matplotlib.
    """
    z = np.linspace(lo, hi, 601)
    for f, label in [(fn, f"{name}(z)"), (derivative, f"{name}'(z)")]:
        shape = np.shape(f(z))
        if shape != z.shape:
            raise ValueError(
                f"{label} should return one value per z, shape {z.shape}; it returned shape {shape}"
            )
    fig = Figure(figsize=(7, 2.6))
    for i, (f, label) in enumerate([(fn, f"{name}(z)"), (derivative, f"{name}'(z)")]):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.plot(z, np.asarray(f(z), dtype=float), color=MAIN if i == 0 else SECOND)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("z")
        ax.set_title(label, fontsize=10)
    fig.tight_layout()
    return fig


def descent_path_1d(learning_rate: float, *, start: float = 2.0, steps: int = 12) -> np.ndarray:
    """Positions of gradient descent on ``loss(w) = w**2`` (gradient ``2 w``): ``steps + 1`` values of w."""
    path = [start]
    for _ in range(steps):
        path.append(path[-1] - learning_rate * 2 * path[-1])
    return np.array(path)


def plot_descent_1d(
    learning_rates: Sequence[float] = (0.05, 0.3, 0.9, 1.05), *, start: float = 2.0, steps: int = 12
) -> Figure:
    """Gradient descent on the parabola ``w**2`` with several learning rates, one panel each."""
    fig = Figure(figsize=(3.0 * len(learning_rates), 2.8))
    w = np.linspace(-3.2, 3.2, 200)
    for i, rate in enumerate(learning_rates):
        ax = fig.add_subplot(1, len(learning_rates), i + 1)
        path = descent_path_1d(rate, start=start, steps=steps)
        shown = np.clip(path, -3.2, 3.2)
        ax.plot(w, w**2, color="grey", lw=1)
        ax.plot(shown, shown**2, "o-", color=WRONG, ms=3, lw=0.8)
        ax.set_ylim(-0.5, 10.5)
        ax.set_title(f"learning rate {rate}\nafter {steps} steps: w = {path[-1]:.3g}", fontsize=9)
        ax.set_xlabel("w")
        if i == 0:
            ax.set_ylabel("loss = w\u00b2")
    fig.tight_layout()
    return fig


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Running mean over ``window`` values (shorter at the start), same length as ``values``."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def plot_loss_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    window: int = 1,
    xlabel: str = "batch",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Several training-loss curves on one axis (``label -> losses``), optionally smoothed by a running mean."""
    fig = Figure(figsize=(6.5, 3.4))
    ax = fig.add_subplot()
    for i, (label, losses) in enumerate(curves.items()):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        ax.plot(np.arange(1, len(losses) + 1), smooth(losses, window), label=label, lw=1.2, color=color)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("training loss" + (f" (running mean of {window})" if window > 1 else ""))
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_hidden_weights(W1, *, count: int = 16, ncols: int = 8) -> Figure:
    """The first ``count`` columns of ``W1 (784, h)`` as 28 x 28 pictures: what each hidden unit looks for.

    Blue pixels push the unit's input z up, red pixels push it down (a shared colour scale per picture).
    """
    W1 = np.asarray(W1, dtype=float)
    if W1.ndim != 2 or W1.shape[0] != 784:
        raise ValueError(f"expected W1 of shape (784, h), got {W1.shape}")
    count = min(count, W1.shape[1])
    columns = W1[:, :count].T.reshape(count, 28, 28)
    limits = np.abs(columns).max(axis=(1, 2), keepdims=True)
    panels = columns / np.where(limits > 0, limits, 1.0)
    canvas, origins = tile(panels, ncols, gap=6, band=9)
    fig, ax = tiled_figure(canvas, cmap="RdBu", vmin=-1, vmax=1, inch_per_px=DIGIT_INCH)
    frame_panels(ax, origins, 28, 28)
    title_panels(ax, origins, 28, [f"unit {i}" for i in range(count)], fontsize=8)
    set_alt_text(
        fig,
        f"The input weights of hidden units 0 to {count - 1}, each drawn as a 28 by 28 picture: blue pixels "
        "raise the unit's input, red pixels lower it, white leaves it alone",
    )
    return fig
