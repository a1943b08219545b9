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

TARGETS = ("python", "r")
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
    r_function: str  # loss_huber

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
            r_function="loss_" + "_".join(base),
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
        loss.update(_r_context(spec, values, names, data))
    return {"project_slug": names.slug, "package": names.package, "class_name": names.class_name,
            "function_name": names.function_name, "r_package": names.r_package,
            "r_function": names.r_function, "kind": spec.name, "task": spec.task, "_loss": loss}


def _toml_authors(about: About) -> str:
    """pyproject's `authors`: an array of inline tables, every string through the TOML writer."""
    tables = [f"{{ name = {sinks.toml_string(a.name)}" + (f", email = {sinks.toml_string(a.email)}" if a.email else "")
              + " }" for a in about.authors]
    return "[" + ", ".join(tables) + "]"


def _r_context(spec: LossSpec, values: dict[str, Any], names: Names, data: dict[str, Any]) -> dict[str, Any]:
    """R-only context: the emitted R code, the shared test data as R source, and spec text escaped
    for each place it lands (roxygen comments, the Rd file, DESCRIPTION fields)."""
    cases = {
        "params": values,
        "examples": [{k: e[k] for k in ("params", "y_true", "y_pred", "loss")} for e in data["EXAMPLES"]],
        "random_y_true": data["RANDOM_Y_TRUE"], "random_y_pred": data["RANDOM_Y_PRED"],
        "random_loss": data["RANDOM_LOSS"] if data["RANDOM_LOSS"] is not None else [],
        "extremes": data["EXTREMES"],
    }
    lines = [f"{key} <- {_r_nested(value)}" for key, value in cases.items()]
    invalid = [f"list(name = {sinks.r_string(n)}, value = {r_emit.value_literal(v)})" for n, v in data["INVALID_PARAMS"]]
    lines.append("invalid_params <- " + _r_list(invalid))
    extra = [f"list(name = {sinks.r_string(n)}, value = {v})" for n, p in spec.params.items()
             for v in r_emit.r_only_invalid(p, values[n])]
    lines.append("invalid_params_r <- " + _r_list(extra))
    signature = ", ".join(f"{p} = {r_emit.literal(spec.params[p], v)}" for p, v in values.items())
    first = data["EXAMPLES"][0]
    example_args = ", ".join(f"{p} = {r_emit.literal(spec.params[p], v)}" for p, v in first["params"].items())
    formula = _formula_text(spec)
    usage = ", ".join(f"{p} = {r_emit.deparse_literal(spec.params[p], v)}" for p, v in values.items())
    help_text = {p.name: f"{p.help or 'See the spec.'} Allowed: {r_emit.r_allowed(p)}." for p in spec.params.values()}
    return {
        "r_body": r_emit.function_body(spec),
        "r_checks": r_emit.param_checks(spec),
        "r_signature": signature,
        "r_cases": "\n".join(lines),
        # roxygen comment text (R/loss.R) and the same text as the Rd file man/ holds
        "r_title": sinks.roxygen_text(" ".join(spec.title.split())),
        "r_summary": sinks.roxygen_lines(spec.summary),
        "r_description": sinks.roxygen_lines(spec.description) if spec.description else "",
        "r_formula": sinks.roxygen_lines(formula),
        "r_params_doc": [{"name": n, "roxygen": sinks.roxygen_text(" ".join(t.split())), "rd": sinks.rd_line(t)}
                         for n, t in help_text.items()],
        "rd_title": sinks.rd_line(spec.title),
        "rd_summary": sinks.rd_text(spec.summary),
        "rd_description": sinks.rd_text(spec.description),
        "rd_formula": sinks.rd_text(formula),
        "r_example_call": f"{names.r_function}({example_args})",
        "rd_example_call": sinks.rd_code(f"{names.r_function}({example_args})"),
        "rd_usage": sinks.rd_code(f"{names.r_function}({usage})"),
        "r_example_y_true": _r_nested(first["y_true"]),
        "r_example_y_pred": _r_nested(first["y_pred"]),
        "r_example_loss": ", ".join(repr(float(v)) for v in first["loss"]),
        "r_dcf_title": sinks.dcf_text(r_emit.title_case(spec.title)),
        "r_dcf_description": sinks.dcf_text(f"{spec.summary.rstrip('.')}. A Keras 3 loss function for R, "
                                            f"computed with Python Keras through reticulate; generated by "
                                            f"lossgen from the '{spec.name}' spec."),
        "r_params_md": [{"name": p.name, "r_md": sinks.markdown_code_span(r_emit.literal(p, values[p.name])),
                         "allowed_md": sinks.markdown_cell(r_emit.r_allowed(p)), "help_md": sinks.markdown_cell(p.help)}
                        for p in spec.params.values()],
    }


def _r_list(items: list[str]) -> str:
    """An R list() of already-rendered items, one per line."""
    return "list(\n  " + ",\n  ".join(items) + "\n)" if items else "list()"


def _r_nested(value: Any) -> str:
    """R source for test data: lists of examples become R lists, 2-D data row-major matrices and
    deeper data arrays with numpy's shape (so reticulate hands Python the same array)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return _r_list([_r_nested(v) for v in value])
    if isinstance(value, dict):
        return "list(" + ", ".join(f"{k} = {_r_nested(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, np.ndarray)) and len(value) == 0:
        return "NULL"
    if isinstance(value, (list, np.ndarray)) and not isinstance(value, str):
        array = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value
        if array.ndim > 2:  # R arrays are column-major: fill the reversed shape, then transpose back
            flat = ", ".join(r_literal(float(x)) for x in array.reshape(-1))
            dims = ", ".join(f"{n}L" for n in reversed(array.shape))
            return f"aperm(array(c({flat}), dim = c({dims})))"
    return r_literal(value)


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
