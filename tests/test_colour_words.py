"""The notebooks name the colour a wrong prediction is drawn in as the figure draws it.

Notebook 08 once said the wrong predictions were "in red" under titles drawn in orange (Okabe-Ito
vermillion, #D55E00, which reads as orange). Here: the figure :func:`mnistlib.plots.plot_misclassified`
draws really colours each wrong title with :data:`mnistlib.plots.WRONG`, its text alternative
says orange, that colour's hue lies among the oranges, and every text cell of the course that says which colour a prediction or a
title is drawn in says "orange" and no other colour.
"""

from __future__ import annotations

import colorsys
import re

import matplotlib.colors
import nbformat
import numpy as np
from doc_commands import REPO

from mnistlib import plots
from mnistlib.course import assignment_ids

COLOURS = ("red", "orange", "green", "blue", "purple", "yellow", "pink", "vermillion")


def hue_degrees(colour: str) -> float:
    return 360 * colorsys.rgb_to_hsv(*matplotlib.colors.to_rgb(colour))[0]


def test_wrong_predictions_are_titled_in_an_orange():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    fig = plots.plot_misclassified(images, np.array([1, 2, 3]), np.array([1, 5, 7]))
    titles = [t for ax in fig.axes for t in ax.texts if "→" in t.get_text() or "->" in t.get_text()]
    assert titles, "no titles found in the figure"
    coloured = {t.get_text(): matplotlib.colors.to_hex(t.get_color()) for t in titles}
    assert set(coloured.values()) == {plots.WRONG.lower()}, coloured
    assert "(2 wrong, titled in orange)" in plots.describe_figure(fig), "the alt text names another colour"
    assert 15 <= hue_degrees(plots.WRONG) <= 45, (
        f"{plots.WRONG} is no orange (hue {hue_degrees(plots.WRONG):.0f})"
    )


def test_the_notebooks_call_that_colour_orange():
    said = []
    for assignment in assignment_ids():
        notebook = nbformat.read(
            REPO / "course" / "source" / assignment / f"{assignment}.ipynb", as_version=4
        )
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            for sentence in re.split(r"(?<=[.:;])\s", cell.source):
                if re.search(r"predict|wrong|misclassif", sentence) and re.search(r"title|drawn", sentence):
                    named = [c for c in COLOURS if re.search(rf"\b{c}\b", sentence)]
                    said.append((assignment, named, sentence))
    assert said, "no sentence of the course names the colour of a wrong prediction"
    wrong = [(a, s) for a, named, s in said if named and named != ["orange"]]
    assert not wrong, f"a colour other than orange named for wrong predictions: {wrong}"
    assert any(named == ["orange"] for a, named, _ in said if a.startswith("08")), said
