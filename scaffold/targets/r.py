"""The R target's context: the emitted R code, the shared test data as R source, and spec text
escaped for each place it lands (roxygen comments, the Rd file, DESCRIPTION fields)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaffold import domains, sinks
from scaffold.composite import bound_parts
from scaffold.emit import r as r_emit
from scaffold.emit.numpy import evaluate as numpy_evaluate
from scaffold.names import LossNames, Names
from scaffold.spec import LossSpec
from scaffold.targets.python import formula_text, head_activation


def r_literal(value: Any) -> str:
    """Test data as R: numbers as doubles, flat lists as vectors, 2-D data as row-major matrices,
    data of 3 or more axes as arrays (R fills them column-major: the values go in that order)."""
    if isinstance(value, (list, np.ndarray)) and np.ndim(value) >= 3:
        array = np.asarray(value, dtype=np.float64)
        values = ", ".join(r_literal(float(x)) for x in array.flatten(order="F"))
        return f"array(c({values}), dim = c({', '.join(f'{n}L' for n in array.shape)}))"
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


def context(spec: LossSpec, values: dict[str, Any], names: LossNames, data: dict[str, Any]) -> dict[str, Any]:
    """R-only context: the emitted R code, the shared test data as R source, and spec text escaped
    for each place it lands (roxygen comments, the Rd file, DESCRIPTION fields).

    Values are R's: a take() index parameter counts from 1 (lossgen's values, like Python, from 0)."""

    def r_params(params: dict[str, Any]) -> dict[str, Any]:
        return {n: r_emit.r_value(spec, n, v) for n, v in params.items()}

    def r_args(params: dict[str, Any]) -> _RCall:  # parameter values as R source: 3L, TRUE, c(1.0, 2.0)
        return _RCall("list", [(n, _RAtom(r_emit.literal(spec.params[n], v))) for n, v in r_params(params).items()])

    r_values = r_params(values)
    indexes = r_emit.index_params(spec)
    cases = {
        "params": r_args(values),
        "examples": [
            {"params": r_args(e["params"]), **{k: e[k] for k in ("y_true", "y_pred", "loss")}} for e in data["EXAMPLES"]
        ],
        "random_y_true": data["RANDOM_Y_TRUE"],
        "random_y_pred": data["RANDOM_Y_PRED"],
        "random_loss": data["RANDOM_LOSS"] if data["RANDOM_LOSS"] is not None else [],
        "extremes": data["EXTREMES"],
    }
    if spec.parts:  # a composite: the weighted sum of its parts, each computed from its own spec
        cases["random_parts_total"] = sum(
            weight * numpy_evaluate(part, data["RANDOM_Y_TRUE"], data["RANDOM_Y_PRED"], part_values)
            for part, weight, part_values in bound_parts(spec, values)
        )
    invalid = [
        _RCall(
            "list",
            [("name", _RAtom(sinks.r_string(n))), ("value", _RAtom(r_emit.value_literal(r_emit.r_value(spec, n, v))))],
        )
        for n, v in data["INVALID_PARAMS"]
    ]
    extra = [
        _RCall("list", [("name", _RAtom(sinks.r_string(n))), ("value", _RAtom(v))])
        for n, p in spec.params.items()
        for v in r_emit.r_only_invalid(p, r_values[n])
    ]
    # tests/testthat/cases/<module>.R: one list, read by each of the loss's test files (testthat
    # helpers share one environment, so per-loss globals would clash in a package of several)
    tree = _RCall(
        "list",
        [
            ("loss", _RAtom(sinks.r_string(names.r_function))),
            *((key, _r_tree(value)) for key, value in cases.items()),
            ("invalid_params", _RCall("list", [(None, i) for i in invalid])),
            ("invalid_params_r", _RCall("list", [(None, i) for i in extra])),
        ],
    )
    signature = [f"{p} = {r_emit.literal(spec.params[p], v)}" for p, v in r_values.items()]
    first = data["EXAMPLES"][0]
    example_args = [(p, _RAtom(r_emit.literal(spec.params[p], v))) for p, v in r_params(first["params"]).items()]
    # the spec's first example as R code, laid out for roxygen's `#'   ` (README and Rd use it too)
    example = [
        _r_layout(_RCall(names.r_function, example_args), "loss <- ", width=R_WIDTH - 5),
        _r_layout(_r_tree(first["y_true"]), "y_true <- ", width=R_WIDTH - 5),
        _r_layout(_r_tree(first["y_pred"]), "y_pred <- ", width=R_WIDTH - 5),
    ]
    formula = formula_text(spec)
    usage = ", ".join(f"{p} = {r_emit.deparse_literal(spec.params[p], v)}" for p, v in r_values.items())
    help_text = {}
    for p in spec.params.values():
        text = f"{p.help or 'See the spec.'} Allowed: {r_emit.r_allowed(p, p.name in indexes)}."
        if p.name in indexes:
            text += " Counted from 1, as R counts (lossgen's command line and the Python loss count from 0)."
        help_text[p.name] = " ".join(text.split())
    checks = r_emit.check_helpers(spec)
    return {
        "r_body": r_emit.function_body(spec),
        "r_checks": r_emit.param_checks(spec),
        "r_check_helpers": checks,
        "r_uses_last_dim": r_emit.uses_last_dim(spec),
        "r_uses_add_tensors": r_emit.uses_add_tensors(spec),
        "r_signature": ", ".join(signature),
        # this loss's entry of train.R's `losses` list
        "r_train_entry": _r_layout(
            _RCall(
                "list",
                [
                    ("loss", _RAtom(sinks.r_string(names.r_function))),
                    ("params", r_args(values)),
                    ("task", _RAtom(sinks.r_string(spec.task))),
                    ("outputs", _RAtom(f"{domains.width(spec, values)}L")),
                    ("activation", _RAtom(sinks.r_string(head_activation(spec, values)))),
                ],
            ),
            f"{names.module} = ",
            indent=2,
        ),
        "r_definition": _r_definition(names.r_function, signature),
        # Keras' own names run longer than lintr's 30 (keras3: loss_sparse_categorical_crossentropy):
        # such a name is kept whole, so R users find it, and exempt from that one linter.
        "r_name_over_lintr_limit": len(names.r_function) > LINTR_OBJECT_LENGTH,
        "r_cases": _r_layout(tree),
        # roxygen comment text (R/loss.R) and the same text as the Rd file man/ holds, wrapped alike
        "r_title": sinks.roxygen_text(" ".join(spec.title.split())),
        "r_summary": sinks.roxygen_lines(_r_wrap(_reflowed(spec.summary))),
        "r_description": sinks.roxygen_lines(_r_wrap(_reflowed(spec.description))) if spec.description else "",
        "r_formula": sinks.roxygen_lines(_r_wrap(formula, hanging="    ")),
        "r_params_doc": [
            {"name": n, "roxygen": _r_roxygen_param(n, t), "rd": sinks.rd_text(_r_param_wrap(n, t))}
            for n, t in help_text.items()
        ],
        "rd_title": sinks.rd_line(spec.title),
        "rd_summary": sinks.rd_text(_r_wrap(_reflowed(spec.summary))),
        "rd_description": sinks.rd_text(_r_wrap(_reflowed(spec.description))),
        "rd_formula": sinks.rd_text(_r_wrap(formula, hanging="    ")),
        "r_example_code": "\n".join(example),
        "r_example_roxygen": "\n".join("#'   " + line for line in "\n".join(example).split("\n")),
        "rd_example_code": "\n".join("  " + line for line in sinks.rd_code("\n".join(example)).split("\n")),
        "rd_usage": sinks.rd_code(f"{names.r_function}({usage})"),
        # after "#'   # " in R/loss.R, and in the Rd example: lines of at most 80 characters
        "r_example_loss": "\n".join(textwrap.wrap(", ".join(repr(float(v)) for v in first["loss"]), 72)),
        "r_dcf_title": sinks.dcf_text(r_emit.title_case(spec.title)),
        "r_dcf_description": sinks.dcf_text(
            f"{spec.summary.rstrip('.')}. A Keras 3 loss function for R, "
            f"computed with Python Keras through reticulate; generated by "
            f"lossgen from the '{spec.name}' spec."
        ),
        "r_params_md": [
            {
                "name": p.name,
                "r_md": sinks.markdown_code_span(r_emit.literal(p, r_values[p.name])),
                "allowed_md": sinks.markdown_cell(r_emit.r_allowed(p, p.name in indexes)),
                "help_md": sinks.markdown_cell(p.help + (" Counted from 1, as R counts." if p.name in indexes else "")),
            }
            for p in spec.params.values()
        ],
    }


def package_context(losses: list[dict[str, Any]]) -> dict[str, Any]:
    """What the package's shared files need: the argument checks and helpers any loss calls, the
    exports, and DESCRIPTION's Title and Description (a one-loss package keeps its loss's)."""
    helpers = sorted({helper for loss in losses for helper in loss["r_check_helpers"]})
    functions = [loss["r_function"] for loss in losses]
    if len(losses) == 1:
        title, description = losses[0]["r_dcf_title"], losses[0]["r_dcf_description"]
    else:
        title = "Keras 3 Loss Functions"
        description = sinks.dcf_text(
            f"{len(losses)} Keras 3 loss functions for R: "
            + ", ".join(f"{f}()" for f in functions)
            + ". Computed with Python Keras through reticulate; generated by lossgen from the specs "
            + ", ".join(f"'{loss['kind']}'" for loss in losses)
            + "."
        )
    return {
        "r_check_helpers": helpers,
        "r_uses_last_dim": any(loss["r_uses_last_dim"] for loss in losses),
        "r_uses_add_tensors": any(loss["r_uses_add_tensors"] for loss in losses),
        "r_exports": sorted(functions),
        "r_dcf_title": title,
        "r_dcf_description": description,
        # train.R's losses list, and the name it trains by default
        "r_train_losses": ",\n".join("  " + loss["r_train_entry"] for loss in losses),
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
NAME_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "di",
    "da",
    "du",
    "dos",
    "le",
    "la",
    "ten",
    "ter",
    "bin",
    "ibn",
    "al",
}


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


def project_context(names: Names, shared: dict[str, Any]) -> dict[str, Any]:
    """DESCRIPTION's Authors@R and License, and the LICENSE files, from the answers both targets share.

    The maintainer ("cre") is the first author with an e-mail address: R CMD build needs one. Without
    any author lossgen writes `<package> authors` (usethis' copyright holder) as the author, and
    without any e-mail no maintainer: R CMD build then stops and says so, and the README says what to
    add. lossgen never invents an address."""
    from scaffold.about import About, Author, license_text

    authors = [Author(a["name"], a.get("email", "")) for a in shared["authors"]]
    maintainer = next((i for i, a in enumerate(authors) if a.email), None)
    people = [_r_person(a.name, a.email, ["aut", "cre"] if i == maintainer else ["aut"]) for i, a in enumerate(authors)]
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
        out += _wrap_escaped(line, width, line[: len(line) - len(line.lstrip())] + hanging)
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
        candidate = (
            f"{current} {word}" if current else (indent if lines else line[: len(line) - len(line.lstrip())]) + word
        )
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
            return _RCall("matrix", [(None, numbers), ("nrow", _RAtom(str(array.shape[0]))), ("byrow", _RAtom("TRUE"))])
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
