"""One module per target: what the target's templates need, built from a bound spec.

`build_context` is where both meet: the test cases are computed once, the context every project
gets (who it belongs to, the command that re-creates it, the README's fences) is built here, and each
target adds its own part."""

from __future__ import annotations

import datetime
from typing import Any

from scaffold import PYTHON_REQUIRES, __version__, domains, plot, sinks
from scaffold.about import LICENSES, About, license_text
from scaffold.cases import test_data
from scaffold.emit import python as python_emit
from scaffold.emit import r as r_emit
from scaffold.names import Names
from scaffold.record import command_line
from scaffold.spec import LossSpec
from scaffold.targets import python, r

HEADS = {  # output activation of the toy models, by task (and whether y_pred is logits)
    "regression": "linear", "multi_output": "linear", "positive_regression": "softplus",
    "binary": "sigmoid", "categorical": "softmax", "sparse_categorical": "softmax", "metric": "softplus",
}
PLOT_PATH = "docs/loss.png"  # in every generated project, shown in its README (with matplotlib)


def build_context(spec: LossSpec, values: dict[str, Any], names: Names, target: str, name: str,
                  about: About = About()) -> dict[str, Any]:
    logits = bool(values.get("from_logits", False))
    data = test_data(spec, values)
    formula = python.formula_text(spec)
    loss = {
        "version": __version__,
        "title_md": sinks.markdown_text(spec.title), "summary_md": sinks.markdown_text(spec.summary),
        "description_md": sinks.markdown_text(spec.description),
        "formula_md": formula,
        "has_formula": spec.formula is not None,
        "width": domains.width(spec, values),
        "head_activation": "linear" if logits else HEADS[spec.task],
        "has_invalid_params": bool(data["INVALID_PARAMS"]),
        "command": command_line(spec, values, target, name),
        # who the project belongs to: the SPDX id, and the authors as given (each target's context
        # writes them for its own files through scaffold/sinks)
        "license": about.license, "license_name": LICENSES[about.license], "year": datetime.date.today().year,
        "license_text": license_text(about, datetime.date.today().year),
        "python_requires": PYTHON_REQUIRES,
        "authors": [{"name": a.name, "email": a.email} for a in about.authors],
        "has_plot": plot.can_plot(spec), "plot_path": PLOT_PATH,
        # Code blocks in the READMEs hold spec text (formula comments, choices): a fence longer
        # than any backtick run in them keeps each block closed where the template closes it.
        "fence": sinks.markdown_fence(formula, command_line(spec, values, target, name),
                                      *(python_emit.literal(p, values[p.name]) for p in spec.params.values()),
                                      *(r_emit.literal(p, values[p.name]) for p in spec.params.values())),
        # the Python part goes to both targets: the R package's README shows the Python names too
        **python.context(spec, values, data, about),
    }
    if target == "r":
        loss.update(r.context(spec, values, names, data, loss))
    return {"project_slug": names.slug, "package": names.package, "class_name": names.class_name,
            "function_name": names.function_name, "r_package": names.r_package,
            "r_function": names.r_function, "kind": spec.name, "task": spec.task, "_loss": loss}
