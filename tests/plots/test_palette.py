"""The course's colours stay apart for colour-blind learners, and every figure says what it shows.

Colour vision deficiency is simulated with Machado, Oliveira & Fernandes (2009), "A physiologically-
based model for simulation of color vision deficiency" (IEEE TVCG 15(6)), severity 1.0 matrices, which
act on linear RGB. Colours are compared in CIELAB (D65) by CIE76 distance, Delta E: about 2.3 is
just noticeable, and lines you must tell apart at a glance in a legend want 10 or more.

* Line colours: every pair of :data:`mnistlib.plots.LINE_COLORS` (up to six curves share an axis, in
  the learning-rate explorer) is at least MIN_PAIR_DE apart under protanopia, deuteranopia and
  tritanopia, and the "wrong" colour stands apart from black (the "right" titles).
* The lines each figure actually draws together, read off the Figure, are pairwise that far apart.
* Colour maps: "gray" and "Blues" (values, counts) get steadily lighter under every simulation, so
  the value reads from lightness alone; "RdBu" (signed values) has ends far apart and its middle
  lighter than both ends under every simulation (ColorBrewer rates RdBu colour-blind safe; its darkest
  ends come closest under protanopia, 35).
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from mnistlib import plots
from mnistlib.plots import dropout, going_further, gradient_descent, network
from mnistlib.widgets import learning_rate_explorer

#: Machado et al. (2009), severity 1.0: linear RGB in, linear RGB out.
MACHADO_2009 = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}
VISION = (None, *MACHADO_2009)  # None: typical colour vision
MIN_PAIR_DE = 15.0


def linear(rgb) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab(color, vision: str | None = None) -> np.ndarray:
    """CIELAB (D65) of ``color`` as seen with ``vision`` (a key of MACHADO_2009, or None)."""
    rgb = linear(to_rgb(color))
    if vision is not None:
        rgb = np.clip(np.asarray(MACHADO_2009[vision]) @ rgb, 0, 1)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b, vision: str | None = None) -> float:
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def test_the_simulation_is_the_published_one():
    """Sanity: white stays white, and the classic confusion pair red/green collapses for a deuteranope."""
    for vision in MACHADO_2009:
        assert delta_e("white", "white", vision) < 1.0
    assert delta_e("#d62728", "#2ca02c") > 60  # tab:red vs tab:green to typical vision ...
    assert delta_e("#d62728", "#2ca02c", "deuteranopia") < 25  # ... nearly the same to a deuteranope


@pytest.mark.parametrize("vision", VISION)
def test_every_pair_of_line_colours_stays_apart(vision):
    close = [
        (a, b, round(delta_e(a, b, vision), 1))
        for a, b in itertools.combinations(plots.LINE_COLORS, 2)
        if delta_e(a, b, vision) < MIN_PAIR_DE
    ]
    assert not close, f"line colours too alike under {vision or 'typical vision'}: {close}"
    assert delta_e(plots.WRONG, "black", vision) > 3 * MIN_PAIR_DE, (
        "wrong (vermillion) vs right (black) titles"
    )


def drawn_colours(fig) -> list[str]:
    """The distinct colours of a figure's data: labelled lines, lines of markers, and bars (seen side by side)."""
    colours = []
    for ax in fig.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_") or line.get_marker() not in (None, "None", ""):
                colours.append(line.get_color())
        colours += [bar.patches[0].get_facecolor() for bar in ax.containers if bar.patches]
    return sorted({matplotlib.colors.to_hex(c) for c in colours})


HISTORY = {
    "loss": [1.0, 0.5, 0.4],
    "val_loss": [1.1, 0.7, 0.6],
    "accuracy": [0.6, 0.8, 0.9],
    "val_accuracy": [0.5, 0.7, 0.8],
}
FIGURES = {
    "plot_history": lambda: plots.plot_history(HISTORY),
    "plot_loss_curves": lambda: gradient_descent.plot_loss_curves(
        {f"rate {r}": np.linspace(2, r, 20) for r in (0.1, 0.2, 0.5, 1, 2, 3)}
    ),
    "plot_probabilities": lambda: network.plot_probabilities(np.full(10, 0.1)),
    "plot_dropped_vectors": lambda: dropout.plot_dropped_vectors(
        np.ones(8), [np.r_[np.zeros(4), 2 * np.ones(4)]], ["a", "b"]
    ),
    "plot_shift": lambda: going_further.plot_shift(np.eye(28), np.roll(np.eye(28), 2, axis=1)),
    "learning_rate_explorer": lambda: learning_rate_explorer(
        lambda x, y, learning_rate, **_: (None, np.linspace(2.3, 1 / (1 + learning_rate), 30)),
        np.zeros((50, 784)),
        np.zeros((50, 10)),
    )._figure(None),
}


@pytest.mark.parametrize("name", FIGURES)
def test_the_colours_drawn_together_stay_apart(name):
    fig = FIGURES[name]()
    pairs = list(itertools.combinations(drawn_colours(fig), 2))
    assert pairs, "the figure should draw at least two colours"
    for vision in VISION:
        close = [(a, b) for a, b in pairs if delta_e(a, b, vision) < MIN_PAIR_DE]
        assert not close, f"{name}: colours too alike under {vision or 'typical vision'}: {close}"


def lightness(cmap: str, vision: str | None) -> np.ndarray:
    colours = matplotlib.colormaps[cmap](np.linspace(0, 1, 33))
    return np.array([lab(c[:3], vision)[0] for c in colours])


@pytest.mark.parametrize("vision", VISION)
@pytest.mark.parametrize("cmap", ["gray", "Blues"])
def test_sequential_maps_read_from_lightness_alone(cmap, vision):
    steps = np.diff(lightness(cmap, vision))
    assert np.all(steps > 0) or np.all(steps < 0), f"{cmap} is not monotonic in lightness under {vision}"


@pytest.mark.parametrize("vision", VISION)
@pytest.mark.parametrize("cmap", ["RdBu", "RdBu_r"])
def test_diverging_maps_keep_their_two_sides_apart(cmap, vision):
    colours = matplotlib.colormaps[cmap]
    low, high = colours(0.0)[:3], colours(1.0)[:3]
    assert delta_e(low, high, vision) > 30, f"{cmap}'s ends look alike under {vision}"
    light = lightness(cmap, vision)
    assert light[16] > light[0] + 20 and light[16] > light[-1] + 20, "the middle (0) is the lightest"


def test_every_figure_says_what_it_shows():
    """The alternative text names what is drawn: titles, axes, legends, or what the plot function said."""
    alt = plots.describe_figure(plots.plot_history(HISTORY))
    assert "2 panels" in alt and "x axis epoch" in alt and "legend: training, validation" in alt
    digits = np.zeros((3, 28, 28), dtype=np.uint8)
    alt = plots.describe_figure(plots.plot_digits(digits, [7, 2, 1]))
    assert alt.startswith("3 handwritten digit images") and "7, 2, 1" in alt
    alt = plots.describe_figure(plots.plot_misclassified(digits, np.array([7, 2, 1]), np.array([7, 3, 1])))
    assert "1 wrong" in alt and "misclassified" in alt
    for name, make in FIGURES.items():
        assert len(plots.describe_figure(make())) > 30, name
    assert len(plots.describe_figure(plots.plot_confusion_matrix(np.eye(10)))) <= plots.ALT_MAX_CHARS
