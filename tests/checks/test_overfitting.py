"""Notebook 06's solutions beyond the table (tests/checks/test_exercises.py): small cases, Keras agrees."""

import numpy as np
import pytest
from checks.exercises.overfitting import best_epoch, confusion_matrix


def test_solutions_on_small_examples():
    assert best_epoch({"loss": [0.3, 0.1, 0.05], "val_loss": [0.2, 0.09, 0.1]}) == 2
    assert best_epoch({"val_loss": [0.1, 0.2, 0.1]}) == 1  # ties go to the earliest epoch
    matrix = confusion_matrix(np.array([4, 4, 9, 7]), np.array([4, 9, 9, 1]))
    assert matrix.shape == (10, 10) and np.issubdtype(matrix.dtype, np.integer)
    assert matrix[4, 9] == 1 and matrix[9, 4] == 0 and matrix[7, 1] == 1 and matrix.trace() == 2


@pytest.mark.slow
def test_best_epoch_agrees_with_keras_early_stopping():
    """On a real (tiny) training run, best_epoch names the epoch EarlyStopping restores."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype("float32")
    y = keras.utils.to_categorical((x[:, 0] + 0.8 * rng.normal(size=200) > 0).astype(int), 2)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.CategoricalCrossentropy(from_logits=True)
    )
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=30, restore_best_weights=True)
    history = model.fit(x, y, epochs=15, batch_size=50, validation_split=0.3, callbacks=[stopper], verbose=0)
    assert best_epoch(history.history) == stopper.best_epoch + 1


def test_confusion_matrix_agrees_with_a_direct_count():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 1000), rng.integers(0, 10, 1000)
    matrix = confusion_matrix(y_true, y_pred)
    for t in range(10):
        for p in range(10):
            assert matrix[t, p] == np.sum((y_true == t) & (y_pred == p))
