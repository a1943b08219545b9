"""Numerical stability: extreme inputs of the {{ cookiecutter.task }} domain in float32, float16 and bfloat16.

Values must be finite, and so must gradients. float16 cannot hold numbers above 65504, so a large
but correct gradient overflows to inf there (mixed-precision loss scaling handles that); a NaN is
always a bug, so for float16 the gradient must be NaN-free.
"""

import pytest

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

from .. import battery
from .cases import EXTREMES, PARAMS

DTYPES = ["float32", "float16", "bfloat16"]


def function(y_true, y_pred):
    return {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_function_is_finite(case, dtype):
    finding = battery.finite(function, case["y_true"], case["y_pred"], dtype, case["name"])
    assert finding, finding.detail


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREMES, ids=lambda case: case["name"])
def test_loss_object_is_finite(case, dtype):
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)
    finding = battery.finite(loss, case["y_true"], case["y_pred"], dtype, case["name"])
    assert finding, finding.detail
