"""The input contracts a loss spec may name (`task = ...`), each with what y_true and y_pred are.

Kept apart from spec.py so the command line can offer them without loading the spec machinery.
"""

TASKS = {
    "regression": "real-valued targets; y_pred is the raw model output",
    "positive_regression": "non-negative targets (counts, rates, prices); y_pred > 0",
    "binary": "0/1 labels (one or more per sample); y_pred probabilities, or logits with from_logits",
    "categorical": "one-hot (or soft) labels over the last axis; y_pred probabilities, or logits with from_logits",
    "sparse_categorical": "integer class labels, shape (batch,) or (batch, 1); y_pred as for categorical",
    "multi_output": "several regression outputs per sample, shape (batch, outputs)",
    "metric": "pair labels (1 similar, 0 dissimilar); y_pred is a non-negative distance",
    "boxes": "one bounding box per sample, shape (batch, 4), in the loss's box_format (xyxy by default)",
    "embedding": "integer labels, shape (batch,) or (batch, 1); y_pred embeddings (batch, dims), compared in the batch",
    "segmentation": "one-hot masks (batch, ..., classes), e.g. (batch, height, width, classes); y_pred as categorical",
    "gaussian": "real targets, shape (batch,) or (batch, 1); y_pred packs mean and log-variance, shape (batch, 2)",
}

# Tasks whose labels always have the prediction's shape: no (batch,) label form to compare with
# (batch, 1) (the generated label-rank test and audit's label_rank check apply to the others).
LABELS_SHAPED_AS_PREDICTIONS = ("categorical", "multi_output", "boxes", "segmentation")
