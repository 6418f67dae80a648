"""The notebooks' widgets, driven from Python: moving a control changes what is shown, the
learner's own functions are called (and their mistakes reported, not raised), and every widget
carries a static picture for places that cannot run widgets (checked through real nbconvert)."""

from __future__ import annotations

import ast
import base64
import html
import io
import json
import warnings
from pathlib import Path

import matplotlib.image
import nbformat
import numpy as np
import pytest
from nbconvert import HTMLExporter

from mnistlib import widgets

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_08 = REPO / "course" / "source" / "08-gradient-descent-by-hand" / "08-gradient-descent-by-hand.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_pixels(png) -> np.ndarray:
    png = bytes(png)
    assert png.startswith(PNG_SIGNATURE), "not a PNG"
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def fallback_of(widget) -> dict:
    data, _ = widget._repr_mimebundle_()
    return data


def assert_has_fallback(widget) -> None:
    data = fallback_of(widget)
    assert widgets.WIDGET_VIEW in data, "the live widget view is missing from the display bundle"
    picture = png_pixels(base64.b64decode(data["image/png"]))
    assert picture.shape[0] > 50 and picture.shape[1] > 50
    assert picture[..., :3].std() > 0.01, "the fallback picture is blank"
    assert "run the notebook" in data["text/plain"]
    # pages without widgets (feedback, nbviewer) show the same picture with its text alternative
    assert data["text/html"].startswith('<img src="data:image/png;base64,')
    assert f'alt="{html.escape(data["text/plain"], quote=True)}"' in data["text/html"]


# ------------------------------------------------------------------ the learner's functions


def train_sgd_from_notebook_08():
    """``train_sgd`` and the functions it calls, as written in notebook 08's solution cells."""
    names = {
        "relu",
        "relu_grad",
        "softmax",
        "cross_entropy",
        "forward",
        "init_params",
        "backward",
        "sgd_step",
    }
    names.add("train_sgd")
    notebook = json.loads(NOTEBOOK_08.read_text(encoding="utf-8"))
    namespace = {"np": np}
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        if defined & names:
            functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
            exec(compile(ast.Module(functions, type_ignores=[]), f"<{NOTEBOOK_08.name}>", "exec"), namespace)
    missing = names - set(namespace)
    assert not missing, f"notebook 08 no longer defines {sorted(missing)}"
    return namespace["train_sgd"]


def inverted_dropout(x, rate, rng):
    """Dropout as notebook 07 asks for it: zero each value with probability rate, scale the rest."""
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)


def not_written_yet(*args, **kwargs):
    raise NotImplementedError()


# ------------------------------------------------------------------------- digit browser


@pytest.fixture(scope="module")
def digits(mnist_arrays):
    (x_train, y_train), _ = mnist_arrays
    return x_train[:300], y_train[:300]


def test_moving_the_slider_changes_the_shown_digit_and_label(digits):
    images, labels = digits
    browser = widgets.digit_browser(images, labels)
    assert (browser.slider.min, browser.slider.max, browser.slider.value) == (0, 299, 0)
    assert browser.shown_label == labels[0] == 5
    assert "label: 5" in browser.label.value and "index 0" in browser.label.value
    first_picture = browser.image.value

    browser.slider.value = 1  # what dragging the slider does
    assert browser.shown_label == labels[1] == 0
    assert "label: 0" in browser.label.value and "image 2 when counting from 1" in browser.label.value
    assert browser.image.value != first_picture

    browser.slider.value = 0
    assert browser.image.value == first_picture, "the same index must show the same picture"


def test_sliding_to_an_index_shows_what_opening_at_that_index_shows(digits):
    images, labels = digits
    browser = widgets.digit_browser(images, labels)
    for index in (7, 8, 299):
        browser.slider.value = index
        opened = widgets.digit_browser(images, labels, start=index)
        assert bytes(browser.image.value) == bytes(opened.image.value)
        assert browser.label.value == opened.label.value
        assert f"label: {labels[index]}" in browser.label.value


def test_digit_browser_has_a_static_picture_of_ten_digits(digits):
    images, labels = digits
    browser = widgets.digit_browser(images, labels, start=20)
    assert_has_fallback(browser)
    assert "images 20 to 29" in fallback_of(browser)["text/plain"]


def test_digit_browser_rejects_mismatched_labels(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="as many labels as images"):
        widgets.digit_browser(images, labels[:10])


# ---------------------------------------------------------------- learning-rate explorer


@pytest.fixture(scope="module")
def rows(mnist_arrays):
    (x_train, y_train), _ = mnist_arrays
    x = x_train[:2000].reshape(-1, 784).astype(np.float32) / 255.0
    return x, np.eye(10, dtype=np.float32)[y_train[:2000]]


@pytest.mark.slow
def test_learning_rate_explorer_trains_the_learners_function_once_per_rate(rows):
    train_sgd = train_sgd_from_notebook_08()
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["learning_rate"])
        return train_sgd(*args, **kwargs)

    x, y = rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a diverging rate must not spray RuntimeWarnings at the learner
        explorer = widgets.learning_rate_explorer(counted, x, y, rates=(0.001, 0.1, 50.0), precompute=False)
        assert calls == [0.1], "only the chosen rate trains before a click"
        good = np.asarray(explorer.results[0.1])
        assert len(good) == 2000 // 32 + 1
        assert good[-10:].mean() < 0.7 * good[:3].mean(), (
            "rate 0.1 should bring the loss well down in one epoch"
        )
        assert "rate 0.1" in explorer.status.value and "63 steps" in explorer.status.value
        picture = explorer.plot.value

        explorer.rates.value = 0.001  # a click on another rate
        assert calls == [0.1, 0.001]
        assert explorer.plot.value != picture
        slow = np.asarray(explorer.results[0.001])
        assert abs(slow[-10:].mean() - np.log(10)) < 0.3, "rate 0.001 should barely move from log(10)"

        explorer.rates.value = 50.0
        assert "blew up" in explorer.status.value or float(np.mean(explorer.results[50.0][-10:])) > 2.0

        explorer.rates.value = 0.1  # back again: from the cache, no retraining
        assert calls == [0.1, 0.001, 50.0]
        assert explorer.plot.value == picture or "rate 0.1" in explorer.status.value
    assert_has_fallback(explorer)


@pytest.mark.slow
def test_learning_rate_explorer_precomputes_every_rate_for_the_picture(rows):
    x, y = rows
    explorer = widgets.learning_rate_explorer(train_sgd_from_notebook_08(), x, y, rates=(0.01, 0.5), n=500)
    assert sorted(explorer.results) == [0.01, 0.5]
    assert all(len(losses) == 500 // 32 + 1 for losses in explorer.results.values())
    assert "0.01, 0.5" in fallback_of(explorer)["text/plain"]


def test_learning_rate_explorer_says_to_write_train_sgd_first(rows):
    x, y = rows
    not_written_yet.__name__ = "train_sgd"
    explorer = widgets.learning_rate_explorer(not_written_yet, x, y)
    assert "write train_sgd() first" in explorer.status.value
    assert_has_fallback(explorer)


# -------------------------------------------------------------------- dropout visualiser


def test_dropout_visualiser_applies_the_learners_dropout_at_the_chosen_rate(digits):
    images, _ = digits
    visual = widgets.dropout_visualiser(inverted_dropout, images[0], rate=0.0)
    original = images[0].astype(np.float32) / 255.0
    np.testing.assert_allclose(visual.last_output, original, rtol=1e-6)
    picture = visual.picture.value

    visual.slider.value = 0.5
    out = visual.last_output
    lit = original > 0
    dropped = np.mean(out[lit] == 0)
    assert 0.35 < dropped < 0.65, (
        f"about half the lit pixels should be dropped at rate 0.5, got {dropped:.2f}"
    )
    np.testing.assert_allclose(out[lit & (out > 0)], 2.0 * original[lit & (out > 0)], rtol=1e-5)
    assert "rate 0.5" in visual.status.value and "multiplied by 2.00" in visual.status.value
    assert visual.picture.value != picture

    same = visual.last_output.copy()
    visual.slider.value = 0.0
    visual.slider.value = 0.5
    np.testing.assert_array_equal(visual.last_output, same)  # a rate keeps its mask ...
    visual.new_mask.click()
    assert not np.array_equal(visual.last_output, same)  # ... until a new one is drawn
    assert_has_fallback(visual)


def test_dropout_visualiser_says_to_write_dropout_first(digits):
    images, _ = digits

    def dropout(x, rate, rng):
        raise NotImplementedError()

    visual = widgets.dropout_visualiser(dropout, images[0])
    assert visual.last_output is None
    assert "write dropout() first" in visual.status.value
    visual.slider.value = 0.3  # still no crash
    assert "write dropout() first" in visual.status.value
    assert_has_fallback(visual)


def test_dropout_visualiser_reports_other_mistakes(digits):
    images, _ = digits

    def dropout(x, rate, rng):
        return x[0]  # forgot that the batch axis stays

    visual = widgets.dropout_visualiser(dropout, images[0])
    assert visual.status.value == "dropout() returned shape (784,); expected the shape it was given, (1, 784)"

    def dropout(x, rate, rng):  # noqa: F811 - another learner's version
        return x * rng.binomial(1, 1 - rate)  # size forgotten: one coin for the whole image

    assert "survivors" in widgets.dropout_visualiser(dropout, images[0]).status.value


# ------------------------------------------------------- what front ends without widgets show


def _html_of_displayed(widget, *, with_widget_state: bool) -> str:
    data, metadata = widget._repr_mimebundle_()
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("widget")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    notebook.cells = [cell]
    if with_widget_state:
        state = {
            widget.model_id: {
                "model_name": "VBoxModel",
                "model_module": "@jupyter-widgets/controls",
                "model_module_version": "2.0.0",
                "state": {},
            }
        }
        notebook.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "version_major": 2,
                "version_minor": 0,
                "state": state,
            }
        }
    html, _ = HTMLExporter().from_notebook_node(notebook)
    return html


def test_nbconvert_html_shows_the_picture_when_no_widget_state_was_saved(digits):
    images, labels = digits
    browser = widgets.digit_browser(images, labels)
    html = _html_of_displayed(browser, with_widget_state=False)
    assert 'src="data:image/png;base64,' in html
    assert "application/vnd.jupyter.widget-view+json" not in html
    # with the widget state saved in the notebook, nbconvert embeds the widget instead
    html = _html_of_displayed(browser, with_widget_state=True)
    assert 'type="application/vnd.jupyter.widget-view+json"' in html


def test_learning_rate_explorer_trains_only_the_first_rate_under_nbgrader(rows, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # grading a class: nobody clicks
    x, y = rows
    explorer = widgets.learning_rate_explorer(train_sgd_from_notebook_08(), x, y, rates=(0.01, 0.1), n=200)
    assert list(explorer.results) == [0.1]


def test_every_widget_picture_says_what_it_shows(digits):
    """Each picture's tooltip (the <img>'s title: its text alternative) follows what it shows; the empty
    description keeps ipywidgets' front end from failing on an Image with a tooltip."""
    images, labels = digits
    browser = widgets.digit_browser(images, labels)
    assert "handwritten digit" in browser.image.tooltip and "label 5" in browser.image.tooltip
    browser.slider.value = 1
    assert "label 0" in browser.image.tooltip
    visualiser = widgets.dropout_visualiser(lambda x, rate, rng: x * (rng.random(x.shape) >= rate), images[0])
    assert "rate 0.5" in visualiser.picture.tooltip
    for picture in (browser.image, visualiser.picture):
        assert picture.get_state()["description"] == "" and isinstance(picture, widgets.Picture)
