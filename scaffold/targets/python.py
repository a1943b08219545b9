"""The Python target's context: the emitted Keras and NumPy code, the shared test data as Python
source, and spec text escaped for docstrings, Markdown and TOML."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scaffold import domains, sinks
from scaffold.about import About
from scaffold.composite import bound_parts
from scaffold.emit import numpy as numpy_emit
from scaffold.emit import python as python_emit
from scaffold.spec import LossSpec


def py_literal(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"np.array({py_literal(value.tolist())})"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, (list, tuple)):
        items = ", ".join(py_literal(v) for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return sinks.python_string(value)
    return repr(value)


def context(spec: LossSpec, values: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    params = [
        {
            "name": p.name,
            "python": python_emit.literal(p, values[p.name]),
            "python_md": sinks.markdown_code_span(python_emit.literal(p, values[p.name])),
            "allowed_doc": sinks.python_docstring(p.describe_allowed()),
            "allowed_md": sinks.markdown_cell(p.describe_allowed()),
            "help_doc": sinks.python_docstring(" ".join((p.help or "See the spec.").split())),
            "help_md": sinks.markdown_cell(p.help),
        }
        for p in spec.params.values()
    ]
    checks = python_emit.param_checks(spec)
    reference = None
    if spec.reference and spec.reference.applies(values):
        kwargs = {**spec.reference.bind(values), "reduction": None, "dtype": "float64"}
        reference = f"{spec.reference.cls}(" + ", ".join(f"{k}={py_literal(v)}" for k, v in kwargs.items()) + ")"
    y_true_doc, y_pred_doc = _input_docs(spec)
    return {
        "title_doc": sinks.python_docstring(spec.title),
        "summary_doc": sinks.python_docstring(spec.summary),
        "description_doc": sinks.python_docstring(spec.description),
        "summary_toml": sinks.toml_string(spec.summary),
        "formula_doc": sinks.python_docstring(formula_text(spec)),
        "y_true_doc": y_true_doc,
        "y_pred_doc": y_pred_doc,
        "params": params,
        "params_python": py_literal(values),
        "example_args": ", ".join(f"{p['name']}={p['python']}" for p in params),
        "example_args_doc": sinks.python_docstring(", ".join(f"{p['name']}={p['python']}" for p in params)),
        "python_body": python_emit.function_body(spec),
        "exact_ops": python_emit.exact_ops_used(spec),
        "python_checks": checks,
        "uses_math": "math." in checks,
        "numpy_body": numpy_emit.function_body(spec),
        "numpy_helpers": numpy_emit.helper_sources(spec),
        "composite_parts": composite_parts(spec, values),
        "reference": reference,
        "reference_class": spec.reference.cls if reference else "",
        "cases_python": "\n".join(f"{k} = {py_literal(v)}" for k, v in data.items()),
    }


def composite_parts(spec: LossSpec, values: dict[str, Any]) -> list[dict[str, Any]]:
    """A composite's terms for its generated tests: each part's own NumPy reference (from the part's
    spec, not the inlined formula), its weight and its parameters at this project's values."""
    return [
        {
            "function": f"reference_part_{index}",
            "kind": part.name,
            "signature": ", ".join(f"{n}={python_emit.literal(part.params[n], v)}" for n, v in part.bind().items()),
            "arguments": ", ".join(f"{n}={python_emit.literal(part.params[n], v)}" for n, v in part_values.items()),
            "body": numpy_emit.function_body(part),
            "weight": py_literal(weight),
        }
        for index, (part, weight, part_values) in enumerate(bound_parts(spec, values), start=1)
    ]


def exact_ops_source() -> bytes:
    """The package module the formula losses import `minimum`, `mean`, ... from (float64-exact)."""
    from scaffold.paths import templates_dir

    package = templates_dir() / "python/project/{{cookiecutter.project_slug}}/{{cookiecutter.package}}"
    return (package / "_exact_ops.py").read_bytes()


def toml_authors(about: About) -> str:
    """pyproject's `authors`: an array of inline tables, every string through the TOML writer."""
    tables = [
        f"{{ name = {sinks.toml_string(a.name)}" + (f", email = {sinks.toml_string(a.email)}" if a.email else "") + " }"
        for a in about.authors
    ]
    return "[" + ", ".join(tables) + "]"


HEADS = {  # output activation of the toy models, by task (and whether y_pred is logits)
    "regression": "linear",
    "multi_output": "linear",
    "positive_regression": "softplus",
    "binary": "sigmoid",
    "categorical": "softmax",
    "sparse_categorical": "softmax",
    "metric": "softplus",
    "boxes": "linear",
    "embedding": "linear",
    "segmentation": "softmax",
    "gaussian": "linear",  # mean and log-variance are both unbounded
}


def head_activation(spec: LossSpec, values: dict[str, Any]) -> str:
    """The toy model's output activation: what the loss expects y_pred to be."""
    return "linear" if domains.uses_logits(spec, values) else HEADS[spec.task]


def formula_text(spec: LossSpec) -> str:
    return spec.formula_text or "(hand-written code; see the function body)"


def _input_docs(spec: LossSpec) -> tuple[str, str]:
    logits = "logits if ``from_logits``, else probabilities" if spec.from_logits else "probabilities"
    return {
        "regression": ("Targets, shape ``(batch, d)`` or ``(batch,)``.", "Predictions, shape ``(batch, d)``."),
        "positive_regression": (
            "Non-negative targets, shape ``(batch, d)``.",
            "Positive predictions, shape ``(batch, d)``.",
        ),
        "multi_output": ("Targets, shape ``(batch, outputs)``.", "Predictions, shape ``(batch, outputs)``."),
        "binary": ("0/1 labels, shape ``(batch, d)`` or ``(batch,)``.", f"Predicted {logits}, shape ``(batch, d)``."),
        "categorical": (
            "One-hot (or soft) labels, shape ``(batch, classes)``.",
            f"Predicted {logits}, shape ``(batch, classes)``.",
        ),
        "sparse_categorical": (
            "Integer labels, shape ``(batch,)`` or ``(batch, 1)``.",
            f"Predicted {logits}, shape ``(batch, classes)``.",
        ),
        "metric": (
            "Pair labels, 1 for similar and 0 for dissimilar, shape ``(batch, 1)``.",
            "Distances, shape ``(batch, 1)``.",
        ),
        "boxes": ("True boxes, shape ``(batch, 4)``.", "Predicted boxes, shape ``(batch, 4)``."),
        "segmentation": (
            "One-hot masks, shape ``(batch, height, width, classes)`` or ``(batch, pixels, classes)``.",
            f"Predicted {logits} per pixel, the shape of ``y_true``.",
        ),
        "embedding": (
            "Integer class labels, shape ``(batch,)`` or ``(batch, 1)``.",
            "Embeddings, shape ``(batch, dims)``; the loss compares the samples of the batch.",
        ),
        "gaussian": (
            "Targets, shape ``(batch,)`` or ``(batch, 1)``.",
            "Predicted mean and log-variance, shape ``(batch, 2)``.",
        ),
    }[spec.task]
