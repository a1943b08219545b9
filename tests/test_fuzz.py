"""Fuzzing: whatever a spec or a command line holds, lossgen answers with a result or a located error.

Properties (hypothesis):
  (a) compile_formula on arbitrary text and on generated formulas: a Program or a SpecError, in time;
  (b) compiled programs on the task's inputs (NumPy evaluator): an array or a SpecError;
  (c) parse_spec / load_spec on mutated built-in specs and random bytes: a LossSpec or a SpecError;
  (d) Param.parse on arbitrary text: a value Param.check accepts, or a ValueError.
Anything else (OverflowError, RecursionError, numpy errors, a hang) fails the property.

The default profile keeps the file near 20 s on two cores; LOSSGEN_FUZZ=long runs ten times more.
Inputs that once found bugs stay as explicit tests in tests/test_numeric_edges.py.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings  # the test extra: pip install -e ".[test]"
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.control import event as _event

from scaffold import domains
from scaffold.emit import numpy as numpy_emit
from scaffold.errors import SpecError
from scaffold.formula import FUNCTIONS, Program, compile_formula
from scaffold.paths import builtin_losses_dir
from scaffold.spec import TASKS, LossSpec, Param, load_spec, parse_spec

_COMMON = {
    "database": None,
    "deadline": timedelta(seconds=3),
    "print_blob": False,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("lossgen-fuzz", max_examples=150, **_COMMON)
settings.register_profile("lossgen-fuzz-long", max_examples=1500, **_COMMON)
FUZZ = settings.get_profile("lossgen-fuzz-long" if os.environ.get("LOSSGEN_FUZZ") == "long" else "lossgen-fuzz")
# Properties that cost about a millisecond an example run more of them.
FAST = settings(FUZZ, max_examples=FUZZ.max_examples * 6)

# Parameters in scope for generated formulas: one of each type.
PARAMS = {
    "alpha": Param("alpha", "float", 0.5),
    "k": Param("k", "int", 1, ge=0),
    "w": Param("w", "float_list", [1.0, 2.0, 3.0], gt=0.0),
    "flag": Param("flag", "bool", False),
    "mode": Param("mode", "choice", "sum", choices=("sum", "mean")),
}
PARAM_TYPES = {name: p.type for name, p in PARAMS.items()}
BUILTIN_SPECS = sorted(builtin_losses_dir().glob("*.toml"))


# ---------------------------------------------------------------------------------------------
# A grammar of formulas: mostly valid, often numerically hostile

HOSTILE_NUMBERS = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "0.5",
            "-1",
            "1e-300",
            "1e300",
            "1e38",
            "1e39",
            "1e308",
            "1e999",
            "9 ** 9 ** 9",
            "10 ** 400",
            "0 ** -1",
            "1 / 0",
            "123456789012345678",
            "1e-45",
            "(-8) ** 0.5",
            "epsilon",
            "num_classes",
        ]
    ),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
NAMES = st.sampled_from(["y_true", "y_pred", "alpha", "k", "w", "epsilon", "num_classes"])
# Mostly tensors and plain numbers (so that a fair share compiles and runs), hostile ones often enough.
NUMBERS = st.one_of(st.sampled_from(["y_pred", "y_true", "0.5", "2", "1"]), NAMES, HOSTILE_NUMBERS)
ELEMENTWISE = [f for f in FUNCTIONS.values() if not f.axis and f.name not in ("where", "one_hot")]
AXIS = st.sampled_from(["", ", axis=-1", ", axis=0", ", axis=1", ", axis=-2", ", axis=3", ", axis=-5"])
KEEPDIMS = st.sampled_from(["", ", keepdims=True", ", keepdims=False"])
CONDITION = st.sampled_from(["flag", 'mode == "sum"', 'mode != "mean"'])


def expressions(leaves=NUMBERS):
    def extend(inner):
        tensor = st.one_of(inner, inner.map(lambda e: f"({e}) + y_pred"))  # reductions need axes
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-({e})"),
            st.tuples(st.sampled_from(ELEMENTWISE), st.lists(inner, min_size=3, max_size=3)).map(
                lambda t: f"{t[0].name}({', '.join(t[1][: len(t[0].args)])})"
            ),
            st.tuples(st.sampled_from(["mean", "sum", "max", "min"]), tensor, AXIS, KEEPDIMS).map(
                lambda t: f"{t[0]}({t[1]}{t[2]}{t[3]})"
            ),
            st.tuples(st.sampled_from(["softmax", "log_softmax"]), tensor, AXIS).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
            st.tuples(tensor, st.sampled_from(["0", "1", "2", "k", "63", "num_classes"]), AXIS).map(
                lambda t: f"take({t[0]}, {t[1]}{t[2]})"
            ),
            st.tuples(inner, st.sampled_from(["num_classes", "k", "1", "3", "64"])).map(
                lambda t: f"one_hot({t[0]}, {t[1]})"
            ),
            st.tuples(inner, st.sampled_from(["<", ">=", "=="]), inner, inner, inner).map(
                lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, {t[4]})"
            ),
            st.tuples(inner, CONDITION, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@st.composite
def formulas(draw):
    lines = []
    for index in range(draw(st.integers(0, 2))):
        lines.append(f"s{index} = {draw(expressions())}")
    names = st.one_of(NUMBERS, NAMES, st.sampled_from([f"s{i}" for i in range(len(lines))] or ["y_pred"]))
    loss = draw(expressions(names))
    if draw(st.integers(0, 3)):  # mostly a per-sample shape, as real losses have
        loss = f"mean(({loss}) * y_pred, axis=-1)"
    lines.append(f"loss = {loss}")
    return "\n".join(lines)


def event(name: str) -> None:
    """Count outcomes for --hypothesis-show-statistics (helpers also run outside hypothesis)."""
    if currently_in_test_context():
        _event(name)


def spec_for(program: Program, task: str) -> LossSpec:
    return LossSpec(
        name="fuzz",
        title="Fuzz",
        summary="Fuzz.",
        task=task,
        formula=program,
        params=PARAMS,
        examples=(),
        path=Path("fuzz.toml"),
    )


def compiles(source: str) -> Program | None:
    try:
        program = compile_formula(source, PARAM_TYPES, "fuzz.toml")
    except SpecError as exc:
        assert "\n" not in str(exc)
        event("formula refused")
        return None
    event("formula compiled")
    return program


# ---------------------------------------------------------------------------------------------
# (a) compile: a Program or a SpecError


@FAST
@given(st.text(max_size=300))
def test_compile_arbitrary_text(source):
    compiles(source)


@FAST
@given(st.text(alphabet='y_predtrualphk(),+-*/ 0123456789.e=\n<>!"', max_size=200))
def test_compile_formula_like_text(source):
    compiles(source)


@FUZZ
@given(formulas())
def test_compile_generated_formulas(source):
    compiles(source)


# ---------------------------------------------------------------------------------------------
# (b) evaluate: an array or a SpecError


@FUZZ
@given(
    formulas(),
    st.sampled_from(sorted(TASKS)),
    st.fixed_dictionaries(
        {
            "alpha": st.sampled_from([0.5, 0.0, -3.0, 1e-300, 1e30, 1e200]),
            "k": st.sampled_from([0, 1, 2, 63]),
            "w": st.sampled_from([[1.0, 2.0, 3.0], [1e39, 1.0, 1.0], [1.0]]),
        }
    ),
)
def test_evaluate_generated_formulas(source, task, given_values):
    program = compiles(source)
    if program is None:
        return
    spec = spec_for(program, task)
    try:
        values = spec.bind(given_values)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    cases = [domains.sample(spec, values, np.random.default_rng(0), batch=3), *domains.extremes(spec, values)]
    for case in cases:
        try:
            result = numpy_emit.evaluate(spec, case.y_true, case.y_pred, values)
        except SpecError as exc:
            assert "\n" not in str(exc) and exc.line is not None
            event("evaluation refused")
            continue
        event("evaluated")
        assert isinstance(result, np.ndarray) and result.dtype == np.float64


# ---------------------------------------------------------------------------------------------
# (c) specs: a LossSpec or a SpecError

VALUES = st.one_of(
    st.sampled_from(
        [
            '""',
            '"x"',
            "0",
            "-1",
            "1e309",
            "inf",
            "nan",
            "true",
            "[]",
            "[[]]",
            "[[1.0, 2.0], [3.0]]",
            "[" * 50 + "]" * 50,
            '"""\nloss = y_pred\n"""',
            '"loss = mean(y_pred)"',
            "{}",
            "{ delta = 1e300 }",
            "{ output_index = 99999 }",
            '"categorical"',
            "99999999999999999999",
            "[1.0, true]",
            '"\\u0000"',
            '"\\u202e"',
            "'''a'''",
            "2024-01-01",
        ]
    ),
    st.integers().map(str),
    st.floats().map(lambda v: repr(v).replace("inf", "inf").replace("nan", "nan")),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)


@st.composite
def mutated_specs(draw):
    path = draw(st.sampled_from(BUILTIN_SPECS))
    lines = path.read_text(encoding="utf-8").splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["value", "delete", "duplicate", "insert", "splice"]))
        if edit == "value" and "=" in lines[index]:
            lines[index] = lines[index].split("=", 1)[0] + "= " + draw(VALUES)
        elif edit == "delete":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, lines[index])
        elif edit == "insert":
            lines.insert(index, draw(st.text(max_size=40)))
        else:
            line = lines[index]
            cut = draw(st.integers(0, len(line)))
            lines[index] = line[:cut] + draw(st.text(max_size=8)) + line[cut + draw(st.integers(0, 5)) :]
    return path.stem, "\n".join(lines) + "\n"


def _parses(text: str, name: str) -> None:
    try:
        spec = parse_spec(text, Path(f"{name}.toml"), origin="fuzz")
    except SpecError as exc:
        assert "\n" not in str(exc)
        event("spec refused")
        return
    event("spec parsed")
    try:
        spec.bind()
    except ValueError as exc:
        assert "\n" not in str(exc)


@FAST
@given(mutated_specs())
def test_parse_mutated_builtin_specs(mutated):
    name, text = mutated
    _parses(text, name)


@pytest.fixture(scope="module")
def bytes_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-bytes")


@FAST
@given(st.binary(max_size=400), st.sampled_from(BUILTIN_SPECS), st.integers(0, 2000))
def test_load_spec_with_random_bytes(bytes_dir, noise, builtin, at):
    raw = builtin.read_bytes()
    path = bytes_dir / builtin.name
    path.write_bytes(raw[:at] + noise + raw[at:])
    try:
        load_spec(path, origin="fuzz")
    except SpecError as exc:
        assert "\n" not in str(exc)


# ---------------------------------------------------------------------------------------------
# (d) command-line values: a value Param.check accepts, or a ValueError

CLI_PARAMS = [
    Param("delta", "float", 1.0, gt=0.0),
    Param("count", "int", 1, ge=1, lt=10),
    Param("index", "int", 0, ge=0),
    Param("flag", "bool", False),
    Param("weights", "float_list", [1.0, 1.0], gt=0.0, min_length=2),
    Param("mode", "choice", "sum", choices=("sum", "mean")),
]
NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789+-.eE,[] _infatyINF", max_size=40),
    st.floats().map(repr),
    st.integers().map(str),
    st.lists(st.floats().map(repr), max_size=70).map(",".join),
    st.text(max_size=40),
    st.sampled_from(["1" * 5000, "1 2,5", "1,,2", "١", "1_000", "1e999", "-0", " 3 ", "[1,2]", "true"]),
)


@FAST
@given(st.sampled_from(CLI_PARAMS), NUMBER_TEXT)
def test_param_parse_gives_a_checked_value_or_a_value_error(param, text):
    try:
        value = param.parse(text)
    except ValueError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert param.check(value) == value


@pytest.mark.parametrize("builtin", BUILTIN_SPECS, ids=lambda p: p.stem)
def test_builtins_parse_under_the_fuzz_helpers(builtin):
    """The mutation base itself is valid: a failure above is the mutation's doing."""
    _parses(builtin.read_text(encoding="utf-8"), builtin.stem)
