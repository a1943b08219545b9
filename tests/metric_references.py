"""Independent implementations of the metric-learning losses, for tests/test_metric_references.py
and nothing else: NumPy float64 ports of TensorFlow Addons' losses (retired in 2024; written from
tensorflow_addons/losses/{triplet,lifted}.py and metric_learning.py), which return one number for
the batch, and pytorch-metric-learning's losses unreduced (one value per anchor)."""

from __future__ import annotations

import numpy as np


def tfa_pairwise_distance(embeddings: np.ndarray, squared: bool = False) -> np.ndarray:
    """tfa.losses.metric_learning.pairwise_distance: Gram-matrix distances, exact zeros kept."""
    norms = np.sum(np.square(embeddings), axis=1, keepdims=True)
    distances = np.maximum(norms + norms.T - 2.0 * embeddings @ embeddings.T, 0.0)
    error_mask = distances <= 0.0
    if not squared:
        distances = np.sqrt(distances + error_mask * 1e-16)
    distances = distances * (~error_mask)
    np.fill_diagonal(distances, 0.0)
    return distances


def tfa_angular_distance(embeddings: np.ndarray) -> np.ndarray:
    unit = embeddings / np.sqrt(np.maximum(np.sum(np.square(embeddings), axis=1, keepdims=True), 1e-12))
    distances = np.maximum(1.0 - unit @ unit.T, 0.0)
    np.fill_diagonal(distances, 0.0)
    return distances


def tfa_distances(embeddings: np.ndarray, distance: str) -> np.ndarray:
    if distance == "cosine":
        return tfa_angular_distance(embeddings)
    return tfa_pairwise_distance(embeddings, squared=distance == "squared_euclidean")


def _masked_maximum(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    minimums = data.min(axis=1, keepdims=True)
    return ((data - minimums) * mask).max(axis=1, keepdims=True) + minimums


def _masked_minimum(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    maximums = data.max(axis=1, keepdims=True)
    return ((data - maximums) * mask).min(axis=1, keepdims=True) + maximums


def tfa_triplet_semihard(labels: np.ndarray, embeddings: np.ndarray, margin: float, distance: str) -> float:
    labels = labels.reshape(-1, 1)
    batch = len(labels)
    pdist = tfa_distances(embeddings, distance)
    adjacency = labels == labels.T
    adjacency_not = ~adjacency
    pdist_tile = np.tile(pdist, (batch, 1))
    mask = np.tile(adjacency_not, (batch, 1)) & (pdist_tile > pdist.T.reshape(-1, 1))
    mask_final = (mask.sum(axis=1, keepdims=True) > 0).reshape(batch, batch).T
    negatives_outside = _masked_minimum(pdist_tile, mask).reshape(batch, batch).T
    negatives_inside = np.tile(_masked_maximum(pdist, adjacency_not), (1, batch))
    semi_hard = np.where(mask_final, negatives_outside, negatives_inside)
    loss_mat = margin + pdist - semi_hard
    mask_positives = adjacency.astype(np.float64) - np.eye(batch)
    return float(np.sum(np.maximum(loss_mat * mask_positives, 0.0)) / np.sum(mask_positives))


def tfa_triplet_hard(labels: np.ndarray, embeddings: np.ndarray, margin: float, distance: str, soft: bool) -> float:
    labels = labels.reshape(-1, 1)
    pdist = tfa_distances(embeddings, distance)
    adjacency = labels == labels.T
    mask_positives = adjacency.astype(np.float64) - np.eye(len(labels))
    hardest_positive = _masked_maximum(pdist, mask_positives)
    hardest_negative = _masked_minimum(pdist, ~adjacency)
    if soft:
        return float(np.mean(np.log1p(np.exp(hardest_positive - hardest_negative))))
    return float(np.mean(np.maximum(hardest_positive - hardest_negative + margin, 0.0)))


def tfa_lifted_struct(labels: np.ndarray, embeddings: np.ndarray, margin: float) -> float:
    labels = labels.reshape(-1, 1)
    batch = len(labels)
    pdist = tfa_pairwise_distance(embeddings)
    adjacency = labels == labels.T
    diff = margin - pdist
    mask = (~adjacency).astype(np.float64)
    row_minimums = diff.min(axis=1, keepdims=True)
    row_negative_maximums = ((diff - row_minimums) * mask).max(axis=1, keepdims=True) + row_minimums
    max_elements = np.maximum(row_negative_maximums, row_negative_maximums.T)
    diff_tiled = np.tile(diff, (batch, 1))
    mask_tiled = np.tile(mask, (batch, 1))
    max_elements_vect = max_elements.T.reshape(-1, 1)
    loss_exp_left = np.sum(np.exp(diff_tiled - max_elements_vect) * mask_tiled, axis=1).reshape(batch, batch)
    loss_mat = max_elements + np.log(loss_exp_left + loss_exp_left.T) + pdist
    mask_positives = adjacency.astype(np.float64) - np.eye(batch)
    num_positives = np.sum(mask_positives) / 2.0
    return float(0.25 * np.sum(np.square(np.maximum(loss_mat * mask_positives, 0.0))) / num_positives)


def tfa_npairs(labels: np.ndarray, similarity: np.ndarray) -> float:
    """tfa.losses.npairs_loss: y_pred is the (anchors, positives) similarity matrix."""
    labels = labels.reshape(-1, 1)
    targets = (labels == labels.T).astype(np.float64)
    targets /= targets.sum(axis=1, keepdims=True)
    shifted = similarity - similarity.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(np.mean(-np.sum(targets * log_softmax, axis=1)))


def pml_per_anchor(kind: str, labels: np.ndarray, embeddings: np.ndarray, params: dict) -> np.ndarray:
    """pytorch-metric-learning's loss of `kind`, one value per anchor (DoNothingReducer), float64."""
    import torch
    from pytorch_metric_learning import losses, reducers

    reducer = reducers.DoNothingReducer()
    loss = {
        "supcon": lambda: losses.SupConLoss(temperature=params["temperature"], reducer=reducer),
        "multi_similarity": lambda: losses.MultiSimilarityLoss(
            alpha=params["alpha"], beta=params["beta"], base=params["base"], reducer=reducer
        ),
        "circle": lambda: losses.CircleLoss(m=params["margin"], gamma=params["gamma"], reducer=reducer),
    }[kind]()
    result = loss(torch.tensor(embeddings, dtype=torch.float64), torch.tensor(labels.reshape(-1).astype(np.int64)))
    values = np.zeros(len(labels))
    values[result["loss"]["indices"].numpy()] = result["loss"]["losses"].detach().numpy().reshape(-1)
    return values
