"""Pictures for notebook 04, building the network: relu, the layer stack, softmax outputs.

Like :mod:`mnistlib.plots`, every function returns a matplotlib Figure built
without ``pyplot``: make it the last expression of a notebook cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from . import MAIN, SECOND


def plot_relu(z_min: float = -3.0, z_max: float = 3.0) -> Figure:
    """The relu activation, ``max(z, 0)``, drawn for z from ``z_min`` to ``z_max``."""
    z = np.linspace(z_min, z_max, 301)
    fig = Figure(figsize=(5.2, 2.8))
    ax = fig.add_subplot()
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.axvline(0, color="gray", linewidth=0.8)
    ax.plot(z, np.maximum(z, 0), linewidth=2.5, color=MAIN)
    ax.set_xlabel("z = W·x + b  (the unit's weighted sum)")
    ax.set_ylabel("relu(z) = max(z, 0)")
    ax.set_title("relu: negative sums become 0, positive ones pass")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_layer_stack(units: Sequence[int], activations: Sequence[str], params: Sequence[int]) -> Figure:
    """The network as a row of layers: the input and each Dense layer, with its parameter count.

    ``units``: the input size, then the units of each layer (e.g. ``[784, 784, 512, 10]``);
    ``activations``: one per layer (``len(units) - 1``); ``params``: weights plus biases, one per layer.
    Each layer's bar height is proportional to its number of units.
    """
    units = list(units)
    if len(activations) != len(units) - 1 or len(params) != len(units) - 1:
        raise ValueError("give one activation and one parameter count per layer (len(units) - 1 of each)")
    largest = max(units)
    fig = Figure(figsize=(2.4 * len(units), 3.4))
    ax = fig.add_subplot()
    for i, n in enumerate(units):
        height = 0.15 + 0.85 * n / largest
        color = "#bbbbbb" if i == 0 else (SECOND if i == len(units) - 1 else MAIN)
        ax.add_patch(Rectangle((i - 0.15, 0.5 - height / 2), 0.3, height, facecolor=color, edgecolor="black"))
        label = f"input\n{n} pixels" if i == 0 else f"Dense {n}\n{activations[i - 1]}"
        ax.text(i, 0.5 - height / 2 - 0.04, label, ha="center", va="top", fontsize=9)
        if i > 0:
            ax.add_patch(
                FancyArrowPatch((i - 1 + 0.17, 0.5), (i - 0.17, 0.5), arrowstyle="-|>", mutation_scale=12)
            )
            ax.text(i - 0.5, 0.55, f"{params[i - 1]:,}\nparameters", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.5, len(units) - 0.5)
    ax.set_ylim(-0.25, 1.05)
    ax.set_axis_off()
    ax.set_title(f"{len(units) - 1} dense layers, {sum(params):,} parameters in all")
    fig.tight_layout()
    return fig


def plot_probabilities(probabilities, *, title: str | None = None, true_digit: int | None = None) -> Figure:
    """Ten probabilities (a softmax output) as bars, the largest one highlighted.

    ``probabilities``: length 10, or shape (1, 10). A dashed line marks 0.1, the
    probability of each digit if the network had no idea at all. With
    ``true_digit``, that bar's label is marked "(true)".
    """
    values = np.asarray(probabilities, dtype=float).reshape(-1)
    if values.shape != (10,):
        raise ValueError(f"expected ten probabilities, got shape {np.shape(probabilities)}")
    fig = Figure(figsize=(5.5, 2.8))
    ax = fig.add_subplot()
    colors = [MAIN] * 10
    colors[int(values.argmax())] = SECOND
    ax.bar(range(10), values, color=colors)
    ax.axhline(0.1, color="gray", linestyle="--", linewidth=1, label="0.1: no idea at all")
    labels = [f"{d}\n(true)" if true_digit is not None and d == true_digit else str(d) for d in range(10)]
    ax.set_xticks(range(10), labels)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    ax.set_ylim(0, max(0.2, float(values.max()) * 1.15))
    ax.set_title(title or f"softmax output (sum = {values.sum():.3f})")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
