"""The course's pictures (mnistlib.plots): what is drawn, not only that something returns."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib import plots

RNG = np.random.default_rng(7)
DIGITS = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """Library plots never register with pyplot (no stray windows, no double display in Jupyter)."""
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == [], "a plot function registered a figure with pyplot"


def renders(fig: Figure) -> Figure:
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")  # the whole drawing code runs, layout included
    return fig


def image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images]


# --------------------------------------------------------------------- one digit


def test_plot_digit_draws_the_pixels_in_gray():
    fig = renders(plots.plot_digit(DIGITS[0], title="a five"))
    (ax,) = fig.axes
    (image,) = ax.images
    np.testing.assert_array_equal(np.asarray(image.get_array()), DIGITS[0])
    assert image.get_cmap().name == "gray"
    assert image.get_clim() == (0, 255)
    assert ax.get_title() == "a five"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_plot_digit_float_images_scaled_to_one():
    scaled = DIGITS[1] / 255.0
    image = plots.plot_digit(scaled).axes[0].images[0]
    assert image.get_clim() == (0, 1.0)
    np.testing.assert_allclose(np.asarray(image.get_array()), scaled)
    # Floats that were not scaled (0-255) keep 255 as white instead of saturating.
    assert plots.plot_digit(DIGITS[1].astype(np.float32)).axes[0].images[0].get_clim() == (0, 255)


def test_plot_digit_without_title():
    assert plots.plot_digit(DIGITS[0]).axes[0].get_title() == ""


def test_plot_digit_accepts_a_flat_row():
    image = renders(plots.plot_digit(DIGITS[2].reshape(784))).axes[0].images[0]
    np.testing.assert_array_equal(np.asarray(image.get_array()), DIGITS[2])


@pytest.mark.parametrize("shape", [(783,), (3, 28, 28), (1, 1, 784)])
def test_plot_digit_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=r"\(28, 28\) or \(784,\)"):
        plots.plot_digit(np.zeros(shape, dtype=np.uint8))


# ------------------------------------------------------------------ grids of digits


def test_plot_digits_titles_are_the_labels():
    labels = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5]
    fig = renders(plots.plot_digits(DIGITS, labels, ncols=5))
    axes = image_axes(fig)
    assert len(axes) == 12
    assert [ax.get_title() for ax in axes] == [str(x) for x in labels]
    for ax, digit in zip(axes, DIGITS, strict=True):
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), digit)
    assert len(fig.axes) == 15, "3 rows of 5, the 3 spare cells blank"
    assert all(not ax.axison for ax in fig.axes[12:])


def test_plot_digits_marks_wrong_predictions_red():
    labels = np.array([1, 2, 3, 4])
    predicted = np.array([1, 7, 3, 9])
    axes = image_axes(renders(plots.plot_digits(DIGITS[:4], labels, predicted=predicted)))
    assert [ax.get_title() for ax in axes] == ["1 \u2192 1", "2 \u2192 7", "3 \u2192 3", "4 \u2192 9"]
    colors = [matplotlib.colors.to_hex(ax.title.get_color()) for ax in axes]
    red, black = matplotlib.colors.to_hex("red"), matplotlib.colors.to_hex("black")
    assert colors == [black, red, black, red]


def test_plot_digits_flat_rows_no_labels_and_the_cap():
    fig = plots.plot_digits(RNG.integers(0, 256, (60, 784), dtype=np.uint8))
    axes = image_axes(fig)
    assert len(axes) == 50, "max_images=50 by default"
    assert all(ax.get_title() == "" for ax in axes)
    assert axes[0].images[0].get_array().shape == (28, 28)
    assert len(image_axes(plots.plot_digits(DIGITS, max_images=3))) == 3


def test_plot_digits_empty_raises():
    with pytest.raises(ValueError, match="no images"):
        plots.plot_digits(np.zeros((0, 28, 28), dtype=np.uint8))


# --------------------------------------------------------------------- history


def check_history_figure(fig: Figure, history: dict) -> None:
    metrics = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    assert [ax.get_title() for ax in fig.axes] == metrics, "one panel per metric"
    for ax, metric in zip(fig.axes, metrics, strict=True):
        n = len(history[metric])
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == ({"training", "validation"} if f"val_{metric}" in history else {"training"})
        for label, key in [("training", metric), ("validation", f"val_{metric}")]:
            if label in lines:
                np.testing.assert_array_equal(lines[label].get_xdata(), np.arange(1, n + 1))
                np.testing.assert_allclose(lines[label].get_ydata(), history[key])
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == metric
        assert ax.get_legend() is not None


def test_plot_history_from_a_dict():
    history = {
        "accuracy": [0.80, 0.90, 0.93],
        "loss": [0.6, 0.3, 0.2],
        "val_accuracy": [0.85, 0.91, 0.92],
        "val_loss": [0.5, 0.32, 0.3],
        "learning_rate": [1e-3, 1e-3, 1e-3],
    }
    fig = renders(plots.plot_history(history, title="training"))
    check_history_figure(fig, history)
    assert len(fig.axes) == 2, "learning_rate is not a panel"
    assert fig.get_suptitle() == "training"


def test_plot_history_without_validation():
    history = {"loss": [1.0, 0.5, 0.25, 0.2]}
    check_history_figure(renders(plots.plot_history(history)), history)


def test_plot_history_from_a_real_keras_history():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8), dtype=np.float32), rng.integers(0, 3, 64)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    fig = renders(plots.plot_history(history))
    check_history_figure(fig, history.history)
    assert sorted(ax.get_title() for ax in fig.axes) == ["accuracy", "loss"]


@pytest.mark.parametrize("bad", [{}, [0.1, 0.2], None])
def test_plot_history_rejects_non_histories(bad):
    with pytest.raises(ValueError, match="History"):
        plots.plot_history(bad)


# ------------------------------------------------------------ confusion matrix


def test_plot_confusion_matrix_annotates_the_counts():
    matrix = np.array([[50, 2, 0], [3, 41, 7], [0, 1, 1000]])
    fig = renders(plots.plot_confusion_matrix(matrix, class_names=["zero", "one", "two"]))
    ax = next(ax for ax in fig.axes if ax.images)
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), matrix)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(i, j): str(matrix[i, j]) for i in range(3) for j in range(3)}
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["zero", "one", "two"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["zero", "one", "two"]
    assert ax.get_title() == "confusion matrix"
    assert len(fig.axes) == 2, "the heat map and its colour bar"


def test_plot_confusion_matrix_default_names_and_rejects_non_square():
    fig = plots.plot_confusion_matrix(np.eye(10, dtype=int) * 100, title="test set")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(10)]
    assert ax.get_title() == "test set"
    assert len(ax.texts) == 100
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((3, 4)))


# ---------------------------------------------------------------- misclassified


def test_plot_misclassified_shows_only_the_wrong_ones():
    y_true = np.array([1, 2, 3, 4, 5, 6])
    y_pred = np.array([1, 0, 3, 9, 5, 6])
    fig = renders(plots.plot_misclassified(DIGITS[:6], y_true, y_pred))
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["2 \u2192 0", "4 \u2192 9"]
    np.testing.assert_array_equal(np.asarray(axes[0].images[0].get_array()), DIGITS[1])
    np.testing.assert_array_equal(np.asarray(axes[1].images[0].get_array()), DIGITS[3])
    assert fig.get_suptitle() == "2 misclassified; first 2 shown"


def test_plot_misclassified_cap_and_count():
    y_true = np.zeros(12, dtype=int)
    y_pred = np.ones(12, dtype=int)
    fig = plots.plot_misclassified(DIGITS, y_true, y_pred, max_images=5)
    assert len(image_axes(fig)) == 5
    assert fig.get_suptitle() == "12 misclassified; first 5 shown"


def test_plot_misclassified_none_wrong_and_shape_mismatch():
    fig = renders(plots.plot_misclassified(DIGITS[:3], [1, 2, 3], [1, 2, 3]))
    assert image_axes(fig) == []
    assert [t.get_text() for t in fig.texts] == ["no misclassified digits"]
    with pytest.raises(ValueError, match="differ in shape"):
        plots.plot_misclassified(DIGITS[:3], [1, 2, 3], [1, 2])


# ------------------------------------------------------------------ label counts


def test_plot_label_counts_bar_heights():
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    fig = renders(plots.plot_label_counts(counts))
    (ax,) = fig.axes
    assert [bar.get_height() for bar in ax.patches] == counts
    assert [round(bar.get_x() + bar.get_width() / 2) for bar in ax.patches] == list(range(10))
    assert ax.get_xlabel() == "digit" and ax.get_ylabel() == "images"
    assert ax.get_title() == "how many of each digit"
