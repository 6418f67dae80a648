"""The course's pictures (mnistlib.plots): what is drawn, not only that something returns."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from figures import renders
from matplotlib.figure import Figure

from mnistlib import plots

RNG = np.random.default_rng(7)
DIGITS = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)


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


def canvas_of(fig: Figure) -> np.ndarray:
    """The one image a tiled figure draws, with NaN where the background shows."""
    (ax,) = fig.axes
    (image,) = ax.images
    return np.ma.filled(np.ma.asarray(image.get_array(), dtype=float), np.nan)


def panel(fig: Figure, origin, size: int = 28) -> np.ndarray:
    row, col = origin
    return canvas_of(fig)[row : row + size, col : col + size]


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_tile_places_each_panel_once_with_background_between():
    panels = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    canvas, origins = plots.tile(panels, ncols=2, gap=2, band=1)
    assert canvas.shape == (3 * (1 + 2 + 2), 2 * (3 + 2)), "3 rows of 2 cells, each band + panel + gap"
    for p, (row, col) in zip(panels, origins, strict=True):
        np.testing.assert_array_equal(canvas[row : row + 2, col : col + 3], p)
    assert np.count_nonzero(~np.isnan(canvas)) == panels.size, "nothing but the panels is drawn"
    np.testing.assert_array_equal(origins[:3], [[2, 1], [2, 6], [7, 1]])
    with pytest.raises(ValueError, match="non-empty"):
        plots.tile(np.zeros((0, 2, 2)), ncols=3)


def test_plot_digits_titles_are_the_labels():
    labels = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5]
    fig = renders(plots.plot_digits(DIGITS, labels, ncols=5))
    _, origins = plots.tile(DIGITS, 5, band=10)
    assert len(origins) == 12
    for origin, digit in zip(origins, DIGITS, strict=True):
        np.testing.assert_array_equal(panel(fig, origin), digit)
    assert canvas_of(fig).shape[1] == 5 * (28 + 6), "5 to a row"
    assert texts(fig) == [str(x) for x in labels]
    image = fig.axes[0].images[0]
    assert image.get_clim() == (0, 255) and image.get_cmap().name.startswith("gray")
    assert not fig.axes[0].axison


def test_plot_digits_marks_wrong_predictions_in_vermillion():
    labels = np.array([1, 2, 3, 4])
    predicted = np.array([1, 7, 3, 9])
    fig = renders(plots.plot_digits(DIGITS[:4], labels, predicted=predicted))
    assert texts(fig) == ["1 \u2192 1", "2 \u2192 7", "3 \u2192 3", "4 \u2192 9"]
    colors = [matplotlib.colors.to_hex(t.get_color()) for t in fig.axes[0].texts]
    # Okabe-Ito vermillion: red that stays apart from black for a protanope (plain red darkens towards it)
    red, black = matplotlib.colors.to_hex(plots.WRONG), matplotlib.colors.to_hex("black")
    assert colors == [black, red, black, red]


def test_plot_digits_flat_rows_no_labels_and_the_cap():
    rows = RNG.integers(0, 256, (60, 784), dtype=np.uint8)
    fig = renders(plots.plot_digits(rows))
    canvas = canvas_of(fig)
    assert np.count_nonzero(~np.isnan(canvas)) == 50 * 784, "max_images=50 by default"
    assert texts(fig) == []
    _, origins = plots.tile(rows[:50].reshape(50, 28, 28), 10)
    np.testing.assert_array_equal(panel(fig, origins[49]), rows[49].reshape(28, 28))
    assert np.count_nonzero(~np.isnan(canvas_of(plots.plot_digits(DIGITS, max_images=3)))) == 3 * 784


def test_plot_digits_scales_floats_to_one_and_refuses_other_shapes():
    fig = plots.plot_digits(DIGITS[:2] / 255.0)
    assert fig.axes[0].images[0].get_clim() == (0, 1.0)
    with pytest.raises(ValueError, match=r"\(n, 28, 28\) or \(n, 784\)"):
        plots.plot_digits(np.zeros((3, 100)))


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


@pytest.mark.slow
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


def heading(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.texts]


def test_plot_misclassified_shows_only_the_wrong_ones():
    y_true = np.array([1, 2, 3, 4, 5, 6])
    y_pred = np.array([1, 0, 3, 9, 5, 6])
    fig = renders(plots.plot_misclassified(DIGITS[:6], y_true, y_pred))
    assert texts(fig) == ["2 \u2192 0", "4 \u2192 9"]
    _, origins = plots.tile(DIGITS[:2], 10, band=10)
    np.testing.assert_array_equal(panel(fig, origins[0]), DIGITS[1])
    np.testing.assert_array_equal(panel(fig, origins[1]), DIGITS[3])
    assert np.count_nonzero(~np.isnan(canvas_of(fig))) == 2 * 784
    assert heading(fig) == ["2 misclassified; first 2 shown"]


def test_plot_misclassified_cap_and_count():
    y_true = np.zeros(12, dtype=int)
    y_pred = np.ones(12, dtype=int)
    fig = plots.plot_misclassified(DIGITS, y_true, y_pred, max_images=5)
    assert len(texts(fig)) == 5
    assert heading(fig) == ["12 misclassified; first 5 shown"]


def test_plot_misclassified_none_wrong_and_shape_mismatch():
    fig = renders(plots.plot_misclassified(DIGITS[:3], [1, 2, 3], [1, 2, 3]))
    assert not any(ax.images for ax in fig.axes)
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
