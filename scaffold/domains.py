"""Inputs each task's losses see: moderate random points for value and gradient checks, and the
extreme points (saturated probabilities, huge logits and errors, zero error) for stability checks.

lossgen draws these once at generation time and writes them into the generated tests of both
targets, so Python and R are checked on identical inputs against identical reference values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scaffold.formula import MAX_WIDTH, take_indexes
from scaffold.spec import LossSpec

BATCH = 6
PIXELS = 5  # a segmentation sample's pixels in the test inputs
# MAX_WIDTH (from scaffold.formula, where the language's limits live): classes or outputs a loss
# is tested with; take() indexes stay below it and float lists (class weights) hold at most as many.


@dataclass(frozen=True)
class Case:
    name: str
    y_true: np.ndarray
    y_pred: np.ndarray


# Bool parameters that, when true, make y_pred an unbounded score: logits (classification) or a log-rate
# (positive_regression, as torch's poisson_nll_loss(log_input=True)).
LOGIT_PARAMS = ("from_logits", "log_input")


def uses_logits(spec: LossSpec, params: dict[str, Any]) -> bool:
    return any(bool(params.get(name, False)) for name in LOGIT_PARAMS)


def width(spec: LossSpec, params: dict[str, Any]) -> int:
    """Size of the last axis: classes for classification (a class-weight list fixes it)."""
    for name, param in spec.params.items():
        if param.type == "float_list" and spec.task in ("categorical", "sparse_categorical", "segmentation"):
            return len(params[name])
    if spec.task == "metric":
        return 1
    if spec.task == "boxes":
        return 4
    if spec.task == "gaussian":  # mean and log-variance
        return 2
    if spec.task == "embedding":  # embedding dimensions
        return 4
    if spec.task == "multi_output":
        if spec.formula is not None:  # the outputs the formula's take() indexes need
            indexes = take_indexes(spec.formula, params)
        else:  # hand-written code: any int parameter might be an index
            indexes = [v for n, v in params.items() if spec.params[n].type == "int" and 0 <= v < MAX_WIDTH]
        return max([3, *[i + 1 for i in indexes if 0 <= i < MAX_WIDTH]])
    return 3


def sample(spec: LossSpec, params: dict[str, Any], rng: np.random.Generator, batch: int = BATCH) -> Case:
    """Moderate inputs: probabilities in [0.05, 0.95], logits in [-4, 4], errors of order 1, so that
    no clipping or saturation is active and built-in references agree across backends."""
    d = width(spec, params)
    task, logits = spec.task, uses_logits(spec, params)
    if task in ("regression", "multi_output"):
        y_true = rng.normal(size=(batch, d))
        y_pred = y_true + rng.normal(scale=1.5, size=(batch, d))
    elif task == "positive_regression":
        y_true = rng.uniform(0.0, 4.0, size=(batch, d))
        y_pred = rng.uniform(0.1, 4.0, size=(batch, d))
        if logits:  # log-rates of the same rates
            y_pred = np.log(y_pred)
    elif task == "binary":
        y_true = rng.integers(0, 2, size=(batch, d)).astype(np.float64)
        y_pred = rng.uniform(-4.0, 4.0, size=(batch, d)) if logits else rng.uniform(0.05, 0.95, size=(batch, d))
    elif task in ("categorical", "sparse_categorical"):
        labels = rng.integers(0, d, size=batch)
        scores = rng.uniform(-2.0, 2.0, size=(batch, d))
        y_pred = scores if logits else _softmax(scores)
        y_true = labels.astype(np.float64) if task == "sparse_categorical" else np.eye(d)[labels]
    elif task == "metric":
        y_true = rng.integers(0, 2, size=(batch, 1)).astype(np.float64)
        y_pred = rng.uniform(0.05, 2.0, size=(batch, 1))
    elif task == "boxes":  # overlapping boxes of different shapes: no kink of minimum/maximum is near
        corner = rng.uniform(0.0, 2.0, size=(batch, 2))
        size = rng.uniform(0.5, 2.0, size=(batch, 2))
        true = np.concatenate([corner, corner + size], axis=-1)
        pred = true + rng.normal(scale=0.25, size=(batch, 4))
        pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 0.1)
        y_true, y_pred = encode_boxes(true, box_format(params)), encode_boxes(pred, box_format(params))
    elif task == "segmentation":  # PIXELS pixels per image, each with its class
        labels = rng.integers(0, d, size=(batch, PIXELS))
        scores = rng.uniform(-2.0, 2.0, size=(batch, PIXELS, d))
        y_pred = scores if logits else _softmax(scores)
        y_true = np.eye(d)[labels]
    elif task == "embedding":  # every label twice, so each anchor has one positive (a balanced batch)
        y_true = rng.permutation(np.arange(batch) // 2).astype(np.float64)[:, None]
        y_pred = rng.normal(size=(batch, d))
    elif task == "gaussian":
        y_true = rng.normal(size=(batch, 1))
        y_pred = np.stack([y_true[:, 0] + rng.normal(size=batch), rng.uniform(-2.0, 2.0, size=batch)], axis=-1)
    else:  # pragma: no cover - spec validation rejects other tasks
        raise ValueError(f"unknown task {task}")
    return Case("random", y_true, y_pred)


def extremes(spec: LossSpec, params: dict[str, Any]) -> list[Case]:
    """Inputs where naive formulas produce inf or NaN: every loss must stay finite on these."""
    d = width(spec, params)
    task, logits = spec.task, uses_logits(spec, params)
    if task in ("regression", "multi_output"):
        zeros = np.zeros((2, d))
        return [
            Case("zero_error", zeros, zeros.copy()),
            Case("huge_error", zeros, np.tile([[1e4], [-1e4]], (1, d))),
            Case("huge_values", np.full((2, d), 3e4), np.full((2, d), -3e4)),
        ]
    if task == "positive_regression":
        if logits:  # log-rates: a rate of 0 (exp(-1e4) underflows to 0) and a rate of 1e4
            return [
                Case("zero_rate", np.array([[0.0] * d, [1e3] * d]), np.full((2, d), -1e4)),
                Case("huge_rate", np.zeros((2, d)), np.full((2, d), float(np.log(1e4)))),
            ]
        return [
            Case("zero_prediction", np.array([[0.0] * d, [1e3] * d]), np.zeros((2, d))),
            Case("huge_prediction", np.zeros((2, d)), np.full((2, d), 1e4)),
        ]
    if task == "binary":
        labels = np.array([[0.0] * d, [1.0] * d, [0.0] * d, [1.0] * d])
        if logits:
            return [
                Case("huge_logits", labels, np.array([[1e4] * d, [-1e4] * d, [-1e4] * d, [1e4] * d])),
                Case("zero_logits", labels, np.zeros((4, d))),
            ]
        return [
            Case("saturated_wrong", labels, np.array([[1.0] * d, [0.0] * d, [1.0] * d, [0.0] * d])),
            Case("saturated_right", labels, np.array([[0.0] * d, [1.0] * d, [0.0] * d, [1.0] * d])),
        ]
    if task in ("categorical", "sparse_categorical"):
        labels = np.arange(2) % d
        wrong = np.eye(d)[(labels + 1) % d]
        right = np.eye(d)[labels]
        y_true = labels.astype(np.float64) if task == "sparse_categorical" else np.eye(d)[labels]
        if logits:
            return [
                Case("huge_logits_wrong", y_true, 1e4 * (2 * wrong - 1)),
                Case("huge_logits_right", y_true, 1e4 * (2 * right - 1)),
            ]
        return [Case("saturated_wrong", y_true, wrong), Case("saturated_right", y_true, right)]
    if task == "metric":
        labels = np.array([[0.0], [1.0]])
        return [Case("zero_distance", labels, np.zeros((2, 1))), Case("huge_distance", labels, np.full((2, 1), 1e4))]
    if task == "boxes":
        unit = np.array([[0.0, 0.0, 1.0, 1.0], [-3e4, -3e4, 3e4, 3e4]])
        far = unit + 1e4
        point = np.zeros((2, 4))  # boxes of zero size: a union of 0
        pairs = [("identical", unit, unit.copy()), ("far_apart", unit, far), ("empty", point, point)]
        layout = box_format(params)
        return [Case(name, encode_boxes(true, layout), encode_boxes(pred, layout)) for name, true, pred in pairs]
    if task == "segmentation":  # predictions exactly right or wrong; a class missing from the batch
        labels = np.array([[0, 1, 0, 1], [1, 0, 1, 0]]) % d
        right, wrong = np.eye(d)[labels], np.eye(d)[(labels + 1) % d]
        if logits:
            return [
                Case("huge_logits_right", right, 1e4 * (2 * right - 1)),
                Case("huge_logits_wrong", right, 1e4 * (2 * wrong - 1)),
            ]
        return [Case("saturated_right", right, right.copy()), Case("saturated_wrong", right, wrong)]
    if task == "embedding":  # one point for everyone, huge embeddings, no positive, no negative
        mixed = np.array([[0.0], [0.0], [1.0], [1.0]])
        rows = np.array([[1, -1, 1, -1], [-1, 1, 1, -1], [1, 1, -1, -1], [-1, -1, 1, 1]], dtype=np.float64)
        return [
            Case("identical_embeddings", mixed, np.zeros((4, d))),
            Case("huge_embeddings", mixed, 1e4 * rows[:, :d]),
            Case("no_positive", np.arange(4.0)[:, None], rows[:, :d]),
            Case("no_negative", np.zeros((4, 1)), rows[:, :d]),
        ]
    if task == "gaussian":  # log-variances of ±20 (variances 2e-9 and 5e8): exp(-s) * error ** 2 stays finite
        targets = np.array([[0.0], [1e4]])
        return [
            Case("zero_error", targets, np.array([[0.0, -20.0], [1e4, 20.0]])),
            Case("huge_error", targets, np.array([[1e4, -20.0], [-1e4, 20.0]])),
        ]
    raise ValueError(f"unknown task {task}")  # pragma: no cover


BOX_FORMATS = ("xyxy", "xywh", "center_xywh", "yxyx")


def box_format(params: dict[str, Any]) -> str:
    """The boxes' layout: the spec's `box_format` parameter, xyxy for a spec without one."""
    return str(params.get("box_format", "xyxy"))


def encode_boxes(xyxy: np.ndarray, layout: str) -> np.ndarray:
    """Boxes given as (left, top, right, bottom) rows in `layout` (one of BOX_FORMATS)."""
    left, top, right, bottom = (xyxy[..., i] for i in range(4))
    columns = {
        "xyxy": (left, top, right, bottom),
        "xywh": (left, top, right - left, bottom - top),
        "center_xywh": ((left + right) / 2, (top + bottom) / 2, right - left, bottom - top),
        "yxyx": (top, left, bottom, right),
    }[layout]
    return np.stack(columns, axis=-1)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
