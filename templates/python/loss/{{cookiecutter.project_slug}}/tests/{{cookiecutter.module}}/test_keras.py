{%- set loss = cookiecutter._loss -%}
"""Keras integration: sample weights, reductions, parameter validation, config and .keras round trips.

The tests marked `integration` exercise Keras around the loss (weights, reductions, fit, save and
reload, mixed precision); `pytest -m "not integration"` leaves them out for a quick check of the formula.
"""

import keras
import numpy as np
import pytest

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.function_name }}

from .cases import {% if cookiecutter._loss.has_invalid_params %}INVALID_PARAMS, {% endif %}PARAMS, RANDOM_Y_PRED, RANDOM_Y_TRUE


def per_sample():
    return np.asarray({{ cookiecutter.class_name }}(**PARAMS, reduction=None)(RANDOM_Y_TRUE, RANDOM_Y_PRED))


def output_layers(dtype=None):
{%- if cookiecutter.task == "segmentation" %}
    """The model's head: a mask of RANDOM_Y_PRED's pixels, the activation over each pixel's classes."""
    pixels = RANDOM_Y_PRED.shape[1]
    return [
        keras.layers.Dense(pixels * {{ loss.width }}, dtype=dtype),
        keras.layers.Reshape((pixels, {{ loss.width }})),
        keras.layers.Activation("{{ loss.head_activation }}", dtype=dtype),
    ]
{%- else %}
    """The model's head: predictions of RANDOM_Y_PRED's width, with the task's activation."""
    return [keras.layers.Dense({{ loss.width }}, activation="{{ loss.head_activation }}", dtype=dtype)]
{%- endif %}


@pytest.mark.integration
def test_zero_sample_weight_gives_zero():
    loss = {{ cookiecutter.class_name }}(**PARAMS)
    weights = np.zeros(len(RANDOM_Y_PRED))
    assert float(loss(RANDOM_Y_TRUE, RANDOM_Y_PRED, sample_weight=weights)) == 0.0


@pytest.mark.integration
def test_scalar_sample_weight_scales():
    loss = {{ cookiecutter.class_name }}(**PARAMS)
    plain = float(loss(RANDOM_Y_TRUE, RANDOM_Y_PRED))
    np.testing.assert_allclose(float(loss(RANDOM_Y_TRUE, RANDOM_Y_PRED, sample_weight=2.5)), 2.5 * plain, rtol=1e-5)


@pytest.mark.integration
def test_per_sample_weights_weight_each_sample():
    weights = np.linspace(0.0, 2.0, len(RANDOM_Y_PRED))
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction="sum")
    np.testing.assert_allclose(
        float(loss(RANDOM_Y_TRUE, RANDOM_Y_PRED, sample_weight=weights)), np.sum(weights * per_sample()), rtol=1e-5
    )


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
    loss = {{ cookiecutter.class_name }}(**PARAMS, reduction="sum", name="custom")
    config = loss.get_config()
    assert {key: config[key] for key in PARAMS} == PARAMS
    restored = {{ cookiecutter.class_name }}.from_config(config)
    assert restored.get_config() == config
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(revived, {{ cookiecutter.class_name }})
    assert revived.get_config() == config


@pytest.mark.integration
def test_model_saves_and_reloads_without_custom_objects(tmp_path):
    inputs = np.random.default_rng(0).normal(size=(len(RANDOM_Y_PRED), 4))
    model = keras.Sequential(
        [keras.Input((4,)), *output_layers()]
    )
    model.compile(optimizer="adam", loss={{ cookiecutter.class_name }}(**PARAMS))
    model.fit(inputs, RANDOM_Y_TRUE, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.models.load_model(path)

    assert isinstance(reloaded.loss, {{ cookiecutter.class_name }})
    assert reloaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(
        reloaded.evaluate(inputs, RANDOM_Y_TRUE, verbose=0), model.evaluate(inputs, RANDOM_Y_TRUE, verbose=0), rtol=1e-5
    )


@pytest.mark.integration
def test_model_compiled_with_the_function_reloads(tmp_path):
    inputs = np.random.default_rng(2).normal(size=(len(RANDOM_Y_PRED), 4))
    model = keras.Sequential(
        [keras.Input((4,)), *output_layers()]
    )
    model.compile(optimizer="adam", loss={{ cookiecutter.function_name }})
    model.fit(inputs, RANDOM_Y_TRUE, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.models.load_model(path)

    assert reloaded.loss is {{ cookiecutter.function_name }}
    np.testing.assert_allclose(
        reloaded.evaluate(inputs, RANDOM_Y_TRUE, verbose=0), model.evaluate(inputs, RANDOM_Y_TRUE, verbose=0), rtol=1e-5
    )


@pytest.mark.integration
def test_trains_on_float16_outputs():
    # Under mixed precision the model hands the loss float16 predictions; the loss computes in float32.
    inputs = np.random.default_rng(1).normal(size=(len(RANDOM_Y_PRED), 4))
    model = keras.Sequential(
        [
            keras.Input((4,)),
            *output_layers(dtype="mixed_float16"),
        ]
    )
    assert keras.backend.standardize_dtype(model(inputs[:1]).dtype) == "float16"
    model.compile(optimizer="adam", loss={{ cookiecutter.class_name }}(**PARAMS))
    history = model.fit(inputs, RANDOM_Y_TRUE, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])), history.history["loss"]
