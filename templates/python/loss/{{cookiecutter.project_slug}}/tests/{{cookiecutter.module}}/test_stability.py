"""Numerical stability: extreme inputs of the {{ cookiecutter.task }} domain in float32, float16 and bfloat16.

Values must be finite, and so must gradients. float16 cannot hold numbers above 65504, so a large
but correct gradient overflows to inf there (mixed-precision loss scaling handles that); a NaN is
always a bug, so for float16 the gradient must be NaN-free.
"""

import numpy as np
import pytest
from keras import ops

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

from ..backend import as_float64, values_and_gradient
from .cases import EXTREMES, PARAMS

DTYPES = ["float32", "float16", "bfloat16"]


def tensors(case, dtype):
    return (
        ops.convert_to_tensor(np.asarray(case["y_true"]), dtype=dtype),
        ops.convert_to_tensor(np.asarray(case["y_pred"]), dtype=dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_function_is_finite(case, dtype):
    y_true, y_pred = tensors(case, dtype)
    values, gradient = values_and_gradient(lambda y_pred: {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS), y_pred)
    values, gradient = as_float64(values), as_float64(gradient)
    assert np.all(np.isfinite(values)), values
    if dtype == "float16":
        assert not np.any(np.isnan(gradient)), gradient
    else:
        assert np.all(np.isfinite(gradient)), gradient


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_loss_object_is_finite(case, dtype):
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)
    assert np.all(np.isfinite(as_float64(loss(*tensors(case, dtype)))))
