"""The formula language: every rejected formula is one `path:line:col: message` line, placed in the spec file.

Formulas are checked through real spec files (tmp_path), so the line/column mapping from the formula
text into the TOML file is part of what is tested. No TensorFlow or Keras here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import scaffold
from scaffold.errors import SpecError
from scaffold.formula import BOOL_TENSOR, SCALAR, TENSOR, Binary, Call, compile_formula
from scaffold.spec import load_spec

# Line 6 of the spec file is the formula's first line (the opening """ is alone on line 5).
HEAD = (
    'name = "probe"\n'  # 1
    'title = "Probe"\n'  # 2
    'summary = "A probe."\n'  # 3
    'task = "regression"\n'  # 4
    'formula = """\n'  # 5
)
FIRST = 6
TAIL = (
    '"""\n'
    "\n"
    "[params.delta]\n"
    'type = "float"\n'
    "default = 1.0\n"
    "gt = 0.0\n"
    "\n"
    "[[examples]]\n"
    "y_true = [[0.0]]\n"
    "y_pred = [[1.0]]\n"
    "loss = [1.0]\n"
)


def write_spec(tmp_path: Path, formula: str) -> Path:
    path = tmp_path / "probe.toml"
    path.write_text(HEAD + formula + "\n" + TAIL, encoding="utf-8")
    return path


def spec_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def assert_located(error: SpecError, path: Path, line: int, col: int, fragment: str) -> None:
    text = str(error)
    assert "\n" not in text, text
    assert (error.line, error.col) == (line, col), text
    assert text == f"{path}:{line}:{col}: {error.message}"
    assert fragment in error.message, text


# (id, formula text, line within the formula, column in the spec file, message fragment)
CASES = [
    (
        "unknown-function",
        "loss = mean(sqaure(y_pred - y_true))",
        1,
        13,
        "unknown function `sqaure` (did you mean `square`? allowed: abs, square",
    ),
    ("attribute", "loss = mean(y_pred.shape)", 1, 13, "attribute access not allowed in a formula"),
    ("subscript", "loss = y_pred[0]", 1, 8, "subscripts not allowed in a formula"),
    ("import", "import os\nloss = mean(y_pred)", 1, 1, "import not allowed in a formula"),
    ("import-from", "e = y_pred\nfrom os import path\nloss = mean(e)", 2, 1, "import not allowed in a formula"),
    ("lambda", "f = lambda v: v\nloss = mean(y_pred)", 1, 5, "lambda not allowed in a formula"),
    ("list-comprehension", "loss = sum([v for v in y_pred])", 1, 12, "comprehensions not allowed in a formula"),
    # a bare generator argument starts at the call's "(" in Python's AST
    ("generator", "loss = sum(v for v in y_pred)", 1, 11, "comprehensions not allowed in a formula"),
    (
        "undefined-name",
        "error = y_pred - y_ture\nloss = mean(error)",
        1,
        18,
        "undefined name `y_ture` (did you mean `y_true`?)",
    ),
    ("undefined-param", "loss = mean(detla * y_pred)", 1, 13, "undefined name `detla` (did you mean `delta`?)"),
    ("no-loss", "error = y_pred - y_true\nsq = square(error)", 2, 1, "formula must end with a `loss = ...` statement"),
    ("loss-not-last", "loss = abs(y_pred - y_true)\nextra = loss * 2", 2, 1, "`loss = ...` must be the last statement"),
    (
        "reassignment",
        "e = y_pred - y_true\ne = abs(e)\nloss = mean(e)",
        2,
        1,
        "`e` is already defined; give each step its own name",
    ),
    (
        "assign-input",
        "y_pred = y_pred * 2\nloss = mean(y_pred)",
        1,
        1,
        "cannot assign to `y_pred`: it is an input, parameter or built-in name",
    ),
    (
        "assign-param",
        "e = y_pred\ndelta = 2.0\nloss = mean(e)",
        2,
        1,
        "cannot assign to `delta`: it is an input, parameter or built-in name",
    ),
    ("assign-builtin", "epsilon = 0.1\nloss = mean(y_pred)", 1, 1, "cannot assign to `epsilon`"),
    ("dunder-call", "loss = __import__(y_pred)", 1, 8, "unknown function `__import__`"),
    ("dunder-name", "loss = y_pred * __builtins__", 1, 17, "undefined name `__builtins__`"),
    (
        "dunder-assign",
        "__class__ = y_pred\nloss = mean(y_pred)",
        1,
        1,
        "names starting with '_' are not allowed: `__class__`",
    ),
    ("chained-comparison", "loss = where(0 < y_pred < 1, y_pred, 0.0)", 1, 14, "chained comparisons are not allowed"),
    ("and", "loss = where(y_pred > 0 and y_true > 0, y_pred, y_true)", 1, 14, "`and`/`or` are not allowed"),
    ("or", "e = y_pred\nloss = where(e > 0 or e < -1, e, y_true)", 2, 14, "`and`/`or` are not allowed"),
    ("string-as-number", 'loss = y_pred * "two"', 1, 17, "expected a number or tensor here, got a string"),
    (
        "bool-local",
        "big = y_pred > 1\nloss = where(big, y_pred, 0.0)",
        1,
        7,
        "`big` would hold a bool tensor; use conditions only inside where()",
    ),
    ("syntax-error", "loss = mean(y_pred - )", 1, 22, "formula syntax error: invalid syntax"),
    ("syntax-error-line-2", "e = y_pred\nloss = (e", 2, 8, "formula syntax error: '(' was never closed"),
    ("wrong-arg-count", "loss = clip(y_pred, 0.0)", 1, 8, "clip() takes 3 argument(s) (x, low, high), got 2"),
    ("bad-keyword", "loss = mean(y_pred, foo=1)", 1, 25, "mean() got keyword `foo` (allowed: axis=, keepdims=)"),
    ("keyword-on-elementwise", "loss = abs(y_pred, axis=-1)", 1, 25, "abs() got keyword `axis` (allowed: none)"),
    ("float-axis", "loss = mean(y_pred, axis=1.5)", 1, 26, "axis= must be an integer constant such as -1"),
    ("name-axis", "loss = mean(y_pred, axis=delta)", 1, 26, "axis= must be an integer constant such as -1"),
    ("bad-keepdims", "loss = mean(y_pred, keepdims=1)", 1, 30, "keepdims= must be True or False"),
    ("scalar-loss", "loss = delta * 2", 1, 1, "`loss` must be a tensor computed from y_true/y_pred, not a scalar"),
    ("function-as-value", "loss = mean(y_pred) * abs", 1, 23, "`abs` is a function; call it as abs(...)"),
    ("modulo", "loss = y_pred % 2", 1, 8, "operator Mod not allowed (use + - * / **)"),
    ("not", "loss = where(not y_pred > 0, y_pred, 0.0)", 1, 14, "only unary minus and plus are allowed"),
    ("none-constant", "loss = y_pred * None", 1, 17, "constant None is only allowed as keepdims="),
    (
        "where-without-condition",
        "loss = where(y_pred, y_pred, 0.0)",
        1,
        14,
        "where() needs a comparison as its first argument",
    ),
    ("f-string", 'loss = mean(y_pred) * f"{delta}"', 1, 23, "f-strings not allowed in a formula"),
    ("walrus", "loss = mean((e := y_pred))", 1, 14, "the walrus operator not allowed in a formula"),
    (
        "function-def",
        "def f(v):\n    return v\nloss = mean(y_pred)",
        1,
        1,
        "function definitions not allowed in a formula",
    ),
    (
        "augmented-assign",
        "e = y_pred\ne += 1\nloss = mean(e)",
        2,
        1,
        "only `name = expression` statements are allowed, not AugAssign",
    ),
    ("tuple-assign", "a, b = y_pred, y_true\nloss = mean(a)", 1, 1, "assign to exactly one plain name"),
]


@pytest.mark.parametrize("formula, line, col, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_formula_is_one_located_line(tmp_path, formula, line, col, fragment):
    path = write_spec(tmp_path, formula)
    assert_located(spec_error(path), path, FIRST + line - 1, col, fragment)


def test_single_line_formula_columns_count_from_the_key(tmp_path):
    # `formula = "` is 11 characters, so the formula's column 12 is the file's column 24.
    path = tmp_path / "probe.toml"
    path.write_text(
        HEAD.replace('formula = """\n', 'formula = "loss = mean(sqaure(y_pred))"\n') + TAIL.split("\n", 1)[1],
        encoding="utf-8",
    )
    assert_located(spec_error(path), path, 5, 24, "unknown function `sqaure`")


def test_formula_on_the_opening_triple_quote_line(tmp_path):
    # `formula = """` is 13 characters; the second line's columns are not shifted.
    path = tmp_path / "probe.toml"
    path.write_text(
        HEAD.replace('formula = """\n', 'formula = """e = y_pred[0]\n') + "loss = mean(e)\n" + TAIL, encoding="utf-8"
    )
    assert_located(spec_error(path), path, 5, 18, "subscripts not allowed")
    path.write_text(
        HEAD.replace('formula = """\n', 'formula = """e = y_pred\n') + "loss = mean(e.T)\n" + TAIL, encoding="utf-8"
    )
    assert_located(spec_error(path), path, 6, 13, "attribute access not allowed")


def test_compile_formula_direct_reports_given_path_and_offsets():
    with pytest.raises(SpecError) as info:
        compile_formula("e = y_pred\nloss = mean(y_ture)", {}, "team/x.toml", line=10, col=4)
    assert str(info.value) == ("team/x.toml:11:13: undefined name `y_ture` (did you mean `y_true`?)")


def test_where_condition_and_ir_kinds():
    program = compile_formula(
        "e = y_pred - y_true\nloss = mean(where(abs(e) > delta, delta * abs(e), 0.5 * square(e)), axis=-1)",
        {"delta": "float"},
    )
    assert [s.target for s in program.statements] == ["e", "loss"]
    error = program.statements[0].value
    assert isinstance(error, Binary) and error.op == "-" and error.kind == TENSOR
    loss = program.statements[1].value
    assert isinstance(loss, Call) and loss.function == "mean" and loss.axis == -1 and loss.kind == TENSOR
    where = loss.args[0]
    assert where.function == "where" and where.args[0].kind == BOOL_TENSOR
    scaled = where.args[1]
    assert scaled.left.kind == SCALAR and scaled.kind == TENSOR
    assert program.names_used() == {"y_pred", "y_true", "e", "delta"}
    assert program.functions_used() == {"mean", "where", "abs", "square"}


# ---------------------------------------------------------------------------------------------
# Safety: formulas are parsed, never evaluated


def _scaffold_sources() -> list[Path]:
    root = Path(scaffold.__file__).resolve().parent
    files = sorted(root.rglob("*.py"))
    assert len(files) >= 10, files  # the walk found the package
    return files


def test_scaffold_source_has_no_eval_or_exec_calls():
    call = re.compile(r"(?<![\w.])(eval|exec)\s*\(")
    offenders = []
    for path in _scaffold_sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if call.search(line.split("#", 1)[0]):
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert offenders == []


def test_scaffold_ast_has_no_eval_exec_or_compile_builtin_calls():
    offenders = []
    for path in _scaffold_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("eval", "exec", "compile", "__import__")
            ):
                offenders.append(f"{path}:{node.lineno}: {node.func.id}(")
    assert offenders == []


def test_hostile_formula_is_rejected_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    path = write_spec(tmp_path, f'loss = __import__("os").system("touch {marker}")')
    assert_located(spec_error(path), path, FIRST, 8, "attribute access not allowed in a formula")
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe.toml"]


def test_hostile_call_without_attribute_is_rejected_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    path = write_spec(tmp_path, f"e = y_pred\nloss = e * exec(\"open({str(marker)!r}, 'w')\")")
    assert_located(spec_error(path), path, FIRST + 1, 12, "unknown function `exec`")
    assert not marker.exists()
