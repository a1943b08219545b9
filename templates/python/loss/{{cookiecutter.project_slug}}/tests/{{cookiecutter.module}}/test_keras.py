{%- set loss = cookiecutter._loss -%}
"""Keras integration: sample weights, reductions, parameter validation, config and .keras round trips.

The tests marked `integration` exercise Keras around the loss (weights, reductions, fit, save and
reload, mixed precision); `pytest -m "not integration"` leaves them out for a quick check of the formula.
"""

import keras
import numpy as np
import pytest

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

from .. import battery
from .cases import {% if cookiecutter._loss.has_invalid_params %}INVALID_PARAMS, {% endif %}PARAMS, RANDOM_Y_PRED, RANDOM_Y_TRUE

# The toy model's output activation: predictions in the {{ cookiecutter.task }} domain.
ACTIVATION = "{{ loss.head_activation }}"


def per_sample():
    return np.asarray({{ cookiecutter.class_name }}(**PARAMS, reduction=None)(RANDOM_Y_TRUE, RANDOM_Y_PRED))


@pytest.mark.integration
def test_sample_weights_weight_each_sample():
{%- if cookiecutter.task == "embedding" %}
    # Weights 0..2 give sum(weight x loss) / batch and a scalar weight scales the loss. A zero-weight
    # anchor still shapes the others' losses (it is their positive or negative): its gradient is not zero.
{%- else %}
    # Weights 0..2 give sum(weight x loss) / batch, a scalar weight scales the loss, and a sample of
    # weight zero gets no gradient.
{%- endif %}
    finding = battery.sample_weight(
        {{ cookiecutter.class_name }}(**PARAMS),
        RANDOM_Y_TRUE,
        RANDOM_Y_PRED,
        per_sample(),
        zero_gradient={{ cookiecutter.task != "embedding" }},
    )
    assert finding, finding.detail


@pytest.mark.integration
@pytest.mark.parametrize(
    "reduction, reduce",
    [("sum", np.sum), ("sum_over_batch_size", np.mean), ("mean", np.mean), (None, lambda values: values)],
)
def test_reductions(reduction, reduce):
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction=reduction)
    np.testing.assert_allclose(loss(RANDOM_Y_TRUE, RANDOM_Y_PRED), reduce(per_sample()), rtol=1e-5)
{%- if loss.has_invalid_params %}


@pytest.mark.parametrize("name, value", INVALID_PARAMS, ids=[f"{n}={v!r}" for n, v in INVALID_PARAMS])
def test_rejects_invalid_parameters(name, value):
    with pytest.raises(ValueError, match=name):
        {{ cookiecutter.class_name }}(**{**PARAMS, name: value})
{%- endif %}


def test_config_round_trip():
    # Every parameter away from its default, so that one missing from get_config would show.
    values = battery.varied_params({{ cookiecutter.class_name }}, PARAMS, RANDOM_Y_TRUE, RANDOM_Y_PRED)
    finding = battery.config({{ cookiecutter.class_name }}, values, RANDOM_Y_TRUE, RANDOM_Y_PRED)
    assert finding, finding.detail
    loss = {{ cookiecutter.class_name }}(**values, reduction="sum", name="custom")
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(revived, {{ cookiecutter.class_name }})
    assert revived.get_config() == loss.get_config()


@pytest.mark.integration
def test_model_saves_and_reloads_without_custom_objects(tmp_path):
    model, inputs = battery.trained_model(
        {{ cookiecutter.class_name }}(**PARAMS), RANDOM_Y_TRUE, ACTIVATION, RANDOM_Y_PRED.shape
    )
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.models.load_model(path)

    assert isinstance(reloaded.loss, {{ cookiecutter.class_name }})
    assert reloaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-6)
    before, after = (battery.evaluate(m, inputs, RANDOM_Y_TRUE) for m in (model, reloaded))
    finding = battery.save_reload(before, after, repr(reloaded.loss))
    assert finding, finding.detail


@pytest.mark.integration
def test_model_compiled_with_the_function_reloads(tmp_path):
    model, inputs = battery.trained_model({{ cookiecutter.function_name }}, RANDOM_Y_TRUE, ACTIVATION, RANDOM_Y_PRED.shape)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.models.load_model(path)

    assert reloaded.loss is {{ cookiecutter.function_name }}
    before, after = (battery.evaluate(m, inputs, RANDOM_Y_TRUE) for m in (model, reloaded))
    finding = battery.save_reload(before, after, repr(reloaded.loss))
    assert finding, finding.detail


@pytest.mark.integration
def test_trains_on_float16_outputs():
    # Under mixed precision the model hands the loss float16 predictions; the loss computes in float32.
    finding = battery.mixed_precision(
        {{ cookiecutter.class_name }}(**PARAMS), RANDOM_Y_TRUE, ACTIVATION, RANDOM_Y_PRED.shape
    )
    assert finding, finding.detail
