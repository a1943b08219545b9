"""Loss specs: TOML in, a validated `LossSpec` out, and parameter values bound against it.

A spec is data written by people; every problem found here is reported with the file, line and
column of the offending key, because that is what a spec author needs to fix it.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import keyword
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.errors import SpecError
from scaffold.formula import (
    BUILTIN_NAMES,
    FUNCTIONS,
    INPUTS,
    MAX_INT_LITERAL,
    MAX_WIDTH,
    Program,
    check_values,
    compile_formula,
)
from scaffold.sinks import describe_character, refused_character
from scaffold.tasks import TASKS

PARAM_TYPES = ("float", "int", "bool", "float_list", "choice")
TOP_KEYS = {
    "name",
    "title",
    "summary",
    "description",
    "task",
    "reference",
    "formula",
    "params",
    "examples",
    "overrides",
    "code",
    "terms",
}
PARAM_KEYS = {"type", "default", "help", "gt", "ge", "lt", "le", "choices", "min_length"}
CODE_TARGETS = ("python", "r", "numpy")
# Names a parameter cannot take: they clash with the loss inputs, formula built-ins, the
# keras.losses.Loss constructor, or keywords of Python and R.
R_RESERVED = {
    "if",
    "else",
    "repeat",
    "while",
    "function",
    "for",
    "next",
    "break",
    "TRUE",
    "FALSE",
    "NULL",
    "Inf",
    "NaN",
    "NA",
    "in",
    "T",
    "F",
}
# Names the emitted code itself uses (modules, builtins it calls, R objects it reads): a parameter
# or formula step with one of these names would shadow them in the generated function.
EMITTED_CODE_NAMES = (
    {
        "ops",
        "keras",
        "np",
        "math",
        "tf",
        "jax",
        "torch",
        "reticulate",
        "array",
        "c",
        "length",
        "stop",
        "format",
        "force",
        "attr",
        "list",
        "any",
        "round",
        "dtype",
        "last_dim",
        "add_tensors",
    }
    | set(dir(builtins))
    | set(keyword.kwlist)
    | set(keyword.softkwlist)
)
RESERVED_LOCALS = {*BUILTIN_NAMES, *FUNCTIONS} | R_RESERVED | EMITTED_CODE_NAMES
RESERVED_PARAMS = {*INPUTS, *RESERVED_LOCALS, "name", "reduction", "dtype", "loss", "self", "config"}
NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 60
# Fields whose text may span lines; every other string in a spec is one line.
MULTILINE_FIELDS = {"description", "formula", "code"}
MAX_SPEC_BYTES = 256 * 1024  # generous for hand-written specs; keeps hostile ones from costing time
MAX_EXAMPLE_SAMPLES = 1000  # hand-computed [[examples]] rows; more is not hand-computed
MAX_EXAMPLE_RANK = 4  # (batch, ...) with at most three more axes
MAX_EXAMPLE_VALUES = 10_000  # numbers in one example's y_true or y_pred
TOO_LONG_INTEGER = "holds an integer of more than 15 digits; write large numbers as floats (1e20)"


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    help: str = ""
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 1

    @property
    def bounds(self) -> list[tuple[str, float]]:
        return [
            (op, v) for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le)) if v is not None
        ]

    def describe_allowed(self) -> str:
        """What values are allowed, in words a user reads in --help and errors."""
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        if self.type == "bool":
            return "true or false"
        what = {"float": "a number", "int": "an integer", "float_list": "comma-separated numbers"}[self.type]
        if self.bounds:
            each = " each" if self.type == "float_list" else ""
            what += each + " " + " and ".join(f"{op} {format_bound(v)}" for op, v in self.bounds)
        return what

    def parse(self, text: str) -> Any:
        """Turn command-line text into a checked value; ValueError (one short line) says what is allowed."""
        text = text.strip()
        shown = text if len(text) <= 40 else text[:37] + "..."
        if len(text) > MAX_VALUE_CHARS:
            raise ValueError(
                f"the value for {self.name} is {len(text)} characters long; expected {self.describe_allowed()}"
            )
        try:
            if self.type == "float":
                value = _parse_float(text)
            elif self.type == "int":
                if not re.fullmatch(r"[+-]?[0-9]+", text):
                    raise ValueError
                if len(text.lstrip("+-").lstrip("0")) > 15:
                    raise ValueError(f"{self.name} must be {self.describe_allowed()} of at most 15 digits")
                value = int(text)
            elif self.type == "bool":
                lowered = text.lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = lowered in ("true", "1", "yes")
            elif self.type == "float_list":
                inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
                items = [item.strip() for item in inner.split(",")]
                if len(items) > 1 and items[-1] == "":  # one trailing comma, as in "1,2,"
                    items.pop()
                if len(items) > MAX_WIDTH:
                    raise ValueError(f"{self.name} takes at most {MAX_WIDTH} numbers, got {len(items)}")
                for item in items:
                    if not item:
                        raise ValueError(
                            f"{shown!r} is not valid for {self.name}: an empty item between commas "
                            f"(expected {self.describe_allowed()})"
                        )
                value = [_parse_float(item) for item in items]
            else:
                value = text
        except ValueError as exc:
            if str(exc):
                raise
            raise ValueError(f"{shown!r} is not valid for {self.name}: expected {self.describe_allowed()}") from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        """Check a value's type and range (for defaults, example params and user input alike)."""
        allowed = self.describe_allowed()
        if self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name} must be {allowed}, got {_short(value)}")
            value = _to_float(value, self.name)
            items = [value]
        elif self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{self.name} must be {allowed}, got {_short(value)}")
            if abs(value) > MAX_INT_LITERAL:
                raise ValueError(f"{self.name} must be {allowed} of at most 15 digits")
            items = [value]
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, got {_short(value)}")
            return value
        elif self.type == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{self.name} must be {allowed}, got {_short(value)}")
            return value
        else:
            if not isinstance(value, list) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) for v in value
            ):
                raise ValueError(f"{self.name} must be a list of numbers, got {_short(value)}")
            if len(value) < self.min_length:
                raise ValueError(f"{self.name} needs at least {self.min_length} value(s), got {len(value)}")
            if len(value) > MAX_WIDTH:  # it sets the number of classes of categorical tasks
                raise ValueError(f"{self.name} takes at most {MAX_WIDTH} values, got {len(value)}")
            value = [_to_float(v, self.name) for v in value]
            items = value
        for item in items:
            if not math.isfinite(item):
                raise ValueError(f"{self.name} must be finite ({allowed}), got {item!r}")
            for op, bound in self.bounds:
                ok = {">": item > bound, ">=": item >= bound, "<": item < bound, "<=": item <= bound}[op]
                if not ok:
                    raise ValueError(f"{self.name} must be {allowed}, got {format_bound(item)}")
        return value


MAX_VALUE_CHARS = 2000  # command-line text for one value: room for MAX_WIDTH numbers, not a megabyte


def _parse_float(text: str) -> float:
    """float() without Python's extras a user does not mean: digit separators and non-ASCII digits."""
    if not text.isascii() or "_" in text:
        raise ValueError
    try:
        return float(text)
    except ValueError:
        raise ValueError from None  # the caller says what is allowed


def _to_float(value: float, name: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number, got an integer too large for a float") from None


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_LITERAL:
        return f"an integer of {len(format(abs(value), 'x'))} hex digits"  # repr() of a huge int raises
    if isinstance(value, list) and any(isinstance(v, int) and abs(v) > MAX_INT_LITERAL for v in value):
        return "a list holding an integer of more than 15 digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0].split(";")[0][:120]


def _long_number_position(text: str) -> tuple[int | None, int | None]:
    """Where the first run of over 4300 digits sits in the TOML text (the number TOML could not read)."""
    match = re.search(r"[0-9_]{4300,}", text)
    if not match:
        return None, None
    line = text.count("\n", 0, match.start()) + 1
    return line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1


@dataclass(frozen=True)
class Example:
    params: dict[str, Any]
    y_true: list
    y_pred: list
    loss: list[float]
    line: int | None


@dataclass(frozen=True)
class Reference:
    """An independent Keras implementation, `keras.losses.<cls>(kw=param_or_constant, ...)`."""

    cls: str
    kwargs: tuple[tuple[str, str, Any], ...]  # (keyword, "param" | "value", name or value)
    text: str
    unless: str | None = None  # a bool parameter that, when true, makes the Keras class compute another loss

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: (values[v] if how == "param" else v) for k, how, v in self.kwargs}

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether the Keras class computes the same values for these parameter values."""
        return not (self.unless and values.get(self.unless, False))


@dataclass(frozen=True)
class Term:
    """One part of a composite spec: `weight * kind(params)` (scaffold/composite.py inlines it)."""

    kind: str
    weight: float | str  # a number, or the name of one of the composite's float parameters
    params: tuple[tuple[str, str, Any], ...]  # (part parameter, "value" | "param", value or composite parameter)
    line: int | None  # the [[terms]] header
    weight_line: int | None
    params_line: int | None


@dataclass(frozen=True)
class LossSpec:
    name: str
    title: str
    summary: str
    task: str
    formula: Program | None
    params: dict[str, Param]
    examples: tuple[Example, ...]
    path: Path
    reference: Reference | None = None
    description: str = ""
    overrides: bool = False
    code: dict[str, str] = field(default_factory=dict)
    origin: str = "built-in"
    lines: dict[str, int] = field(default_factory=dict)  # where keys sit, for located problems
    terms: tuple[Term, ...] = ()  # a composite's parts, as written; its formula is None until composed
    parts: tuple[LossSpec, ...] = ()  # a composed composite's part specs (their files count in its digest)

    def where(self, key: str) -> str:
        return f"{self.path}:{self.lines[key]}" if key in self.lines else str(self.path)

    @property
    def formula_text(self) -> str:
        return self.formula.source.strip() if self.formula else ""

    @property
    def from_logits(self) -> bool:
        return "from_logits" in self.params

    def bind(self, given: dict[str, Any] | None = None, *, check_formula: bool = True) -> dict[str, Any]:
        """All parameter values: the given ones checked, the rest defaults. ValueError on problems, including
        values the formula cannot take (`delta ** 2` overflowing, a take() index beyond MAX_WIDTH)."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for {self.name} (valid: {valid})")
        values = {name: p.check(given[name]) if name in given else p.default for name, p in self.params.items()}
        if check_formula:
            try:
                self.check_values(values)
            except SpecError as exc:
                raise ValueError(f"{exc.message} (in the formula of {self.name}, line {exc.line})") from None
        return values

    def check_values(self, values: dict[str, Any], num_classes: int | None = None) -> None:
        """SpecError at the formula position that these parameter values make fail (see formula.check_values)."""
        if self.formula is not None:
            check_values(self.formula, values, str(self.path), num_classes)


def format_bound(value: float) -> str:
    """A bound or value as people write it: 0 rather than 0.0, 1e-12 as is."""
    return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


# ---------------------------------------------------------------------------------------------
# Locating keys in TOML text (tomllib gives values, not positions)


class _Locator:
    def __init__(self, text: str):
        self.lines = text.splitlines()

    def header(self, header: str, index: int = 0) -> int | None:
        pattern = re.compile(r"^\s*" + re.escape(header) + r"\s*(#.*)?$")
        hits = [i + 1 for i, line in enumerate(self.lines) if pattern.match(line)]
        return hits[index] if index < len(hits) else None

    def key(self, key: str, header: str | None = None, index: int = 0) -> tuple[int | None, int | None]:
        start = 0
        if header is not None:
            found = self.header(header, index)
            if found is None:
                return None, None
            start = found
        pattern = re.compile(r"^(\s*)(" + re.escape(key) + r"|\"" + re.escape(key) + r"\")\s*=")
        for i in range(start, len(self.lines)):
            if i > start and header is not None and self.lines[i].lstrip().startswith("["):
                break
            if header is None and self.lines[i].lstrip().startswith("["):
                break
            match = pattern.match(self.lines[i])
            if match:
                return i + 1, len(match.group(1)) + 1
        if header is None:  # a table rather than a key: `[param.alpha]`, `[[example]]`
            table = re.compile(r"^(\s*)\[\[?\s*(" + re.escape(key) + r"|\"" + re.escape(key) + r"\")\s*[.\]]")
            for i, line in enumerate(self.lines):
                match = table.match(line)
                if match:
                    return i + 1, len(match.group(1)) + 1
        return (start or None), None

    def formula_start(self) -> tuple[int, int]:
        for i, line in enumerate(self.lines):
            match = re.match(r'^\s*formula\s*=\s*("""|\'\'\'|"|\')', line)
            if match:
                rest = line[match.end() :]
                if match.group(1) in ('"""', "'''") and rest.strip() == "":
                    return i + 2, 0
                return i + 1, match.end()
        return 1, 0


# ---------------------------------------------------------------------------------------------
# Loading


def load_spec(path: str | Path, origin: str = "built-in") -> LossSpec:
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            raise SpecError("cannot read spec: not a regular file", str(path))
        with open(path, "rb") as handle:  # bounded: a spec linked to /dev/zero is not read forever
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror}", str(path)) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec file is larger than {MAX_SPEC_BYTES} bytes, the limit", str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the spec as UTF-8", str(path), line, col
        ) from None
    return parse_spec(text, path, origin)


def parse_spec(text: str, path: Path, origin: str = "built-in") -> LossSpec:
    where = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"^(.*) \(at line (\d+), column (\d+)\)$", str(exc))
        if match:
            raise SpecError(
                f"TOML syntax error: {match.group(1)}", where, int(match.group(2)), int(match.group(3))
            ) from None
        raise SpecError(f"TOML syntax error: {exc}", where) from None
    except RecursionError:
        raise SpecError("TOML nests arrays or tables too deeply to read", where) from None
    except ValueError as exc:  # a decimal integer beyond Python's int string limit (4300 digits)
        raise SpecError(
            f"TOML holds a number lossgen cannot read ({_first_line(exc)}); integers in a spec have at most 15 digits",
            where,
            *_long_number_position(text),
        ) from None
    locate = _Locator(text)

    def fail(message: str, key: str, header: str | None = None, index: int = 0) -> SpecError:
        line, col = locate.key(key, header, index)
        return SpecError(message, where, line, col)

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], TOP_KEYS, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise fail(f"unknown key `{unknown[0]}` ({hint}allowed: {', '.join(sorted(TOP_KEYS))})", unknown[0])

    def text_field(key: str, required: bool = True) -> str:
        value = data.get(key, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise (
                fail(f"`{key}` must be a non-empty string", key)
                if key in data
                else SpecError(f"missing required key `{key}`", where, 1, 1)
            )
        return value.strip()

    try:
        _refuse_unsafe_text(data, text, where)
    except RecursionError:
        raise SpecError("the spec nests arrays too deeply", where) from None
    name = text_field("name")
    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise fail(
            f"name {name!r} must be lowercase letters, digits and underscores, starting with a letter "
            f"(at most {MAX_NAME_LENGTH})",
            "name",
        )
    if name != path.stem:
        raise fail(f"name {name!r} must match the file name ({path.stem}.toml)", "name")
    title, summary = text_field("title"), text_field("summary")
    if "\n" in summary:
        raise fail("`summary` must be one line", "summary")
    description = text_field("description", required=False)
    task = text_field("task")
    if task not in TASKS:
        raise fail(f"unknown task {task!r} (allowed: {', '.join(TASKS)})", "task")
    overrides = data.get("overrides", False)
    if not isinstance(overrides, bool):
        raise fail("`overrides` must be true or false", "overrides")

    params = _parse_params(data.get("params", {}), fail)

    code = data.get("code", {})
    if not isinstance(code, dict) or any(k not in CODE_TARGETS or not isinstance(v, str) for k, v in code.items()):
        raise fail(f"[code] holds hand-written bodies keyed by target ({', '.join(CODE_TARGETS)})", "code")
    formula = None
    terms: tuple[Term, ...] = ()
    if "terms" in data:
        for key in ("formula", "code"):
            if key in data:
                raise fail(
                    f"a composite spec ([[terms]]) has no `{key}`: its formula is the weighted sum of its terms", key
                )
        terms = _parse_terms(data["terms"], params, fail, locate)
    elif "formula" in data:
        if not isinstance(data["formula"], str):
            raise fail("`formula` must be a string", "formula")
        line, col = locate.formula_start()
        formula = compile_formula(data["formula"], {n: p.type for n, p in params.items()}, where, line, col)
        _refuse_reserved_or_unused_steps(formula, where)
    elif not code:
        raise SpecError("missing required key `formula` (or a [code] table with hand-written bodies)", where, 1, 1)
    elif set(code) != set(CODE_TARGETS):
        raise fail(f"[code] without a formula needs all of {', '.join(CODE_TARGETS)}", "code")

    reference = None
    if "reference" in data:
        reference = _parse_reference(data["reference"], params, lambda m: fail(m, "reference"))

    examples = _parse_examples(data.get("examples", []), params, fail, locate)
    if not examples:
        raise SpecError("at least one [[examples]] entry with hand-computed values is required", where, 1, 1)
    lines = {key: line for key in ("name", "reference", "code") if (line := locate.key(key)[0])}
    lines["formula"] = locate.formula_start()[0]
    return LossSpec(
        name=name,
        title=title,
        summary=summary,
        task=task,
        formula=formula,
        params=params,
        examples=examples,
        path=path,
        reference=reference,
        description=description,
        overrides=overrides,
        code=dict(code),
        origin=origin,
        lines=lines,
        terms=terms,
    )


MAX_TERMS = 16


def _parse_terms(raw: Any, params: dict[str, Param], fail, locate: _Locator) -> tuple[Term, ...]:
    """A composite's [[terms]]: kind, weight (a number >= 0 or {param = NAME}), params (values or
    {param = NAME}). The parts themselves are looked up and checked when the catalog composes it."""
    if not isinstance(raw, list) or not raw or not all(isinstance(table, dict) for table in raw):
        raise fail("`terms` must be an array of [[terms]] tables (kind, weight, params)", "terms")
    if len(raw) > MAX_TERMS:
        raise fail(f"a composite has at most {MAX_TERMS} terms, got {len(raw)}", "terms")
    terms = []
    for index, table in enumerate(raw):
        line = locate.header("[[terms]]", index)

        def bad(message: str, key: str, index: int = index) -> SpecError:
            return fail(f"term {index + 1}: {message}", key, "[[terms]]", index)

        unknown = sorted(set(table) - {"kind", "weight", "params"})
        if unknown:
            raise bad(f"unknown key `{unknown[0]}` (allowed: kind, weight, params)", unknown[0])
        kind = table.get("kind")
        if not isinstance(kind, str) or not NAME_RE.fullmatch(kind) or len(kind) > MAX_NAME_LENGTH:
            raise bad("`kind` must name a loss kind of the catalog", "kind" if "kind" in table else "weight")
        if "weight" not in table:
            raise bad("missing `weight` (a number >= 0, or { param = NAME } of a float parameter)", "kind")
        weight = _term_binding(table["weight"], params, lambda m: bad(f"`weight` {m}", "weight"))
        if weight[0] == "value":
            value = weight[1]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise bad(f"`weight` must be a finite number >= 0, got {_short(value)}", "weight")
            if isinstance(value, int) and abs(value) > MAX_INT_LITERAL:
                raise bad(f"`weight` {TOO_LONG_INTEGER}", "weight")
            weight_value: float | str = float(value)
        else:
            param = params[weight[1]]
            lower = [v for op, v in param.bounds if op in (">", ">=")]
            if param.type != "float" or not lower or min(lower) < 0:
                raise bad(f"`weight` parameter `{param.name}` must be a float with a bound ge or gt >= 0", "weight")
            weight_value = weight[1]
        bindings = table.get("params", {})
        if not isinstance(bindings, dict):
            raise bad("`params` must be an inline table of the part's parameters", "params")
        bound = tuple(
            (name, *_term_binding(value, params, lambda m, name=name: bad(f"parameter `{name}` {m}", "params")))
            for name, value in bindings.items()
        )
        terms.append(
            Term(
                kind,
                weight_value,
                bound,
                line,
                locate.key("weight", "[[terms]]", index)[0],
                locate.key("params", "[[terms]]", index)[0],
            )
        )
    return tuple(terms)


def _term_binding(value: Any, params: dict[str, Param], bad) -> tuple[str, Any]:
    """("param", name) for `{ param = "name" }` naming one of the composite's parameters, else ("value", v)."""
    if isinstance(value, dict):
        if set(value) != {"param"} or not isinstance(value["param"], str):
            raise bad("must be a value or { param = NAME } naming one of this spec's parameters")
        if value["param"] not in params:
            raise bad(f"names `{value['param']}`, which is not a parameter of this spec ([params.{value['param']}])")
        return "param", value["param"]
    return "value", value


def _strings(value: Any, path: tuple[str, ...]):
    """Every string in the parsed TOML (keys included), with the key path that holds it."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), key
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path)


def _refuse_unsafe_text(data: dict, text: str, where: str) -> None:
    """Refuse characters no generated file can carry (see scaffold/sinks.py), at the key holding them."""
    locate = _Locator(text)
    for path, value in _strings(data, ()):
        index = refused_character(value, multiline=path[0] in MULTILINE_FIELDS)
        if index is None:
            continue
        field = ".".join(path)
        if path[0] == "params" and len(path) >= 3:
            line, col = locate.key(path[2], f"[params.{path[1]}]")
        else:
            line, col = locate.key(path[-1] if path[0] == "params" else path[0])
        if line is None:
            line, col = _position_of_character(text, value[index])
        if value[index] in "\n\t":
            raise SpecError(f"`{field}` must be one line (no newlines or tabs)", where, line, col)
        raise SpecError(
            f"character {describe_character(value[index])} is not allowed in `{field}`: control and "
            "bidirectional-override characters cannot be written safely into generated code",
            where,
            line,
            col,
        )


def _position_of_character(text: str, char: str) -> tuple[int | None, int | None]:
    """Where a character sits in the TOML text, raw or as one of TOML's escapes (keys can hold them)."""
    code = ord(char)
    forms = [
        char,
        {"\n": "\\n", "\t": "\\t"}.get(char, ""),
        f"\\u{code:04x}",
        f"\\u{code:04X}",
        f"\\U{code:08x}",
        f"\\U{code:08X}",
    ]
    for number, line in enumerate(text.splitlines(), start=1):
        hits = [line.find(form) for form in forms if form and form in line]
        if hits:
            return number, min(hits) + 1
    return None, None


def _refuse_reserved_or_unused_steps(program: Program, where: str) -> None:
    """Formula step names that would shadow what the generated code uses (ops, keras, len, c, ...), and
    steps nothing reads."""
    for statement in program.statements:
        if statement.target in RESERVED_LOCALS:
            raise SpecError(
                f"step name `{statement.target}` would shadow a name the generated Python or R code "
                "uses; choose another name",
                where,
                statement.line,
                1,
            )
    for statement in program.unused_steps():
        raise SpecError(
            f"`{statement.target}` is computed but never used: use it in a later step or remove it "
            "(the generated Python and R would carry a dead variable, which their linters reject)",
            where,
            statement.line,
            1,
        )


def _parse_params(raw: Any, fail) -> dict[str, Param]:
    if not isinstance(raw, dict):
        raise fail("`params` must be a table of [params.<name>] tables", "params")
    params: dict[str, Param] = {}
    for pname, table in raw.items():
        header = f"[params.{pname}]"
        if not isinstance(table, dict):
            raise fail(f"parameter `{pname}` must be a table ({header})", pname, "[params]")
        if not NAME_RE.fullmatch(pname) or len(pname) > MAX_NAME_LENGTH or pname in RESERVED_PARAMS:
            raise fail(
                f"parameter name `{pname}` is not allowed (lowercase identifier, not a reserved name)", "type", header
            )
        unknown = sorted(set(table) - PARAM_KEYS)
        if unknown:
            raise fail(
                f"unknown key `{unknown[0]}` in {header} (allowed: {', '.join(sorted(PARAM_KEYS))})", unknown[0], header
            )
        ptype = table.get("type")
        if ptype not in PARAM_TYPES:
            raise fail(
                f"parameter `{pname}`: type must be one of {', '.join(PARAM_TYPES)}, got {ptype!r}", "type", header
            )
        bounds = {}
        for key in ("gt", "ge", "lt", "le"):
            if key in table:
                value = table[key]
                if (
                    ptype not in ("float", "int", "float_list")
                    or isinstance(value, bool)
                    or not isinstance(value, (int, float))
                ):
                    raise fail(f"parameter `{pname}`: `{key}` must be a number and needs a numeric type", key, header)
                bounds[key] = value
        choices = table.get("choices", ())
        if ptype == "choice":
            if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
                raise fail(
                    f"parameter `{pname}`: a choice needs `choices`, a list of strings",
                    "choices" if "choices" in table else "type",
                    header,
                )
        elif "choices" in table:
            raise fail(f'parameter `{pname}`: `choices` is only for type = "choice"', "choices", header)
        help_text = table.get("help", "")
        if not isinstance(help_text, str):
            raise fail(f"parameter `{pname}`: `help` must be a string", "help", header)
        min_length = table.get("min_length", 1)
        if type(min_length) is not int or min_length < 1:
            raise fail(f"parameter `{pname}`: `min_length` must be a positive integer", "min_length", header)
        if "default" not in table:
            raise fail(f"parameter `{pname}` needs a `default`", "type", header)
        param = Param(pname, ptype, None, help_text.strip(), choices=tuple(choices), min_length=min_length, **bounds)
        try:
            default = param.check(table["default"])
        except ValueError as exc:
            raise fail(f"bad default: {exc}", "default", header) from None
        params[pname] = Param(
            pname, ptype, default, help_text.strip(), choices=tuple(choices), min_length=min_length, **bounds
        )
    return params


def _parse_reference(text: Any, params: dict[str, Param], fail) -> Reference:
    message = "`reference` must look like keras.losses.Name(keyword=parameter_or_constant, ...)"
    if not isinstance(text, str):
        raise fail(message)
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise fail(message) from None
    unless = None
    if isinstance(node, ast.IfExp):  # `keras.losses.Poisson() if not log_input else None`
        test = node.test
        if not (
            isinstance(test, ast.UnaryOp)
            and isinstance(test.op, ast.Not)
            and isinstance(test.operand, ast.Name)
            and test.operand.id in params
            and params[test.operand.id].type == "bool"
            and isinstance(node.orelse, ast.Constant)
            and node.orelse.value is None
        ):
            raise fail(message + ", optionally followed by `if not BOOL_PARAMETER else None`")
        unless, node = test.operand.id, node.body
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and isinstance(node.func.value.value, ast.Name)
        and node.func.value.value.id == "keras"
        and node.func.value.attr == "losses"
        and re.match(r"^[A-Z][A-Za-z0-9]*$", node.func.attr)
        and not node.args
    ):
        raise fail(message + " (a keras.losses class, keyword arguments only)")
    kwargs = []
    for kw in node.keywords:
        value = kw.value
        if kw.arg is None or kw.arg.startswith("_") or kw.arg == "reduction":
            raise fail(message)
        if isinstance(value, ast.Name) and value.id in params:
            kwargs.append((kw.arg, "param", value.id))
            continue
        try:
            literal = ast.literal_eval(value)  # literals only: numbers, strings, bools, tuples of them
        except (ValueError, TypeError, MemoryError, RecursionError):  # TypeError: {[1]: 2}, an unhashable key
            raise fail(f"reference argument `{kw.arg}` must be a parameter name or a constant") from None
        if not isinstance(literal, (int, float, str, bool, tuple)) or (
            isinstance(literal, tuple) and not all(type(v) is int for v in literal)
        ):
            raise fail(f"reference argument `{kw.arg}` must be a parameter name or a constant")
        numbers = literal if isinstance(literal, tuple) else (literal,)
        if any(type(v) is int and abs(v) > MAX_INT_LITERAL for v in numbers):
            raise fail(f"reference argument `{kw.arg}` {TOO_LONG_INTEGER}")
        if any(type(v) is float and not math.isfinite(v) for v in numbers):
            raise fail(f"reference argument `{kw.arg}` must be a finite number")
        kwargs.append((kw.arg, "value", literal))
    return Reference(node.func.attr, tuple(kwargs), text.strip(), unless)


def _parse_examples(raw: Any, params: dict[str, Param], fail, locate: _Locator) -> tuple[Example, ...]:
    if not isinstance(raw, list):
        raise fail("`examples` must be an array of [[examples]] tables", "examples")
    examples = []
    for index, table in enumerate(raw):
        line = locate.header("[[examples]]", index)
        if not isinstance(table, dict):
            raise fail(f"example {index + 1} must be a table ([[examples]] with y_true, y_pred and loss)", "examples")

        def bad(message: str, key: str, index: int = index) -> SpecError:
            return fail(f"example {index + 1}: {message}", key, "[[examples]]", index)

        for key in ("y_true", "y_pred", "loss"):
            if key not in table:
                raise bad(f"missing `{key}`", "y_true")
        values = table.get("params", {})
        if not isinstance(values, dict):
            raise bad("`params` must be an inline table", "params")
        unknown = sorted(set(values) - set(params))
        if unknown:
            raise bad(f"unknown parameter `{unknown[0]}` (valid: {', '.join(params) or 'none'})", "params")
        try:
            bound = {name: params[name].check(v) for name, v in values.items()}
        except ValueError as exc:
            raise bad(str(exc), "params") from None
        y_true, y_pred, loss = table["y_true"], table["y_pred"], table["loss"]
        problem = example_problem(y_true, y_pred)  # before any recursion or conversion: hostile sizes
        if problem:
            raise bad(problem, "y_pred" if problem.startswith("`y_pred`") else "y_true")
        for key, value in (("y_true", y_true), ("y_pred", y_pred)):
            if not _is_numeric_array(value) or not isinstance(value, list) or not value:
                raise bad(f"`{key}` must be a non-empty (nested) list of numbers, one row per sample", key)
        if not isinstance(loss, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in loss):
            raise bad("`loss` must be a list of numbers, one per sample", "loss")
        if any(isinstance(v, int) and abs(v) > MAX_INT_LITERAL for v in loss):
            raise bad(f"`loss` {TOO_LONG_INTEGER}", "loss")
        if len(loss) != len(y_pred) or len(y_true) != len(y_pred):
            raise bad(
                f"y_true, y_pred and loss need one entry per sample ({len(y_true)}, {len(y_pred)}, {len(loss)})", "loss"
            )
        examples.append(Example(bound, y_true, y_pred, [float(v) for v in loss], line))
    return tuple(examples)


def example_problem(y_true: Any, y_pred: Any) -> str | None:
    """What makes an example's arrays unusable (ragged, too large), or None: checked without numpy, in
    bounded time, before anything converts them."""
    for key, value in (("y_true", y_true), ("y_pred", y_pred)):
        if not isinstance(value, list):
            return f"`{key}` must be a list of rows, one per sample"
        if len(value) > MAX_EXAMPLE_SAMPLES:
            return f"`{key}` has {len(value)} samples; an example holds at most {MAX_EXAMPLE_SAMPLES}"
        shape, count, problem = _shape(value)
        if problem:
            return f"`{key}` {problem}"
        if len(shape) > MAX_EXAMPLE_RANK:
            return f"`{key}` has {len(shape)} axes; at most {MAX_EXAMPLE_RANK}"
        if count > MAX_EXAMPLE_VALUES:
            return f"`{key}` holds {count} numbers; an example holds at most {MAX_EXAMPLE_VALUES}"
        if len(shape) > 1 and shape[-1] > MAX_WIDTH:
            return f"`{key}` rows have {shape[-1]} values; at most {MAX_WIDTH} (classes or outputs)"
    return None


def _shape(value: Any) -> tuple[tuple[int, ...], int, str | None]:
    """Shape of a nested list of numbers, with an explicit stack (no recursion on hostile nesting)."""
    shape: list[int] = []
    level = [value]
    count = 0
    while True:
        lists = [isinstance(v, list) for v in level]
        if not any(lists):
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in level):
                return (), 0, "must be a non-empty (nested) list of numbers, one row per sample"
            if any(isinstance(v, int) and abs(v) > MAX_INT_LITERAL for v in level):
                return (), 0, TOO_LONG_INTEGER
            return tuple(shape), count or len(level), None
        if not all(lists):
            return (), 0, "mixes numbers and lists: every row needs the same length"
        widths = {len(v) for v in level}
        if len(widths) != 1:
            return (), 0, f"is ragged: rows of lengths {sorted(widths)[:5]}"
        shape.append(widths.pop())
        if len(shape) > MAX_EXAMPLE_RANK:
            return tuple(shape), 0, None
        level = [item for v in level for item in v]
        count = len(level)
        if count > MAX_EXAMPLE_VALUES:
            return tuple(shape), count, None


def _is_numeric_array(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and all(_is_numeric_array(v) for v in value)
