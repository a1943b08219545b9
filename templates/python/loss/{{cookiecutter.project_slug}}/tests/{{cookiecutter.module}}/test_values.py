{%- set loss = cookiecutter._loss -%}
"""Values: the spec's hand-computed examples, the NumPy reference{% if loss.reference %} and Keras' built-in{% endif %}."""

import keras
import numpy as np
import pytest
from keras import ops

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

from .. import battery
from .cases import EXAMPLES, {% if cookiecutter.task == "embedding" %}EXTREMES, {% endif %}PARAMS, {% if cookiecutter._loss.has_formula %}RANDOM_LOSS, {% endif %}RANDOM_Y_PRED, RANDOM_Y_TRUE
from .reference import reference_loss{% for part in loss.composite_parts %}, {{ part.function }}{% endfor %}


def as_float64(values):
    return np.asarray(values, dtype="float64")


def loss_function(y_true, y_pred):
    return {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["id"])
def test_spec_example(example):
    y_true, y_pred = as_float64(example["y_true"]), as_float64(example["y_pred"])
    expected = as_float64(example["loss"])
    function_values = {{ cookiecutter.function_name }}(y_true, y_pred, **example["params"])
    loss = {{ cookiecutter.class_name }}(**example["params"], reduction=None, dtype="float64")
    np.testing.assert_allclose(function_values, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(loss(y_true, y_pred), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(reference_loss(y_true, y_pred, **example["params"]), expected, rtol=1e-6, atol=1e-9)


def test_matches_numpy_reference():
    values = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
    reference = reference_loss(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
{%- if loss.has_formula %}
    # float64 precision on every backend, not float32's (see {{ cookiecutter.package }}/_exact_ops.py).
    np.testing.assert_allclose(values, reference, rtol=1e-10, atol=1e-12)
{%- else %}
    np.testing.assert_allclose(values, reference, rtol=1e-6, atol=1e-9)
{%- endif %}
{%- if loss.has_formula %}
    # The values lossgen computed from the spec at generation time (the R package checks these too).
    np.testing.assert_allclose(reference, RANDOM_LOSS, rtol=1e-9, atol=1e-12)
{%- endif %}
{% if loss.reference %}

def test_matches_keras_builtin():
    builtin = keras.losses.{{ loss.reference }}
    values = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
    np.testing.assert_allclose(values, builtin(RANDOM_Y_TRUE, RANDOM_Y_PRED), rtol=1e-6, atol=1e-7)
{% endif %}

def test_float32_stays_float32():
    values = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE.astype("float32"), RANDOM_Y_PRED.astype("float32"), **PARAMS)
    assert keras.backend.standardize_dtype(values.dtype) == "float32"


def test_float64_stays_float64():
    values = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
    assert keras.backend.standardize_dtype(values.dtype) == "float64"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_computes_in_float32(dtype):
    y_true = ops.convert_to_tensor(RANDOM_Y_TRUE, dtype=dtype)
    y_pred = ops.convert_to_tensor(RANDOM_Y_PRED, dtype=dtype)
    values = {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS)
    assert keras.backend.standardize_dtype(values.dtype) == "float32"


def test_one_value_per_sample():
    values = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)(RANDOM_Y_TRUE, RANDOM_Y_PRED)
    finding = battery.per_sample(values, len(RANDOM_Y_PRED))
    assert finding, finding.detail
{% if loss.has_label_rank %}

@pytest.mark.parametrize("form", ["function", "class"])
def test_labels_with_and_without_trailing_axis(form):
    # (batch,) labels must not broadcast to (batch, batch) against (batch, 1) predictions.
    column, y_pred = battery.label_rank_inputs("{{ cookiecutter.task }}", RANDOM_Y_TRUE, RANDOM_Y_PRED)
    loss = loss_function if form == "function" else {{ cookiecutter.class_name }}(**PARAMS, reduction=None)
    finding = battery.label_rank(loss, column, y_pred)
    assert finding, finding.detail
{% endif %}
{%- if cookiecutter.task == "segmentation" %}

def test_images_of_any_shape_read_as_rows_of_pixels():
    # (batch, pixels, classes) masks given as (batch, 1, pixels, classes) images: the same values.
    batch, pixels, classes = RANDOM_Y_PRED.shape
    images = [a.reshape(batch, 1, pixels, classes) for a in (RANDOM_Y_TRUE, RANDOM_Y_PRED)]
    values = {{ cookiecutter.function_name }}(*images, **PARAMS)
    expected = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
    np.testing.assert_allclose(values, expected, rtol=1e-10)
{% endif %}
{%- if cookiecutter.task != "embedding" %}

def test_samples_do_not_depend_on_the_rest_of_the_batch():
    # Half the batch replaced (by the first half's rows, reversed): the first half keeps its values.
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)
    finding = battery.batch_independent(loss, RANDOM_Y_TRUE, RANDOM_Y_PRED, RANDOM_Y_TRUE[::-1], RANDOM_Y_PRED[::-1])
    assert finding, finding.detail
{% endif %}
{%- if cookiecutter.task in ("binary", "categorical", "sparse_categorical", "metric", "embedding") %}

def test_integer_labels():
    # Loss.__call__ casts integer labels to float; the loss must give the same values either way.
    as_int = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)(RANDOM_Y_TRUE.astype("int32"), RANDOM_Y_PRED)
    as_float = {{ cookiecutter.class_name }}(**PARAMS, reduction=None)(RANDOM_Y_TRUE, RANDOM_Y_PRED)
    np.testing.assert_allclose(as_int, as_float, rtol=1e-6)
{%- endif %}
{%- if cookiecutter.task == "embedding" %}


def test_permuting_the_batch_permutes_the_values():
    # Each anchor's value depends on the rest of the batch, never on where the anchor sits in it.
    order = np.random.default_rng(0).permutation(len(RANDOM_Y_PRED))
    values = as_float64({{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS))
    permuted = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE[order], RANDOM_Y_PRED[order], **PARAMS)
    np.testing.assert_allclose(permuted, values[order], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in EXTREMES if c["name"].startswith("no_")], ids=lambda c: c["name"])
def test_anchors_without_a_positive_or_a_negative_get_the_documented_value(case):
    y_true, y_pred = as_float64(case["y_true"]), as_float64(case["y_pred"])
    values = {{ cookiecutter.function_name }}(y_true, y_pred, **PARAMS)
    np.testing.assert_allclose(values, reference_loss(y_true, y_pred, **PARAMS), rtol=1e-10, atol=1e-12)
{%- endif %}
{%- if loss.composite_parts %}


def test_equals_the_weighted_sum_of_its_parts():
    # Each part's reference comes from the part's own spec, not from the composite's inlined formula.
    parts = [
{%- for part in loss.composite_parts %}
        {{ part.weight }} * {{ part.function }}(RANDOM_Y_TRUE, RANDOM_Y_PRED{% if part.arguments %}, {{ part.arguments }}{% endif %}),
{%- endfor %}
    ]
    values = {{ cookiecutter.function_name }}(RANDOM_Y_TRUE, RANDOM_Y_PRED, **PARAMS)
    np.testing.assert_allclose(values, np.sum(parts, axis=0), rtol=1e-10, atol=1e-12)
{%- endif %}
