"""A picture of the loss: value and gradient along the input that matters for the task.

Drawn from the NumPy float64 reference (the IR evaluator: nothing from the spec is executed), with
the gradient by central differences, for the chosen parameters and two other values of the main
parameter; the Keras built-in the spec names is drawn beside it when Keras is importable.
matplotlib is a dependency: the files lossgen writes are a function of a project's record, never of
what happens to be installed, so every loss with a formula gets its picture (`plot_missing()` says
what to install in an environment where it was removed).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scaffold import domains
from scaffold.check import native_stderr_silenced
from scaffold.emit import numpy as numpy_emit
from scaffold.spec import LossSpec

SIZE = (8.0, 3.2)  # inches; at DPI this is the picture's size in pixels
DPI = 100
POINTS = 241


def plot_missing() -> str:
    """Empty when a picture can be drawn; otherwise what to install."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (lossgen needs it to draw each loss): pip install matplotlib"
    return ""


def can_plot(spec: LossSpec) -> bool:
    return spec.formula is not None


@dataclass(frozen=True)
class Sweep:
    """One curve: inputs along `x`, and which tensor `x` moves (the gradient is taken against it)."""

    label: str
    x: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    moves: np.ndarray | None = None  # which entries of y_pred follow x (all when None)


def sweeps(spec: LossSpec, values: dict[str, Any]) -> tuple[str, list[Sweep]]:
    """The x-axis name and the input sweeps for the spec's task."""
    d = domains.width(spec, values)
    logits = domains.uses_logits(spec, values)
    task = spec.task
    if task in ("regression", "multi_output"):
        x = np.linspace(-3.0, 3.0, POINTS)
        zeros = np.zeros((POINTS, d))
        return "error (y_pred - y_true)", [Sweep("", x, zeros, zeros + x[:, None])]
    if task == "positive_regression":
        x = np.linspace(np.log(0.05), np.log(4.0), POINTS) if logits else np.linspace(0.05, 4.0, POINTS)
        return ("log-rate y_pred" if logits else "y_pred") + " (y_true = 1)", [
            Sweep("", x, np.ones((POINTS, d)), np.tile(x[:, None], (1, d)))
        ]
    if task == "binary":
        x = np.linspace(-6.0, 6.0, POINTS) if logits else np.linspace(0.001, 0.999, POINTS)
        column = np.tile(x[:, None], (1, d))
        return ("logit" if logits else "predicted probability"), [
            Sweep("label 1", x, np.ones((POINTS, d)), column),
            Sweep("label 0", x, np.zeros((POINTS, d)), column),
        ]
    if task in ("categorical", "sparse_categorical"):
        if logits:
            x = np.linspace(-6.0, 6.0, POINTS)
            y_pred = np.zeros((POINTS, d))
            y_pred[:, 0] = x
        else:
            x = np.linspace(0.001, 0.999, POINTS)
            y_pred = np.tile(((1.0 - x) / max(d - 1, 1))[:, None], (1, d))
            y_pred[:, 0] = x
        labels = np.zeros(POINTS) if task == "sparse_categorical" else np.eye(d)[np.zeros(POINTS, dtype=int)]
        true_class = np.zeros((POINTS, d), dtype=bool)
        true_class[:, 0] = True
        return ("logit of the true class" if logits else "probability of the true class"), [
            Sweep("", x, labels, y_pred, true_class)
        ]
    if task == "metric":
        x = np.linspace(0.0, 3.0, POINTS)
        column = x[:, None]
        return "distance", [
            Sweep("similar (1)", x, np.ones((POINTS, 1)), column),
            Sweep("dissimilar (0)", x, np.zeros((POINTS, 1)), column),
        ]
    if task == "segmentation":  # one pixel of class 0; its predicted probability (or logit) moves
        x = np.linspace(-6.0, 6.0, POINTS) if logits else np.linspace(0.001, 0.999, POINTS)
        y_true = np.zeros((POINTS, 1, d))
        y_true[..., 0] = 1.0
        if logits:
            y_pred = np.zeros((POINTS, 1, d))
        else:
            y_pred = np.tile(((1.0 - x) / max(d - 1, 1))[:, None, None], (1, 1, d))
        y_pred[:, 0, 0] = x
        return ("logit" if logits else "probability") + " of the true class (a one-pixel mask)", [
            Sweep("", x, y_true, y_pred, y_true.astype(bool))
        ]
    if task == "boxes":  # a unit box, and predicted boxes sliding across it
        x = np.linspace(-2.5, 2.5, POINTS)
        layout = domains.box_format(values)
        true = domains.encode_boxes(np.tile([0.0, 0.0, 1.0, 1.0], (POINTS, 1)), layout)
        sweeps = []
        for label, width in (("same size", 1.0), ("twice as wide", 2.0)):
            corners = np.stack([x, np.zeros(POINTS), x + width, np.ones(POINTS)], axis=-1)
            pred = domains.encode_boxes(corners, layout)
            moves = np.tile(domains.encode_boxes(corners + [1.0, 0.0, 1.0, 0.0], layout)[:1] != pred[:1], (POINTS, 1))
            sweeps.append(Sweep(label, x, true, pred, moves))
        return f"horizontal offset of the predicted box ({layout})", sweeps
    if task == "embedding":  # batches of three: an anchor, its positive at distance 1, a negative moving away
        x = np.linspace(0.0, 3.0, POINTS)
        labels = np.tile([[0.0], [0.0], [1.0]], (POINTS, 1, 1))
        embeddings = np.zeros((POINTS, 3, d))
        embeddings[:, 1, 0] = 1.0
        embeddings[:, 2, 1] = x
        negative = np.zeros((POINTS, 3, d), dtype=bool)
        negative[:, 2, 1] = True
        return "anchor-negative distance (anchor-positive distance 1)", [
            Sweep("anchor's loss", x, labels, embeddings, negative)
        ]
    if task == "gaussian":  # the mean moves; one curve per predicted variance
        x = np.linspace(-3.0, 3.0, POINTS)
        mean_moves = np.tile([True, False], (POINTS, 1))
        predictions = {s: np.stack([x, np.full(POINTS, s)], axis=-1) for s in (0.0, 1.0)}
        return "error (predicted mean - y_true)", [
            Sweep(f"log-variance {s:g}", x, np.zeros((POINTS, 1)), pred, mean_moves) for s, pred in predictions.items()
        ]
    raise ValueError(f"unknown task {task}")  # pragma: no cover - spec validation rejects others


def _moved(sweep: Sweep, step: float) -> np.ndarray:
    """y_pred with the swept entries moved by `step` (only what x moves, so this is d loss / d x)."""
    moved = sweep.y_pred.copy()
    if sweep.moves is None:
        moved += step
    else:
        moved[sweep.moves] += step
    return moved


def curve(spec: LossSpec, values: dict[str, Any], sweep: Sweep) -> tuple[np.ndarray, np.ndarray]:
    """Loss and its derivative along the sweep (central differences in float64)."""

    def at(y_pred: np.ndarray) -> np.ndarray:
        if y_pred.ndim == 3:  # one batch per point (a loss over the batch): its first sample's loss
            return np.array([numpy_emit.evaluate(spec, t, p, values)[0] for t, p in zip(sweep.y_true, y_pred)])
        return numpy_emit.evaluate(spec, sweep.y_true, y_pred, values)

    step = 1e-5 * max(1.0, float(np.max(np.abs(sweep.x))))
    return at(sweep.y_pred), (at(_moved(sweep, step)) - at(_moved(sweep, -step))) / (2 * step)


def variants(spec: LossSpec, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The chosen values, and the main (first float) parameter at half and twice its value where allowed."""
    main = next((p for p in spec.params.values() if p.type == "float"), None)
    found = [values]
    if main is None:
        return found
    for factor in (0.5, 2.0):
        candidate = values[main.name] * factor if values[main.name] else factor - 0.5
        try:
            found.append(spec.bind({**values, main.name: candidate}))
        except ValueError:
            continue
    return found


def keras_curve(spec: LossSpec, values: dict[str, Any], sweep: Sweep) -> np.ndarray | None:
    """The named Keras built-in along the sweep, or None when Keras is not importable."""
    if spec.reference is None or not spec.reference.applies(values) or importlib.util.find_spec("keras") is None:
        return None
    with native_stderr_silenced():  # TensorFlow's C++ start-up lines are not for this picture's user
        import keras

        builtin = getattr(keras.losses, spec.reference.cls)(
            **spec.reference.bind(values), reduction=None, dtype="float64"
        )
        return np.asarray(builtin(sweep.y_true, sweep.y_pred), dtype=np.float64)


def draw(spec: LossSpec, values: dict[str, Any], path: Path, with_keras: bool = True) -> Path:
    """Write the picture to `path` (PNG, SIZE at DPI; no timestamps, so the same inputs give the same bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    axis_name, inputs = sweeps(spec, values)
    figure, (value_axes, gradient_axes) = plt.subplots(1, 2, figsize=SIZE, dpi=DPI)
    main = next((p.name for p in spec.params.values() if p.type == "float"), None)
    chosen = variants(spec, values)
    curves = {
        (index, k): curve(spec, params, sweep) for index, params in enumerate(chosen) for k, sweep in enumerate(inputs)
    }
    for index, params in enumerate(chosen):
        for k, sweep in enumerate(inputs):
            # a curve the main parameter does not change (contrastive's similar pairs: margin only acts on
            # dissimilar ones) would hide under the chosen one: drawn once, its label names every value
            same = [other for other in range(len(chosen)) if _coincide(curves[(other, k)], curves[(0, k)])]
            if index in same[1:]:
                continue
            loss, gradient = curves[(index, k)]
            shown = same if index == 0 else [index]
            what = (f"{main} = " + ", ".join(f"{chosen[i][main]:g}" for i in shown)) if main else "loss"
            if main and len(shown) > 1:
                what += " (the same curve)"
            label = ", ".join(part for part in (what, sweep.label) if part)
            style = {"linewidth": 2.0 if index == 0 else 1.0, "alpha": 1.0 if index == 0 else 0.7}
            (line,) = value_axes.plot(sweep.x, loss, label=label, **style)
            gradient_axes.plot(sweep.x, gradient, color=line.get_color(), **style)
            if index == 0 and with_keras:
                reference = keras_curve(spec, params, sweep)
                if reference is not None:
                    value_axes.plot(
                        sweep.x,
                        reference,
                        linestyle="--",
                        color="black",
                        linewidth=1.0,
                        label=f"keras.losses.{spec.reference.cls}" + (f", {sweep.label}" if sweep.label else ""),
                    )
    value_axes.set(title=f"{spec.title}", xlabel=axis_name, ylabel="loss per sample")
    gradient_axes.set(title="gradient (slope of the loss)", xlabel=axis_name, ylabel="d loss / d x")
    for axes in (value_axes, gradient_axes):
        axes.grid(True, alpha=0.3)
        _clip_view(axes)
    # the legend goes below both plots, never over a curve
    handles, labels = value_axes.get_legend_handles_labels()
    columns = min(len(labels), 3)
    rows = math.ceil(len(labels) / columns)
    figure.legend(handles, labels, loc="lower center", ncol=columns, fontsize=7, frameon=False)
    legend_height = (0.06 + 0.14 * rows) / SIZE[1]  # inches of 7-point lines, as a fraction of the height
    with warnings.catch_warnings():  # a title in a script DejaVu lacks draws boxes, not warnings
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.tight_layout(rect=(0, legend_height, 1, 1))
        figure.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path


def _coincide(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    """Two (loss, gradient) curves that draw as one line."""
    return all(np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True) for x, y in zip(a, b))


def _clip_view(axes) -> None:
    """Keep near-infinite ends (log(0) at saturated probabilities) from flattening the picture."""
    values = np.concatenate([line.get_ydata() for line in axes.get_lines()])
    finite = values[np.isfinite(values)]
    if finite.size:
        low, high = np.percentile(finite, [1, 99])
        pad = 0.05 * (high - low) if high > low else 1.0
        if math.isfinite(low) and math.isfinite(high):
            axes.set_ylim(low - pad, high + pad)
