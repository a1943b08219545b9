"""The formula language: Python syntax, parsed with `ast` against a whitelist into a small IR.

Nothing here evaluates user text. `ast.parse` only builds a tree; every node type that is not in
the whitelist below is rejected with the spec file's line and column. The IR records, for each
expression, whether it is a tensor or a plain scalar (parameters and constants), so emitters can
keep scalar arithmetic as plain numbers and use tensor ops only where tensors flow.
"""

from __future__ import annotations

import ast
import difflib
import math
from dataclasses import dataclass, field

from scaffold.errors import SpecError

# Limits, checked before anything recurses over a formula, so a hostile or generated spec is
# refused in bounded time and memory (the built-ins use at most 424 characters, 9 statements and
# depth 8; see docs/spec-format.md).
MAX_FORMULA_CHARS = 10_000
MAX_STATEMENTS = 100
MAX_DEPTH = 32  # nesting of operators, calls and conditionals in one expression
MAX_INT_LITERAL = 10**15 - 1  # 15 digits: exact in float64, never a Python big int
AXIS_RANGE = range(-4, 4)  # axis= literals: tensors are (batch, ...) with at most a few axes
MAX_WIDTH = 64  # classes / outputs: take() indexes below it, one_hot depths and float lists up to it
FLOAT32_MAX = 3.4028234663852886e38  # the generated Keras code computes in (at least) float32

# Kinds of value an expression can have.
SCALAR, TENSOR, BOOL_SCALAR, BOOL_TENSOR, STRING = "scalar", "tensor", "bool", "bool tensor", "string"
NUMERIC = (SCALAR, TENSOR)

INPUTS = ("y_true", "y_pred")
# Names in scope besides inputs and parameters, and what they mean.
BUILTIN_NAMES = {
    "epsilon": "keras.config.epsilon() (1e-7): the fuzz factor for clipping and safe division",
    "num_classes": "size of y_pred's last axis (classification tasks)",
}


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[str, ...]  # positional parameter names
    doc: str
    axis: bool = False  # accepts axis= (default -1)
    keepdims: bool = False  # accepts keepdims= (reductions only: elsewhere it would mean nothing)
    needs_axes: bool = False  # its first argument must be a tensor with axes, not a scalar


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function("abs", ("x",), "absolute value"),
        Function("square", ("x",), "x * x"),
        Function("sqrt", ("x",), "square root"),
        Function("exp", ("x",), "e ** x"),
        Function("log", ("x",), "natural logarithm (clip its argument away from 0)"),
        Function("log1p", ("x",), "log(1 + x), accurate for small x"),
        Function("expm1", ("x",), "exp(x) - 1, accurate for small x"),
        Function("tanh", ("x",), "hyperbolic tangent"),
        Function("arctan", ("x",), "inverse tangent, in (-pi/2, pi/2)"),
        Function("sign", ("x",), "-1, 0 or 1"),
        Function("sigmoid", ("x",), "1 / (1 + exp(-x))"),
        Function("softplus", ("x",), "log(1 + exp(x)), overflow-free"),
        Function("log_sigmoid", ("x",), "log(sigmoid(x)) = -softplus(-x), overflow-free"),
        Function("relu", ("x",), "maximum(x, 0)"),
        Function("minimum", ("a", "b"), "element-wise minimum"),
        Function("maximum", ("a", "b"), "element-wise maximum"),
        Function("clip", ("x", "low", "high"), "limit x to [low, high]"),
        Function("where", ("condition", "a", "b"), "a where condition holds, else b"),
        Function("mean", ("x",), "mean over an axis", axis=True, keepdims=True, needs_axes=True),
        Function("sum", ("x",), "sum over an axis", axis=True, keepdims=True, needs_axes=True),
        Function("max", ("x",), "maximum over an axis", axis=True, keepdims=True, needs_axes=True),
        Function("min", ("x",), "minimum over an axis", axis=True, keepdims=True, needs_axes=True),
        Function("softmax", ("x",), "softmax over an axis", axis=True, needs_axes=True),
        Function("log_softmax", ("x",), "log of softmax over an axis, overflow-free", axis=True, needs_axes=True),
        Function("one_hot", ("labels", "depth"), "integer labels to one-hot rows"),
        Function("take", ("x", "index"), "one slice along an axis (drops that axis)", axis=True, needs_axes=True),
        Function(
            "logsumexp",
            ("x",),
            "log(sum(exp(x))) over an axis, overflow-free",
            axis=True,
            keepdims=True,
            needs_axes=True,
        ),
        Function(
            "expand_dims", ("x",), "a new axis of size 1 at axis= (pairs: rows and columns)", axis=True, needs_axes=True
        ),
        Function("eye", ("x",), "the (batch, batch) identity matrix for x's batch", needs_axes=True),
        Function("gram", ("x",), "dot products of x's rows with each other: (batch, batch)", needs_axes=True),
        Function("half", ("x", "index"), "the first (0) or second (1) half of the last axis", needs_axes=True),
        Function("batch_total", ("x",), "the sum over the batch, given to every sample (same shape)", needs_axes=True),
    ]
}

BINARY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.FunctionDef: "function definitions",
    ast.AsyncFunctionDef: "function definitions",
    ast.ClassDef: "class definitions",
    ast.Starred: "star arguments",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "the walrus operator",
    ast.Await: "await",
    ast.Yield: "yield",
}


# ---------------------------------------------------------------------------------------------
# IR


@dataclass(frozen=True)
class Expr:
    kind: str = field(kw_only=True)
    line: int = field(kw_only=True, compare=False)
    col: int = field(kw_only=True, compare=False)


@dataclass(frozen=True)
class Number(Expr):
    value: float | int


@dataclass(frozen=True)
class String(Expr):
    value: str


@dataclass(frozen=True)
class Name(Expr):
    name: str
    role: str  # "input" | "param" | "local" | "builtin"


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-" or "+"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Conditional(Expr):
    test: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True)
class Call(Expr):
    function: str
    args: tuple[Expr, ...]
    axis: int | None = None
    keepdims: bool = False


@dataclass(frozen=True)
class Assign:
    target: str
    value: Expr
    line: int


@dataclass(frozen=True)
class Program:
    """A checked formula: statements in order, the last one assigns `loss`."""

    statements: tuple[Assign, ...]
    source: str

    def names_used(self) -> set[str]:
        used: set[str] = set()
        for statement in self.statements:
            for node in walk(statement.value):
                if isinstance(node, Name):
                    used.add(node.name)
        return used

    def unused_steps(self) -> list[Assign]:
        """Steps no later step reads: dead variables in the generated Python and R."""
        return [
            statement
            for index, statement in enumerate(self.statements[:-1])
            if statement.target
            not in {n.name for s in self.statements[index + 1 :] for n in walk(s.value) if isinstance(n, Name)}
        ]

    def functions_used(self) -> set[str]:
        return {node.function for s in self.statements for node in walk(s.value) if isinstance(node, Call)}


def walk(expr: Expr):
    yield expr
    children: tuple[Expr, ...] = ()
    if isinstance(expr, Unary):
        children = (expr.operand,)
    elif isinstance(expr, (Binary, Compare)):
        children = (expr.left, expr.right)
    elif isinstance(expr, Conditional):
        children = (expr.test, expr.then, expr.orelse)
    elif isinstance(expr, Call):
        children = expr.args
    for child in children:
        yield from walk(child)


# ---------------------------------------------------------------------------------------------
# Parser


def param_kind(param_type: str) -> str:
    return {"bool": BOOL_SCALAR, "choice": STRING, "float_list": TENSOR}.get(param_type, SCALAR)


class _Compiler:
    def __init__(self, params: dict[str, str], path: str, line: int, col: int):
        self.params = params  # name -> param type
        self.path = path
        self.first_line = line  # spec-file line of the formula's first line
        self.first_col = col  # spec-file column offset of the formula's first line
        self.locals: dict[str, str] = {}
        self.with_axes: set[str] = set()  # locals that are tensors with axes

    def where(self, lineno: int, col_offset: int) -> tuple[int, int]:
        line = self.first_line + lineno - 1
        col = col_offset + 1 + (self.first_col if lineno == 1 else 0)
        return line, col

    def error(self, node: ast.AST | None, message: str) -> SpecError:
        if node is None or not hasattr(node, "lineno"):
            return SpecError(message, self.path, self.first_line, None)
        line, col = self.where(node.lineno, node.col_offset)
        return SpecError(message, self.path, line, col)

    def compile(self, source: str) -> Program:
        if len(source) > MAX_FORMULA_CHARS:
            raise SpecError(
                f"formula is {len(source)} characters long; the limit is {MAX_FORMULA_CHARS}",
                self.path,
                self.first_line,
                self.first_col + 1,
            )
        try:
            tree = ast.parse(source, mode="exec")
        except SyntaxError as exc:
            line, col = self.where(exc.lineno or 1, (exc.offset or 1) - 1)
            message = str(exc.msg)
            if "integer string conversion" in message:  # CPython's hint is about Python, not specs
                message = "an integer constant has more than 15 digits"
            elif "too many nested parentheses" in message:
                message += f" (the limit is depth {MAX_DEPTH}); split it into named steps"
            raise SpecError(f"formula syntax error: {message}", self.path, line, col) from None
        except ValueError as exc:  # null bytes, on some Python versions
            raise SpecError(
                f"formula cannot be parsed: {exc}", self.path, self.first_line, self.first_col + 1
            ) from None
        except (RecursionError, MemoryError):  # the parser's own limits on nesting
            raise SpecError(
                f"formula is nested too deeply to parse (the limit is depth {MAX_DEPTH}); split it into named steps",
                self.path,
                self.first_line,
                self.first_col + 1,
            ) from None
        if len(tree.body) > MAX_STATEMENTS:
            raise self.error(
                tree.body[MAX_STATEMENTS], f"formula has {len(tree.body)} statements; the limit is {MAX_STATEMENTS}"
            )
        self.check_depth(tree)
        statements = []
        for stmt in tree.body:
            statements.append(self.statement(stmt))
        if not statements or statements[-1].target != "loss":
            last = tree.body[-1] if tree.body else None
            raise self.error(last, "formula must end with a `loss = ...` statement (the per-sample loss)")
        loss = statements[-1].value
        if loss.kind != TENSOR or not self.has_axes(loss):
            kind = loss.kind if loss.kind != TENSOR else SCALAR
            raise self.error(tree.body[-1], f"`loss` must be a tensor computed from y_true/y_pred, not a {kind}")
        program = Program(tuple(statements), source)
        check_values(program, {}, self.path)  # constants: division by zero, overflow, domain errors
        return program

    def check_depth(self, tree: ast.AST) -> None:
        """Measure nesting with an explicit stack, before anything recursive (compiler, emitters) runs."""
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, (ast.expr, ast.stmt)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise self.error(
                        node,
                        f"expression nested more than {MAX_DEPTH} levels deep; split it "
                        "into named steps (`part = ...` on lines of their own)",
                    )
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))

    def has_axes(self, expr: Expr) -> bool:
        """Whether a value is a tensor with axes (from the inputs, a list parameter or one_hot), not a
        number that only became a 0-d tensor through an element-wise call such as sqrt(delta)."""
        for node in walk(expr):
            if isinstance(node, Name) and (
                node.role == "input"
                or (node.role == "param" and self.params[node.name] == "float_list")
                or (node.role == "local" and node.name in self.with_axes)
            ):
                return True
            if isinstance(node, Call) and node.function == "one_hot":
                return True
        return False

    def statement(self, stmt: ast.stmt) -> Assign:
        self.reject_forbidden(stmt)
        if not isinstance(stmt, ast.Assign):
            raise self.error(stmt, f"only `name = expression` statements are allowed, not {type(stmt).__name__}")
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise self.error(stmt, "assign to exactly one plain name")
        target = stmt.targets[0].id
        if target in INPUTS or target in self.params or target in BUILTIN_NAMES or target in FUNCTIONS:
            raise self.error(
                stmt.targets[0], f"cannot assign to `{target}`: it is an input, parameter or built-in name"
            )
        if target.startswith("_"):
            raise self.error(stmt.targets[0], f"names starting with '_' are not allowed: `{target}`")
        if target in self.locals:
            raise self.error(stmt.targets[0], f"`{target}` is already defined; give each step its own name")
        if "loss" in self.locals:
            raise self.error(stmt, "`loss = ...` must be the last statement")
        value = self.expr(stmt.value)
        if value.kind in (BOOL_TENSOR, BOOL_SCALAR, STRING):
            raise self.error(
                stmt.value,
                f"`{target}` would hold a {value.kind}; use conditions only inside where() or `a if c else b`",
            )
        self.locals[target] = value.kind
        if self.has_axes(value):
            self.with_axes.add(target)
        return Assign(target, value, self.where(stmt.lineno, 0)[0])

    def reject_forbidden(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            what = FORBIDDEN.get(type(sub))
            if what:
                raise self.error(sub, f"{what} not allowed in a formula")

    def expr(self, node: ast.expr) -> Expr:
        pos = dict(zip(("line", "col"), self.where(node.lineno, node.col_offset)))
        if type(node) in FORBIDDEN:
            raise self.error(node, f"{FORBIDDEN[type(node)]} not allowed in a formula")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or node.value is None:
                raise self.error(node, f"constant {node.value!r} is only allowed as keepdims=")
            if isinstance(node.value, int) and abs(node.value) > MAX_INT_LITERAL:
                raise self.error(node, "integer constant has more than 15 digits; write a float such as 1e20")
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise self.error(node, "number is too large to be finite; numbers must be finite")
            if isinstance(node.value, (int, float)):
                return Number(node.value, kind=SCALAR, **pos)
            if isinstance(node.value, str):
                return String(node.value, kind=STRING, **pos)
            raise self.error(node, f"constant {node.value!r} is not allowed (numbers only)")
        if isinstance(node, ast.Name):
            return self.name(node, pos)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.error(node, "only unary minus and plus are allowed")
            operand = self.numeric(node.operand)
            if isinstance(operand, Number):  # fold "-1" into a literal
                value = -operand.value if isinstance(node.op, ast.USub) else operand.value
                return Number(value, kind=SCALAR, **pos)
            return Unary("-" if isinstance(node.op, ast.USub) else "+", operand, kind=operand.kind, **pos)
        if isinstance(node, ast.BinOp):
            op = BINARY_OPS.get(type(node.op))
            if op is None:
                raise self.error(node, f"operator {type(node.op).__name__} not allowed (use + - * / **)")
            left, right = self.numeric(node.left), self.numeric(node.right)
            kind = TENSOR if TENSOR in (left.kind, right.kind) else SCALAR
            return Binary(op, left, right, kind=kind, **pos)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.error(node, "chained comparisons are not allowed; compare two values")
            op = COMPARE_OPS.get(type(node.ops[0]))
            if op is None:
                raise self.error(node, f"comparison {type(node.ops[0]).__name__} not allowed")
            left, right = self.expr(node.left), self.expr(node.comparators[0])
            if STRING in (left.kind, right.kind):
                if left.kind != STRING or right.kind != STRING or op not in ("==", "!="):
                    raise self.error(node, "strings can only be compared to a choice parameter with == or !=")
                return Compare(op, left, right, kind=BOOL_SCALAR, **pos)
            for side, sub in ((left, node.left), (right, node.comparators[0])):
                if side.kind not in NUMERIC:
                    raise self.error(sub, f"cannot compare a {side.kind}")
            kind = BOOL_TENSOR if TENSOR in (left.kind, right.kind) else BOOL_SCALAR
            return Compare(op, left, right, kind=kind, **pos)
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test)
            if test.kind not in (BOOL_SCALAR, BOOL_TENSOR):
                raise self.error(node.test, "the condition of `a if c else b` must be a comparison or a bool parameter")
            then, orelse = self.numeric(node.body), self.numeric(node.orelse)
            tensor = TENSOR in (then.kind, orelse.kind) or test.kind == BOOL_TENSOR
            return Conditional(test, then, orelse, kind=TENSOR if tensor else SCALAR, **pos)
        if isinstance(node, ast.Call):
            return self.call(node, pos)
        if isinstance(node, ast.BoolOp):
            raise self.error(node, "`and`/`or` are not allowed; nest where() or conditionals")
        raise self.error(node, f"{type(node).__name__} expressions are not allowed in a formula")

    def numeric(self, node: ast.expr) -> Expr:
        value = self.expr(node)
        if value.kind not in NUMERIC:
            raise self.error(node, f"expected a number or tensor here, got a {value.kind}")
        return value

    def name(self, node: ast.Name, pos: dict) -> Name:
        ident = node.id
        if ident in INPUTS:
            return Name(ident, "input", kind=TENSOR, **pos)
        if ident in self.params:
            return Name(ident, "param", kind=param_kind(self.params[ident]), **pos)
        if ident in self.locals:
            return Name(ident, "local", kind=self.locals[ident], **pos)
        if ident in BUILTIN_NAMES:
            return Name(ident, "builtin", kind=SCALAR, **pos)
        if ident in FUNCTIONS:
            raise self.error(node, f"`{ident}` is a function; call it as {ident}(...)")
        known = [*INPUTS, *self.params, *self.locals, *BUILTIN_NAMES]
        close = difflib.get_close_matches(ident, known, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else f" (in scope: {', '.join(known)})"
        raise self.error(node, f"undefined name `{ident}`{hint}")

    def call(self, node: ast.Call, pos: dict) -> Call:
        if not isinstance(node.func, ast.Name):
            raise self.error(node.func, "only calls of the formula functions are allowed (no attributes)")
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise self.error(node.func, f"unknown function `{name}` ({hint}allowed: {', '.join(FUNCTIONS)})")
        if len(node.args) != len(function.args):
            raise self.error(
                node,
                f"{name}() takes {len(function.args)} argument(s) ({', '.join(function.args)}), got {len(node.args)}",
            )
        args = tuple(self.numeric_or_condition(a, name, i) for i, a in enumerate(node.args))
        axis, keepdims = (-1 if function.axis else None), False
        allowed = [key for key, ok in (("axis", function.axis), ("keepdims", function.keepdims)) if ok]
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                got = f"keyword `{keyword.arg}`" if keyword.arg else "`**` arguments"
                raise self.error(
                    keyword.value, f"{name}() got {got} (allowed: {', '.join(k + '=' for k in allowed) or 'none'})"
                )
            value = _literal(keyword.value)
            if keyword.arg == "axis":
                if type(value) is not int:
                    raise self.error(keyword.value, "axis= must be an integer constant such as -1")
                if value not in AXIS_RANGE:
                    raise self.error(
                        keyword.value, f"axis= must be from {AXIS_RANGE[0]} to {AXIS_RANGE[-1]}, got {value}"
                    )
                axis = value
            else:
                if type(value) is not bool:
                    raise self.error(keyword.value, "keepdims= must be True or False")
                keepdims = value
        if function.needs_axes and not self.has_axes(args[0]):
            raise self.error(
                node.args[0],
                f"{name}() needs a tensor with axes (computed from y_true, y_pred or a list parameter), not a scalar",
            )
        if name == "half" and not self.integer_argument(args[1], 0, 1):
            raise self.error(node.args[1], "half() needs 0 (the first half) or 1 (the second half)")
        if name == "take" and not self.integer_argument(args[1], 0, MAX_WIDTH - 1):
            raise self.error(
                node.args[1], f"take() needs an integer index: a constant from 0 to {MAX_WIDTH - 1} or an int parameter"
            )
        if name == "one_hot" and not self.integer_argument(args[1], 1, MAX_WIDTH, num_classes=True):
            raise self.error(
                node.args[1],
                f"one_hot() needs an integer depth: num_classes, a constant from 1 to {MAX_WIDTH} or an int parameter",
            )
        return Call(name, args, axis, keepdims, kind=TENSOR, **pos)

    def integer_argument(self, expr: Expr, low: int, high: int, num_classes: bool = False) -> bool:
        """take()'s index and one_hot()'s depth must be ints in Python and R alike (`2L`, an int
        parameter, `num_classes`): arithmetic on them would give doubles in R."""
        if isinstance(expr, Number):
            return type(expr.value) is int and low <= expr.value <= high
        if isinstance(expr, Name):
            return (expr.role == "param" and self.params[expr.name] == "int") or (
                num_classes and expr.name == "num_classes"
            )
        return False

    def numeric_or_condition(self, node: ast.expr, function: str, index: int) -> Expr:
        if function == "where" and index == 0:
            test = self.expr(node)
            if test.kind not in (BOOL_TENSOR, BOOL_SCALAR):
                raise self.error(node, "where() needs a comparison as its first argument")
            return test
        return self.numeric(node)


def _literal(node: ast.expr):
    if isinstance(node, ast.Constant):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def compile_formula(
    source: str, params: dict[str, str], path: str = "<formula>", line: int = 1, col: int = 0
) -> Program:
    """Parse and check a formula; `line`/`col` place its first character in the spec file."""
    return _Compiler(params, path, line, col).compile(source)


# ---------------------------------------------------------------------------------------------
# Values known before any tensor exists: constants, parameters, epsilon (and num_classes when the
# caller knows it). Computed with Python floats, never big ints, so `9 ** 9 ** 9` costs nothing.

_ARITHMETIC = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
_COMPARISONS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


_ELEMENTWISE = {
    "abs": abs,
    "square": lambda x: x * x,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log1p": math.log1p,
    "expm1": math.expm1,
    "tanh": math.tanh,
    "arctan": math.atan,
    "sign": lambda x: float((x > 0) - (x < 0)),
    "sigmoid": lambda x: math.exp(-_softplus(-x)),
    "softplus": _softplus,
    "log_sigmoid": lambda x: -_softplus(-x),
    "relu": lambda x: max(x, 0.0),
    "minimum": min,
    "maximum": max,
    "clip": lambda x, low, high: min(max(x, low), high),
}


def _show(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def source_text(expr: Expr) -> str:
    """A sub-expression as the spec author wrote it, near enough to recognise (for messages)."""

    def wrapped(child: Expr) -> str:
        text = source_text(child)
        negative = isinstance(child, Unary) or (isinstance(child, Number) and child.value < 0)
        return f"({text})" if negative or isinstance(child, (Binary, Compare, Conditional)) else text

    if isinstance(expr, Number):
        return _show(expr.value)
    if isinstance(expr, String):
        return repr(expr.value)
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Unary):
        return f"{expr.op}{wrapped(expr.operand)}"
    if isinstance(expr, (Binary, Compare)):
        return f"{wrapped(expr.left)} {expr.op} {wrapped(expr.right)}"
    if isinstance(expr, Conditional):
        return f"{wrapped(expr.then)} if {wrapped(expr.test)} else {wrapped(expr.orelse)}"
    if isinstance(expr, Call):
        return f"{expr.function}({', '.join(source_text(a) for a in expr.args)})"
    return "?"  # pragma: no cover


FLOAT32_RANGE = ": beyond float32's range (±3.4e38), in which the generated Keras code computes"


class _Checker:
    def __init__(self, values: dict, path: str, num_classes: int | None):
        self.values = values
        self.path = path
        self.num_classes = num_classes
        self.locals: dict[str, object] = {}
        self.local_params: dict[str, set[str]] = {}

    def run(self, program: Program) -> None:
        for statement in program.statements:
            self.locals[statement.target] = self.value(statement.value)
            self.local_params[statement.target] = self.params_in(statement.value)

    def params_in(self, expr: Expr) -> set[str]:
        found: set[str] = set()
        for node in walk(expr):
            if isinstance(node, Name) and node.role == "param" and node.name in self.values:
                found.add(node.name)
            elif isinstance(node, Name) and node.role == "local":
                found |= self.local_params.get(node.name, set())
            elif isinstance(node, Name) and node.name == "num_classes" and self.num_classes is not None:
                found.add("num_classes")
        return found

    def fail(self, expr: Expr, problem: str, detail: str = "") -> SpecError:
        text = source_text(expr)
        if len(text) > 60:
            text = text[:57] + "..."
        values = {**self.values, "num_classes": self.num_classes}
        names = sorted(self.params_in(expr))
        given = " for " + ", ".join(f"{n}={_show(values[n])}" for n in names) if names and [text] != names else ""
        return SpecError(f"`{text}`{' ' if problem else ''}{problem}{given}{detail}", self.path, expr.line, expr.col)

    def finite(self, expr: Expr, value, float32: bool = False):
        """A value a scalar sub-expression takes; float32 when it meets a tensor (Keras casts it)."""
        if isinstance(value, complex):
            raise self.fail(expr, "is not a real number (a negative number to a fractional power)")
        if isinstance(value, float):
            if math.isnan(value):
                raise self.fail(expr, "is not a number (NaN)")
            if math.isinf(value):
                raise self.fail(expr, "overflows")
            if float32 and abs(value) > FLOAT32_MAX:
                raise self.fail(expr, "" if isinstance(expr, Number) else f"is {value:.3g}", FLOAT32_RANGE)
        return value

    def meets_tensor(self, expr: Expr, value) -> None:
        if expr.kind == SCALAR and isinstance(value, float):
            self.finite(expr, value, float32=True)

    def value(self, expr: Expr):
        """The value of `expr` if it is known (float, bool or str), else None; raises at the first
        sub-expression that fails."""
        if isinstance(expr, Number):
            return self.finite(expr, float(expr.value))
        if isinstance(expr, String):
            return expr.value
        if isinstance(expr, Name):
            return self.name(expr)
        if isinstance(expr, Unary):
            operand = self.value(expr.operand)
            if expr.kind == TENSOR:
                return None
            return None if operand is None else (-operand if expr.op == "-" else operand)
        if isinstance(expr, Binary):
            left, right = self.value(expr.left), self.value(expr.right)
            if expr.kind == TENSOR:
                self.meets_tensor(expr.left, left)
                self.meets_tensor(expr.right, right)
                if expr.op == "/" and right == 0.0:
                    raise self.fail(expr, "divides by zero")
                return None
            if left is None or right is None:
                return None
            try:
                result = _ARITHMETIC[expr.op](left, right)
            except ZeroDivisionError:
                raise self.fail(
                    expr, "raises 0 to a negative power" if expr.op == "**" else "divides by zero"
                ) from None
            except OverflowError:
                raise self.fail(expr, "overflows") from None
            return self.finite(expr, result)
        if isinstance(expr, Compare):
            left, right = self.value(expr.left), self.value(expr.right)
            if expr.kind == BOOL_TENSOR:
                self.meets_tensor(expr.left, left)
                self.meets_tensor(expr.right, right)
                return None
            return None if left is None or right is None else _COMPARISONS[expr.op](left, right)
        if isinstance(expr, Conditional):
            test = self.value(expr.test)
            if expr.test.kind == BOOL_TENSOR or test is None:  # where() computes both branches
                for branch in (expr.then, expr.orelse):
                    self.meets_tensor(branch, self.value(branch)) if expr.kind == TENSOR else self.value(branch)
                return None
            branch = expr.then if test else expr.orelse  # `a if c else b` computes one
            result = self.value(branch)
            if expr.kind == TENSOR:
                self.meets_tensor(branch, result)
                return None
            return result
        if isinstance(expr, Call):
            return self.call(expr)
        raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover

    def name(self, expr: Name):
        if expr.role == "local":
            return self.locals.get(expr.name)
        if expr.name == "epsilon":
            return 1e-7
        if expr.name == "num_classes":
            return None if self.num_classes is None else float(self.num_classes)
        if expr.role != "param" or expr.name not in self.values:
            return None
        value = self.values[expr.name]
        if isinstance(value, (list, tuple)):  # a list parameter becomes a float32 tensor
            for item in value:
                if abs(float(item)) > FLOAT32_MAX:
                    raise self.fail(expr, f"holds {_show(float(item))}", FLOAT32_RANGE)
            return None
        if isinstance(value, (bool, str)):
            return value
        return self.finite(expr, float(value))

    def call(self, expr: Call):
        args = [self.value(a) for a in expr.args]
        for arg, value in zip(expr.args, args):
            self.meets_tensor(arg, value)
        if expr.function in ("take", "one_hot") and args[1] is not None:
            low, high = (0, MAX_WIDTH - 1) if expr.function == "take" else (1, max(MAX_WIDTH, self.num_classes or 0))
            what = "index" if expr.function == "take" else "depth"
            if not (float(args[1]).is_integer() and low <= args[1] <= high):
                raise self.fail(
                    expr.args[1],
                    f"is {_show(args[1])}: {expr.function}() needs a whole-number {what} from {low} to {high}",
                )
        function = _ELEMENTWISE.get(expr.function)
        if function is None or any(not isinstance(a, float) for a in args):
            return None
        try:
            result = float(function(*args))
        except OverflowError:
            raise self.fail(expr, "overflows") from None
        except (ValueError, ZeroDivisionError):
            raise self.fail(expr, f"is outside the domain of {expr.function}() (-inf or NaN)") from None
        return self.finite(expr, result, float32=True)  # a 0-d tensor: float32 in the generated code


def check_values(
    program: Program, values: dict | None = None, path: str = "<formula>", num_classes: int | None = None
) -> None:
    """Refuse, as a SpecError at its position, the first sub-expression that the given parameter values
    (and constants) make fail: division by zero, overflow, a domain error, a value a float32 tensor
    cannot hold, a take() index or one_hot() depth out of range. Unknown values are skipped."""
    _Checker(dict(values or {}), path, num_classes).run(program)


def take_indexes(program: Program, values: dict) -> list[int]:
    """The take() indexes the formula uses for these parameter values (they fix the outputs needed)."""
    indexes = []
    for statement in program.statements:
        for node in walk(statement.value):
            if isinstance(node, Call) and node.function == "take":
                index = node.args[1]
                if isinstance(index, Number):
                    indexes.append(int(index.value))
                elif isinstance(index, Name) and isinstance(values.get(index.name), int):
                    indexes.append(values[index.name])
    return indexes
