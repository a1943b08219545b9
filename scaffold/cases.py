"""Test inputs and NumPy reference values, computed once per loss and written into both targets'
tests, so that Python and R are checked on the same numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from scaffold import domains
from scaffold.emit import numpy as numpy_emit
from scaffold.spec import LossSpec, Param

SEED = 20240229


def invalid_values(param: Param) -> list[Any]:
    """Values the generated constructor must reject, for the generated tests."""
    if param.type == "bool":
        return []
    if param.type == "choice":
        return ["not-a-choice"]
    bad: list[Any] = []
    for op, bound in param.bounds:
        bad.append({">": bound, ">=": bound - 1, "<": bound, "<=": bound + 1}[op])
    if param.type == "int":
        return [int(v) if float(v).is_integer() else v for v in bad]
    bad = [float(v) for v in bad] + [float("nan")]
    if param.type == "float_list":
        return [[v] * max(param.min_length, 1) for v in bad] + ([[]] if param.min_length >= 1 else [])
    return bad + ([float("inf")] if not any(op in ("<", "<=") for op, _ in param.bounds) else [])


def test_data(spec: LossSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Inputs and expected values shared by the Python and R tests."""
    rng = np.random.default_rng(SEED)
    random = domains.sample(spec, values, rng)
    reference = numpy_emit.evaluate(spec, random.y_true, random.y_pred, values) if spec.formula else None
    examples = [
        # Examples were computed by hand with the spec's defaults for every parameter they do not name.
        {
            "id": f"example_{i}",
            "params": spec.bind(example.params),
            "y_true": example.y_true,
            "y_pred": example.y_pred,
            "loss": example.loss,
        }
        for i, example in enumerate(spec.examples, start=1)
    ]
    extremes = [
        {"name": c.name, "y_true": c.y_true.tolist(), "y_pred": c.y_pred.tolist()}
        for c in domains.extremes(spec, values)
    ]
    invalid = [(name, v) for name, p in spec.params.items() for v in invalid_values(p)]
    return {
        "PARAMS": values,
        "EXAMPLES": examples,
        "RANDOM_Y_TRUE": random.y_true,
        "RANDOM_Y_PRED": random.y_pred,
        "RANDOM_LOSS": reference,
        "EXTREMES": extremes,
        "INVALID_PARAMS": invalid,
    }
