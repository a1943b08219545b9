"""Numeric edges: every value and every formula either works or is refused with one located line.

Each case here is an input that once crashed lossgen (OverflowError, MemoryError, RecursionError,
numpy errors as "internal error"), hung it, or was silently misread. No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scaffold.spec as spec_module
from scaffold import domains
from scaffold.cli import main
from scaffold.emit import numpy as numpy_emit
from scaffold.errors import SpecError
from scaffold.formula import (
    MAX_DEPTH,
    MAX_FORMULA_CHARS,
    MAX_STATEMENTS,
    MAX_WIDTH,
    check_values,
    compile_formula,
    take_indexes,
)
from scaffold.paths import builtin_losses_dir
from scaffold.spec import Param, load_spec
from scaffold.validate import validate_file
from tests.helpers import assert_usage_error

# A spec whose formula starts on line 6; `alpha` is a float parameter, `k` an int one.
HEAD = 'name = "{name}"\ntitle = "T"\nsummary = "S."\ntask = "{task}"\nformula = """\n'
TAIL = '''"""

[params.alpha]
type = "float"
default = 2.0

[params.k]
type = "int"
default = 1
ge = 0

[[examples]]
y_true = [[0.0, 1.0]]
y_pred = [[0.5, 1.0]]
loss = [0.125]
'''


def write_spec(directory: Path, formula: str, name: str = "probe", task: str = "regression") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(HEAD.format(name=name, task=task) + formula + "\n" + TAIL, encoding="utf-8")
    return path


def refused(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "\n" not in str(info.value)
    return info.value


pytestmark = pytest.mark.usefixtures("isolated_cwd")


def run_main(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Formulas refused at compile time, at their position

COMPILE_CASES = [
    ("division-by-zero", "loss = mean(y_pred, axis=-1) + 1 / 0", 32, "`1 / 0` divides by zero"),
    (
        "zero-to-negative-power",
        "loss = mean(y_pred, axis=-1) + 0 ** -1",
        32,
        "`0 ** (-1)` raises 0 to a negative power",
    ),
    ("power-overflow", "loss = mean(y_pred, axis=-1) * 10.0 ** 400", 32, "`10 ** 400` overflows"),
    ("tower-does-not-hang", "loss = mean(y_pred, axis=-1) * 9 ** 9 ** 9", 32, "`9 ** (9 ** 9)` overflows"),
    ("negative-fractional-power", "loss = y_pred * (-8) ** 0.5", 17, "is not a real number"),
    ("constant-log-zero", "loss = y_pred * log(0)", 17, "`log(0)` is outside the domain of log()"),
    ("constant-exp-overflow", "loss = y_pred * exp(1000)", 17, "`exp(1000)` overflows"),
    ("epsilon-division", "loss = y_pred / (epsilon - 1e-7)", 8, "`y_pred / (epsilon - 1e-07)` divides by zero"),
    ("beyond-float32", "loss = y_pred * 1e39", 17, "beyond float32's range"),
    ("infinite-literal", "loss = y_pred * 1e999", 17, "numbers must be finite"),
    ("sixteen-digit-int", "loss = y_pred * 1000000000000000", 17, "more than 15 digits"),
    ("4500-digit-int", "loss = y_pred * " + "1" * 4500, 1, "more than 15 digits"),
    ("mean-of-a-scalar", "loss = mean(y_pred, axis=-1) + mean(alpha)", 37, "mean() needs a tensor with axes"),
    ("softmax-of-a-0d-tensor", "loss = y_pred + softmax(sqrt(alpha))", 25, "softmax() needs a tensor with axes"),
    ("axis-out-of-range", "loss = mean(y_pred, axis=5)", 26, "axis= must be from -4 to 3, got 5"),
    ("take-index-too-large", "loss = take(y_pred, 99)", 21, "take() needs an integer index"),
    ("take-float-index", "loss = take(y_pred, alpha)", 21, "take() needs an integer index"),
    ("one-hot-negative-depth", "loss = sum(one_hot(y_true, -5), axis=-1)", 28, "one_hot() needs an integer depth"),
    (
        "keepdims-on-softmax",
        "loss = sum(softmax(y_pred, keepdims=True), axis=-1)",
        37,
        "softmax() got keyword `keepdims` (allowed: axis=)",
    ),
    (
        "keepdims-on-log-softmax",
        "loss = sum(log_softmax(y_pred, keepdims=True), axis=-1)",
        41,
        "log_softmax() got keyword `keepdims` (allowed: axis=)",
    ),
    ("keepdims-on-take", "loss = take(y_pred, 0, keepdims=True)", 33, "take() got keyword `keepdims` (allowed: axis=)"),
    ("scalar-loss-through-a-call", "loss = sqrt(alpha)", 1, "`loss` must be a tensor computed from y_true/y_pred"),
]


@pytest.mark.parametrize("formula, col, fragment", [c[1:] for c in COMPILE_CASES], ids=[c[0] for c in COMPILE_CASES])
def test_formula_edge_is_refused_at_its_position(tmp_path, formula, col, fragment):
    error = refused(write_spec(tmp_path, formula))
    assert (error.line, error.col) == (6, col), str(error)
    assert fragment in error.message, str(error)


def test_keepdims_on_reductions_still_works(tmp_path):
    spec = load_spec(write_spec(tmp_path, "loss = mean(y_pred - sum(y_true, axis=-1, keepdims=True), axis=-1)"))
    assert numpy_emit.evaluate(spec, [[1.0, 2.0]], [[3.0, 4.0]]).tolist() == [0.5]


def test_constant_checks_follow_the_branch_a_scalar_conditional_takes():
    program = compile_formula("loss = y_pred * (1 / alpha if alpha > 0 else 1.0)", {"alpha": "float"})
    check_values(program, {"alpha": 0.0})  # the division is not computed for alpha = 0
    with pytest.raises(SpecError, match="divides by zero"):
        compile_formula("loss = where(y_pred > 0, y_pred, 1 / 0)", {})  # where() computes both


SIZE_CASES = [
    (
        "300-term-sum",
        "loss = mean(" + " + ".join(["y_pred"] * 300) + ", axis=-1)",
        f"nested more than {MAX_DEPTH} levels",
    ),
    (
        "40-nested-calls",
        "loss = mean(" + "abs(" * 40 + "y_pred" + ")" * 40 + ")",
        f"nested more than {MAX_DEPTH} levels",
    ),
    # Python's parser refuses these itself unless the recursion limit was raised (TensorFlow, JAX and
    # hypothesis raise it): then the depth check, which runs before any recursion of lossgen's, does.
    ("5000-unary-minus", "loss = y_pred * " + "-" * 5000 + "1", "nested"),
    ("4900-term-sum", "loss = y_pred + " + "1+" * 4900 + "1", "nested"),
    ("300-parentheses", "loss = " + "(" * 300 + "y_pred" + ")" * 300, "too many nested parentheses"),
    (
        "too-many-statements",
        "".join(f"e{i} = y_pred\n" for i in range(MAX_STATEMENTS)) + "loss = e0",
        f"the limit is {MAX_STATEMENTS}",
    ),
    ("too-long", "loss = y_pred" + " " * MAX_FORMULA_CHARS, f"the limit is {MAX_FORMULA_CHARS}"),
]


@pytest.mark.parametrize("source, fragment", [c[1:] for c in SIZE_CASES], ids=[c[0] for c in SIZE_CASES])
def test_formula_size_limits_are_checked_before_recursion(source, fragment):
    with pytest.raises(SpecError) as info:
        compile_formula(source, {})
    assert fragment in str(info.value)
    assert "split" in str(info.value) or "limit" in str(info.value)


def test_formula_at_the_limits_compiles_and_emits(tmp_path):
    """Depth 32 is within the limit, and the emitters (recursive) handle it."""
    from scaffold.emit.python import function_body as python_body
    from scaffold.emit.r import function_body as r_body

    inner = "abs(" * (MAX_DEPTH - 5) + "y_pred - y_true" + ")" * (MAX_DEPTH - 5)
    spec = load_spec(write_spec(tmp_path, f"loss = mean({inner}, axis=-1)"))
    assert python_body(spec) and r_body(spec)
    assert numpy_emit.evaluate(spec, [[0.0, 1.0]], [[0.5, 1.0]]).tolist() == [0.25]


def test_builtins_sit_well_inside_the_limits():
    for path in sorted(builtin_losses_dir().glob("*.toml")):
        spec = load_spec(path)
        if spec.formula is None:
            continue
        # the longest, ciou, decodes four box formats in 34 named steps of 2,178 characters
        assert len(spec.formula.source) <= MAX_FORMULA_CHARS // 4
        assert len(spec.formula.statements) <= MAX_STATEMENTS // 2
        assert max(_depth(s.value) for s in spec.formula.statements) <= MAX_DEPTH // 3


def _depth(expr) -> int:
    from scaffold.emit.numpy import _children
    from scaffold.formula import Name, Number, String

    if isinstance(expr, (Name, Number, String)):
        return 1
    return 1 + max(_depth(child) for child in _children(expr))


# ---------------------------------------------------------------------------------------------
# Shape-dependent problems: SpecErrors from the NumPy evaluator, at the failing node


@pytest.mark.parametrize(
    "formula, inputs, col, fragment",
    [
        ("loss = mean(y_pred - y_true, axis=3)", ([[0.0, 1.0]], [[0.5, 1.0]]), 8, "axis 3 is out of bounds"),
        ("loss = take(y_pred, 5)", ([[0.0, 1.0]], [[0.5, 1.0]]), 8, "index 5 is out of bounds"),
        (
            "loss = mean(y_pred - one_hot(y_true, 7), axis=-1)",
            ([[0.0, 1.0]], [[0.5, 1.0]]),
            13,
            "shapes (1,2) (1,2,7) do not fit together",
        ),
        ("loss = y_pred * num_classes ** 400", ([[0.0, 1.0]], [[0.5, 1.0]]), 17, "for num_classes=2: beyond float32"),
        ("loss = y_pred * num_classes ** 4000", ([[0.0, 1.0]], [[0.5, 1.0]]), 17, "overflows for num_classes=2"),
    ],
    ids=["axis", "take-index", "broadcast", "num-classes-float32", "num-classes-overflow"],
)
def test_evaluator_raises_located_spec_errors(tmp_path, formula, inputs, col, fragment):
    spec = load_spec(write_spec(tmp_path, formula))
    with pytest.raises(SpecError) as info:
        numpy_emit.evaluate(spec, *inputs)
    assert (info.value.line, info.value.col) == (6, col), str(info.value)
    assert fragment in info.value.message


def test_evaluator_refuses_ragged_inputs_as_a_spec_error(tmp_path):
    spec = load_spec(write_spec(tmp_path, "loss = mean(y_pred, axis=-1)"))
    with pytest.raises(SpecError, match="rectangular"):
        numpy_emit.evaluate(spec, [[0.0, 1.0], [1.0]], [[0.5, 1.0], [1.0]])


def test_parameter_overflow_in_a_spec_is_located_by_validate(tmp_path):
    path = write_spec(tmp_path, "loss = mean(y_pred - y_true, axis=-1) * alpha ** 2000")
    _, problems = validate_file(path, quick=True)
    assert [str(p) for p in problems] == [f"{path}:6:41: `alpha ** 2000` overflows for alpha=2"]


def test_validate_reports_every_spec_and_goes_on(tmp_path, capsys):
    bad = [
        write_spec(tmp_path, "loss = mean(y_pred - one_hot(y_true, 7), axis=-1)", name="broadcast"),
        write_spec(tmp_path, "loss = mean(y_pred, axis=-1) * alpha ** 2000", name="overflow"),
        write_spec(tmp_path, "loss = take(y_pred, 2)", name="narrow", task="multi_output"),
    ]
    good = write_spec(tmp_path, "loss = 0.125 * mean(y_pred - y_pred + 1, axis=-1)", name="fine")
    code = main(["validate", "--quick", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    for path in bad:
        assert f"{path}:6:" in out, out
    assert f"{good}: ok" in out
    assert "internal error" not in out and "4 spec(s) checked (quick)" in out


def test_validate_turns_lossgen_bugs_into_a_problem_for_that_spec(tmp_path, monkeypatch):
    path = write_spec(tmp_path, "loss = mean(y_pred, axis=-1)")

    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(numpy_emit, "evaluate", broken)
    _, problems = validate_file(path, quick=True)
    assert len(problems) == 1 and "internal error in lossgen on this spec (KeyError" in problems[0].message


def test_builtins_still_validate():
    for path in sorted(builtin_losses_dir().glob("*.toml")):
        assert validate_file(path, quick=True)[1] == [], path


# ---------------------------------------------------------------------------------------------
# Parameter values from the command line


def test_huge_delta_is_exit_2_naming_delta(tmp_path, capsys):
    code, err = run_main(
        capsys,
        "new",
        "--kind",
        "pseudo_huber",
        "--delta",
        "1e200",
        "--no-test",
        "--no-input",
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert_usage_error(code, err, "`delta`")
    assert "float32" in err and not (tmp_path / "out").exists()


def test_delta_squared_beyond_float32_is_exit_2(capsys):
    code, err = run_main(capsys, "show", "pseudo_huber", "--delta", "1e20")
    assert_usage_error(code, err, "`delta ** 2` is 1e+40 for delta=1e+20")


@pytest.mark.parametrize(
    "index, fragment",
    [
        ("1000000000000000", "output_index must be an integer >= 0 of at most 15 digits"),
        ("20000", "take() needs a whole-number index from 0 to 63"),
        ("64", "take() needs a whole-number index from 0 to 63"),
        ("1" * 5000, "characters long"),
    ],
)
def test_huge_output_index_is_exit_2(capsys, index, fragment):
    code, err = run_main(capsys, "show", "output_mse", "--output-index", index)
    assert_usage_error(code, err, fragment)


def test_largest_output_index_sets_the_test_width():
    spec = load_spec(builtin_losses_dir() / "output_mse.toml")
    values = spec.bind({"output_index": MAX_WIDTH - 1})
    assert take_indexes(spec.formula, values) == [MAX_WIDTH - 1, MAX_WIDTH - 1]
    assert domains.width(spec, values) == MAX_WIDTH


def test_width_ignores_int_parameters_that_are_not_indexes(tmp_path):
    path = write_spec(tmp_path, "loss = mean(y_pred - y_true, axis=-1) * k", task="multi_output")
    spec = load_spec(path)
    assert domains.width(spec, spec.bind({"k": 10**6})) == 3


WEIGHTS = Param("weights", "float_list", [1.0, 1.0], gt=0.0)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("1 2,5", "'1 2,5' is not valid for weights"),
        ("1,,2", "an empty item between commas"),
        (",1,2", "an empty item between commas"),
        ("1_0,2", "is not valid for weights"),
        ("١,2", "is not valid for weights"),
        (",".join(["1"] * (MAX_WIDTH + 1)), f"at most {MAX_WIDTH}"),
        ("1e39999,1", "must be finite"),
    ],
)
def test_float_list_items_are_one_number_each(text, fragment):
    with pytest.raises(ValueError) as info:
        WEIGHTS.parse(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_float_list_check_caps_length():
    with pytest.raises(ValueError, match=f"at most {MAX_WIDTH}"):
        WEIGHTS.check([1.0] * (MAX_WIDTH + 1))
    assert WEIGHTS.parse("1, 2,") == [1.0, 2.0]  # one trailing comma is fine


@pytest.mark.parametrize("ptype", ["float", "int", "float_list"])
def test_huge_number_text_is_a_short_value_error(ptype):
    param = Param("x", ptype, 1.0 if ptype == "float" else 1 if ptype == "int" else [1.0])
    for text in ("1" * 5000, "1" * 1999, "9" * 400, "-" + "9" * (30 if ptype == "int" else 400)):
        with pytest.raises(ValueError) as info:
            param.parse(text)
        assert len(str(info.value)) < 200, str(info.value)


@pytest.mark.parametrize("ptype, value", [("float", 10**400), ("int", 10**400), ("float_list", [10**400])])
def test_huge_python_ints_are_value_errors(ptype, value):
    with pytest.raises(ValueError):
        Param("x", ptype, None).check(value)


def test_list_parameter_beyond_float32_is_refused_at_bind(tmp_path):
    spec = load_spec(builtin_losses_dir() / "weighted_cce.toml")
    with pytest.raises(ValueError, match="holds 1e\\+39"):
        spec.bind({"class_weights": [1.0, 1e39, 1.0]})


# ---------------------------------------------------------------------------------------------
# Example arrays (spec_module.example_problem, for _parse_examples)


@pytest.mark.parametrize(
    "y_true, y_pred, fragment",
    [
        ([[0.0, 1.0], [1.0]], [[0.0, 1.0], [1.0, 0.0]], "ragged"),
        ([[0.0] * (MAX_WIDTH + 1)], [[0.0] * (MAX_WIDTH + 1)], f"at most {MAX_WIDTH}"),
        ([[0.0]] * (spec_module.MAX_EXAMPLE_SAMPLES + 1), [[0.0]] * 2, "samples"),
        ([[[[[[0.0]]]]]], [[0.0]], "axes"),
        ([[0.0, [1.0]]], [[0.0, 1.0]], "mixes numbers and lists"),
    ],
)
def test_example_problem(y_true, y_pred, fragment):
    assert fragment in spec_module.example_problem(y_true, y_pred)


def test_example_problem_accepts_builtin_examples():
    for path in sorted(builtin_losses_dir().glob("*.toml")):
        for example in load_spec(path).examples:
            assert spec_module.example_problem(example.y_true, example.y_pred) is None


def test_evaluator_values_match_for_builtins_after_the_float64_scalars():
    """Parameters and literals are float64 in the evaluator now; the built-ins' examples still hold."""
    for path in sorted(builtin_losses_dir().glob("*.toml")):
        spec = load_spec(path)
        if spec.formula is None:
            continue
        for example in spec.examples:
            got = numpy_emit.evaluate(spec, example.y_true, example.y_pred, example.params)
            assert np.allclose(got, example.loss, rtol=1e-6, atol=1e-9), path


@pytest.mark.parametrize("depth", [900, 5000])
def test_deeply_nested_toml_is_a_spec_error(tmp_path, depth):
    path = tmp_path / "deep.toml"
    path.write_text('name = "deep"\nexamples = ' + "[" * depth + "]" * depth + "\n")
    with pytest.raises(SpecError):
        spec_module.load_spec(path)
