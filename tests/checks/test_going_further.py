"""Notebook 09's solutions beyond the table (tests/checks/test_exercises.py): shapes, Keras' own Conv2D."""

import keras
import numpy as np
from checks.exercises.going_further import add_channel_axis, build_convnet, conv2d_valid

from mnistlib.checks.going_further import PARAMETERS, example_images, example_problems, reference_conv2d_valid


def test_add_channel_axis_solution_is_channels_last_and_leaves_input_alone():
    images = example_images(2)
    before = images.copy()
    got = add_channel_axis(images)
    assert got.shape == (2, 28, 28, 1) and got.dtype == np.float32
    assert got[1, 10, 20, 0] == 1.0 and got[0, 3, 4, 0] == np.float32(images[0, 3, 4]) / 255
    assert np.array_equal(images, before)


def test_build_convnet_solution_has_the_taught_shapes_and_far_fewer_parameters_than_network_1():
    model = build_convnet()
    assert model.count_params() == PARAMETERS == 34_826
    assert [tuple(layer.output.shape) for layer in model.layers][::2] == [
        (None, 26, 26, 32),
        (None, 11, 11, 64),
        (None, 1600),
        (None, 10),
    ]
    network_1 = (784 * 784 + 784) + (784 * 512 + 512) + (512 * 10 + 10)
    assert network_1 == 1_022_490 and network_1 > 29 * PARAMETERS


def _keras_conv2d(image, kernel):
    """Keras' own Conv2D, one filter, no bias, padding 'valid', with ``kernel`` as its weights."""
    kh, kw = kernel.shape
    layer = keras.layers.Conv2D(1, (kh, kw), use_bias=False, padding="valid")
    layer.build((1, *image.shape, 1))
    layer.set_weights([kernel.reshape(kh, kw, 1, 1).astype(np.float32)])
    result = layer(image.reshape(1, *image.shape, 1).astype(np.float32))
    return keras.ops.convert_to_numpy(result)[0, :, :, 0]


def test_conv2d_valid_is_what_keras_conv2d_computes():
    rng = np.random.default_rng(5)
    problems = [(image, kernel) for image, kernel, _ in example_problems()]
    problems.append((rng.normal(size=(28, 28)), rng.normal(size=(3, 3))))
    problems.append((rng.normal(size=(11, 6)), rng.normal(size=(4, 2))))
    for image, kernel in problems:
        keras_result = _keras_conv2d(image, kernel)
        np.testing.assert_allclose(conv2d_valid(image, kernel), keras_result, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(reference_conv2d_valid(image, kernel), keras_result, rtol=1e-4, atol=1e-4)


def test_conv2d_valid_check_uses_asymmetric_kernels_and_non_square_images():
    for image, kernel, _ in example_problems():
        assert image.shape[0] != image.shape[1]
        if kernel.shape[0] == kernel.shape[1]:
            assert not np.array_equal(kernel, kernel[::-1, ::-1])
    assert any(kernel.shape[0] != kernel.shape[1] for _, kernel, _ in example_problems())
    assert any(image.dtype == np.uint8 for image, _, _ in example_problems())
