"""Numerical stability: extreme inputs of the {{ cookiecutter.task }} domain in float32, float16 and bfloat16.

Values must be finite, and so must gradients. float16 cannot hold numbers above 65504, so a large
but correct gradient overflows to inf there (mixed-precision loss scaling handles that); a NaN is
always a bug, so for float16 the gradient must be NaN-free.
"""

import numpy as np
import pytest
import tensorflow as tf

from cases import EXTREMES, PARAMS
from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

DTYPES = ["float32", "float16", "bfloat16"]


def values_and_gradient(case, dtype):
    y_true = tf.constant(np.asarray(case["y_true"]), dtype=dtype)
    y_pred = tf.Variable(tf.constant(np.asarray(case["y_pred"]), dtype=dtype))
    with tf.GradientTape() as tape:
        values = {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS)
    gradient = tape.gradient(values, y_pred)
    return values.numpy().astype("float64"), tf.cast(gradient, "float64").numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_function_is_finite(case, dtype):
    values, gradient = values_and_gradient(case, dtype)
    assert np.all(np.isfinite(values)), values
    if dtype == "float16":
        assert not np.any(np.isnan(gradient)), gradient
    else:
        assert np.all(np.isfinite(gradient)), gradient


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_loss_object_is_finite(case, dtype):
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)
    y_true = tf.constant(np.asarray(case["y_true"]), dtype=dtype)
    y_pred = tf.constant(np.asarray(case["y_pred"]), dtype=dtype)
    assert np.all(np.isfinite(loss(y_true, y_pred).numpy().astype("float64")))
