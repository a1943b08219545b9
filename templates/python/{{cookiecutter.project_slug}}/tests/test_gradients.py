"""Gradient check: TensorFlow autodiff against central differences, in float64."""

import numpy as np
import tensorflow as tf

from cases import PARAMS, RANDOM_Y_PRED, RANDOM_Y_TRUE
from {{ cookiecutter.package }} import {{ cookiecutter.function_name }}

STEP = 1e-6


def total_loss(y_pred):
    return tf.reduce_sum({{ cookiecutter.function_name }}(tf.constant(RANDOM_Y_TRUE), y_pred, **PARAMS))


def test_autodiff_matches_central_differences():
    # RANDOM is a random point of the task domain: with probability one it is nowhere near a kink.
    y_pred = tf.Variable(RANDOM_Y_PRED)
    with tf.GradientTape() as tape:
        total = total_loss(y_pred)
    autodiff = tape.gradient(total, y_pred).numpy()

    numeric = np.zeros_like(RANDOM_Y_PRED)
    for index in np.ndindex(RANDOM_Y_PRED.shape):
        step = np.zeros_like(RANDOM_Y_PRED)
        step[index] = STEP
        up = float(total_loss(tf.constant(RANDOM_Y_PRED + step)))
        down = float(total_loss(tf.constant(RANDOM_Y_PRED - step)))
        numeric[index] = (up - down) / (2 * STEP)

    assert np.all(np.isfinite(autodiff))
    np.testing.assert_allclose(autodiff, numeric, rtol=1e-5, atol=1e-6)
