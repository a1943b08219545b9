"""The metric-learning losses against independent implementations, in float64, on random balanced
and unbalanced batches and for every distance:

- TensorFlow Addons' retired triplet_semihard_loss, triplet_hard_loss, lifted_struct_loss and npairs_loss
  (NumPy ports, tests/metric_references.py), which return the batch's one number: lossgen's batch
  mean equals it on balanced batches (each anchor with as many positives), as the specs document;
- pytorch-metric-learning's SupConLoss, MultiSimilarityLoss and CircleLoss, per anchor;
- the mining step itself: each anchor's semi-hard negative against a loop over the batch.

The Keras code equals the NumPy reference to 1e-10 on every backend (test_float64_precision.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from scaffold.catalog import load_catalog
from scaffold.emit import numpy as numpy_emit
from tests import metric_references as ref

pytest.importorskip("torch")
CATALOG = load_catalog()
DISTANCES = ["euclidean", "squared_euclidean", "cosine"]


def batch(seed: int, balanced: bool, size: int = 12, dims: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(size) % 4 if balanced else rng.integers(0, 4, size)
    return rng.permutation(labels).astype(np.float64)[:, None], rng.normal(size=(size, dims))


def values(kind: str, labels: np.ndarray, embeddings: np.ndarray, **params) -> np.ndarray:
    spec = CATALOG.get(kind)
    return numpy_emit.evaluate(spec, labels, embeddings, spec.bind(params))


@pytest.mark.parametrize("distance", DISTANCES)
def test_semihard_batch_mean_equals_tf_addons_on_balanced_batches(distance):
    for seed in range(4):
        labels, embeddings = batch(seed, balanced=True)
        ours = values("triplet_semihard", labels, embeddings, margin=0.7, distance=distance).mean()
        theirs = ref.tfa_triplet_semihard(labels, embeddings, 0.7, distance)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-5)


def test_semihard_weighs_anchors_equally_where_tf_addons_weighs_pairs():
    """The documented difference: on an unbalanced batch TF Addons' mean over pairs differs."""
    labels = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [2.0], [2.0], [2.0], [2.0]])
    embeddings = np.random.default_rng(3).normal(size=(9, 3))
    per_anchor = values("triplet_semihard", labels, embeddings)
    positives = np.array([2, 2, 2, 1, 1, 3, 3, 3, 3])
    theirs = ref.tfa_triplet_semihard(labels, embeddings, 1.0, "euclidean")
    np.testing.assert_allclose(np.sum(per_anchor * positives) / positives.sum(), theirs, rtol=1e-9, atol=1e-5)
    assert abs(per_anchor.mean() - theirs) > 1e-3


@pytest.mark.parametrize("soft", [False, True], ids=["hinge", "soft"])
@pytest.mark.parametrize("distance", DISTANCES)
def test_batch_hard_mean_equals_tf_addons(distance, soft):
    for seed in range(4):
        labels, embeddings = batch(seed, balanced=seed % 2 == 0)
        ours = values("triplet_hard", labels, embeddings, margin=0.5, distance=distance, soft=soft).mean()
        theirs = ref.tfa_triplet_hard(labels, embeddings, 0.5, distance, soft)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-5)


def test_npairs_mean_equals_tf_addons_on_the_anchor_positive_similarities():
    for seed in range(4):
        labels, embeddings = batch(seed, balanced=seed % 2 == 0, dims=6)
        anchors, positives = embeddings[:, :3], embeddings[:, 3:]
        ours = values("npairs", labels, embeddings).mean()
        np.testing.assert_allclose(ours, ref.tfa_npairs(labels, anchors @ positives.T), rtol=1e-12)


def test_lifted_structure_mean_equals_tf_addons_on_balanced_batches():
    for seed in range(4):
        labels, embeddings = batch(seed, balanced=True)
        ours = values("lifted_structure", labels, embeddings, margin=1.0).mean()
        np.testing.assert_allclose(ours, ref.tfa_lifted_struct(labels, embeddings, 1.0), rtol=1e-8, atol=1e-5)


@pytest.mark.parametrize(
    "kind, params",
    [
        ("supcon", {"temperature": 0.1}),
        ("supcon", {"temperature": 0.5}),
        ("multi_similarity", {"alpha": 2.0, "beta": 50.0, "base": 0.5}),
        ("multi_similarity", {"alpha": 1.0, "beta": 10.0, "base": 0.3}),
        ("circle", {"margin": 0.4, "gamma": 80.0}),
        ("circle", {"margin": 0.25, "gamma": 32.0}),
    ],
)
def test_per_anchor_values_equal_pytorch_metric_learning(kind, params):
    for seed in range(4):
        labels, embeddings = batch(seed, balanced=seed % 2 == 0)
        ours = values(kind, labels, embeddings, **params)
        np.testing.assert_allclose(ours, ref.pml_per_anchor(kind, labels, embeddings, params), rtol=1e-9, atol=1e-12)


def test_batch_all_averages_every_valid_triplet_of_the_anchor():
    labels, embeddings = batch(5, balanced=False)
    distances = ref.tfa_pairwise_distance(embeddings)
    flat = labels[:, 0]
    for anchor, got in enumerate(values("triplet_batch_all", labels, embeddings, margin=0.3)):
        terms = [
            max(distances[anchor, p] - distances[anchor, n] + 0.3, 0.0)
            for p in range(len(flat))
            if p != anchor and flat[p] == flat[anchor]
            for n in range(len(flat))
            if flat[n] != flat[anchor]
        ]
        np.testing.assert_allclose(got, np.mean(terms) if terms else 0.0, rtol=1e-9, atol=1e-5)


def test_every_embedding_loss_is_permutation_equivariant():
    labels, embeddings = batch(6, balanced=False)
    order = np.random.default_rng(0).permutation(len(labels))
    for kind in CATALOG.names():
        if CATALOG.get(kind).task != "embedding":
            continue
        np.testing.assert_allclose(
            values(kind, labels[order], embeddings[order]), values(kind, labels, embeddings)[order], rtol=1e-10
        )
