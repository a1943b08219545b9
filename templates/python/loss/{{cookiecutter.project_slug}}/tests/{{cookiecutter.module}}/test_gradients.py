"""Gradient check: the backend's autodiff against central differences, in float64 (see backend.py)."""

import numpy as np

from {{ cookiecutter.package }} import {{ cookiecutter.function_name }}

from ..backend import FLOAT64_IS_EXACT, as_float64, values_and_gradient
from .cases import PARAMS, RANDOM_Y_PRED, RANDOM_Y_TRUE
from .reference import reference_loss

STEP = 1e-6


def per_sample(y_pred):
    return {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, y_pred, **PARAMS)


if FLOAT64_IS_EXACT:  # differences of the loss itself
    RTOL, ATOL = 1e-5, 1e-6

    def total_loss(y_pred):
        return np.sum(as_float64(per_sample(y_pred)))

else:  # the loss has float32's precision here: differences of the float64 NumPy reference instead
    RTOL, ATOL = 1e-4, 1e-6

    def total_loss(y_pred):
        return np.sum(reference_loss(RANDOM_Y_TRUE, y_pred, **PARAMS))


def test_autodiff_matches_central_differences():
    # RANDOM is a random point of the task domain: with probability one it is nowhere near a kink.
    _, autodiff = values_and_gradient(per_sample, RANDOM_Y_PRED)
    autodiff = as_float64(autodiff)

    numeric = np.zeros_like(RANDOM_Y_PRED)
    for index in np.ndindex(RANDOM_Y_PRED.shape):
        step = np.zeros_like(RANDOM_Y_PRED)
        step[index] = STEP
        numeric[index] = (total_loss(RANDOM_Y_PRED + step) - total_loss(RANDOM_Y_PRED - step)) / (2 * STEP)

    assert np.all(np.isfinite(autodiff))
    np.testing.assert_allclose(autodiff, numeric, rtol=RTOL, atol=ATOL)
