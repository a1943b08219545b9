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
from scaffold.emit.base import flattens_images, prelude, squeezes_labels, statements
from scaffold.emit.python import PythonEmitter
from scaffold.errors import SpecError
from scaffold.formula import (
    BOOL_TENSOR,
    MAX_WIDTH,
    SCALAR,
    Binary,
    Call,
    Compare,
    Conditional,
    Expr,
    Name,
    Number,
    String,
    Unary,
    source_text,
)
from scaffold.spec import LossSpec

EPSILON = 1e-7  # keras.config.epsilon()
HELPERS = {
    "sigmoid",
    "softplus",
    "log_sigmoid",
    "relu",
    "softmax",
    "log_softmax",
    "one_hot",
    "take",
    "logsumexp",
    "eye",
    "gram",
    "batch_total",
    "half",
}
AXIS_FUNCTIONS = {"mean", "sum", "max", "min", "softmax", "log_softmax", "take", "logsumexp", "expand_dims"}


def numpy_function(name: str):
    return getattr(numpy_ops, name) if name in HELPERS else getattr(np, name)


class NumpyEmitter(PythonEmitter):
    module = "np"

    def fn(self, name: str) -> str:
        return name if name in HELPERS else f"np.{name}"

    def call_text(self, name: str, args: list, kwargs: dict[str, str]) -> str:
        parts = [self.expression(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
        return f"{self.fn(name)}({', '.join(parts)})"


def function_body(spec: LossSpec) -> str:
    if "numpy" in spec.code:
        return spec.code["numpy"].strip("\n")
    lines = ["y_pred = np.asarray(y_pred, dtype=np.float64)", "y_true = np.asarray(y_true, dtype=np.float64)"]
    if flattens_images(spec.task):
        lines += [
            "y_pred = y_pred.reshape(y_pred.shape[0], -1, y_pred.shape[-1])",
            "y_true = y_true.reshape(y_pred.shape)",
        ]
    elif squeezes_labels(spec.task):
        lines += ["if y_true.ndim == y_pred.ndim:", "    y_true = y_true[..., 0]"]
    else:
        lines += ["if y_true.ndim == y_pred.ndim - 1:", "    y_true = y_true[..., None]"]
    lines += prelude(
        spec,
        spec.formula,
        epsilon=repr(EPSILON),
        num_classes="y_pred.shape[-1]",
        to_tensor="np.asarray({name}, dtype=np.float64)",
    )
    lines += statements(spec.formula, NumpyEmitter())
    return "\n".join(lines)


def helper_sources(spec: LossSpec) -> str:
    """Source of the numpy_ops helpers the formula calls, for a self-contained reference module (a
    composite's module also holds each part's own reference, whose branches it may not inline)."""
    used = spec.formula.functions_used() if spec.formula and "numpy" not in spec.code else set(HELPERS)
    for part in spec.parts:
        used |= part.formula.functions_used()
    return "\n\n".join(inspect.getsource(getattr(numpy_ops, name)) for name in sorted(used & HELPERS))


# ---------------------------------------------------------------------------------------------
# Direct evaluation

_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def evaluate(spec: LossSpec, y_true: Any, y_pred: Any, params: dict[str, Any] | None = None) -> np.ndarray:
    """Per-sample loss in float64, computed from the IR. Hand-written specs have no IR to walk.

    Whatever the formula does to these inputs, the result is an array or a SpecError at the
    offending sub-expression: a shape mismatch, an axis or index the inputs do not have, or a
    parameter-only value that overflows (found before any tensor work, with the values named)."""
    if spec.formula is None:
        raise ValueError(f"{spec.name} has hand-written code and no formula to evaluate")
    values = spec.bind(params, check_formula=False)
    path = str(spec.path)
    try:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = np.asarray(y_true, dtype=np.float64)
    except (ValueError, TypeError):
        raise SpecError("y_true and y_pred must be rectangular arrays of numbers", path) from None
    if y_pred.ndim == 0:
        raise SpecError("y_pred needs at least one axis (one row per sample)", path)
    if flattens_images(spec.task):
        if y_pred.ndim < 2 or y_true.size != y_pred.size:
            raise SpecError("segmentation masks need y_true and y_pred of one shape (batch, ..., classes)", path)
        y_pred = y_pred.reshape(y_pred.shape[0], -1, y_pred.shape[-1])
        y_true = y_true.reshape(y_pred.shape)
    elif squeezes_labels(spec.task):
        if y_true.ndim == y_pred.ndim:
            y_true = y_true[..., 0]
    elif y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    num_classes = y_pred.shape[-1]
    spec.check_values(values, num_classes=num_classes)
    scope: dict[str, Any] = {
        "y_true": y_true,
        "y_pred": y_pred,
        "epsilon": np.float64(EPSILON),
        "num_classes": np.float64(num_classes),
    }
    for name, param in spec.params.items():
        value = values[name]
        if param.type == "float_list":
            value = np.asarray(value, dtype=np.float64)
        elif param.type in ("float", "int"):
            value = np.float64(value)  # never Python ints: `n ** 9 ** 9` must not become a big int
        scope[name] = value
    with np.errstate(all="ignore"):
        for statement in spec.formula.statements:
            scope[statement.target] = _Evaluator(scope, path, num_classes).value(statement.value)
    return np.asarray(scope["loss"], dtype=np.float64)


class _Evaluator:
    def __init__(self, scope: dict[str, Any], path: str, num_classes: int):
        self.scope = scope
        self.path = path
        self.num_classes = num_classes

    def fail(self, expr: Expr, exc: Exception) -> SpecError:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "could not be broadcast" in message:
            shapes = message.split("shapes", 1)[-1].strip()
            message = f"the shapes {shapes} do not fit together"
        return SpecError(
            f"`{source_text(expr)[:60]}` cannot be computed on these inputs: {message}", self.path, expr.line, expr.col
        )

    def value(self, expr: Expr) -> Any:
        """Children first, outside the try: an error belongs to the innermost node that raised it."""
        if isinstance(expr, Number):
            return np.float64(expr.value)
        if isinstance(expr, String):
            return expr.value
        if isinstance(expr, Name):
            return self.scope[expr.name]
        if isinstance(expr, Conditional) and expr.test.kind != BOOL_TENSOR:
            return self.value(expr.then) if self.value(expr.test) else self.value(expr.orelse)
        children = _children(expr)
        args = [self.value(child) for child in children]
        try:
            result = self.apply(expr, args)
        except SpecError:
            raise
        except Exception as exc:  # numpy's shape, axis and index errors, for the spec author
            raise self.fail(expr, exc) from None
        if expr.kind == SCALAR and not np.all(np.isfinite(result)):
            raise SpecError(
                f"`{source_text(expr)[:60]}` is not finite ({result}) for num_classes={self.num_classes}",
                self.path,
                expr.line,
                expr.col,
            )
        return result

    def apply(self, expr: Expr, args: list) -> Any:
        if isinstance(expr, Unary):
            return -args[0] if expr.op == "-" else args[0]
        if isinstance(expr, Binary):
            return _BINARY[expr.op](args[0], args[1])
        if isinstance(expr, Compare):
            return _COMPARE[expr.op](args[0], args[1])
        if isinstance(expr, Conditional):
            return np.where(*args)
        if isinstance(expr, Call):
            kwargs: dict[str, Any] = {}
            if expr.function in AXIS_FUNCTIONS:
                kwargs["axis"] = expr.axis
            if expr.keepdims:
                kwargs["keepdims"] = True
            if expr.function in ("take", "one_hot"):
                low, high = (0, MAX_WIDTH - 1) if expr.function == "take" else (1, max(MAX_WIDTH, self.num_classes))
                number = float(args[1])
                if not (number.is_integer() and low <= number <= high):
                    raise ValueError(f"{expr.function}() needs a whole number from {low} to {high}, got {number}")
            if expr.function == "one_hot":
                labels = np.asarray(args[0])
                if not np.all(np.isfinite(labels)):
                    raise ValueError("one_hot() labels must be finite")
                if np.any((labels < 0) | (labels >= float(args[1])) | (labels != np.round(labels))):
                    raise ValueError(
                        f"one_hot() labels must be whole numbers from 0 to depth - 1 ({float(args[1]) - 1:g})"
                    )
            return numpy_function(expr.function)(*args, **kwargs)
        raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, (Binary, Compare)):
        return (expr.left, expr.right)
    if isinstance(expr, Conditional):
        return (expr.test, expr.then, expr.orelse)
    if isinstance(expr, Call):
        return expr.args
    raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover
