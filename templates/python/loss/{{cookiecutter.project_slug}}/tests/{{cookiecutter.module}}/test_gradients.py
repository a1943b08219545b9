"""Gradient check: the backend's autodiff against central differences, in float64 (see backend.py)."""

import numpy as np

from {{ cookiecutter.package }} import {{ cookiecutter.function_name }}

from .. import battery
from ..backend import {% if not cookiecutter._loss.has_formula %}FLOAT64_IS_EXACT, {% endif %}as_float64
from .cases import PARAMS, RANDOM_Y_PRED, RANDOM_Y_TRUE
{%- if not cookiecutter._loss.has_formula %}
from .reference import reference_loss
{%- endif %}

STEP = 1e-6


def per_sample(y_pred):
    return {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, y_pred, **PARAMS)

{% if cookiecutter._loss.has_formula %}
# float64 keeps its precision on every backend ({{ cookiecutter.package }}/_exact_ops.py): differences of the loss itself.
RTOL, ATOL = 1e-5, 1e-6


def total_loss(y_pred):
    return np.sum(as_float64(per_sample(y_pred)))

{% else %}
if FLOAT64_IS_EXACT:  # differences of the loss itself
    RTOL, ATOL = 1e-5, 1e-6

    def total_loss(y_pred):
        return np.sum(as_float64(per_sample(y_pred)))

else:  # hand-written code may have float32's precision here: differences of the float64 NumPy reference
    RTOL, ATOL = 1e-4, 1e-6

    def total_loss(y_pred):
        return np.sum(reference_loss(RANDOM_Y_TRUE, y_pred, **PARAMS))

{% endif %}
def test_autodiff_matches_central_differences():
    # RANDOM is a random point of the task domain: with probability one it is nowhere near a kink.
    finding = battery.gradient(per_sample, RANDOM_Y_PRED, step=STEP, rtol=RTOL, atol=ATOL, total=total_loss)
    assert finding, finding.detail
