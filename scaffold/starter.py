"""`lossgen spec NAME`: a commented starter spec for a new team loss, valid as written."""

from __future__ import annotations

import os
from pathlib import Path

from scaffold.emit import numpy as numpy_emit
from scaffold.errors import UsageError
from scaffold.paths import builtin_losses_dir, templates_dir
from scaffold.spec import MAX_NAME_LENGTH, NAME_RE, TASKS, parse_spec

# A small, numerically safe loss per task, with one parameter and two example inputs.
STARTERS = {
    "regression": (
        "weight",
        "1.0",
        "Scale of the loss.",
        "error = y_pred - y_true\nloss = mean(weight * square(error), axis=-1)",
        ([[0.0, 1.0]], [[1.0, 3.0]]),
        ([[2.0], [0.0]], [[0.5], [1.0]]),
    ),
    "positive_regression": (
        "weight",
        "1.0",
        "Scale of the loss.",
        "loss = mean(weight * (y_pred - y_true * log(y_pred + epsilon)), axis=-1)",
        ([[1.0, 2.0]], [[1.0, 1.0]]),
        ([[0.0], [3.0]], [[2.0], [3.0]]),
    ),
    "binary": (
        "weight",
        "1.0",
        "Scale of the loss.",
        (
            "p = clip(y_pred, epsilon, 1 - epsilon)\n"
            "loss = mean(-weight * (y_true * log(p) + (1 - y_true) * log(1 - p)), axis=-1)"
        ),
        ([[1.0, 0.0]], [[0.8, 0.4]]),
        ([[1.0], [0.0]], [[0.5], [0.1]]),
    ),
    "categorical": (
        "weight",
        "1.0",
        "Scale of the loss.",
        "p = clip(y_pred, epsilon, 1.0)\nloss = -weight * sum(y_true * log(p), axis=-1)",
        ([[0.0, 1.0, 0.0]], [[0.2, 0.7, 0.1]]),
        ([[1.0, 0.0, 0.0]], [[0.5, 0.25, 0.25]]),
    ),
    "sparse_categorical": (
        "weight",
        "1.0",
        "Scale of the loss.",
        (
            "labels = one_hot(y_true, num_classes)\np = clip(y_pred, epsilon, 1.0)\n"
            "loss = -weight * sum(labels * log(p), axis=-1)"
        ),
        ([[1]], [[0.2, 0.7, 0.1]]),
        ([[0], [2]], [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]),
    ),
    "multi_output": (
        "weight",
        "1.0",
        "Scale of the loss.",
        "error = y_pred - y_true\nloss = mean(weight * square(error), axis=-1)",
        ([[0.0, 1.0, 2.0]], [[1.0, 1.0, 0.0]]),
        ([[1.0, 1.0, 1.0]], [[1.0, 1.0, 4.0]]),
    ),
    "metric": (
        "margin",
        "1.0",
        "Distance beyond which dissimilar pairs cost nothing.",
        (
            "# one pair per sample; for losses over a labelled batch (triplets, mining):\n"
            "# lossgen spec NAME --task embedding\n"
            "loss = mean(y_true * square(y_pred) + (1 - y_true) * square(relu(margin - y_pred)), axis=-1)"
        ),
        ([[1.0], [0.0]], [[0.5], [0.25]]),
        ([[0.0]], [[3.0]]),
    ),
    "boxes": (
        "weight",
        "1.0",
        "Scale of the loss.",
        (
            "# an L1 loss on the box coordinates; see `lossgen show giou` for an overlap-based one\n"
            "loss = weight * mean(abs(y_pred - y_true), axis=-1)"
        ),
        ([[0.0, 0.0, 2.0, 2.0]], [[1.0, 1.0, 3.0, 3.0]]),
        ([[0.0, 0.0, 1.0, 1.0]], [[0.0, 0.5, 1.0, 1.5]]),
    ),
    "segmentation": (
        "smooth",
        "1.0",
        "Added to the Dice ratio's denominator.",
        (
            "# sums over each image's pixels (axis 1), one value per class; the mismatch is\n"
            "# total - 2 * overlap, written without its cancellation for near-perfect masks\n"
            "mismatch = sum(y_true * (1 - y_pred) + (1 - y_true) * y_pred, axis=1)\n"
            "total = sum(y_true + y_pred, axis=1)\n"
            "loss = mean(mismatch / (total + smooth), axis=-1)"
        ),
        ([[[1, 0], [0, 1]]], [[[0.8, 0.2], [0.4, 0.6]]]),
        ([[[0, 1], [0, 1]]], [[[0.5, 0.5], [0.1, 0.9]]]),
    ),
    "embedding": (
        "margin",
        "1.0",
        "Distance beyond which samples of different classes cost nothing.",
        (
            "# every pair of the batch: rows are anchors, columns the other samples\n"
            "squared = sum(square(expand_dims(y_pred, axis=1) - expand_dims(y_pred, axis=0)), axis=-1)\n"
            "same = where(expand_dims(y_true, axis=1) == expand_dims(y_true, axis=0), 1.0, 0.0)\n"
            "positive = same - eye(y_pred)\n"
            "distance = sqrt(squared + epsilon)\n"
            "loss = mean(positive * squared + (1 - same) * square(relu(margin - distance)), axis=-1)"
        ),
        ([[0], [0], [1]], [[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]]),
        ([[1], [2], [1]], [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
    ),
    "gaussian": (
        "weight",
        "1.0",
        "Scale of the loss.",
        (
            "predicted_mean = take(y_pred, 0)\nlog_variance = take(y_pred, 1)\n"
            "loss = weight * 0.5 * (log_variance + square(take(y_true, 0) - predicted_mean) * exp(-log_variance))"
        ),
        ([[1.0]], [[0.5, 0.0]]),
        ([[0.0]], [[2.0, 1.0]]),
    ),
}


def starter_text(name: str, task: str) -> str:
    from jinja2 import Environment, StrictUndefined

    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"invalid spec name {name!r}: lowercase letters, digits and underscores, starting with a letter"
        )
    if (builtin_losses_dir() / f"{name}.toml").is_file():
        raise UsageError(
            f"'{name}' is a built-in kind: choose another name for a team loss (or copy "
            f"`lossgen show {name}` ideas into a new name; overriding a built-in needs `overrides = true`)"
        )
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r} (allowed: {', '.join(TASKS)})")
    param, default, param_help, formula, *inputs = STARTERS[task]
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    template = env.from_string((templates_dir() / "starter.toml").read_text(encoding="utf-8"))
    values = [default, "2.0"]

    def render(losses: list[list[float]]) -> str:
        examples = [
            {"value": v, "y_true": yt, "y_pred": yp, "loss": loss} for v, (yt, yp), loss in zip(values, inputs, losses)
        ]
        return template.render(
            name=name,
            title=_title(name),
            task=task,
            tasks=" | ".join(TASKS),
            formula=formula,
            param=param,
            default=default,
            param_help=param_help,
            examples=examples,
        )

    draft = parse_spec(render([[0.0] * len(yt) for yt, _ in inputs]), Path(f"{name}.toml"))
    losses = [
        [round(float(v), 12) for v in numpy_emit.evaluate(draft, e.y_true, e.y_pred, draft.bind(e.params))]
        for e in draft.examples
    ]
    return render(losses)


def _title(name: str) -> str:
    words = name.replace("_", " ").capitalize()
    return words if words.endswith("loss") else words + " loss"


def write_starter(name: str, task: str, output_dir: Path, force: bool) -> Path:
    from scaffold.workspace import os_errors

    path = Path(output_dir) / f"{name}.toml"
    text = starter_text(name, task)
    try:
        with os_errors("cannot write", path):
            broken = next(
                (d for d in (path.parent, *path.parent.parents) if os.path.islink(d) and not os.path.exists(d)), None
            )
            if broken is not None:
                raise UsageError(f"cannot write {path}: {broken} is a symbolic link to a missing path (or a loop)")
            if path.exists() and not force:
                raise UsageError(f"{path} already exists (use --force to overwrite it)")
            if os.path.lexists(path) and not path.is_file():
                raise UsageError(f"{path} exists and is not a file")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except RuntimeError as exc:  # pathlib's "Symlink loop from ..."
        raise UsageError(f"cannot write {path}: {exc}") from None
    return path
