"""The pictures the course draws. Every function returns a matplotlib Figure.

The figures are built with :class:`matplotlib.figure.Figure` directly, not
through ``pyplot``, so library code never opens windows or shows a figure
twice: make the returned Figure the last expression of a notebook cell and
Jupyter displays it once.

Images are MNIST digits: ``(28, 28)`` arrays (or flat ``(784,)`` rows) of
uint8 pixels 0-255, or floats scaled to [0, 1]. As in R's
``plot(as.raster(digit, max = 255))``, 0 is drawn black and the maximum white.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

SIDE = 28


def _as_image(image) -> tuple[np.ndarray, float]:
    """A (28, 28) array and the value drawn white (255 for integers, 1.0 for floats)."""
    image = np.asarray(image)
    if image.shape == (SIDE * SIDE,):
        image = image.reshape(SIDE, SIDE)
    if image.ndim != 2 or max(image.shape) > 2 * SIDE:
        hint = " (a batch of flat images? pass one row, or reshape it to (28, 28))" if image.ndim == 2 else ""
        raise ValueError(f"expected one image of shape (28, 28) or (784,), got shape {image.shape}{hint}")
    white = 1.0 if np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1.0 else 255.0
    return image, white


def _draw(ax, image, title: str | None = None, color: str = "black") -> None:
    image, white = _as_image(image)
    ax.imshow(image, cmap="gray", vmin=0, vmax=white, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9, color=color)


def plot_digit(image, title: str | None = None, *, size: float = 3.0) -> Figure:
    """One digit, with its pixel grid visible. ``image``: (28, 28) or (784,)."""
    fig = Figure(figsize=(size, size))
    ax = fig.add_subplot()
    _draw(ax, image, title)
    fig.tight_layout()
    return fig


def _grid(n: int, ncols: int, cell: float = 1.1) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(cell * ncols, cell * 1.15 * nrows))
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(nrows * ncols)]
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes


def plot_digits(
    images,
    labels: Sequence | None = None,
    *,
    predicted: Sequence | None = None,
    ncols: int = 10,
    max_images: int = 50,
) -> Figure:
    """A grid of digits titled by label; with ``predicted``, wrong predictions in red.

    ``images``: (n, 28, 28) or (n, 784). At most ``max_images`` are drawn.
    """
    images = np.asarray(images)
    n = min(len(images), max_images)
    if n == 0:
        raise ValueError("no images to plot")
    fig, axes = _grid(n, ncols)
    for i in range(n):
        title, color = None, "black"
        if labels is not None and predicted is not None:
            title = f"{labels[i]} \u2192 {predicted[i]}"
            color = "black" if labels[i] == predicted[i] else "red"
        elif labels is not None:
            title = str(labels[i])
        _draw(axes[i], images[i], title, color)
    fig.tight_layout()
    return fig


def _history_dict(history) -> Mapping[str, Sequence[float]]:
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping) or not values:
        raise ValueError("expected a keras History or its .history dict of per-epoch lists")
    return values


def plot_history(history, *, title: str | None = None) -> Figure:
    """Loss and each metric by epoch, training against validation (R's ``plot(history)``).

    ``history``: a ``keras.callbacks.History`` or its ``.history`` dict, such as
    ``{"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}``.
    One panel per metric; epochs count from 1.
    """
    values = _history_dict(history)
    metrics = [k for k in values if not k.startswith("val_") and k != "learning_rate"]
    fig = Figure(figsize=(4.2 * len(metrics), 3.4))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        epochs = np.arange(1, len(values[metric]) + 1)
        ax.plot(epochs, values[metric], "o-", markersize=3, label="training")
        if f"val_{metric}" in values:
            ax.plot(epochs, values[f"val_{metric}"], "s-", markersize=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix, *, class_names: Sequence | None = None, title: str | None = None) -> Figure:
    """A confusion matrix as a heat map with counts; rows true digits, columns predicted."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {matrix.shape}")
    k = matrix.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    fig = Figure(figsize=(0.55 * k + 1.8, 0.55 * k + 1.2))
    ax = fig.add_subplot()
    shown = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(shown, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title or "confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, f"{matrix[i, j]:g}", ha="center", va="center", fontsize=7, color=color)
    fig.tight_layout()
    return fig


def plot_misclassified(images, y_true, y_pred, *, max_images: int = 20, ncols: int = 10) -> Figure:
    """The test digits the network got wrong, titled "true -> predicted"."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    wrong = np.flatnonzero(y_true != y_pred)[:max_images]
    if wrong.size == 0:
        fig = Figure(figsize=(4, 1))
        fig.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
        return fig
    fig = plot_digits(np.asarray(images)[wrong], y_true[wrong], predicted=y_pred[wrong], ncols=ncols)
    fig.suptitle(f"{np.count_nonzero(y_true != y_pred)} misclassified; first {wrong.size} shown")
    return fig


def plot_label_counts(counts, *, title: str = "how many of each digit") -> Figure:
    """A bar chart of how many images there are of each digit (``counts``: length 10)."""
    counts = np.asarray(counts)
    fig = Figure(figsize=(5, 2.8))
    ax = fig.add_subplot()
    ax.bar(range(len(counts)), counts, color="tab:blue")
    ax.set_xticks(range(len(counts)))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    fig.tight_layout()
    return fig
