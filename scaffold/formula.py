"""The formula language: Python syntax, parsed with `ast` against a whitelist into a small IR.

Nothing here evaluates user text. `ast.parse` only builds a tree; every node type that is not in
the whitelist below is rejected with the spec file's line and column. The IR records, for each
expression, whether it is a tensor or a plain scalar (parameters and constants), so emitters can
keep scalar arithmetic as plain numbers and use tensor ops only where tensors flow.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field

from scaffold.errors import SpecError

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
    axis: bool = False  # accepts axis= (default -1) and keepdims=


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
        Function("sign", ("x",), "-1, 0 or 1"),
        Function("sigmoid", ("x",), "1 / (1 + exp(-x))"),
        Function("softplus", ("x",), "log(1 + exp(x)), overflow-free"),
        Function("log_sigmoid", ("x",), "log(sigmoid(x)) = -softplus(-x), overflow-free"),
        Function("relu", ("x",), "maximum(x, 0)"),
        Function("minimum", ("a", "b"), "element-wise minimum"),
        Function("maximum", ("a", "b"), "element-wise maximum"),
        Function("clip", ("x", "low", "high"), "limit x to [low, high]"),
        Function("where", ("condition", "a", "b"), "a where condition holds, else b"),
        Function("mean", ("x",), "mean over an axis", axis=True),
        Function("sum", ("x",), "sum over an axis", axis=True),
        Function("max", ("x",), "maximum over an axis", axis=True),
        Function("min", ("x",), "minimum over an axis", axis=True),
        Function("softmax", ("x",), "softmax over an axis", axis=True),
        Function("log_softmax", ("x",), "log of softmax over an axis, overflow-free", axis=True),
        Function("one_hot", ("labels", "depth"), "integer labels to one-hot rows"),
        Function("take", ("x", "index"), "one slice along an axis (drops that axis)", axis=True),
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

    def functions_used(self) -> set[str]:
        return {
            node.function for s in self.statements for node in walk(s.value) if isinstance(node, Call)
        }


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
        try:
            tree = ast.parse(source, mode="exec")
        except SyntaxError as exc:
            line, col = self.where(exc.lineno or 1, (exc.offset or 1) - 1)
            raise SpecError(f"formula syntax error: {exc.msg}", self.path, line, col) from None
        statements = []
        for stmt in tree.body:
            statements.append(self.statement(stmt))
        if not statements or statements[-1].target != "loss":
            last = tree.body[-1] if tree.body else None
            raise self.error(last, "formula must end with a `loss = ...` statement (the per-sample loss)")
        loss = statements[-1].value
        if loss.kind != TENSOR:
            raise self.error(tree.body[-1], f"`loss` must be a tensor computed from y_true/y_pred, not a {loss.kind}")
        return Program(tuple(statements), source)

    def statement(self, stmt: ast.stmt) -> Assign:
        self.reject_forbidden(stmt)
        if not isinstance(stmt, ast.Assign):
            raise self.error(stmt, f"only `name = expression` statements are allowed, not {type(stmt).__name__}")
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise self.error(stmt, "assign to exactly one plain name")
        target = stmt.targets[0].id
        if target in INPUTS or target in self.params or target in BUILTIN_NAMES or target in FUNCTIONS:
            raise self.error(stmt.targets[0], f"cannot assign to `{target}`: it is an input, parameter or built-in name")
        if target.startswith("_"):
            raise self.error(stmt.targets[0], f"names starting with '_' are not allowed: `{target}`")
        if target in self.locals:
            raise self.error(stmt.targets[0], f"`{target}` is already defined; give each step its own name")
        if "loss" in self.locals:
            raise self.error(stmt, "`loss = ...` must be the last statement")
        value = self.expr(stmt.value)
        if value.kind in (BOOL_TENSOR, BOOL_SCALAR, STRING):
            raise self.error(stmt.value, f"`{target}` would hold a {value.kind}; use conditions only inside where() or `a if c else b`")
        self.locals[target] = value.kind
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
            raise self.error(node, f"{name}() takes {len(function.args)} argument(s) ({', '.join(function.args)}), got {len(node.args)}")
        args = tuple(self.numeric_or_condition(a, name, i) for i, a in enumerate(node.args))
        axis, keepdims = (-1 if function.axis else None), False
        for keyword in node.keywords:
            if not function.axis or keyword.arg not in ("axis", "keepdims"):
                allowed = "axis=, keepdims=" if function.axis else "none"
                raise self.error(keyword.value, f"{name}() got keyword `{keyword.arg}` (allowed: {allowed})")
            value = _literal(keyword.value)
            if keyword.arg == "axis":
                if type(value) is not int:
                    raise self.error(keyword.value, "axis= must be an integer constant such as -1")
                axis = value
            else:
                if type(value) is not bool:
                    raise self.error(keyword.value, "keepdims= must be True or False")
                keepdims = value
        if name == "take" and args[1].kind != SCALAR:
            raise self.error(node.args[1], "take() needs a scalar index (an int parameter or constant)")
        if name == "one_hot" and args[1].kind != SCALAR:
            raise self.error(node.args[1], "one_hot() needs a scalar depth such as num_classes")
        return Call(name, args, axis, keepdims, kind=TENSOR, **pos)

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
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        if type(node.operand.value) is int:
            return -node.operand.value
    return None


def compile_formula(
    source: str, params: dict[str, str], path: str = "<formula>", line: int = 1, col: int = 0
) -> Program:
    """Parse and check a formula; `line`/`col` place its first character in the spec file."""
    return _Compiler(params, path, line, col).compile(source)
