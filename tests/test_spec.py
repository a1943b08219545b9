"""Spec files: one-line located errors, parameter parsing, and the built-in catalog's own consistency.

No TensorFlow or Keras: built-in examples are checked with the NumPy evaluator that walks the IR.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from scaffold.catalog import load_catalog, spec_files
from scaffold.emit import numpy as numpy_emit
from scaffold.emit import python as python_emit
from scaffold.emit import r as r_emit
from scaffold.errors import SpecError
from scaffold.formula import INPUTS, TENSOR
from scaffold.paths import builtin_losses_dir
from scaffold.spec import Param, load_spec

# A valid spec; the cases below replace numbered lines of it.
BASE = [
    "# A spec for the tests.",  # 1
    'name = "probe"',  # 2
    'title = "Probe loss"',  # 3
    'summary = "A probe."',  # 4
    'task = "regression"',  # 5
    'reference = "keras.losses.Huber(delta=delta)"',  # 6
    'formula = """',  # 7
    "e = abs(y_pred - y_true)",  # 8
    "loss = mean(minimum(e, delta) * e, axis=-1)",  # 9
    '"""',  # 10
    "",  # 11
    "[params.delta]",  # 12
    'type = "float"',  # 13
    "default = 1.0",  # 14
    "gt = 0.0",  # 15
    'help = "Scale."',  # 16
    "",  # 17
    "[[examples]]",  # 18
    "params = { delta = 2.0 }",  # 19
    "y_true = [[0.0], [1.0]]",  # 20
    "y_pred = [[1.0], [1.0]]",  # 21
    "loss = [1.0, 0.0]",  # 22
    "",  # 23
    "[[examples]]",  # 24
    "y_true = [[0.0]]",  # 25
    "y_pred = [[3.0]]",  # 26
    "loss = [3.0]",  # 27
]


def spec_text(changes: dict[int, str | None] | None = None) -> str:
    """BASE with line N replaced (the replacement may span several lines; None deletes it)."""
    lines = []
    for number, line in enumerate(BASE, start=1):
        new = (changes or {}).get(number, line)
        if new is not None:
            lines.append(new)
    return "\n".join(lines) + "\n"


def write(tmp_path, changes=None, stem="probe"):
    path = tmp_path / f"{stem}.toml"
    path.write_text(spec_text(changes), encoding="utf-8")
    return path


def assert_located(error: SpecError, path, line, col, fragment):
    text = str(error)
    assert "\n" not in text, text
    assert (error.line, error.col) == (line, col), text
    assert text == f"{path}:{line}:{col}: {error.message}"
    assert fragment in error.message, text


def test_base_spec_is_valid_and_its_examples_hold(tmp_path):
    spec = load_spec(write(tmp_path))
    assert spec.name == "probe" and spec.task == "regression"
    assert spec.params["delta"].default == 1.0 and spec.params["delta"].gt == 0.0
    assert spec.reference.cls == "Huber" and spec.reference.kwargs == (("delta", "param", "delta"),)
    assert [e.line for e in spec.examples] == [18, 24]
    for example in spec.examples:
        got = numpy_emit.evaluate(spec, example.y_true, example.y_pred, example.params)
        np.testing.assert_allclose(got, example.loss, rtol=1e-12)


# (id, line changes, error line, error column, message fragment)
SPEC_CASES = [
    ("toml-unterminated-string", {4: 'summary = "A probe.'}, 4, 20, "TOML syntax error: Illegal character '\\n'"),
    ("toml-missing-value", {14: "default = "}, 14, 11, "TOML syntax error: Invalid value"),
    ("toml-bad-header", {12: "[params.delta"}, 12, 14, "TOML syntax error: Expected ']' at the end of a table"),
    ("unknown-top-key", {11: 'colour = "red"'}, 11, 1, "unknown key `colour` (allowed: code, description, examples"),
    ("unknown-top-key-indented", {11: '   colour = "red"'}, 11, 4, "unknown key `colour`"),
    ("missing-name", {2: None}, 1, 1, "missing required key `name`"),
    ("missing-title", {3: None}, 1, 1, "missing required key `title`"),
    ("missing-summary", {4: None}, 1, 1, "missing required key `summary`"),
    ("missing-task", {5: None}, 1, 1, "missing required key `task`"),
    ("missing-formula", {7: None, 8: None, 9: None, 10: None}, 1, 1, "missing required key `formula`"),
    ("empty-title", {3: 'title = "  "'}, 3, 1, "`title` must be a non-empty string"),
    ("name-not-a-string", {2: "name = 3"}, 2, 1, "`name` must be a non-empty string"),
    (
        "bad-name",
        {2: 'name = "Probe-1"'},
        2,
        1,
        "name 'Probe-1' must be lowercase letters, digits and underscores, starting with a letter",
    ),
    ("name-not-file", {2: '  name = "other"'}, 2, 3, "name 'other' must match the file name (probe.toml)"),
    ("unknown-task", {5: 'task = "ranking"'}, 5, 1, "unknown task 'ranking' (allowed: regression, positive_regression"),
    ("multi-line-summary", {4: 'summary = "A\\nB"'}, 4, 1, "`summary` must be one line"),
    (
        "param-type-str",
        {13: 'type = "str"'},
        13,
        1,
        "parameter `delta`: type must be one of float, int, bool, float_list, choice, got 'str'",
    ),
    ("default-out-of-range", {14: "default = -1.0"}, 14, 1, "bad default: delta must be a number > 0, got -1"),
    ("default-wrong-type", {14: 'default = "one"'}, 14, 1, "bad default: delta must be a number > 0, got 'one'"),
    ("default-nan", {14: "default = nan"}, 14, 1, "bad default: delta must be finite (a number > 0), got nan"),
    ("default-inf", {14: "default = inf"}, 14, 1, "bad default: delta must be finite (a number > 0), got inf"),
    ("default-missing", {14: None}, 13, 1, "parameter `delta` needs a `default`"),
    ("unknown-param-key", {16: 'helps = "Scale."'}, 16, 1, "unknown key `helps` in [params.delta]"),
    (
        "bounds-on-bool",
        {11: '[params.flag]\ntype = "bool"\ndefault = false\ngt = 0\n'},
        14,
        1,
        "parameter `flag`: `gt` must be a number and needs a numeric type",
    ),
    (
        "choice-without-choices",
        {11: '[params.mode]\ntype = "choice"\ndefault = "a"\n'},
        12,
        1,
        "parameter `mode`: a choice needs `choices`, a list of strings",
    ),
    (
        "choice-empty-choices",
        {11: '[params.mode]\ntype = "choice"\ndefault = "a"\nchoices = []\n'},
        14,
        1,
        "parameter `mode`: a choice needs `choices`, a list of strings",
    ),
    ("choices-on-float", {16: 'choices = ["a"]'}, 16, 1, '`choices` is only for type = "choice"'),
    ("reserved-param-name", {12: "[params.y_pred]"}, 13, 1, "parameter name `y_pred` is not allowed"),
    (
        "reference-unless-not-a-bool-parameter",
        {6: 'reference = "keras.losses.Huber() if not delta else None"'},
        6,
        1,
        "optionally followed by `if not BOOL_PARAMETER else None`",
    ),
    (
        "reference-not-keras",
        {6: 'reference = "Huber(delta=delta)"'},
        6,
        1,
        (
            "`reference` must look like keras.losses.Name(keyword=parameter_or_constant, ...) "
            "(a keras.losses class, keyword arguments only)"
        ),
    ),
    (
        "reference-other-module",
        {6: 'reference = "keras.metrics.Huber(delta=delta)"'},
        6,
        1,
        "(a keras.losses class, keyword arguments only)",
    ),
    (
        "reference-positional",
        {6: 'reference = "keras.losses.Huber(1.0)"'},
        6,
        1,
        "(a keras.losses class, keyword arguments only)",
    ),
    (
        "reference-attribute-call-kwarg",
        {6: "reference = \"keras.losses.Huber(delta=os.system('x'))\""},
        6,
        1,
        "reference argument `delta` must be a parameter name or a constant",
    ),
    (
        "reference-attribute-kwarg",
        {6: 'reference = "keras.losses.Huber(delta=delta.real)"'},
        6,
        1,
        "reference argument `delta` must be a parameter name or a constant",
    ),
    (
        "reference-star-kwargs",
        {6: 'reference = "keras.losses.Huber(**options)"'},
        6,
        1,
        "`reference` must look like keras.losses.Name(",
    ),
    (
        "reference-syntax",
        {6: 'reference = "keras.losses.Huber(delta="'},
        6,
        1,
        "`reference` must look like keras.losses.Name(",
    ),
    (
        "example-loss-length",
        {22: "loss = [1.0]"},
        22,
        1,
        "example 1: y_true, y_pred and loss need one entry per sample (2, 2, 1)",
    ),
    (
        "example-y-true-length",
        {25: "y_true = [[0.0], [1.0]]"},
        27,
        1,
        "example 2: y_true, y_pred and loss need one entry per sample (2, 1, 1)",
    ),
    (
        "example-unknown-param",
        {19: "params = { gamma = 1.0 }"},
        19,
        1,
        "example 1: unknown parameter `gamma` (valid: delta)",
    ),
    (
        "example-param-out-of-range",
        {19: "params = { delta = -2.0 }"},
        19,
        1,
        "example 1: delta must be a number > 0, got -2",
    ),
    (
        "example-param-wrong-type",
        {19: 'params = { delta = "big" }'},
        19,
        1,
        "example 1: delta must be a number > 0, got 'big'",
    ),
    ("example-missing-loss", {27: None}, 25, 1, "example 2: missing `loss`"),
    (
        "example-non-numeric",
        {26: 'y_pred = [["x"]]'},
        26,
        1,
        "example 2: `y_pred` must be a non-empty (nested) list of numbers",
    ),
    (
        "unused-step",
        {8: "e = abs(y_pred - y_true)\nspare = e * 2"},
        9,
        1,
        "`spare` is computed but never used: use it in a later step or remove it",
    ),
    # Missing examples: reported at 1:1 like the other missing required keys.
    (
        "missing-examples",
        {n: None for n in range(17, 28)},
        1,
        1,
        "at least one [[examples]] entry with hand-computed values is required",
    ),
]


@pytest.mark.parametrize("changes, line, col, fragment", [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES])
def test_bad_spec_is_one_located_line(tmp_path, changes, line, col, fragment):
    path = write(tmp_path, changes)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert_located(info.value, path, line, col, fragment)


def test_bad_name_is_checked_before_the_file_name(tmp_path):
    path = write(tmp_path, {2: 'name = "1probe"'}, stem="1probe")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert_located(info.value, path, 2, 1, "name '1probe' must be lowercase letters")


def test_unreadable_spec_names_the_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}: cannot read spec: ")
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# Param.parse / Param.check


DELTA = Param("delta", "float", 1.0, gt=0.0)
ALPHA = Param("alpha", "float", 0.25, ge=0.0, le=1.0)
COUNT = Param("count", "int", 1, ge=1, lt=10)
FLAG = Param("flag", "bool", False)
WEIGHTS = Param("weights", "float_list", [1.0], gt=0.0, min_length=2)
MODE = Param("mode", "choice", "mean", choices=("mean", "sum"))


@pytest.mark.parametrize("text, value", [("2", 2.0), (" 0.5 ", 0.5), ("1e-3", 0.001), ("+3", 3.0)])
def test_float_parse(text, value):
    parsed = DELTA.parse(text)
    assert parsed == value and type(parsed) is float


@pytest.mark.parametrize(
    "text, message",
    [
        ("nan", "delta must be finite (a number > 0), got nan"),
        ("NaN", "delta must be finite (a number > 0), got nan"),
        ("inf", "delta must be finite (a number > 0), got inf"),
        ("-inf", "delta must be finite (a number > 0), got -inf"),
        ("abc", "'abc' is not valid for delta: expected a number > 0"),
        ("", "'' is not valid for delta: expected a number > 0"),
        ("0", "delta must be a number > 0, got 0"),
        ("-1.5", "delta must be a number > 0, got -1.5"),
    ],
)
def test_float_parse_rejects(text, message):
    with pytest.raises(ValueError) as info:
        DELTA.parse(text)
    assert str(info.value) == message


def test_float_check_accepts_int_and_rejects_bool():
    assert ALPHA.check(1) == 1.0 and type(ALPHA.check(1)) is float
    with pytest.raises(ValueError, match=re.escape("alpha must be a number >= 0 and <= 1, got True")):
        ALPHA.check(True)


@pytest.mark.parametrize(
    "value, message",
    [
        (1.5, "alpha must be a number >= 0 and <= 1, got 1.5"),
        (-0.1, "alpha must be a number >= 0 and <= 1, got -0.1"),
        (float("nan"), "alpha must be finite (a number >= 0 and <= 1), got nan"),
    ],
)
def test_bounds_messages_say_what_is_allowed(value, message):
    with pytest.raises(ValueError) as info:
        ALPHA.check(value)
    assert str(info.value) == message


def test_bounds_edges():
    assert ALPHA.check(0.0) == 0.0 and ALPHA.check(1.0) == 1.0
    assert COUNT.parse("9") == 9 and COUNT.parse("1") == 1
    with pytest.raises(ValueError, match=re.escape("count must be an integer >= 1 and < 10, got 10")):
        COUNT.parse("10")
    with pytest.raises(ValueError, match=re.escape("count must be an integer >= 1 and < 10, got 0")):
        COUNT.check(0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: COUNT.parse("1.5"), "'1.5' is not valid for count: expected an integer >= 1 and < 10"),
        (lambda: COUNT.parse("two"), "'two' is not valid for count: expected an integer >= 1 and < 10"),
        (lambda: COUNT.check(1.5), "count must be an integer >= 1 and < 10, got 1.5"),
        (lambda: COUNT.check(2.0), "count must be an integer >= 1 and < 10, got 2.0"),
        (lambda: COUNT.check(True), "count must be an integer >= 1 and < 10, got True"),
    ],
)
def test_int_rejects_non_integers(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text, value",
    [
        ("true", True),
        ("True", True),
        ("YES", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_bool_words(text, value):
    assert FLAG.parse(text) is value


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: FLAG.parse("maybe"), "'maybe' is not valid for flag: expected true or false"),
        (lambda: FLAG.check(1), "flag must be true or false, got 1"),
        (lambda: FLAG.check("true"), "flag must be true or false, got 'true'"),
    ],
)
def test_bool_rejects(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text, value",
    [
        ("1,2,5", [1.0, 2.0, 5.0]),
        ("1, 2.5", [1.0, 2.5]),
        ("[0.5,4]", [0.5, 4.0]),
        ("1,2,", [1.0, 2.0]),
    ],
)
def test_float_list_parse(text, value):
    parsed = WEIGHTS.parse(text)
    assert parsed == value and all(type(v) is float for v in parsed)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,x", "'1,x' is not valid for weights: expected comma-separated numbers each > 0"),
        ("3", "weights needs at least 2 value(s), got 1"),
        ("1,0", "weights must be comma-separated numbers each > 0, got 0"),
        ("1,nan", "weights must be finite (comma-separated numbers each > 0), got nan"),
        ("1,inf", "weights must be finite (comma-separated numbers each > 0), got inf"),
    ],
)
def test_float_list_rejects(text, message):
    with pytest.raises(ValueError) as info:
        WEIGHTS.parse(text)
    assert str(info.value) == message


def test_float_list_check_rejects_non_lists():
    with pytest.raises(ValueError, match=re.escape("weights must be a list of numbers, got 2.0")):
        WEIGHTS.check(2.0)
    with pytest.raises(ValueError, match=re.escape("weights must be a list of numbers, got [1.0, True]")):
        WEIGHTS.check([1.0, True])


def test_choice():
    assert MODE.parse(" sum ") == "sum"
    assert MODE.describe_allowed() == "one of mean, sum"
    with pytest.raises(ValueError) as info:
        MODE.parse("median")
    assert str(info.value) == "mode must be one of mean, sum, got 'median'"


def test_describe_allowed():
    assert DELTA.describe_allowed() == "a number > 0"
    assert ALPHA.describe_allowed() == "a number >= 0 and <= 1"
    assert COUNT.describe_allowed() == "an integer >= 1 and < 10"
    assert FLAG.describe_allowed() == "true or false"
    assert WEIGHTS.describe_allowed() == "comma-separated numbers each > 0"
    assert Param("x", "float", 0.0).describe_allowed() == "a number"


def test_spec_bind_rejects_unknown_parameters(tmp_path):
    spec = load_spec(write(tmp_path))
    assert spec.bind({}) == {"delta": 1.0}
    assert spec.bind({"delta": 3}) == {"delta": 3.0}
    with pytest.raises(ValueError) as info:
        spec.bind({"gamma": 2.0})
    assert str(info.value) == "unknown parameter(s) gamma for probe (valid: delta)"


# ---------------------------------------------------------------------------------------------
# The built-in catalog


BUILTIN = [p.stem for p in spec_files(builtin_losses_dir())]


def test_builtin_catalog_loads(tmp_path):
    catalog = load_catalog(env={}, cwd=tmp_path)
    assert len(BUILTIN) >= 20
    assert sorted(catalog.specs) == sorted(BUILTIN)
    assert {"huber", "mse", "binary_focal"} <= set(catalog.specs)
    assert all(spec.origin == "built-in" for spec in catalog.specs.values())


@pytest.fixture(scope="module")
def builtins(tmp_path_factory):
    # an empty environment and a directory without pyproject.toml: the built-ins only
    return load_catalog(env={}, cwd=tmp_path_factory.mktemp("nowhere")).specs


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_has_two_examples(builtins, name):
    spec = builtins[name]
    assert len(spec.examples) >= 2, f"{name} has {len(spec.examples)} example(s)"


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_formula_matches_its_examples(builtins, name):
    spec = builtins[name]
    if spec.formula is None:  # hand-written specs carry code for every target instead
        assert set(spec.code) == {"python", "r", "numpy"}
        return
    for number, example in enumerate(spec.examples, start=1):
        got = numpy_emit.evaluate(spec, example.y_true, example.y_pred, example.params)
        assert got.shape == (len(example.loss),), f"{name} example {number}"
        np.testing.assert_allclose(
            got, example.loss, rtol=1e-6, atol=0, err_msg=f"{spec.path}:{example.line}: example {number}"
        )


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_python_body(builtins, name):
    spec = builtins[name]
    body = python_emit.function_body(spec)
    lines = body.splitlines()
    assert lines[-1].startswith("return "), lines[-1]
    if spec.formula is not None:
        assert lines[0] == "y_pred = ops.convert_to_tensor(y_pred)"
        for statement in spec.formula.statements[:-1]:
            assert any(line.startswith(f"{statement.target} = ") for line in lines), statement.target


def _tensor_names(spec) -> set[str]:
    names = set(INPUTS)
    names |= {s.target for s in spec.formula.statements if s.value.kind == TENSOR}
    names |= {n for n, p in spec.params.items() if p.type == "float_list"}
    return names


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_r_body(builtins, name):
    spec = builtins[name]
    body = r_emit.function_body(spec)
    code = "\n".join(line.split("#", 1)[0] for line in body.splitlines())
    assert "keras$ops$" in code
    # every axis is an R integer literal, and the rank alignment uses -1L
    axes = re.findall(r"axis = (\S+?)[,)]", code)
    assert axes and all(re.fullmatch(r"-?\d+L", a) for a in axes), axes
    assert "axis = -1L" in code
    assert not re.search(r"axis = -?\d+(?![\dL])", code)
    if spec.formula is None:
        return
    assert "<-" in code and not re.search(r"^\w+ = ", code, re.MULTILINE)  # R assignments, not Python ones
    # reticulate does not overload R arithmetic on tensors: no infix operator next to a tensor name
    for tensor in sorted(_tensor_names(spec)):
        t = re.escape(tensor)
        bad = re.search(rf"(?<![\w$.]){t}\s*[-+*/^]|[-+*/^]\s*{t}(?![\w$(])", code)
        assert bad is None, f"{name}: infix operator on tensor `{tensor}`: {bad.group(0)!r}"
    assert " - y_pred" not in code and "y_true * " not in code and "y_pred * " not in code


def test_r_body_of_huber_uses_ops_calls(builtins):
    body = r_emit.function_body(builtins["huber"])
    assert "error <- keras$ops$subtract(y_pred, y_true)" in body.splitlines()
    # Calls longer than a line put one argument per line.
    assert body.splitlines()[-7:] == [
        "keras$ops$mean(",
        "  add_tensors(",
        "    keras$ops$multiply(0.5, keras$ops$square(quadratic)),",
        "    keras$ops$multiply(delta, linear)",
        "  ),",
        "  axis = -1L",
        ")",
    ]


def test_python_and_numpy_bodies_of_huber(builtins):
    spec = builtins["huber"]
    assert "quadratic = minimum(abs_error, delta)" in python_emit.function_body(spec).splitlines()
    assert numpy_emit.function_body(spec).splitlines()[-1] == (
        "return np.mean(0.5 * np.square(quadratic) + delta * linear, axis=-1)"
    )


def test_evaluate_uses_given_params(builtins):
    spec = builtins["huber"]
    got = numpy_emit.evaluate(spec, [[0.0]], [[3.0]], {"delta": 1.0})
    assert got.tolist() == [2.5]
    got = numpy_emit.evaluate(spec, [[0.0]], [[3.0]], {"delta": 4.0})
    assert got.tolist() == [4.5]
    assert math.isclose(float(numpy_emit.evaluate(spec, [0.0], [[3.0]])[0]), 2.5)
