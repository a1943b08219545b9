"""Values against an independent implementation: torch.nn.functional in float64.

`poisson` in both forms (the rate, and the log-rate of torch's poisson_nll_loss(log_input=True)):
the NumPy reference lossgen emits, and the Keras code it emits on float64 inputs (e2e: it imports
Keras), against torch on random inputs of the task's domain; and both forms finite, with finite
gradients, on the task's extreme inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaffold import domains
from scaffold.catalog import load_catalog
from scaffold.emit import numpy as numpy_emit

torch = pytest.importorskip("torch")
F = torch.nn.functional

POISSON = load_catalog().get("poisson")
FORMS = [pytest.param(False, id="rate"), pytest.param(True, id="log_input")]


def torch_poisson(y_true: np.ndarray, y_pred: np.ndarray, log_input: bool) -> np.ndarray:
    # eps: keras.config.epsilon(), which the rate form adds inside the log (torch's default is 1e-8)
    loss = F.poisson_nll_loss(
        torch.tensor(y_pred, dtype=torch.float64),
        torch.tensor(y_true, dtype=torch.float64),
        log_input=log_input,
        full=False,
        eps=1e-7,
        reduction="none",
    )
    return loss.mean(dim=-1).numpy()


def random_inputs(log_input: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    values = POISSON.bind({"log_input": log_input})
    case = domains.sample(POISSON, values, np.random.default_rng(seed), batch=64)
    return case.y_true, case.y_pred


@pytest.mark.parametrize("log_input", FORMS)
def test_numpy_reference_equals_torch(log_input):
    for seed in range(3):
        y_true, y_pred = random_inputs(log_input, seed)
        got = numpy_emit.evaluate(POISSON, y_true, y_pred, {"log_input": log_input})
        np.testing.assert_allclose(got, torch_poisson(y_true, y_pred, log_input), rtol=1e-12, atol=1e-14)


def test_log_input_domain_is_log_rates():
    """The log-input form's test inputs are the logs of the rate form's: negative log-rates occur."""
    _, rates = random_inputs(False, 0)
    _, log_rates = random_inputs(True, 0)
    np.testing.assert_allclose(log_rates, np.log(rates))
    assert domains.uses_logits(POISSON, {"log_input": True}) and not domains.uses_logits(POISSON, {})


@pytest.mark.parametrize("log_input", FORMS)
def test_extremes_keep_values_and_gradients_finite(log_input):
    """exp(y_pred) on the log-rate extremes (rates 0 and 1e4) and log(y_pred + eps) on the rate ones:
    values and the analytic gradient (torch's autograd, float64 and float32) stay finite."""
    values = POISSON.bind({"log_input": log_input})
    for case in domains.extremes(POISSON, values):
        assert np.all(np.isfinite(numpy_emit.evaluate(POISSON, case.y_true, case.y_pred, values))), case.name
        for dtype in (torch.float64, torch.float32):
            y_pred = torch.tensor(case.y_pred, dtype=dtype, requires_grad=True)
            loss = F.poisson_nll_loss(
                y_pred, torch.tensor(case.y_true, dtype=dtype), log_input=log_input, eps=1e-7, reduction="sum"
            )
            loss.backward()
            assert torch.isfinite(loss) and torch.all(torch.isfinite(y_pred.grad)), (case.name, dtype)


def test_reference_applies_to_the_rate_form_only():
    assert POISSON.reference.applies(POISSON.bind())
    assert not POISSON.reference.applies(POISSON.bind({"log_input": True}))


@pytest.mark.e2e
@pytest.mark.parametrize("log_input", FORMS)
def test_emitted_keras_code_equals_torch_in_float64(log_input, tmp_path):
    from scaffold.validate import load_python_loss

    poisson_loss = load_python_loss(POISSON, tmp_path)
    for seed in range(3):
        y_true, y_pred = random_inputs(log_input, seed)
        got = np.asarray(poisson_loss(y_true, y_pred, log_input=log_input))
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, torch_poisson(y_true, y_pred, log_input), rtol=1e-10, atol=1e-14)
    for case in domains.extremes(POISSON, POISSON.bind({"log_input": log_input})):
        got = np.asarray(
            poisson_loss(np.asarray(case.y_true, "float32"), np.asarray(case.y_pred, "float32"), log_input)
        )
        assert np.all(np.isfinite(got)), case.name
