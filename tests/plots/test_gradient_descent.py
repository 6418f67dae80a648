"""The pictures of notebook 08 (mnistlib.plots.gradient_descent): right content, Figures returned, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib.plots import gradient_descent


def test_descent_path_converges_zigzags_and_diverges_as_the_learning_rate_grows():
    slow = gradient_descent.descent_path_1d(0.05, start=2.0, steps=12)
    assert slow.shape == (13,) and slow[0] == 2.0
    assert np.all(np.diff(slow) < 0) and slow[-1] > 0.5  # creeps down, far from 0
    assert gradient_descent.descent_path_1d(0.5, steps=1)[-1] == 0.0  # exactly to the minimum in one step
    zigzag = gradient_descent.descent_path_1d(0.9, steps=6)
    assert np.all(np.sign(zigzag[1:]) != np.sign(zigzag[:-1])) and abs(zigzag[-1]) < abs(zigzag[0])
    diverging = gradient_descent.descent_path_1d(1.05, steps=12)
    assert abs(diverging[-1]) > abs(diverging[0])


def test_smooth_is_a_running_mean_of_the_same_length():
    np.testing.assert_allclose(gradient_descent.smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(gradient_descent.smooth([5, 1], 1), [5, 1])


def test_each_plot_returns_a_figure_with_the_expected_panels():
    rng = np.random.default_rng(0)
    assert len(gradient_descent.plot_batch_matrix(rng.random((8, 784))).axes) == 1
    fig = gradient_descent.plot_activation(lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(gradient_descent.plot_descent_1d([0.1, 0.5, 1.1]).axes) == 3
    fig = gradient_descent.plot_loss_curves({"a": [3, 2, 1], "b": [3, 3, 3]}, window=2)
    assert [line.get_label() for line in fig.axes[0].lines] == ["a", "b"]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [3, 2.5, 1.5])
    W1 = rng.normal(size=(784, 5))
    fig = gradient_descent.plot_hidden_weights(W1, count=16)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == [f"unit {i}" for i in range(5)], "only the 5 units there are"
    canvas = np.ma.filled(np.ma.asarray(ax.images[0].get_array(), dtype=float), np.nan)
    first = canvas[12 : 12 + 28, 3 : 3 + 28]  # below the title band and half the gap
    np.testing.assert_allclose(first, W1[:, 0].reshape(28, 28) / np.abs(W1[:, 0]).max(), rtol=1e-6)


def test_bad_shapes_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="rank-2"):
        gradient_descent.plot_batch_matrix(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"\(784, h\)"):
        gradient_descent.plot_hidden_weights(np.zeros((10, 784)))


def test_plot_activation_names_a_function_that_does_not_keep_the_shape():
    with pytest.raises(
        ValueError, match=r"relu\(z\) should return one value per z, shape \(601,\); it returned"
    ):
        gradient_descent.plot_activation(lambda z: np.max(z, 0), lambda z: (z > 0).astype(float))
