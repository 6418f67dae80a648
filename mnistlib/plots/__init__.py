"""The pictures the course draws. Every function returns a matplotlib Figure.

The figures are built with :class:`matplotlib.figure.Figure` directly, not
through ``pyplot``, so library code never opens windows or shows a figure
twice: make the returned Figure the last expression of a notebook cell and
Jupyter displays it once.

Images are MNIST digits: ``(28, 28)`` arrays (or flat ``(784,)`` rows) of
uint8 pixels 0-255, or floats scaled to [0, 1]. As in R's
``plot(as.raster(digit, max = 255))``, 0 is drawn black and the maximum white.

This module holds the pictures several notebooks draw. Pictures only one
notebook draws live in the module named after that notebook's topic, the same
name as its checks (:mod:`mnistlib.checks.reshaping` and
:mod:`mnistlib.plots.reshaping`): ``plots.reshaping.plot_pixel_rows(...)``
works after ``from mnistlib import plots``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

SIDE = 28

#: The topic modules, one per notebook that draws pictures of its own (imported on first use).
TOPICS = (
    "reshaping",
    "one_hot_labels",
    "network",
    "training",
    "dropout",
    "gradient_descent",
    "going_further",
)

#: Line and bar colours, in the order plots use them: six of Okabe & Ito's colour-blind-safe palette
#: (blue, orange, bluish green, vermillion, sky blue, reddish purple). Every pair stays apart (CIE76
#: colour difference of 15 or more) under simulated protanopia, deuteranopia and tritanopia
#: (tests/plots/test_palette.py). Maps use "gray" (digits), "Blues" (counts) and "RdBu" (signed
#: values), whose lightness carries the value, so they read the same without colour vision.
LINE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7")
#: The colour that marks something wrong (a misclassified digit, a dropped unit): Okabe-Ito vermillion.
WRONG = "#D55E00"
#: Where a plot shows one series: Okabe-Ito blue; a second, contrasting series: Okabe-Ito orange.
MAIN, SECOND = LINE_COLORS[0], LINE_COLORS[1]


def _white(images: np.ndarray) -> float:
    """The pixel value drawn white: 1.0 for floats scaled to [0, 1], else 255."""
    return 1.0 if np.issubdtype(images.dtype, np.floating) and images.max(initial=0) <= 1.0 else 255.0


def _as_image(image) -> tuple[np.ndarray, float]:
    """A (28, 28) array and the value drawn white (255 for integers, 1.0 for floats)."""
    image = np.asarray(image)
    if image.shape == (SIDE * SIDE,):
        image = image.reshape(SIDE, SIDE)
    if image.ndim != 2 or max(image.shape) > 2 * SIDE:
        hint = " (a batch of flat images? pass one row, or reshape it to (28, 28))" if image.ndim == 2 else ""
        raise ValueError(f"expected one image of shape (28, 28) or (784,), got shape {image.shape}{hint}")
    return image, _white(image)


def draw_digit(ax, image, title: str | None = None, color: str = "black") -> None:
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
    draw_digit(ax, image, title)
    fig.tight_layout()
    set_alt_text(
        fig,
        "One handwritten digit drawn as a 28 by 28 grid of grey pixels"
        + (f", titled {title}" if title else ""),
    )
    return fig


#: Inches per canvas pixel in a grid of digits: 28 pixels plus the gap make a 1.1-inch column.
DIGIT_INCH = 1.1 / 34


def tile(panels, ncols: int, *, gap: int = 6, band: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lay equal-size panels out in rows of ``ncols`` on one canvas, to draw them as one image.

    ``panels``: (n, h, w) values. Each panel gets a cell of ``band + h + gap`` by ``w + gap`` pixels,
    ``band`` rows above it (room for a title) and half the ``gap`` on each side. Returns ``(canvas,
    origins)``: the canvas, a float array with NaN wherever no panel is, and the (row, column) of each
    panel's top-left pixel, an (n, 2) int array.

    One image of many digits draws several times faster than one plot (Axes) per digit.
    """
    panels = np.asarray(panels, dtype=np.float32)
    if panels.ndim != 3 or len(panels) == 0:
        raise ValueError(f"expected a non-empty (n, h, w) array of panels, got shape {panels.shape}")
    n, h, w = panels.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    cell_h, cell_w = band + h + gap, w + gap
    canvas = np.full((nrows * cell_h, ncols * cell_w), np.nan, dtype=np.float32)
    index = np.arange(n)
    origins = np.stack([index // ncols * cell_h + band + gap // 2, index % ncols * cell_w + gap // 2], axis=1)
    for panel, (row, col) in zip(panels, origins, strict=True):
        canvas[row : row + h, col : col + w] = panel
    return canvas, origins


def tiled_figure(
    canvas: np.ndarray,
    *,
    cmap,
    vmin: float,
    vmax: float,
    inch_per_px: float,
    heading: str | None = None,
) -> tuple[Figure, object]:
    """A Figure the exact shape of ``canvas``, drawn as one image (NaN shows the white background).

    With ``heading``, a strip above the canvas holds it. Returns the figure and its one Axes, whose
    data coordinates are canvas pixels (for titles: ``ax.text(column, row, ...)``).
    """
    height, width = canvas.shape
    top = 0.35 if heading else 0.0  # inches for the heading
    fig = Figure(figsize=(width * inch_per_px, height * inch_per_px + top))
    ax = fig.add_axes((0, 0, 1, 1 - top / fig.get_figheight()))
    colors = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(canvas), cmap=colors, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if heading:
        fig.text(0.5, 1 - 0.5 * top / fig.get_figheight(), heading, ha="center", va="center")
    return fig, ax


def title_panels(ax, origins, width: int, titles, colors=None, fontsize: float = 9) -> None:
    """Write ``titles[i]`` centred just above panel ``i`` (``origins`` from :func:`tile`)."""
    for i, ((row, col), title) in enumerate(zip(origins, titles, strict=True)):
        color = "black" if colors is None else colors[i]
        ax.text(
            col + (width - 1) / 2, row - 1.5, title, ha="center", va="bottom", fontsize=fontsize, color=color
        )


def frame_panels(ax, origins, height: int, width: int) -> None:
    """A thin grey frame around each panel, for panels whose edges may be white (values near 0)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    frames = [Rectangle((col - 0.5, row - 0.5), width, height) for row, col in origins]
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="0.6", linewidth=0.6))


def _digit_stack(images, n: int) -> tuple[np.ndarray, float]:
    """The first ``n`` images as an (n, 28, 28) array, and the value drawn white for all of them."""
    images = np.asarray(images)[:n]
    if images.ndim == 2 and images.shape[1] == SIDE * SIDE:
        images = images.reshape(n, SIDE, SIDE)
    if images.ndim != 3 or max(images.shape[1:]) > 2 * SIDE:
        raise ValueError(f"expected images of shape (n, 28, 28) or (n, 784), got shape {images.shape}")
    return images, _white(images)


def plot_digits(
    images,
    labels: Sequence | None = None,
    *,
    predicted: Sequence | None = None,
    ncols: int = 10,
    max_images: int = 50,
    heading: str | None = None,
) -> Figure:
    """A grid of digits titled by label; with ``predicted``, wrong predictions in orange (Okabe-Ito vermillion).

    ``images``: (n, 28, 28) or (n, 784). At most ``max_images`` are drawn, ``ncols`` to a row, as
    one image (see :func:`tile`); ``heading`` goes above the grid.
    """
    n = min(len(images), max_images)
    if n == 0:
        raise ValueError("no images to plot")
    stack, white = _digit_stack(images, n)
    canvas, origins = tile(stack, ncols, band=10 if labels is not None else 0)
    fig, ax = tiled_figure(canvas, cmap="gray", vmin=0, vmax=white, inch_per_px=DIGIT_INCH, heading=heading)
    if labels is not None and predicted is not None:
        titles = [f"{labels[i]} \u2192 {predicted[i]}" for i in range(n)]
        title_panels(
            ax,
            origins,
            stack.shape[2],
            titles,
            ["black" if labels[i] == predicted[i] else WRONG for i in range(n)],
        )
    elif labels is not None:
        title_panels(ax, origins, stack.shape[2], [str(labels[i]) for i in range(n)])
    what = f"{n} handwritten digit images in rows of {min(ncols, n)}"
    if labels is not None and predicted is not None:
        wrong = sum(labels[i] != predicted[i] for i in range(n))
        what += f", each titled true digit \u2192 predicted digit ({wrong} wrong, titled in orange)"
    elif labels is not None:
        shown = ", ".join(str(labels[i]) for i in range(min(n, 20)))
        what += f", titled by their labels: {shown}{', ...' if n > 20 else ''}"
    set_alt_text(fig, what)
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
        ax.plot(epochs, values[metric], "o-", markersize=3, color=MAIN, label="training")
        if f"val_{metric}" in values:
            ax.plot(epochs, values[f"val_{metric}"], "s--", markersize=3, color=SECOND, label="validation")
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
    heading = f"{np.count_nonzero(y_true != y_pred)} misclassified; first {wrong.size} shown"
    return plot_digits(
        np.asarray(images)[wrong], y_true[wrong], predicted=y_pred[wrong], ncols=ncols, heading=heading
    )


def plot_label_counts(counts, *, title: str = "how many of each digit") -> Figure:
    """A bar chart of how many images there are of each digit (``counts``: length 10)."""
    counts = np.asarray(counts)
    fig = Figure(figsize=(5, 2.8))
    ax = fig.add_subplot()
    ax.bar(range(len(counts)), counts, color=MAIN)
    ax.set_xticks(range(len(counts)))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------ alternative text

ALT_ATTRIBUTE = "mnistlib_alt"
#: Alternative text longer than this is cut (with an ellipsis): a screen reader reads all of it.
ALT_MAX_CHARS = 600


def set_alt_text(fig: Figure, text: str) -> Figure:
    """Say what ``fig`` shows, in words; :func:`describe_figure` puts it first. Returns ``fig``."""
    setattr(fig, ALT_ATTRIBUTE, text.strip().rstrip("."))
    return fig


def _axes_description(ax, *, texts: bool = True) -> str:
    parts = []
    title = " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t)
    if title:
        parts.append(f"'{title}'")
    kinds = []
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")] or ax.get_lines()
    if lines:
        kinds.append(f"{len(lines)} line{'s' if len(lines) > 1 else ''}")
    if ax.containers:
        kinds.append("bars")
    if ax.get_images():
        kinds.append("an image")
    if kinds:
        parts.append(" and ".join(kinds))
    if ax.axison:
        labels = [
            f"x axis {ax.get_xlabel()}" if ax.get_xlabel() else "",
            f"y axis {ax.get_ylabel()}" if ax.get_ylabel() else "",
        ]
        if any(labels):
            parts.append(", ".join(label for label in labels if label))
    legend = ax.get_legend()
    if legend is not None:
        parts.append("legend: " + ", ".join(text.get_text() for text in legend.get_texts()))
    elif texts and ax.texts and not ax.axison:
        texts = [text.get_text().replace("\n", " ") for text in ax.texts if text.get_text().strip()]
        if texts:
            more = f" and {len(texts) - 12} more" if len(texts) > 12 else ""
            parts.append("labelled " + "; ".join(texts[:12]) + more)
    return ", ".join(parts)


def describe_figure(fig: Figure) -> str:
    """Alternative text for ``fig``: what a plot function said it shows (:func:`set_alt_text`), then
    the figure's title, its free text and each panel's title, kind of marks, axis labels and legend.

    Every mnistlib figure gets one when a notebook shows it (:func:`mnistlib.notebook.setup_notebook`
    puts it in the ``alt`` of the picture), so a screen reader says more than "image".
    """
    parts = []
    said = getattr(fig, ALT_ATTRIBUTE, None)
    if said:
        parts.append(said)
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(f"Figure titled '{suptitle.get_text()}'")
    texts = [text.get_text().replace("\n", " ") for text in fig.texts if text.get_text().strip()]
    if texts:
        parts.append("; ".join(texts))
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    described = [d for d in (_axes_description(ax, texts=not said) for ax in panels) if d]
    if said and described == ["an image"]:  # the plot function said what the one image is
        described = []
    if described:
        prefix = "A plot" if len(panels) == 1 else f"{len(panels)} panels"
        parts.append(prefix + ": " + "; ".join(described))
    if parts and any(ax.get_label() == "<colorbar>" for ax in fig.axes):
        parts[-1] += ", with a colour bar"
    text = ". ".join(part.rstrip(".") for part in parts) or "A matplotlib figure"
    text += "."
    return text if len(text) <= ALT_MAX_CHARS else text[: ALT_MAX_CHARS - 1].rstrip() + "\u2026"


def __getattr__(name: str):
    if name in TOPICS:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
