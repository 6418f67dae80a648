"""Notebook 07's solutions beyond the table (tests/checks/test_exercises.py): statistics, Keras agrees."""

import keras
import numpy as np
import pytest
from checks.exercises.dropout import build_dropout_network, dropout


def test_dropout_keeps_the_average_and_rejects_bad_rates():
    x = np.random.default_rng(0).uniform(0, 2, size=200_000).astype(np.float32)
    for rate in (0.2, 0.4, 0.6):
        got = dropout(x, rate, np.random.default_rng(1))
        assert got.dtype == np.float32 and got.shape == x.shape
        assert abs(np.mean(got == 0) - rate) < 0.01
        assert abs(got.mean() - x.mean()) < 0.01
    same = dropout(x, 0.0, np.random.default_rng(1))
    assert same is not x and np.array_equal(same, x)
    for rate in (1.0, -0.01, 3):
        with pytest.raises(ValueError, match="rate must be at least 0 and below 1"):
            dropout(x, rate, np.random.default_rng(1))


def test_dropout_matches_keras_dropout_statistics():
    ones = np.ones((500, 512), dtype="float32")
    by_keras = keras.ops.convert_to_numpy(keras.layers.Dropout(0.4, seed=3)(ones, training=True))
    by_hand = dropout(ones, 0.4, np.random.default_rng(3))
    for out in (by_keras, by_hand):
        assert abs(np.mean(out == 0) - 0.4) < 0.01
        assert np.allclose(out[out != 0], 1 / 0.6)
    assert np.array_equal(keras.ops.convert_to_numpy(keras.layers.Dropout(0.4)(ones, training=False)), ones)


def test_network_has_the_tutorial_architecture():
    model = build_dropout_network()
    assert model.count_params() == 932_362
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout"] * 3 + ["Dense"]
    assert model.compiled is False  # uncompiled: the notebook compiles it
