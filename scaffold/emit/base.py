"""What the emitters share: walking the IR and placing parentheses only where precedence needs them."""

from __future__ import annotations

from scaffold.formula import (
    SCALAR,
    TENSOR,
    Binary,
    Call,
    Compare,
    Conditional,
    Expr,
    Name,
    Number,
    Program,
    String,
    Unary,
)

# Python precedence levels, higher binds tighter (R differs only where the R emitter says so).
PRECEDENCE = {"if": 1, "compare": 5, "+": 10, "-": 10, "*": 11, "/": 11, "unary": 12, "**": 13, "atom": 20}


def format_number(value: float) -> str:
    """A literal both Python and R read back as the same double (ints stay ints)."""
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text


class Emitter:
    """Turns IR expressions into source; subclasses say how calls and tensor operators look."""

    def expression(self, expr: Expr) -> str:
        return self.emit(expr)[0]

    def emit(self, expr: Expr) -> tuple[str, int]:
        if isinstance(expr, Number):
            text = format_number(expr.value)
            return text, PRECEDENCE["unary"] if text.startswith("-") else PRECEDENCE["atom"]
        if isinstance(expr, String):
            return self.string(expr.value), PRECEDENCE["atom"]
        if isinstance(expr, Name):
            return expr.name, PRECEDENCE["atom"]
        if isinstance(expr, Unary):
            return self.unary(expr)
        if isinstance(expr, Binary):
            return self.binary(expr)
        if isinstance(expr, Compare):
            return self.compare(expr)
        if isinstance(expr, Conditional):
            return self.conditional(expr)
        if isinstance(expr, Call):
            return self.call(expr), PRECEDENCE["atom"]
        raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover - the compiler makes only these

    def wrapped(self, expr: Expr, minimum: int) -> str:
        text, level = self.emit(expr)
        return f"({text})" if level < minimum else text

    def infix(self, op: str, left: Expr, right: Expr, level: int, symbol: str | None = None) -> tuple[str, int]:
        # `**` is right-associative; everything else is left-associative.
        left_min, right_min = (level + 1, level) if op == "**" else (level, level + 1)
        text = f"{self.wrapped(left, left_min)} {symbol or op} {self.wrapped(right, right_min)}"
        return text, level

    def string(self, value: str) -> str:
        return repr(value)

    def unary(self, expr: Unary) -> tuple[str, int]:
        level = PRECEDENCE["unary"]
        return f"{expr.op}{self.wrapped(expr.operand, level)}", level

    def binary(self, expr: Binary) -> tuple[str, int]:
        return self.infix(expr.op, expr.left, expr.right, PRECEDENCE[expr.op])

    def compare(self, expr: Compare) -> tuple[str, int]:
        return self.infix(expr.op, expr.left, expr.right, PRECEDENCE["compare"])

    def conditional(self, expr: Conditional) -> tuple[str, int]:
        raise NotImplementedError

    def call(self, expr: Call) -> str:
        raise NotImplementedError


def is_tensor(expr: Expr) -> bool:
    return expr.kind == TENSOR


def both_scalar(a: Expr, b: Expr) -> bool:
    return a.kind == SCALAR and b.kind == SCALAR


def flattens_images(task: str) -> bool:
    """Segmentation masks of any rank, (batch, ..., classes), become (batch, pixels, classes)."""
    return task == "segmentation"


def squeezes_labels(task: str) -> bool:
    """Class labels (sparse, or an embedding's) lose their trailing axis; every other task gains one
    on y_true if missing."""
    return task in ("sparse_categorical", "embedding")


def prelude(spec, program: Program, *, epsilon: str, num_classes: str, to_tensor: str, assign: str = "=") -> list[str]:
    """Assignments for the built-in names and list parameters the formula uses."""
    used = program.names_used()
    lines = []
    if "epsilon" in used:
        lines.append(f"epsilon {assign} {epsilon}")
    if "num_classes" in used:
        lines.append(f"num_classes {assign} {num_classes}")
    for name, param in spec.params.items():
        if param.type == "float_list" and name in used:
            lines.append(f"{name} {assign} {to_tensor.format(name=name)}")
    return lines


def statements(program: Program, emitter: Emitter, assign: str = "=", ret: str = "return {}") -> list[str]:
    lines = []
    for statement in program.statements[:-1]:
        lines.append(f"{statement.target} {assign} {emitter.expression(statement.value)}")
    lines.append(ret.format(emitter.expression(program.statements[-1].value)))
    return lines
