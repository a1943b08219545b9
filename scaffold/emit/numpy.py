"""IR -> NumPy: the float64 reference that generated tests check the Keras code against.

Two faces of one mapping: `reference_module` writes NumPy source for a generated project, and
`evaluate` walks the IR directly (no source, no exec) for lossgen's own checks and for reference
values baked into R tests at generation time.
"""

from __future__ import annotations

import inspect
import operator
from typing import Any

import numpy as np

from scaffold.emit import numpy_ops
from scaffold.emit.base import prelude, squeezes_labels, statements
from scaffold.emit.python import PythonEmitter
from scaffold.formula import (
    BOOL_TENSOR,
    Binary,
    Call,
    Compare,
    Conditional,
    Expr,
    Name,
    Number,
    String,
    Unary,
)
from scaffold.spec import LossSpec

EPSILON = 1e-7  # keras.config.epsilon()
HELPERS = {"sigmoid", "softplus", "log_sigmoid", "relu", "softmax", "log_softmax", "one_hot", "take"}
AXIS_FUNCTIONS = {"mean", "sum", "max", "min", "softmax", "log_softmax", "take"}


def numpy_function(name: str):
    return getattr(numpy_ops, name) if name in HELPERS else getattr(np, name)


class NumpyEmitter(PythonEmitter):
    module = "np"

    def fn(self, name: str) -> str:
        return name if name in HELPERS else f"np.{name}"

    def call_text(self, name: str, args: list, kwargs: dict[str, str]) -> str:
        parts = [self.expression(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
        return f"{self.fn(name)}({', '.join(parts)})"

    def cast_to_input_dtype(self, text: str) -> str:
        return text  # NumPy promotes Python floats itself


def function_body(spec: LossSpec) -> str:
    if "numpy" in spec.code:
        return spec.code["numpy"].strip("\n")
    lines = ["y_pred = np.asarray(y_pred, dtype=np.float64)", "y_true = np.asarray(y_true, dtype=np.float64)"]
    if squeezes_labels(spec.task):
        lines += ["if y_true.ndim == y_pred.ndim:", "    y_true = y_true[..., 0]"]
    else:
        lines += ["if y_true.ndim == y_pred.ndim - 1:", "    y_true = y_true[..., None]"]
    lines += prelude(spec, spec.formula, epsilon=repr(EPSILON), num_classes="y_pred.shape[-1]",
                     to_tensor="np.asarray({name}, dtype=np.float64)")
    lines += statements(spec.formula, NumpyEmitter())
    return "\n".join(lines)


def helper_sources(spec: LossSpec) -> str:
    """Source of the numpy_ops helpers the formula calls, for a self-contained reference module."""
    used = spec.formula.functions_used() if spec.formula and "numpy" not in spec.code else set(HELPERS)
    return "\n\n".join(inspect.getsource(getattr(numpy_ops, name)) for name in sorted(used & HELPERS))


# ---------------------------------------------------------------------------------------------
# Direct evaluation

_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
            "!=": operator.ne}


def evaluate(spec: LossSpec, y_true: Any, y_pred: Any, params: dict[str, Any] | None = None) -> np.ndarray:
    """Per-sample loss in float64, computed from the IR. Hand-written specs have no IR to walk."""
    if spec.formula is None:
        raise ValueError(f"{spec.name} has hand-written code and no formula to evaluate")
    values = spec.bind(params)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if squeezes_labels(spec.task):
        if y_true.ndim == y_pred.ndim:
            y_true = y_true[..., 0]
    elif y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    scope: dict[str, Any] = {"y_true": y_true, "y_pred": y_pred, "epsilon": EPSILON,
                             "num_classes": y_pred.shape[-1]}
    for name, param in spec.params.items():
        value = values[name]
        scope[name] = np.asarray(value, dtype=np.float64) if param.type == "float_list" else value
    with np.errstate(all="ignore"):
        for statement in spec.formula.statements:
            scope[statement.target] = _eval(statement.value, scope)
    return np.asarray(scope["loss"], dtype=np.float64)


def _eval(expr: Expr, scope: dict[str, Any]) -> Any:
    if isinstance(expr, (Number, String)):
        return expr.value
    if isinstance(expr, Name):
        return scope[expr.name]
    if isinstance(expr, Unary):
        value = _eval(expr.operand, scope)
        return -value if expr.op == "-" else value
    if isinstance(expr, Binary):
        return _BINARY[expr.op](_eval(expr.left, scope), _eval(expr.right, scope))
    if isinstance(expr, Compare):
        return _COMPARE[expr.op](_eval(expr.left, scope), _eval(expr.right, scope))
    if isinstance(expr, Conditional):
        if expr.test.kind == BOOL_TENSOR:
            return np.where(_eval(expr.test, scope), _eval(expr.then, scope), _eval(expr.orelse, scope))
        return _eval(expr.then, scope) if _eval(expr.test, scope) else _eval(expr.orelse, scope)
    if isinstance(expr, Call):
        args = [_eval(a, scope) for a in expr.args]
        kwargs: dict[str, Any] = {}
        if expr.function in AXIS_FUNCTIONS:
            kwargs["axis"] = expr.axis
        if expr.keepdims:
            kwargs["keepdims"] = True
        return numpy_function(expr.function)(*args, **kwargs)
    raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover
