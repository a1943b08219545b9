"""The float64 rule, measured by precision and not only by dtype, on every Keras backend: each
built-in kind's generated Keras code, given float64 inputs, returns float64 values within 1e-10 of
the float64 NumPy reference, and float64 gradients. Keras 3.15 computes several ops in float32
off TensorFlow (the generated package's _exact_ops.py says which); the generated code must not
depend on that. One child process per backend (tests/float64_probe.py)."""

from __future__ import annotations

import pytest

from scaffold.catalog import load_catalog
from tests.helpers import probe

pytestmark = pytest.mark.e2e
BACKENDS = ("tensorflow", "jax", "torch")
KINDS = load_catalog().names()
# float32 precision is a relative error near 1e-7 in values and 3e-8 or more in gradients.
VALUE_RTOL = 1e-10
GRADIENT_RTOL = 2e-8


@pytest.fixture(scope="module")
def measured():
    return {backend: probe("float64_probe.py", backend=backend) for backend in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_float64_inputs_give_float64_precision(kind, backend, measured):
    result = measured[backend][kind]
    assert result["dtype"] == "float64"
    assert result["values"] <= VALUE_RTOL, f"values off by {result['values']:.1e} (relative)"
    assert result["gradient"] <= GRADIENT_RTOL, f"gradient off by {result['gradient']:.1e} (relative)"
