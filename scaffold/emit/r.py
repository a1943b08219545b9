"""IR -> R calling Python Keras through reticulate.

reticulate 1.28 does not overload R arithmetic on Python objects, so every operation that touches a
tensor is an explicit `keras$ops$...` call; arithmetic on parameters and constants stays plain R.
Axis arguments and integer literals are R integers (`-1L`), as Keras expects Python ints there.
"""

from __future__ import annotations

from scaffold.emit.base import PRECEDENCE, Emitter, both_scalar, format_number, is_tensor
from scaffold.emit.base import prelude, squeezes_labels, statements
from scaffold.formula import BOOL_TENSOR, Binary, Call, Compare, Conditional, Number, Unary
from scaffold.sinks import r_string
from scaffold.spec import LossSpec, Param, format_bound

TENSOR_BINARY = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "**": "power"}
TENSOR_COMPARE = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal", "==": "equal",
                  "!=": "not_equal"}


def r_number(value: float | int) -> str:
    return f"{value}L" if isinstance(value, int) else format_number(value)


class REmitter(Emitter):
    line_width = 72  # longer calls put one argument per line, as a person would

    def ops(self, name: str, *parts: str) -> str:
        one_line = f"keras$ops${name}({', '.join(parts)})"
        if len(one_line) <= self.line_width and "\n" not in one_line:
            return one_line
        arguments = ",\n".join("  " + part.replace("\n", "\n  ") for part in parts)
        return f"keras$ops${name}(\n{arguments}\n)"

    def integer(self, expr) -> str:
        """Where Python needs an int (take's index, one_hot's depth), a literal is an R integer."""
        if isinstance(expr, Number) and isinstance(expr.value, int):
            return r_number(expr.value)
        return self.expression(expr)

    def string(self, value: str) -> str:
        return r_string(value)

    def unary(self, expr: Unary) -> tuple[str, int]:
        if is_tensor(expr):
            inner = self.expression(expr.operand)
            return (self.ops("negative", inner) if expr.op == "-" else inner), PRECEDENCE["atom"]
        return super().unary(expr)

    def binary(self, expr: Binary) -> tuple[str, int]:
        if is_tensor(expr):
            return self.ops(TENSOR_BINARY[expr.op], self.expression(expr.left), self.expression(expr.right)), \
                PRECEDENCE["atom"]
        return self.infix(expr.op, expr.left, expr.right, PRECEDENCE[expr.op], "^" if expr.op == "**" else None)

    def compare(self, expr: Compare) -> tuple[str, int]:
        if expr.kind == BOOL_TENSOR:
            return self.ops(TENSOR_COMPARE[expr.op], self.expression(expr.left), self.expression(expr.right)), \
                PRECEDENCE["atom"]
        return super().compare(expr)

    def conditional(self, expr: Conditional) -> tuple[str, int]:
        if expr.test.kind == BOOL_TENSOR:
            return self.where(expr.test, expr.then, expr.orelse), PRECEDENCE["atom"]
        test, then, orelse = (self.expression(e) for e in (expr.test, expr.then, expr.orelse))
        one_line = f"(if ({test}) {then} else {orelse})"
        if len(one_line) <= self.line_width and "\n" not in one_line:
            return one_line, PRECEDENCE["atom"]
        then, orelse = (branch.replace("\n", "\n  ") for branch in (then, orelse))
        return f"(if ({test}) {{\n  {then}\n}} else {{\n  {orelse}\n}})", PRECEDENCE["atom"]

    def where(self, test, then, orelse) -> str:
        text = self.ops("where", *(self.expression(e) for e in (test, then, orelse)))
        return self.ops("cast", text, "y_pred$dtype") if both_scalar(then, orelse) else text

    def call(self, expr: Call) -> str:
        if expr.function == "where":
            return self.where(*expr.args)
        parts = [self.expression(a) for a in expr.args]
        if expr.function in ("take", "one_hot"):
            parts[1] = self.integer(expr.args[1])
        if expr.function == "one_hot":
            parts[0] = self.ops("cast", parts[0], '"int32"')
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
        "# Compute in float32 or float64: in float16, 1 - 1e-7 == 1 and clipped logs still hit log(0).",
        'if (!(keras$backend$standardize_dtype(y_pred$dtype) %in% c("float32", "float64"))) {',
        '  y_pred <- keras$ops$cast(y_pred, "float32")',
        "}",
        "y_true <- keras$ops$cast(y_true, y_pred$dtype)",
    ]
    if squeezes_labels(spec.task):
        lines += ["if (length(y_true$shape) == length(y_pred$shape)) {  # labels of shape (batch, 1)",
                  "  y_true <- keras$ops$squeeze(y_true, axis = -1L)", "}"]
    else:
        lines += ["if (length(y_true$shape) == length(y_pred$shape) - 1L) {  # (batch,) against (batch, 1)",
                  "  y_true <- keras$ops$expand_dims(y_true, axis = -1L)", "}"]
    lines += prelude(spec, spec.formula, epsilon="keras$config$epsilon()", num_classes="y_pred$shape[[-1L]]",
                     to_tensor="keras$ops$convert_to_tensor(array({name}), dtype = y_pred$dtype)", assign="<-")
    lines += statements(spec.formula, REmitter(), assign="<-", ret="{}")
    return "\n".join(lines)


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


def r_allowed(param: Param) -> str:
    """What values are allowed, in R terms (Param.describe_allowed speaks of the command line)."""
    bounds = " and ".join(f"{op} {format_bound(v)}" for op, v in param.bounds)
    if param.type == "bool":
        return "TRUE or FALSE"
    if param.type == "choice":
        return "one of " + ", ".join(r_string(c) for c in param.choices)
    if param.type == "float_list":
        text = f"a numeric vector of length >= {param.min_length}"
        return text + (f", each value {bounds}" if bounds else "")
    return param.describe_allowed()


def param_checks(spec: LossSpec) -> str:
    """Factory lines that reject bad arguments with a message naming what is allowed."""
    lines = []
    for name, p in spec.params.items():
        allowed = r_allowed(p)
        if p.type == "bool":
            bad = f"!is.logical({name}) || length({name}) != 1L || is.na({name})"
        elif p.type == "choice":
            choices = ", ".join(r_string(c) for c in p.choices)
            bad = f"!is.character({name}) || length({name}) != 1L || !({name} %in% c({choices}))"
        elif p.type == "float_list":
            bad = f"!is.numeric({name}) || length({name}) < {p.min_length}L || any(!is.finite({name}))"
            bad += "".join(f" || any(!({name} {op} {format_number(float(v))}))" for op, v in p.bounds)
        else:
            bad = f"!is.numeric({name}) || length({name}) != 1L || !is.finite({name})"
            if p.type == "int":
                bad += f" || {name} != round({name})"
            bad += "".join(f" || !({name} {op} {format_number(float(v))})" for op, v in p.bounds)
        lines += [f"if ({bad}) {{",
                  f"  stop({r_string(f'`{name}` must be {allowed}, got ')}, format({name}), call. = FALSE)", "}"]
        if p.type == "int":
            lines.append(f"{name} <- as.integer({name})")
        else:
            lines.append(f"force({name})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# DESCRIPTION title


SMALL_WORDS = {"a", "an", "and", "are", "as", "at", "be", "but", "by", "en", "for", "from", "if", "in", "into",
               "is", "nor", "not", "of", "on", "or", "per", "so", "than", "that", "the", "to", "via", "vs",
               "with"}


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
    shortest = "%.15g" % value
    mantissa = shortest.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
    digits = max(len(mantissa.rstrip("0")), 1)
    sci = "%.*e" % (digits - 1, value)
    exponent = int(sci.split("e")[1])
    fixed = "%.*f" % (max(0, digits - 1 - exponent), value)
    return fixed if len(fixed) <= len(sci) else sci


def deparse_literal(param: Param, value) -> str:
    """A parameter default as roxygen2 writes it in the Rd usage section (R's deparse of the
    default expression), so that re-running roxygen2 on the package leaves man/ unchanged."""
    if param.type in ("bool", "choice", "int"):
        return literal(param, value)
    if param.type == "float_list":
        return "c(" + ", ".join(_deparse_number(float(v)) for v in value) + ")"
    return _deparse_number(float(value))
