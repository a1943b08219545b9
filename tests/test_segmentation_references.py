"""The multi-class overlap losses against an independent implementation in float64: explicit loops
over images, pixels and classes, written from the papers' definitions (Dice, Jaccard, Tversky,
focal Tversky), on random masks of several shapes, per image and per batch, with class weights,
smoothing and logits. The Keras code equals the NumPy reference to 1e-10 on every backend
(test_float64_precision.py), so this pins the Keras code too."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaffold.catalog import load_catalog
from scaffold.emit import numpy as numpy_emit

CATALOG = load_catalog()
KINDS = ["multiclass_dice", "multiclass_jaccard", "multiclass_tversky", "focal_tversky"]
EPSILON = 1e-7


def by_loops(kind: str, masks: np.ndarray, scores: np.ndarray, params: dict) -> list[float]:
    batch, classes = masks.shape[0], masks.shape[-1]
    masks = masks.reshape(batch, -1, classes)
    scores = scores.reshape(batch, -1, classes)
    if params["from_logits"]:
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores = scores / scores.sum(axis=-1, keepdims=True)
    losses = []
    for image in range(batch):
        images = [image] if params["per_image"] else range(batch)
        per_class = []
        for c in range(classes):
            tp = fn = fp = 0.0
            for b in images:
                for truth, probability in zip(masks[b, :, c], scores[b, :, c]):
                    tp += truth * probability
                    fn += truth * (1 - probability)
                    fp += (1 - truth) * probability
            smooth = params["smooth"] + EPSILON
            if kind == "multiclass_dice":  # 1 - 2 TP / (2 TP + FN + FP)
                value = 1 - (2 * tp + smooth) / (2 * tp + fn + fp + smooth)
            elif kind == "multiclass_jaccard":  # 1 - TP / (TP + FN + FP)
                value = 1 - (tp + smooth) / (tp + fn + fp + smooth)
            else:  # 1 - TP / (TP + alpha FN + beta FP), to the power gamma for the focal form
                denominator = tp + params["alpha"] * fn + params["beta"] * fp + smooth
                value = 1 - (tp + smooth) / denominator
                if kind == "focal_tversky":
                    value = math.pow(max(value, EPSILON), params["gamma"])
            per_class.append(value)
        weights = params["class_weights"]
        losses.append(sum(w * v for w, v in zip(weights, per_class)) / sum(weights))
    return losses


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "shape, changes",
    [
        ((4, 6, 3), {}),
        ((3, 2, 5, 3), {"per_image": False}),
        ((4, 7, 3), {"class_weights": [0.5, 2.0, 1.0], "smooth": 1.0}),
        ((2, 3, 3, 3), {"from_logits": True, "per_image": False}),
    ],
)
def test_values_equal_explicit_loops(kind, shape, changes):
    spec = CATALOG.get(kind)
    params = spec.bind(changes)
    rng = np.random.default_rng(len(shape) * 10 + len(changes))
    masks = np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])]
    scores = rng.normal(size=shape) if params["from_logits"] else rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    got = numpy_emit.evaluate(spec, masks, scores, params)
    np.testing.assert_allclose(got, by_loops(kind, masks, scores, params), rtol=1e-9, atol=1e-12)
