"""Notebook 04 beyond the table (tests/checks/test_exercises.py): the tutorial's numbers, the check's helpers."""

import keras
import numpy as np
import pytest
from checks.exercises.network import Dense, build_network, dense_param_count

from mnistlib.checks.network import loss_value, metric_names


def test_the_tutorials_numbers_hold_in_keras():
    """The parameter counts the notebook states, verified on a real Keras model."""
    model = build_network()
    assert [layer.count_params() for layer in model.layers] == [615_440, 401_920, 5_130]
    assert model.count_params() == 1_022_490
    assert [dense_param_count(a, b) for a, b in ((784, 784), (784, 512), (512, 10))] == [
        615_440,
        401_920,
        5_130,
    ]
    assert not model.compiled


def test_loss_value_is_the_cross_entropy_for_strings_functions_and_objects():
    y_true = np.eye(3, dtype=np.float32)[[0, 2]]
    y_pred = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]], dtype=np.float32)
    expected = -np.mean(np.log([0.5, 0.8]))
    for loss in (
        "categorical_crossentropy",
        keras.losses.categorical_crossentropy,
        keras.losses.CategoricalCrossentropy(),
    ):
        assert loss_value(loss, y_true, y_pred) == pytest.approx(expected, rel=1e-5)


def test_metric_names_reads_strings_objects_and_functions():
    model = keras.Sequential([keras.Input(shape=(2,)), Dense(2, activation="softmax")])
    model.compile(
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.CategoricalAccuracy(), keras.metrics.categorical_accuracy],
    )
    assert metric_names(model.get_compile_config()["metrics"]) == [
        "accuracy",
        "CategoricalAccuracy",
        "categorical_accuracy",
    ]
    assert metric_names(None) == []


@pytest.mark.parametrize("layer", ["Softmax", "ReLU"])
def test_the_three_notebooks_agree_on_an_activation_as_a_layer_of_its_own(layer):
    """Issue 26: 04 accepted Dense(10) + Softmax() while 07 and 09 rejected it. All three notebooks list
    their networks layer by layer with each activation inside its layer, so all three checks (and test
    cells: test_exercises.py) reject it, with the same specific hint."""
    from checks.exercises import EXERCISES

    from mnistlib.checks import CheckFailed

    hints = {}
    for name in ("build_network", "build_dropout_network", "build_convnet"):
        exercise = EXERCISES[name]
        wrong, words = exercise.mistakes[f"a separate {layer} layer"]
        with pytest.raises(CheckFailed) as failure:
            exercise.check(wrong)
        hints[name] = str(failure.value).split("hint:", 1)[1]
        assert f"the {layer.lower()} is a layer of its own" in hints[name]
        assert f"activation='{layer.lower()}'" in hints[name]
    assert "Conv2D followed by ReLU()" in hints["build_convnet"] or layer == "Softmax"
