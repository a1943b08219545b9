"""Spec + values -> a project on disk: context building, cookiecutter, black, then install.py.

Everything that comes from a spec (text and generated code) travels in the private `_loss`
context variable: cookiecutter renders non-private variables as Jinja templates, and spec text
must never be executed as a template. Paths are rendered too, so cookiecutter only sees a safe
temporary directory; install.py stages the result beside the destination and commits it without
touching anything lossgen did not write, and record.py writes the project's `.lossgen.toml`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

import datetime

from scaffold import PYTHON_REQUIRES, __version__, domains, plot
from scaffold.about import LICENSES, About, license_text
from scaffold.emit import numpy as numpy_emit
from scaffold.emit import python as python_emit
from scaffold.emit import r as r_emit
from scaffold import install
from scaffold.errors import LossgenError, UsageError
from scaffold import sinks
from scaffold.paths import templates_dir
from scaffold.record import RECORD, command_line, record_text
from scaffold.spec import LossSpec, Param

HEADS = {  # output activation of the toy models, by task (and whether y_pred is logits)
    "regression": "linear", "multi_output": "linear", "positive_regression": "softplus",
    "binary": "sigmoid", "categorical": "softmax", "sparse_categorical": "softmax", "metric": "softplus",
}
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
SEED = 20240229
PLOT_PATH = "docs/loss.png"  # in every generated project, shown in its README (with matplotlib)


@dataclass(frozen=True)
class Names:
    """Every name derived from the project name, validated once here."""

    slug: str  # project directory and distribution name: huber-loss
    package: str  # Python import name: huber_loss
    class_name: str  # HuberLoss
    function_name: str  # huber_loss
    r_package: str  # R package name (no underscores): huberloss
    r_function: str  # huber_loss: keras3 names its losses loss_*, so a *_loss name never collides

    @classmethod
    def derive(cls, name: str) -> "Names":
        if not NAME_RE.fullmatch(name) or len(name) > 60:
            raise UsageError(f"invalid name {name!r}: use letters, digits, '-' and '_', starting with a letter "
                             "(at most 60 characters)")
        words = [w for w in re.split(r"[-_]+", name.lower()) if w]
        if words[-1] != "loss":
            words.append("loss")
        base = [w for w in words[:-1]] or ["custom"]
        return cls(
            slug="-".join(words),
            package="_".join(words),
            class_name="".join(w.capitalize() for w in words),
            function_name="_".join(words),
            r_package="".join(words),
            r_function="_".join([*base, "loss"]),
        )

    def directory(self, target: str) -> str:
        return self.r_package if target == "r" else self.slug


# ---------------------------------------------------------------------------------------------
# Literals for generated data files


def py_literal(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"np.array({py_literal(value.tolist())})"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, (list, tuple)):
        items = ", ".join(py_literal(v) for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return sinks.python_string(value)
    return repr(value)


def r_literal(value: Any) -> str:
    """Test data as R: numbers as doubles, flat lists as vectors, 2-D data as row-major matrices."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return r_emit.value_literal(float(value))
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        flat = [x for row in value for x in row]
        return f"matrix(c({', '.join(r_literal(x) for x in flat)}), nrow = {len(value)}, byrow = TRUE)"
    if isinstance(value, list) and value:
        return f"c({', '.join(r_literal(v) for v in value)})"
    if isinstance(value, dict):
        return "list(" + ", ".join(f"{k} = {r_literal(v)}" for k, v in value.items()) + ")"
    return r_emit.value_literal(value)  # booleans, strings, None, empty lists


# ---------------------------------------------------------------------------------------------
# Context


def invalid_values(param: Param) -> list[Any]:
    """Values the generated constructor must reject, for the generated tests."""
    if param.type == "bool":
        return []
    if param.type == "choice":
        return ["not-a-choice"]
    bad: list[Any] = []
    for op, bound in param.bounds:
        bad.append({">": bound, ">=": bound - 1, "<": bound, "<=": bound + 1}[op])
    if param.type == "int":
        return [int(v) if float(v).is_integer() else v for v in bad]
    bad = [float(v) for v in bad] + [float("nan")]
    if param.type == "float_list":
        return [[v] * max(param.min_length, 1) for v in bad] + ([[]] if param.min_length >= 1 else [])
    return bad + ([float("inf")] if not any(op in ("<", "<=") for op, _ in param.bounds) else [])


def test_data(spec: LossSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Inputs and expected values shared by the Python and R tests."""
    rng = np.random.default_rng(SEED)
    random = domains.sample(spec, values, rng)
    reference = numpy_emit.evaluate(spec, random.y_true, random.y_pred, values) if spec.formula else None
    examples = [
        # Examples were computed by hand with the spec's defaults for every parameter they do not name.
        {"id": f"example_{i}", "params": spec.bind(example.params), "y_true": example.y_true,
         "y_pred": example.y_pred, "loss": example.loss}
        for i, example in enumerate(spec.examples, start=1)
    ]
    extremes = [{"name": c.name, "y_true": c.y_true.tolist(), "y_pred": c.y_pred.tolist()}
                for c in domains.extremes(spec, values)]
    invalid = [(name, v) for name, p in spec.params.items() for v in invalid_values(p)]
    return {"PARAMS": values, "EXAMPLES": examples, "RANDOM_Y_TRUE": random.y_true,
            "RANDOM_Y_PRED": random.y_pred, "RANDOM_LOSS": reference, "EXTREMES": extremes,
            "INVALID_PARAMS": invalid}


def build_context(spec: LossSpec, values: dict[str, Any], names: Names, target: str, name: str,
                  about: About = About()) -> dict[str, Any]:
    logits = bool(values.get("from_logits", False))
    head = "linear" if logits else HEADS[spec.task]
    params = [
        {"name": p.name, "python": python_emit.literal(p, values[p.name]),
         "python_md": sinks.markdown_code_span(python_emit.literal(p, values[p.name])),
         "allowed_doc": sinks.python_docstring(p.describe_allowed()),
         "allowed_md": sinks.markdown_cell(p.describe_allowed()),
         "help_doc": sinks.python_docstring(" ".join((p.help or "See the spec.").split())),
         "help_md": sinks.markdown_cell(p.help)}
        for p in spec.params.values()
    ]
    data = test_data(spec, values)
    checks = python_emit.param_checks(spec)
    reference = None
    if spec.reference:
        kwargs = {**spec.reference.bind(values), "reduction": None, "dtype": "float64"}
        reference = f"{spec.reference.cls}(" + ", ".join(f"{k}={py_literal(v)}" for k, v in kwargs.items()) + ")"
    y_true_doc, y_pred_doc = _input_docs(spec)
    loss = {
        "version": __version__,
        "title_doc": sinks.python_docstring(spec.title), "summary_doc": sinks.python_docstring(spec.summary),
        "description_doc": sinks.python_docstring(spec.description),
        "title_md": sinks.markdown_text(spec.title), "summary_md": sinks.markdown_text(spec.summary),
        "description_md": sinks.markdown_text(spec.description),
        "summary_toml": sinks.toml_string(spec.summary),
        "formula_doc": sinks.python_docstring(_formula_text(spec)), "formula_md": _formula_text(spec),
        "y_true_doc": y_true_doc, "y_pred_doc": y_pred_doc,
        "params": params,
        "params_python": py_literal(values),
        "example_args": ", ".join(f"{p['name']}={p['python']}" for p in params),
        "example_args_doc": sinks.python_docstring(", ".join(f"{p['name']}={p['python']}" for p in params)),
        "python_body": python_emit.function_body(spec),
        "float64_lost_on_torch": python_emit.float64_lost_on_torch(python_emit.function_body(spec)),
        "python_checks": checks,
        "uses_math": "math." in checks,
        "numpy_body": numpy_emit.function_body(spec),
        "numpy_helpers": numpy_emit.helper_sources(spec),
        "has_formula": spec.formula is not None,
        "reference": reference,
        "reference_class": spec.reference.cls if spec.reference else "",
        "width": domains.width(spec, values),
        "head_activation": head,
        "has_invalid_params": bool(data["INVALID_PARAMS"]),
        "cases_python": "\n".join(f"{k} = {py_literal(v)}" for k, v in data.items()),
        "command": command_line(spec, values, target, name),
        # who the project belongs to: the SPDX id, and the authors as given (each target's context
        # writes them for its own files through scaffold/sinks)
        "license": about.license, "license_name": LICENSES[about.license], "year": datetime.date.today().year,
        "license_text": license_text(about, datetime.date.today().year),
        "authors_toml": _toml_authors(about),
        "python_requires": PYTHON_REQUIRES,
        "authors": [{"name": a.name, "email": a.email} for a in about.authors],
        "has_plot": plot.can_plot(spec), "plot_path": PLOT_PATH,
        # Code blocks in the READMEs hold spec text (formula comments, choices): a fence longer
        # than any backtick run in them keeps each block closed where the template closes it.
        "fence": sinks.markdown_fence(_formula_text(spec), command_line(spec, values, target, name),
                                      *(python_emit.literal(p, values[p.name]) for p in spec.params.values()),
                                      *(r_emit.literal(p, values[p.name]) for p in spec.params.values())),
    }
    if target == "r":
        loss.update(_r_context(spec, values, names, data, loss))
    return {"project_slug": names.slug, "package": names.package, "class_name": names.class_name,
            "function_name": names.function_name, "r_package": names.r_package,
            "r_function": names.r_function, "kind": spec.name, "task": spec.task, "_loss": loss}


def _toml_authors(about: About) -> str:
    """pyproject's `authors`: an array of inline tables, every string through the TOML writer."""
    tables = [f"{{ name = {sinks.toml_string(a.name)}" + (f", email = {sinks.toml_string(a.email)}" if a.email else "")
              + " }" for a in about.authors]
    return "[" + ", ".join(tables) + "]"


def _r_context(spec: LossSpec, values: dict[str, Any], names: Names, data: dict[str, Any],
               shared: dict[str, Any]) -> dict[str, Any]:
    """R-only context: the emitted R code, the shared test data as R source, and spec text escaped
    for each place it lands (roxygen comments, the Rd file, DESCRIPTION fields).

    Values are R's: a take() index parameter counts from 1 (lossgen's values, like Python, from 0).
    `shared` is the context both targets get (license, year, authors)."""
    def r_params(params: dict[str, Any]) -> dict[str, Any]:
        return {n: r_emit.r_value(spec, n, v) for n, v in params.items()}

    def r_args(params: dict[str, Any]) -> _RCall:  # parameter values as R source: 3L, TRUE, c(1.0, 2.0)
        return _RCall("list", [(n, _RAtom(r_emit.literal(spec.params[n], v))) for n, v in r_params(params).items()])

    r_values = r_params(values)
    indexes = r_emit.index_params(spec)
    cases = {
        "params": r_args(values),
        "examples": [{"params": r_args(e["params"]), **{k: e[k] for k in ("y_true", "y_pred", "loss")}}
                     for e in data["EXAMPLES"]],
        "random_y_true": data["RANDOM_Y_TRUE"], "random_y_pred": data["RANDOM_Y_PRED"],
        "random_loss": data["RANDOM_LOSS"] if data["RANDOM_LOSS"] is not None else [],
        "extremes": data["EXTREMES"],
    }
    lines = [_r_layout(_r_tree(value), f"{key} <- ") for key, value in cases.items()]
    invalid = [_RCall("list", [("name", _RAtom(sinks.r_string(n))),
                               ("value", _RAtom(r_emit.value_literal(r_emit.r_value(spec, n, v))))])
               for n, v in data["INVALID_PARAMS"]]
    lines.append(_r_layout(_RCall("list", [(None, i) for i in invalid]), "invalid_params <- "))
    extra = [_RCall("list", [("name", _RAtom(sinks.r_string(n))), ("value", _RAtom(v))])
             for n, p in spec.params.items() for v in r_emit.r_only_invalid(p, r_values[n])]
    lines.append(_r_layout(_RCall("list", [(None, i) for i in extra]), "invalid_params_r <- "))
    signature = [f"{p} = {r_emit.literal(spec.params[p], v)}" for p, v in r_values.items()]
    first = data["EXAMPLES"][0]
    example_args = [(p, _RAtom(r_emit.literal(spec.params[p], v))) for p, v in r_params(first["params"]).items()]
    # the spec's first example as R code, laid out for roxygen's `#'   ` (README and Rd use it too)
    example = [_r_layout(_RCall(names.r_function, example_args), "loss <- ", width=R_WIDTH - 5),
               _r_layout(_r_tree(first["y_true"]), "y_true <- ", width=R_WIDTH - 5),
               _r_layout(_r_tree(first["y_pred"]), "y_pred <- ", width=R_WIDTH - 5)]
    formula = _formula_text(spec)
    usage = ", ".join(f"{p} = {r_emit.deparse_literal(spec.params[p], v)}" for p, v in r_values.items())
    help_text = {}
    for p in spec.params.values():
        text = f"{p.help or 'See the spec.'} Allowed: {r_emit.r_allowed(p, p.name in indexes)}."
        if p.name in indexes:
            text += (" Counted from 1, as R counts (lossgen's command line and the Python loss count"
                     " from 0).")
        help_text[p.name] = " ".join(text.split())
    checks = r_emit.check_helpers(spec)
    return {
        "r_body": r_emit.function_body(spec),
        "r_checks": r_emit.param_checks(spec),
        "r_check_helpers": checks,
        "r_uses_last_dim": r_emit.uses_last_dim(spec),
        "r_signature": ", ".join(signature),
        "r_params_list": _r_layout(r_args(values), "loss_params <- "),
        "r_definition": _r_definition(names.r_function, signature),
        # Keras' own names run longer than lintr's 30 (keras3: loss_sparse_categorical_crossentropy):
        # such a name is kept whole, so R users find it, and exempt from that one linter.
        "r_name_over_lintr_limit": len(names.r_function) > LINTR_OBJECT_LENGTH,
        "r_cases": "\n".join(lines),
        # roxygen comment text (R/loss.R) and the same text as the Rd file man/ holds, wrapped alike
        "r_title": sinks.roxygen_text(" ".join(spec.title.split())),
        "r_summary": sinks.roxygen_lines(_r_wrap(_reflowed(spec.summary))),
        "r_description": sinks.roxygen_lines(_r_wrap(_reflowed(spec.description))) if spec.description else "",
        "r_formula": sinks.roxygen_lines(_r_wrap(formula, hanging="    ")),
        "r_params_doc": [{"name": n, "roxygen": _r_roxygen_param(n, t), "rd": sinks.rd_text(_r_param_wrap(n, t))}
                         for n, t in help_text.items()],
        "rd_title": sinks.rd_line(spec.title),
        "rd_summary": sinks.rd_text(_r_wrap(_reflowed(spec.summary))),
        "rd_description": sinks.rd_text(_r_wrap(_reflowed(spec.description))),
        "rd_formula": sinks.rd_text(_r_wrap(formula, hanging="    ")),
        "r_example_code": "\n".join(example),
        "r_example_roxygen": "\n".join("#'   " + line for line in "\n".join(example).split("\n")),
        "rd_example_code": "\n".join("  " + line for line in sinks.rd_code("\n".join(example)).split("\n")),
        "rd_usage": sinks.rd_code(f"{names.r_function}({usage})"),
        "r_example_loss": ", ".join(repr(float(v)) for v in first["loss"]),
        "r_dcf_title": sinks.dcf_text(r_emit.title_case(spec.title)),
        "r_dcf_description": sinks.dcf_text(f"{spec.summary.rstrip('.')}. A Keras 3 loss function for R, "
                                            f"computed with Python Keras through reticulate; generated by "
                                            f"lossgen from the '{spec.name}' spec."),
        "r_params_md": [{"name": p.name, "r_md": sinks.markdown_code_span(r_emit.literal(p, r_values[p.name])),
                         "allowed_md": sinks.markdown_cell(r_emit.r_allowed(p, p.name in indexes)),
                         "help_md": sinks.markdown_cell(p.help + (" Counted from 1, as R counts."
                                                                  if p.name in indexes else ""))}
                        for p in spec.params.values()],
        **_r_about(names, shared),
    }


R_WIDTH = 80  # lintr's default line length


# R's DESCRIPTION License field for each SPDX id lossgen knows (the names R's license database
# accepts, as usethis writes them); MIT and BSD-3-Clause are templates that need `+ file LICENSE`,
# a two-line YEAR / COPYRIGHT HOLDER file. The full text is always LICENSE.md, left out of the build.
R_LICENSES = {
    "Apache-2.0": "Apache License (>= 2)",
    "MIT": "MIT + file LICENSE",
    "BSD-3-Clause": "BSD_3_clause + file LICENSE",
    "GPL-3.0-or-later": "GPL (>= 3)",
    "MPL-2.0": "MPL-2.0",
}
NAME_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "le", "la", "ten",
                  "ter", "bin", "ibn", "al"}


def _r_person(name: str, email: str, roles: list[str]) -> str:
    """utils::person() source for one author: family name from the last word (with a particle
    before it: van Rossum), given names the rest; a one-word name is given only."""
    words = name.split()
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in NAME_PARTICLES:
        cut -= 1
    given, family = (" ".join(words[:cut]), " ".join(words[cut:])) if len(words) > 1 else (name, "")
    parts = [sinks.r_string(given)] + ([sinks.r_string(family)] if family else [])
    if email:
        parts.append(f"email = {sinks.r_string(email)}")
    role = sinks.r_string(roles[0]) if len(roles) == 1 else "c(" + ", ".join(map(sinks.r_string, roles)) + ")"
    parts.append(f"role = {role}")
    return "person(" + ", ".join(parts) + ")"


def _r_about(names: Names, shared: dict[str, Any]) -> dict[str, Any]:
    """DESCRIPTION's Authors@R and License, and the LICENSE files, from the answers both targets share.

    The maintainer ("cre") is the first author with an e-mail address: R CMD build needs one. Without
    any author lossgen writes `<package> authors` (usethis' copyright holder) as the author, and
    without any e-mail no maintainer: R CMD build then stops and says so, and the README says what to
    add. lossgen never invents an address."""
    from scaffold.about import About, Author, license_text

    authors = [Author(a["name"], a.get("email", "")) for a in shared["authors"]]
    maintainer = next((i for i, a in enumerate(authors) if a.email), None)
    people = [_r_person(a.name, a.email, ["aut", "cre"] if i == maintainer else ["aut"])
              for i, a in enumerate(authors)]
    holders = authors or [Author(f"{names.r_package} authors")]
    if not people:
        people = [_r_person(holders[0].name, "", ["aut", "cph"])]
    field = people[0] if len(people) == 1 else "c(\n    " + ",\n    ".join(people) + "\n  )"
    license_field = R_LICENSES[shared["license"]]
    return {
        "r_authors": field,
        "r_has_maintainer": maintainer is not None,
        "r_license": license_field,
        "r_license_stub": "LICENSE" if "file LICENSE" in license_field else "",  # no file: none needed
        "r_copyright_holder": sinks.dcf_text(", ".join(a.name for a in holders)),
        "r_license_text": license_text(About(shared["license"], tuple(holders)), shared["year"]),
    }


LINTR_OBJECT_LENGTH = 30  # lintr's default object_length_linter


def _r_definition(function: str, signature: list[str]) -> str:
    """`name <- function(...) {`, its arguments aligned under the first one when they do not fit."""
    head = f"{function} <- function("
    one_line = head + ", ".join(signature) + ") {"
    if len(one_line) <= R_WIDTH or not signature:
        return one_line
    return (",\n" + " " * len(head)).join([head + signature[0], *signature[1:]]) + ") {"


def _reflowed(text: str) -> str:
    """Prose with the lines of each paragraph joined, as Rd renders it anyway, so that wrapping at
    80 columns does not leave the spec's own line breaks as ragged short lines. Blank lines,
    indented lines and list items ("- ", "* ") keep their own line."""
    lines: list[str] = []
    for line in text.split("\n"):
        keeps_its_line = not line.strip() or line[:1].isspace() or line.startswith(("- ", "* "))
        if lines and lines[-1].strip() and not lines[-1][:1].isspace() and not keeps_its_line:
            lines[-1] += " " + line
        else:
            lines.append(line)
    return "\n".join(lines)


def _r_wrap(text: str, width: int = R_WIDTH - 3, hanging: str = "") -> str:
    """Lines longer than a roxygen comment line can hold (`#' ` + text, escaped), wrapped at spaces
    (their continuation lines indented as the line, plus `hanging`); shorter lines, blank lines and
    the text's own line breaks are kept."""
    out = []
    for line in text.split("\n"):
        out += _wrap_escaped(line, width, line[:len(line) - len(line.lstrip())] + hanging)
    return "\n".join(out)


def _wrap_escaped(line: str, width: int, indent: str = "", first: int | None = None) -> list[str]:
    """One line as lines of at most `width` characters once escaped for roxygen (`%` and braces
    gain a backslash, `@` doubles; the first line may have `first` instead), split at spaces only."""
    def size(text: str) -> int:
        return len(sinks.roxygen_text(text))

    limit = width if first is None else first
    if size(line) <= limit:
        return [line]
    lines, current = [], ""
    for word in _glued_after_apostrophe(line.split()):
        candidate = f"{current} {word}" if current else (indent if lines else line[:len(line) - len(line.lstrip())]) + word
        if current and size(candidate) > limit:
            lines.append(current)
            current, limit = indent + word, width
        else:
            current = candidate
    return lines + [current]


def _glued_after_apostrophe(words: list[str]) -> list[str]:
    """Words ending in an apostrophe joined to the next: a roxygen line ending in `'` after the one
    `#'` opens reads to lintr as a string constant, i.e. commented code."""
    out: list[str] = []
    for word in words:
        if out and out[-1].endswith("'"):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def _r_param_wrap(name: str, text: str) -> str:
    """A parameter's description as wrapped lines: the first after `#' @param NAME `, the others
    after `#'   ` (roxygen2 keeps these line breaks in the Rd file)."""
    return "\n".join(_wrap_escaped(text, R_WIDTH - 5, first=R_WIDTH - len(f"#' @param {name} ")))


def _r_roxygen_param(name: str, text: str) -> str:
    lines = sinks.roxygen_text(_r_param_wrap(name, text)).split("\n")
    return "\n#'   ".join(lines)


@dataclass(frozen=True)
class _RAtom:
    text: str


@dataclass(frozen=True)
class _RCall:
    """An R call for the data layout: `function(name = value, ...)`."""
    function: str
    args: list[tuple[str | None, Any]]


def _r_tree(value: Any) -> Any:
    """Test data as an R call tree: lists of examples become R lists, 2-D data row-major matrices
    and deeper data arrays with numpy's shape (so reticulate hands Python the same array)."""
    if isinstance(value, (_RAtom, _RCall)):  # already R source
        return value
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return _RCall("list", [(None, _r_tree(v)) for v in value])
    if isinstance(value, dict):
        return _RCall("list", [(k, _r_tree(v)) for k, v in value.items()])
    if isinstance(value, (list, np.ndarray)) and len(value) == 0:
        return _RAtom("NULL")
    if isinstance(value, (list, np.ndarray)):
        array = np.asarray(value, dtype=float)
        numbers = _RCall("c", [(None, _RAtom(r_literal(float(x)))) for x in array.reshape(-1)])
        if array.ndim > 2:  # R arrays are column-major: fill the reversed shape, then transpose back
            dims = _RAtom("c(" + ", ".join(f"{n}L" for n in reversed(array.shape)) + ")")
            return _RCall("aperm", [(None, _RCall("array", [(None, numbers), ("dim", dims)]))])
        if array.ndim == 2:
            return _RCall("matrix", [(None, numbers), ("nrow", _RAtom(str(array.shape[0]))),
                                     ("byrow", _RAtom("TRUE"))])
        return numbers
    return _RAtom(r_literal(value))


def _r_flat(node: Any) -> str:
    if isinstance(node, _RAtom):
        return node.text
    args = ", ".join((f"{k} = " if k else "") + _r_flat(v) for k, v in node.args)
    return f"{node.function}({args})"


def _r_layout(node: Any, prefix: str = "", indent: int = 0, width: int = R_WIDTH) -> str:
    """R source of `node` after `prefix`, starting `indent` columns in, within `width` (and room for
    a comma after it): a call that does not fit puts its arguments on lines of their own, and a c()
    of numbers fills its lines."""
    flat = prefix + _r_flat(node)
    if isinstance(node, _RAtom) or indent + len(flat) + 1 <= width:
        return flat
    inner = " " * (indent + 2)
    if node.function == "c" and all(isinstance(v, _RAtom) and k is None for k, v in node.args):
        rows, row = [], ""
        for _, atom in node.args:
            item = atom.text + ","
            if row and len(inner) + len(row) + 1 + len(item) > width:
                rows.append(row)
                row = item
            else:
                row = f"{row} {item}" if row else item
        rows.append(row[:-1])
        body = "\n".join(inner + r for r in rows)
    else:
        parts = [_r_layout(v, f"{k} = " if k else "", indent + 2, width) for k, v in node.args]
        body = ",\n".join(inner + part for part in parts)
    return f"{prefix}{node.function}(\n{body}\n{' ' * indent})"


def _formula_text(spec: LossSpec) -> str:
    return spec.formula_text or "(hand-written code; see the function body)"


def _input_docs(spec: LossSpec) -> tuple[str, str]:
    logits = "logits if ``from_logits``, else probabilities" if spec.from_logits else "probabilities"
    return {
        "regression": ("Targets, shape ``(batch, d)`` or ``(batch,)``.", "Predictions, shape ``(batch, d)``."),
        "positive_regression": ("Non-negative targets, shape ``(batch, d)``.", "Positive predictions, shape ``(batch, d)``."),
        "multi_output": ("Targets, shape ``(batch, outputs)``.", "Predictions, shape ``(batch, outputs)``."),
        "binary": ("0/1 labels, shape ``(batch, d)`` or ``(batch,)``.", f"Predicted {logits}, shape ``(batch, d)``."),
        "categorical": ("One-hot (or soft) labels, shape ``(batch, classes)``.", f"Predicted {logits}, shape ``(batch, classes)``."),
        "sparse_categorical": ("Integer labels, shape ``(batch,)`` or ``(batch, 1)``.", f"Predicted {logits}, shape ``(batch, classes)``."),
        "metric": ("Pair labels, 1 for similar and 0 for dissimilar, shape ``(batch, 1)``.", "Distances, shape ``(batch, 1)``."),
    }[spec.task]


# ---------------------------------------------------------------------------------------------
# Rendering


def format_python_tree(root: Path) -> int:
    """Run black over every .py file; returns how many it changed."""
    import black

    mode = black.Mode()
    changed = 0
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        try:
            formatted = black.format_file_contents(source, fast=False, mode=mode)
        except black.NothingChanged:
            continue
        except Exception as exc:  # invalid generated code is lossgen's bug; say where
            raise LossgenError(f"black could not format {path.name}: {exc}") from None
        path.write_text(formatted, encoding="utf-8")
        changed += 1
    return changed


def preview(spec: LossSpec, values: dict[str, Any], target: str, name: str | None = None) -> str:
    """The loss source for `lossgen show`: the same template file `new` writes, rendered alone."""
    from cookiecutter.environment import StrictEnvironment

    names = Names.derive(name or spec.name)
    template_target = "r" if target == "r" else "python"
    context = build_context(spec, values, names, template_target, name or spec.name)
    top = "{{cookiecutter.r_package}}" if template_target == "r" else "{{cookiecutter.project_slug}}"
    root = templates_dir() / template_target / top
    relative = {"python": "{{cookiecutter.package}}/loss.py", "numpy": "tests/reference.py",
                "r": "R/loss.R"}[target]
    env = StrictEnvironment(context={"cookiecutter": context}, keep_trailing_newline=True)
    text = env.from_string((root / relative).read_text(encoding="utf-8")).render(cookiecutter=context)
    if target in ("python", "numpy"):
        import black

        text = black.format_str(text, mode=black.Mode())
    return text


@contextlib.contextmanager
def rendered_tree(spec: LossSpec, values: dict[str, Any], target: str, name: str,
                  format_code: bool = True, about: About = About()) -> Iterator[Path]:
    """The project rendered and formatted in a safe temporary directory (cookiecutter renders the
    paths it is given as templates, so it never sees the user's paths); removed on exit."""
    from cookiecutter.main import cookiecutter

    context = build_context(spec, values, Names.derive(name), target, name, about)
    with install.staging_dir(install.safe_temp_base()) as work:
        config = work / "cookiecutter.yaml"
        # Keep cookiecutter's replay file and cache inside the work directory, not in $HOME.
        config.write_text(f"replay_dir: {json.dumps(str(work / 'replay'))}\n"
                          f"cookiecutters_dir: {json.dumps(str(work / 'cache'))}\n", encoding="utf-8")
        template = install.safe_template(templates_dir() / target, work)
        rendered = Path(cookiecutter(str(template), no_input=True, extra_context=context,
                                     output_dir=str(work / "out"), config_file=str(config), accept_hooks=False))
        if format_code:
            format_python_tree(rendered)
        if context["_loss"]["has_plot"]:  # docs/loss.png; the Keras overlay is left to `show --plot` (no TensorFlow here)
            (rendered / PLOT_PATH).parent.mkdir(parents=True, exist_ok=True)
            plot.draw(spec, values, rendered / PLOT_PATH, with_keras=False)
        yield rendered


def render_project(spec: LossSpec, values: dict[str, Any], target: str, destination: Path,
                   name: str | None = None, force: bool = False, format_code: bool = True,
                   given: set[str] | None = None, about: About = About()) -> install.Installed:
    """Render, format, hash, record, install into `destination` (an existing directory only with force)."""
    name = name or spec.name
    destination = install.check_destination(destination.parent, destination.name, allow_non_empty=force)
    fresh = not os.path.lexists(destination)
    output_dir = install.make_output_dir(destination.parent)
    with install.staging_dir(output_dir) as staging, rendered_tree(spec, values, target, name, format_code, about) as rendered:
        install.pause("rendered")
        tree, files = install.stage(rendered, staging)
        (tree / RECORD).write_text(record_text(spec, values, target, name, files, destination, given, about), encoding="utf-8")
        install.pause("staged")
        return install.install(tree, files, destination, fresh=fresh, must_be_empty=not force,
                               overwrite=force)
