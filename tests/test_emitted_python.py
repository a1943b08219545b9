"""The emitted Python under Keras, for every built-in spec, in this one process (TensorFlow once):
examples in float64, Keras reference agreement on random inputs of the task's domain, one value
per sample, rank alignment and integer labels."""

from __future__ import annotations

from pathlib import Path

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


def write_spec(directory, name: str, task: str, formula: str, extra: str = "", example: str = "") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ntitle = "T"\nsummary = "S"\ntask = "{task}"\n{extra}\n'
        f'formula = """\n{formula}\n"""\n{example}'
    )
    return path


REGRESSION_EXAMPLE = "\n[[examples]]\ny_true = [[0.0, 0.0]]\ny_pred = [[1.0, 3.0]]\nloss = [5.0]\n"


def test_full_validate_catches_a_batch_scalar_loss(tmp_path):
    from scaffold.validate import validate_file

    # The example holds (one sample), but on a batch the loss collapses to one number.
    formula = "loss = mean(mean(square(y_pred - y_true), axis=-1), axis=0)"
    path = write_spec(tmp_path, "batch_mean", "regression", formula, example=REGRESSION_EXAMPLE)
    _, problems = validate_file(path, quick=False)
    assert [str(p) for p in problems] == [
        f"{path}:10: example does not hold (NumPy): got shape (), expected (1,) (one value per sample)"
    ]


def test_full_validate_catches_a_reference_that_disagrees(tmp_path):
    from scaffold.validate import validate_file

    path = write_spec(
        tmp_path,
        "not_mae",
        "regression",
        "loss = mean(square(y_pred - y_true), axis=-1) / 2",
        extra='reference = "keras.losses.MeanAbsoluteError()"',
        example=REGRESSION_EXAMPLE.replace("loss = [5.0]", "loss = [2.5]"),
    )
    _, problems = validate_file(path, quick=False)
    assert [str(p) for p in problems] == [
        f"{path}:5: disagrees with keras.losses.MeanAbsoluteError() on random regression inputs "
        + str(problems[0]).split("inputs ", 1)[1]
    ]


def test_full_validate_catches_an_unknown_keras_reference(tmp_path):
    from scaffold.validate import validate_file

    path = write_spec(
        tmp_path,
        "ref_typo",
        "regression",
        "loss = mean(square(y_pred - y_true), axis=-1)",
        extra='reference = "keras.losses.MeanSquareError()"',
        example=REGRESSION_EXAMPLE,
    )
    _, problems = validate_file(path, quick=False)
    assert [str(p) for p in problems] == [f"{path}:5: keras.losses has no loss class MeanSquareError"]
