"""The emitted Python under Keras, for every built-in spec, in this one process (TensorFlow once):
examples in float64, Keras reference agreement on random inputs of the task's domain, one value
per sample, rank alignment and integer labels."""

from __future__ import annotations

import numpy as np
import pytest

from scaffold import domains
from scaffold.catalog import load_catalog
from scaffold.validate import keras_checks, load_python_loss

pytestmark = pytest.mark.e2e
CATALOG = load_catalog()
SPECS = [CATALOG.get(name) for name in CATALOG.names()]
SINGLE_COLUMN_TASKS = ("regression", "positive_regression", "binary", "metric")
LABEL_TASKS = ("binary", "categorical", "sparse_categorical", "metric")


@pytest.fixture(scope="module")
def loss_functions(tmp_path_factory):
    directory = tmp_path_factory.mktemp("emitted")
    return {spec.name: load_python_loss(spec, directory) for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_examples_references_shapes_and_stability_hold_under_keras(spec, loss_functions):
    # keras_checks: examples (float64, rtol 1e-6), per-sample shape, NumPy and Keras reference
    # agreement on random domain inputs, finite values and gradients on extreme inputs.
    assert [str(p) for p in keras_checks(spec)] == []


@pytest.mark.parametrize("spec", [s for s in SPECS if s.task in SINGLE_COLUMN_TASKS], ids=lambda s: s.name)
def test_targets_of_shape_batch_align_with_predictions_of_shape_batch_by_1(spec, loss_functions):
    values = spec.bind()
    case = domains.sample(spec, values, np.random.default_rng(1))
    y_true, y_pred = case.y_true[:, :1], case.y_pred[:, :1]
    loss = loss_functions[spec.name]
    aligned = np.asarray(loss(y_true[:, 0], y_pred, **values))
    assert aligned.shape == (len(y_pred),)  # not (batch, batch)
    np.testing.assert_allclose(aligned, np.asarray(loss(y_true, y_pred, **values)), rtol=1e-6)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.task in LABEL_TASKS], ids=lambda s: s.name)
def test_integer_labels_give_the_same_values_as_float_labels(spec, loss_functions):
    values = spec.bind()
    case = domains.sample(spec, values, np.random.default_rng(2))
    loss = loss_functions[spec.name]
    as_int = np.asarray(loss(case.y_true.astype("int32"), case.y_pred, **values))
    np.testing.assert_allclose(as_int, np.asarray(loss(case.y_true, case.y_pred, **values)), rtol=1e-6)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.task == "sparse_categorical"], ids=lambda s: s.name)
def test_sparse_labels_with_a_trailing_axis_are_squeezed(spec, loss_functions):
    values = spec.bind()
    case = domains.sample(spec, values, np.random.default_rng(3))
    loss = loss_functions[spec.name]
    column = np.asarray(loss(case.y_true[:, None], case.y_pred, **values))
    assert column.shape == (len(case.y_pred),)
    np.testing.assert_allclose(column, np.asarray(loss(case.y_true, case.y_pred, **values)), rtol=1e-6)
