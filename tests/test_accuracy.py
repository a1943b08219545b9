"""Accuracy in float32: the emitted Keras loss on float32 inputs against the float64 NumPy
reference on the same (float32-rounded) inputs, for every built-in kind at small, moderate and
large errors. A formula that cancels (as e + softplus(-2e) - log 2 does for small e) shows here as
a relative error far above float32's rounding."""

from __future__ import annotations

import numpy as np
import pytest

from scaffold import domains
from scaffold.catalog import load_catalog
from scaffold.emit import numpy as numpy_emit
from scaffold.validate import load_python_loss

pytestmark = pytest.mark.e2e
CATALOG = load_catalog()
SPECS = [CATALOG.get(name) for name in CATALOG.names()]
RTOL = 1e-5
# "Representable": the float64 value lies in float32's normal range [TINY, HUGE], where float32 has
# its full 24-bit precision, so RTOL (about 170 float32 ulps) is reachable by any formula without
# catastrophic cancellation. No kind is exempt: cross-entropies, focal, Dice, Tversky, KL and MSLE
# are written without 1 - p, log(1 - p) or renormalisation cancelling for near-perfect predictions.
TINY, HUGE = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)
BATCH = 64


def variants():
    """Each kind with its defaults, and with from_logits=True where it has that parameter."""
    for spec in SPECS:
        yield pytest.param(spec, spec.bind(), spec.name, id=spec.name)
        if "from_logits" in spec.params:
            yield pytest.param(spec, spec.bind({"from_logits": True}), f"{spec.name}-logits", id=f"{spec.name}-logits")


def inputs(spec, values, size: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """y_true and y_pred (float64) whose error is small, moderate or large for the task."""
    d, task = domains.width(spec, values), spec.task
    sign = {"small": 1.0, "moderate": 0.0, "large": -1.0}[size]
    if task in ("regression", "multi_output"):
        y_true = rng.normal(size=(BATCH, d))
        return y_true, y_true + {"small": 1e-4, "moderate": 1.0, "large": 1e3}[size] * rng.normal(size=(BATCH, d))
    if task == "positive_regression":
        y_true = rng.uniform(0.5, 4.0, size=(BATCH, d))
        return y_true, y_true * np.exp(
            {"small": 1e-4, "moderate": 0.5, "large": 5.0}[size] * rng.normal(size=(BATCH, d))
        )
    if task == "metric":
        y_true = rng.integers(0, 2, size=(BATCH, 1)).astype(np.float64)
        low, high = {"small": (1e-3, 1e-2), "moderate": (0.05, 2.0), "large": (5.0, 50.0)}[size]
        return y_true, rng.uniform(low, high, size=(BATCH, 1))
    if task == "boxes":  # predicted boxes 0.05, 0.3 or 3 box sizes off, always valid
        corner = rng.uniform(0.0, 2.0, size=(BATCH, 2))
        true = np.concatenate([corner, corner + rng.uniform(0.5, 2.0, size=(BATCH, 2))], axis=-1)
        pred = true + {"small": 0.05, "moderate": 0.3, "large": 3.0}[size] * rng.normal(size=(BATCH, 4))
        pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 0.1)
        layout = domains.box_format(values)
        return domains.encode_boxes(true, layout), domains.encode_boxes(pred, layout)
    if task == "gaussian":  # log-variances above 0 keep the loss away from 0, where any rounding is relative
        y_true = rng.normal(size=(BATCH, 1))
        error = {"small": 1e-4, "moderate": 1.0, "large": 1e3}[size] * rng.normal(size=BATCH)
        return y_true, np.stack([y_true[:, 0] + error, rng.uniform(0.1, 2.0, size=BATCH)], axis=-1)
    # Centred embeddings at three scales. At 100 times the margin, a triplet hinge margin + d_ap - d_an
    # of distances near 140 cancels in float32 in any implementation (5e-4 relative error at a 0.024 loss).
    if task == "embedding":
        y_true = rng.permutation(np.arange(BATCH) % 8).astype(np.float64)[:, None]
        return y_true, {"small": 1e-2, "moderate": 1.0, "large": 10.0}[size] * rng.normal(size=(BATCH, d))
    logits = bool(values.get("from_logits", False))
    if task == "binary":
        y_true = rng.integers(0, 2, size=(BATCH, d)).astype(np.float64)
        toward = 2.0 * y_true - 1.0  # +1 where the label is 1
        if logits:
            z = (
                rng.uniform(-4.0, 4.0, size=(BATCH, d))
                if size == "moderate"
                else sign * toward * rng.uniform(5.0, 10.0, size=(BATCH, d))
            )
            return y_true, z
        if size == "moderate":
            return y_true, rng.uniform(0.05, 0.95, size=(BATCH, d))
        off = rng.uniform(1e-4, 1e-3, size=(BATCH, d))  # distance from the right (small) or wrong (large) label
        near = np.where(y_true == 1.0, 1.0 - off, off) if size == "small" else np.where(y_true == 1.0, off, 1.0 - off)
        return y_true, near
    if task == "segmentation":  # masks of 4 pixels, each pixel as a categorical sample
        labels = rng.integers(0, d, size=(BATCH, 4))
        scores = rng.uniform(-1.0, 1.0, size=(BATCH, 4, d))
        scores += sign * 8.0 * np.eye(d)[labels]  # the true class far ahead (small) or far behind (large)
        y_pred = scores if logits else np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
        return np.eye(d)[labels], y_pred
    labels = rng.integers(0, d, size=BATCH)
    scores = rng.uniform(-1.0, 1.0, size=(BATCH, d))
    scores[np.arange(BATCH), labels] += sign * 8.0  # the true class far ahead (small) or far behind (large)
    y_pred = scores if logits else np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    y_true = labels[:, None].astype(np.float64) if task == "sparse_categorical" else np.eye(d)[labels]
    return y_true, y_pred


@pytest.fixture(scope="module")
def loss_functions(tmp_path_factory):
    directory = tmp_path_factory.mktemp("accuracy")
    return {spec.name: load_python_loss(spec, directory) for spec in SPECS}


@pytest.mark.parametrize("size", ["small", "moderate", "large"])
@pytest.mark.parametrize("spec, values, label", list(variants()))
def test_float32_matches_the_float64_reference(spec, values, label, size, loss_functions):
    rng = np.random.default_rng(7)
    y_true, y_pred = (np.asarray(a, np.float32) for a in inputs(spec, values, size, rng))
    reference = numpy_emit.evaluate(spec, y_true.astype(np.float64), y_pred.astype(np.float64), values)
    got = np.asarray(loss_functions[spec.name](y_true, y_pred, **values))
    assert got.dtype == np.float32
    representable = (np.abs(reference) >= TINY) & (np.abs(reference) <= HUGE)
    assert representable.any(), reference
    error = np.abs(got.astype(np.float64) - reference)[representable] / np.abs(reference[representable])
    worst = int(np.argmax(error))
    assert error[worst] <= RTOL, (
        f"relative error {error[worst]:.2e}: float32 {got[representable][worst]!r}, "
        f"float64 {reference[representable][worst]!r}"
    )
