"""IR -> Python with `keras.ops`.

Tensors share one dtype (inputs are cast to at least float32 and list parameters converted to it),
so plain operators are safe and read like the formula; scalars from parameters stay Python numbers.
The formula functions whose `keras.ops` namesakes lose float64 precision off TensorFlow call the
generated package's `_exact_ops` module instead (templates/python/project/.../_exact_ops.py).
"""

from __future__ import annotations

from scaffold.emit.base import (
    PRECEDENCE,
    Emitter,
    flattens_images,
    format_number,
    is_tensor,
    prelude,
    squeezes_labels,
    statements,
)
from scaffold.formula import BOOL_TENSOR, Call, Conditional
from scaffold.sinks import python_message, python_string
from scaffold.spec import LossSpec, Param

# Keras 3.15 computes these in float32 for float64 inputs on JAX or PyTorch; `_exact_ops` does not.
EXACT_OPS = frozenset({"minimum", "maximum", "clip", "where", "mean", "tanh", "arctan", "gram"})
# Of those, the ones that take their dtype from a tensor argument (one must be a tensor).
DTYPE_FROM_ARGUMENTS = frozenset({"minimum", "maximum", "clip", "where"})


class PythonEmitter(Emitter):
    module = "ops"

    def __init__(self) -> None:
        self.exact_ops_used: set[str] = set()

    def fn(self, name: str) -> str:
        if name in EXACT_OPS:
            self.exact_ops_used.add(name)
            return name
        return f"{self.module}.{name}"

    def conditional(self, expr: Conditional) -> tuple[str, int]:
        if expr.test.kind == BOOL_TENSOR:
            return self.call_text("where", [expr.test, expr.then, expr.orelse], {}), PRECEDENCE["atom"]
        level = PRECEDENCE["if"]
        text = (
            f"{self.wrapped(expr.then, level + 1)} if {self.wrapped(expr.test, level + 1)} "
            f"else {self.wrapped(expr.orelse, level)}"
        )
        return text, level

    def call(self, expr: Call) -> str:
        kwargs = {}
        if expr.axis is not None:
            kwargs["axis"] = str(expr.axis)
        if expr.keepdims:
            kwargs["keepdims"] = "True"
        return self.call_text(expr.function, list(expr.args), kwargs)

    def call_text(self, name: str, args: list, kwargs: dict[str, str]) -> str:
        parts = [self.expression(a) for a in args]
        if name in DTYPE_FROM_ARGUMENTS:
            values = 1 if name == "where" else 0  # where's condition gives no dtype
            if not any(is_tensor(a) for a in args[values:]):  # plain numbers: give one the loss's dtype
                parts[values] = self.cast_to_input_dtype(parts[values])
        if name == "eye":  # the batch's identity matrix: the batch size is known only at run time
            return f"{self.fn('eye')}({self.fn('shape')}({parts[0]})[0], dtype=y_pred.dtype)"
        if name == "half":  # the first or second half of the last axis (two views packed in one row)
            return f"{self.fn('split')}({parts[0]}, 2, axis=-1)[{parts[1]}]"
        if name == "batch_total":  # the batch's sum, broadcast back to every sample
            total = f"{self.fn('sum')}({parts[0]}, axis=0, keepdims=True)"
            return f"{self.fn('broadcast_to')}({total}, {self.fn('shape')}({parts[0]}))"
        if name == "one_hot":
            # Each label compared with every class index: the same rows as ops.one_hot, which on
            # torch builds an int64 one-hot first and costs as much as the rest of the loss.
            labels = f'{self.fn("expand_dims")}({self.fn("cast")}({parts[0]}, "int32"), -1)'
            return f"{self.fn('cast')}({self.fn('equal')}({labels}, {self.fn('arange')}({parts[1]})), y_pred.dtype)"
        parts += [f"{k}={v}" for k, v in kwargs.items()]
        return f"{self.fn(name)}({', '.join(parts)})"

    def cast_to_input_dtype(self, text: str) -> str:
        return f"{self.fn('convert_to_tensor')}({text}, dtype=y_pred.dtype)"


def function_body(spec: LossSpec, emitter: PythonEmitter | None = None) -> str:
    """The body of `<name>(y_true, y_pred, **params)`: dtype and rank alignment, then the formula."""
    if "python" in spec.code:
        return spec.code["python"].strip("\n")
    emitter = emitter or PythonEmitter()
    lines = [
        "y_pred = ops.convert_to_tensor(y_pred)",
        "# Compute in float32 or float64: in float16, 1 - 1e-7 == 1 and clipped logs still hit log(0).",
        "# (Not keras.backend.result_type: on JAX and torch it maps float64 to float32.)",
        'if keras.backend.standardize_dtype(y_pred.dtype) not in ("float32", "float64"):',
        '    y_pred = ops.cast(y_pred, "float32")',
        "y_true = ops.cast(y_true, y_pred.dtype)",
    ]
    if flattens_images(spec.task):
        lines += [
            "# Masks of shape (batch, height, width, classes), or of any rank: one row of pixels per sample.",
            "y_pred = ops.reshape(y_pred, (ops.shape(y_pred)[0], -1, ops.shape(y_pred)[-1]))",
            "y_true = ops.reshape(y_true, ops.shape(y_pred))",
        ]
    elif squeezes_labels(spec.task):
        lines += [
            "if len(y_true.shape) == len(y_pred.shape):  # labels of shape (batch, 1)",
            "    y_true = ops.squeeze(y_true, axis=-1)",
        ]
    else:
        lines += [
            "if len(y_true.shape) == len(y_pred.shape) - 1:  # (batch,) against (batch, 1)",
            "    y_true = ops.expand_dims(y_true, axis=-1)",
        ]
    lines += prelude(
        spec,
        spec.formula,
        epsilon="keras.config.epsilon()",
        num_classes="ops.shape(y_pred)[-1]",
        to_tensor="ops.convert_to_tensor({name}, dtype=y_pred.dtype)",
    )
    lines += statements(spec.formula, emitter)
    return "\n".join(lines)


def exact_ops_used(spec: LossSpec) -> list[str]:
    """The `_exact_ops` functions the emitted body calls, for its import line."""
    if spec.formula is None:
        return []
    emitter = PythonEmitter()
    function_body(spec, emitter)
    return sorted(emitter.exact_ops_used)


def literal(param: Param, value) -> str:
    """A parameter value as Python source."""
    if param.type == "bool":
        return "True" if value else "False"
    if param.type == "choice":
        return python_string(value)
    if param.type == "float_list":  # a tuple: no mutable default arguments
        return "(" + ", ".join(format_number(float(v)) for v in value) + ("," if len(value) == 1 else "") + ")"
    return format_number(float(value) if param.type == "float" else int(value))


def param_checks(spec: LossSpec) -> str:
    """Constructor lines that coerce each parameter and reject out-of-range values (NaN included)."""
    lines = []
    for name, p in spec.params.items():
        allowed = p.describe_allowed()
        if p.type == "bool":
            lines.append(f"{name} = bool({name})")
            continue
        if p.type == "choice":
            choices = ", ".join(python_string(c) for c in p.choices)
            lines += [
                f"if {name} not in ({choices}{',' if len(p.choices) == 1 else ''}):",
                raise_value_error(name, allowed),
            ]
            continue
        if p.type == "float_list":
            lines.append(f"{name} = [float(value) for value in {name}]")
            check = _range_check("value", p) or "math.isfinite(value)"
            lines += [
                f"if len({name}) < {p.min_length} or not all({check} for value in {name}):",
                raise_value_error(name, allowed),
            ]
            continue
        lines.append(f"{name} = {'float' if p.type == 'float' else 'int'}({name})")
        check = _range_check(name, p)
        if check:
            lines += [f"if not {check}:", raise_value_error(name, allowed)]
    return "\n".join(lines)


def raise_value_error(name: str, allowed: str) -> str:
    """The constructor's error line; `allowed` may hold spec text (choices), so it goes through
    the f-string writer, never into an f-string raw."""
    return f"    raise ValueError({python_message(f'`{name}` must be {allowed}, got ', name)})"


def _range_check(var: str, p: Param) -> str:
    lower = [(op, v) for op, v in p.bounds if op in (">", ">=")]
    upper = [(op, v) for op, v in p.bounds if op in ("<", "<=")]
    flip = {">": "<", ">=": "<="}
    if lower and upper:
        (lop, lv), (uop, uv) = lower[0], upper[0]
        return f"{format_number(float(lv))} {flip[lop]} {var} {uop} {format_number(float(uv))}"
    conditions = [f"{var} {op} {format_number(float(v))}" for op, v in p.bounds]
    if p.type in ("float", "float_list") and not upper:
        conditions.insert(0, f"math.isfinite({var})")
    if not conditions:
        return ""
    return conditions[0] if len(conditions) == 1 else "(" + " and ".join(conditions) + ")"
