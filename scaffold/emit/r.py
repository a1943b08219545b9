"""IR -> R calling Python Keras through reticulate.

reticulate 1.28 does not overload R arithmetic on Python objects, so every operation that touches a
tensor is an explicit `keras$ops$...` call; arithmetic on parameters and constants stays plain R.
Axis arguments and integer literals are R integers (`-1L`), as Keras expects Python ints there.
"""

from __future__ import annotations

import contextlib

from scaffold.emit.base import (
    PRECEDENCE,
    Emitter,
    both_scalar,
    flattens_images,
    format_number,
    is_tensor,
    prelude,
    squeezes_labels,
)
from scaffold.formula import BOOL_TENSOR, Binary, Call, Compare, Conditional, Name, Number, Unary, walk
from scaffold.sinks import r_string
from scaffold.spec import LossSpec, Param, format_bound

TENSOR_BINARY = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "**": "power"}
TENSOR_COMPARE = {
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
    "==": "equal",
    "!=": "not_equal",
}


def r_number(value: float) -> str:
    return f"{value}L" if isinstance(value, int) else format_number(value)


LINE_WIDTH = 80  # lintr's default line_length_linter
BODY_INDENT = 4  # the closure's body in R/loss.R: factory, then `loss <- function(y_true, y_pred) {`


class REmitter(Emitter):
    """Calls that do not fit the line put one argument per line, as a person would.

    `width` is the room left on the current line for the expression being written; the arguments
    of a call that wraps sit two spaces further in and end with a comma, so they get three less.
    """

    def __init__(self, width: int = LINE_WIDTH - BODY_INDENT) -> None:
        self.width = width

    @contextlib.contextmanager
    def narrower(self, by: int):
        self.width -= by
        try:
            yield
        finally:
            self.width += by

    def arguments(self, *exprs) -> list[str]:
        with self.narrower(3):
            return [self.expression(e) for e in exprs]

    def ops(self, name: str, *parts: str) -> str:
        return self.call_text(f"keras$ops${name}", *parts)

    def call_text(self, function: str, *parts: str) -> str:
        one_line = f"{function}({', '.join(parts)})"
        if len(one_line) <= self.width and "\n" not in one_line:
            return one_line
        arguments = ",\n".join("  " + part.replace("\n", "\n  ") for part in parts)
        return f"{function}(\n{arguments}\n)"

    def integer(self, expr) -> str:
        """Where Python needs an int (take's index, one_hot's depth), a literal is an R integer."""
        if isinstance(expr, Number) and isinstance(expr.value, int):
            return r_number(expr.value)
        return self.expression(expr)

    def string(self, value: str) -> str:
        return r_string(value)

    def unary(self, expr: Unary) -> tuple[str, int]:
        if is_tensor(expr):
            if expr.op != "-":
                return self.expression(expr.operand), PRECEDENCE["atom"]
            return self.ops("negative", *self.arguments(expr.operand)), PRECEDENCE["atom"]
        return super().unary(expr)

    def binary(self, expr: Binary) -> tuple[str, int]:
        if adds_two_tensors(expr):  # the package's add_tensors(): keras$ops$add may broadcast wrongly
            return self.call_text("add_tensors", *self.arguments(expr.left, expr.right)), PRECEDENCE["atom"]
        if is_tensor(expr):
            return self.ops(TENSOR_BINARY[expr.op], *self.arguments(expr.left, expr.right)), PRECEDENCE["atom"]
        return self.infix(expr.op, expr.left, expr.right, PRECEDENCE[expr.op], "^" if expr.op == "**" else None)

    def compare(self, expr: Compare) -> tuple[str, int]:
        if expr.kind == BOOL_TENSOR:
            return self.ops(TENSOR_COMPARE[expr.op], *self.arguments(expr.left, expr.right)), PRECEDENCE["atom"]
        return super().compare(expr)

    def conditional(self, expr: Conditional) -> tuple[str, int]:
        if expr.test.kind == BOOL_TENSOR:
            return self.where(expr.test, expr.then, expr.orelse), PRECEDENCE["atom"]
        test, then, orelse = (self.expression(e) for e in (expr.test, expr.then, expr.orelse))
        one_line = f"(if ({test}) {then} else {orelse})"
        if len(one_line) <= self.width and "\n" not in one_line:
            return one_line, PRECEDENCE["atom"]
        with self.narrower(2):  # each branch on lines of its own, two spaces in
            then, orelse = (self.expression(e).replace("\n", "\n  ") for e in (expr.then, expr.orelse))
        return f"(if ({test}) {{\n  {then}\n}} else {{\n  {orelse}\n}})", PRECEDENCE["atom"]

    def where(self, test, then, orelse) -> str:
        if not both_scalar(then, orelse):
            return self.ops("where", *self.arguments(test, then, orelse))
        with self.narrower(3):  # the where() is the first argument of a cast()
            text = self.ops("where", *self.arguments(test, then, orelse))
        return self.ops("cast", text, "y_pred$dtype")

    def call(self, expr: Call) -> str:
        if expr.function == "where":
            return self.where(*expr.args)
        parts = self.arguments(*expr.args)
        if expr.function == "eye":  # the batch's identity matrix: the batch size is known only at run time
            return self.ops("eye", f"keras$ops$shape({parts[0]})[[1]]", "dtype = y_pred$dtype")
        if expr.function == "gram":
            return self.ops("matmul", parts[0], self.ops("transpose", parts[0]))
        if expr.function == "half":  # the first or second half of the last axis (R lists count from 1)
            index = expr.args[1]
            position = f"{index.value + 1}L" if isinstance(index, Number) else f"{parts[1]} + 1L"
            return f"{self.ops('split', parts[0], '2L', 'axis = -1L')}[[{position}]]"
        if expr.function == "batch_total":  # the batch's sum, broadcast back to every sample
            with self.narrower(3):
                total = self.ops("sum", parts[0], "axis = 0L", "keepdims = TRUE")
            return self.ops("broadcast_to", total, self.ops("shape", parts[0]))
        if expr.function in ("take", "one_hot"):
            parts[1] = self.integer(expr.args[1])
        if expr.function == "one_hot":
            with self.narrower(3):
                parts[0] = self.ops("cast", self.arguments(expr.args[0])[0], '"int32"')
            parts.append("dtype = y_pred$dtype")
        if expr.axis is not None:
            parts.append(f"axis = {expr.axis}L")
        if expr.keepdims:
            parts.append("keepdims = TRUE")
        return self.ops(expr.function, *parts)


def function_body(spec: LossSpec) -> str:
    """Body of the `function(y_true, y_pred)` closure: dtype and rank alignment, then the formula."""
    if "r" in spec.code:
        return spec.code["r"].strip("\n")
    lines = [
        "y_pred <- keras$ops$convert_to_tensor(y_pred)",
        "# In float16, 1 - 1e-7 == 1 and clipped logs hit log(0): use float32 or 64.",
        "dtype <- keras$backend$standardize_dtype(y_pred$dtype)",
        'if (!(dtype %in% c("float32", "float64"))) {',
        '  y_pred <- keras$ops$cast(y_pred, "float32")',
        "}",
        "y_true <- keras$ops$cast(y_true, y_pred$dtype)",
    ]
    if flattens_images(spec.task):
        lines += [
            "# Masks (batch, height, width, classes), or of any rank: one row of pixels",
            "# per sample.",
            "y_pred <- keras$ops$reshape(",
            "  y_pred,",
            "  list(keras$ops$shape(y_pred)[[1]], -1L, last_dim(y_pred))",
            ")",
            "y_true <- keras$ops$reshape(y_true, keras$ops$shape(y_pred))",
        ]
    elif squeezes_labels(spec.task):
        lines += [
            "# Labels of shape (batch, 1) lose their last axis.",
            "if (length(y_true$shape) == length(y_pred$shape)) {",
            "  y_true <- keras$ops$squeeze(y_true, axis = -1L)",
            "}",
        ]
    else:
        lines += [
            "# Targets of shape (batch) gain the last axis of predictions (batch, 1).",
            "if (length(y_true$shape) == length(y_pred$shape) - 1L) {",
            "  y_true <- keras$ops$expand_dims(y_true, axis = -1L)",
            "}",
        ]
    lines += prelude(
        spec,
        spec.formula,
        epsilon="keras$config$epsilon()",
        num_classes="last_dim(y_pred)",
        to_tensor="keras$ops$convert_to_tensor(\n  array({name}),\n  dtype = y_pred$dtype\n)",
        assign="<-",
    )
    *steps, last = spec.formula.statements
    for statement in steps:
        prefix = f"{statement.target} <- "
        lines.append(prefix + REmitter(LINE_WIDTH - BODY_INDENT - len(prefix)).expression(statement.value))
    lines.append(REmitter().expression(last.value))
    return "\n".join(lines)


def adds_two_tensors(expr) -> bool:
    """`a + b` of two tensors: on TensorFlow, keras$ops$add(a, b) takes an (n, 1) b for a bias and
    adds it along a's last axis when a is (n, n) (Keras 3.15), so R adds through add_tensors()."""
    return isinstance(expr, Binary) and expr.op == "+" and is_tensor(expr.left) and is_tensor(expr.right)


def uses_add_tensors(spec: LossSpec) -> bool:
    """Whether the body calls the package's add_tensors() helper."""
    if spec.formula is None or "r" in spec.code:
        return False
    return any(adds_two_tensors(e) for statement in spec.formula.statements for e in walk(statement.value))


def uses_last_dim(spec: LossSpec) -> bool:
    """Whether the body calls the package's last_dim() helper (the formula's `num_classes`, and a
    segmentation mask's classes)."""
    if spec.formula is None or "r" in spec.code:
        return False
    return flattens_images(spec.task) or "num_classes" in spec.formula.names_used()


def index_params(spec: LossSpec) -> list[str]:
    """int parameters the formula uses as a take() index: R users count them from 1, as R and
    keras3 do, and the generated function subtracts one before calling Keras."""
    if spec.formula is None or "r" in spec.code:
        return []
    used = {
        node.args[1].name
        for statement in spec.formula.statements
        for node in walk(statement.value)
        if isinstance(node, Call) and node.function == "take" and isinstance(node.args[1], Name)
    }
    return [name for name, p in spec.params.items() if p.type == "int" and name in used]


def r_value(spec: LossSpec, name: str, value):
    """A parameter value as R users pass it: take() indexes one more than lossgen's (Python's) value."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value + 1 if number and name in index_params(spec) else value


def literal(param: Param, value) -> str:
    """A parameter value as R source."""
    if param.type == "bool":
        return "TRUE" if value else "FALSE"
    if param.type == "choice":
        return r_string(value)
    if param.type == "float_list":
        return "c(" + ", ".join(format_number(float(v)) for v in value) + ")"
    if param.type == "int":
        return f"{int(value)}L"
    return format_number(float(value))


def r_allowed(param: Param, index: bool = False) -> str:
    """What values are allowed, in R terms (Param.describe_allowed speaks of the command line);
    an `index` parameter counts from 1, so its bounds are one more."""
    shift = 1 if index else 0
    bounds = " and ".join(f"{op} {format_bound(v + shift)}" for op, v in param.bounds)
    if param.type == "bool":
        return "TRUE or FALSE"
    if param.type == "choice":
        return "one of " + ", ".join(r_string(c) for c in param.choices)
    if param.type == "float_list":
        text = f"a numeric vector of length >= {param.min_length}"
        return text + (f", each value {bounds}" if bounds else "")
    what = {"int": "a whole number", "float": "a number"}[param.type]
    return f"{what} {bounds}" if bounds else what


CHECKS = {
    "float": "check_number",
    "int": "check_whole_number",
    "float_list": "check_numbers",
    "bool": "check_flag",
    "choice": "check_choice",
}


def check_helpers(spec: LossSpec) -> list[str]:
    """The argument-check helpers (R/checks.R in the template) the factory calls."""
    return sorted({CHECKS[p.type] for p in spec.params.values()})


def _bounds_test(name: str, param: Param, shift: int) -> str:
    """The bounds as one R condition (`&`: scalars here, and no branch for cyclomatic complexity)."""
    number = format_bound if param.type == "int" else (lambda v: format_number(float(v)))
    tests = [f"{name} {op} {number(v + shift)}" for op, v in param.bounds]
    if param.type == "float_list":
        tests = [f"all({t})" for t in tests]
    return " & ".join(tests)


def _call(function: str, parts: list[str], width: int) -> list[str]:
    one_line = f"{function}({', '.join(parts)})"
    if len(one_line) <= width:
        return [one_line]
    return [f"{function}("] + [f"  {part}," for part in parts[:-1]] + [f"  {parts[-1]}", ")"]


def param_checks(spec: LossSpec, width: int = LINE_WIDTH - 2) -> str:
    """Factory lines that reject bad arguments: one call of a check helper per parameter, whose
    error names the argument, what is allowed and the value given (as R code)."""
    lines = []
    indexes = index_params(spec)
    for name, p in spec.params.items():
        shift = 1 if name in indexes else 0
        parts = [name]
        if p.type == "choice":
            parts.append("c(" + ", ".join(r_string(c) for c in p.choices) + ")")
        if p.type != "bool":
            parts.append(r_string(r_allowed(p, name in indexes)))
        if p.type == "float_list":
            parts.append(f"min_length = {p.min_length}L")
        if p.bounds:
            parts.append(f"ok = {_bounds_test(name, p, shift)}")
        lines += _call(CHECKS[p.type], parts, width)
        if shift:
            lines += ["# R counts from 1, Keras from 0.", f"{name} <- as.integer({name}) - 1L"]
        elif p.type == "int":
            lines.append(f"{name} <- as.integer({name})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# DESCRIPTION title


SMALL_WORDS = {
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "en",
    "for",
    "from",
    "if",
    "in",
    "into",
    "is",
    "nor",
    "not",
    "of",
    "on",
    "or",
    "per",
    "so",
    "than",
    "that",
    "the",
    "to",
    "via",
    "vs",
    "with",
}


def title_case(text: str) -> str:
    """A DESCRIPTION Title: one line, words capitalised except small ones (as tools::toTitleCase), no final period."""
    words = " ".join(text.split()).rstrip(".").split(" ")
    out = []
    for i, word in enumerate(words):
        if i > 0 and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def value_literal(value) -> str:
    """Test data (numbers, strings, booleans, lists) as R source; empty lists are numeric(0)."""
    import math

    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return r_string(value)
    if isinstance(value, int):
        return f"{value}L"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        return format_number(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "numeric(0)"
        return "c(" + ", ".join(value_literal(v) for v in value) + ")"
    raise TypeError(f"no R literal for {value!r}")  # pragma: no cover


def r_only_invalid(param: Param, value) -> list:
    """Arguments R users can pass that Python's typed CLI never sees: wrong types, NA, wrong lengths."""
    na = {"bool": "NA", "choice": "NA_character_"}.get(param.type, "NA_real_")
    bad = [na]
    if param.type == "bool":
        bad += ['"yes"', "c(TRUE, FALSE)"]
    elif param.type == "choice":
        bad += ["1", "c(" + ", ".join([r_string(value)] * 2) + ")"]
    elif param.type == "float_list":
        bad += ['"1"', "c(" + ", ".join(["NA_real_"] * max(param.min_length, 1)) + ")"]
    else:
        bad += ['"1"', f"c({literal(param, value)}, {literal(param, value)})"]
        if param.type == "int":
            bad.append(f"{int(value)} + 0.5")
    return bad


def _deparse_number(value: float) -> str:
    """A double as R's deparse() shows it: up to 15 significant digits, fixed or scientific,
    whichever is shorter (R's default scipen = 0)."""
    if value == 0:
        return "0"
    shortest = f"{value:.15g}"
    mantissa = shortest.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
    digits = max(len(mantissa.rstrip("0")), 1)
    sci = f"{value:.{digits - 1}e}"
    exponent = int(sci.split("e")[1])
    fixed = f"{value:.{max(0, digits - 1 - exponent)}f}"
    return fixed if len(fixed) <= len(sci) else sci


def deparse_literal(param: Param, value) -> str:
    """A parameter default as roxygen2 writes it in the Rd usage section (R's deparse of the
    default expression), so that re-running roxygen2 on the package leaves man/ unchanged."""
    if param.type in ("bool", "choice", "int"):
        return literal(param, value)
    if param.type == "float_list":
        return "c(" + ", ".join(_deparse_number(float(v)) for v in value) + ")"
    return _deparse_number(float(value))
