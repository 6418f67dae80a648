"""Notebook 05's solutions beyond the table (tests/checks/test_exercises.py): the rule is what Keras does."""

import math

import keras
import numpy as np
import pytest
from checks.exercises.training import batches_per_epoch, predict_classes

from mnistlib.checks.training import hand_set_model, reference_batches_per_epoch, training_samples


class StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


@pytest.mark.parametrize(
    ("n", "batch", "split"),
    [(105, 10, 0.1), (15, 1, 0.1), (7, 1, 0.5), (999, 100, 0.1), (200, 15, 0.25), (50, 7, 0.3), (60, 7, 0.0)],
)
@pytest.mark.slow
def test_the_rule_is_what_keras_does(n, batch, split):
    """A real one-epoch fit counts its steps; the reference rule (and the split size) must agree."""
    rng = np.random.default_rng(n)
    x = rng.random((n, 2), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, n)]
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    counter = StepCounter()
    model.fit(x, y, epochs=1, batch_size=batch, validation_split=split, callbacks=[counter], verbose=0)
    assert counter.steps == reference_batches_per_epoch(n, batch, split) == batches_per_epoch(n, batch, split)
    if batch == 1:  # one image per step: the steps are the training part itself, floor(n * (1 - split))
        assert counter.steps == training_samples(n, split) == math.floor(n * (1 - split))


def test_the_tutorials_numbers():
    assert batches_per_epoch(60_000, 1000, 0.1) == 54
    assert batches_per_epoch(6_000, 1000, 0.1) == 6  # quick mode
    assert batches_per_epoch(60_000, 1000) == 60
    assert training_samples(60_000, 0.1) == 54_000


def test_hand_set_model_gives_the_known_classes():
    model = hand_set_model(np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0.0, 0.5]))
    assert predict_classes(model, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])).tolist() == [0, 1, 1]
