"""One module per target: what the target's templates need, built from a package's bound specs.

`build_context` is where both meet: each loss's test cases are computed once, the context every
project gets (who it belongs to, the command that re-creates it, the README's fences) is built here,
and each target adds its own part, per loss and for the package.

The context has two levels. `_project` is the package: its names, license, authors and `losses`, the
list the project templates loop over. `loss_context` is what a per-loss template sees: the package's
names, the loss's own names at the top level (`module`, `class_name`, `function_name`, `r_function`,
`kind`, `task`) and the loss under `_loss`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import PYTHON_REQUIRES, __version__, domains, plot, sinks
from scaffold.about import LICENSES, About, license_text
from scaffold.cases import test_data
from scaffold.emit import python as python_emit
from scaffold.emit import r as r_emit
from scaffold.library import Member
from scaffold.names import Names
from scaffold.record import command_line
from scaffold.targets import python, r
from scaffold.tasks import LABELS_SHAPED_AS_PREDICTIONS


@dataclass(frozen=True)
class Target:
    """What lossgen knows of one target, in one place: where its template is, what its project
    directory is called, what it adds to the context, how its tests run and how it is used."""

    name: str
    top_template: str  # the template's top directory, as cookiecutter names it
    directory: Callable[[Names], str]
    project_context: Callable[[Names, dict[str, Any]], dict[str, Any]]
    loss_context: Callable[..., dict[str, Any]]  # (spec, values, loss names, test data): the target's own part
    package_context: Callable[[list[dict[str, Any]]], dict[str, Any]]
    usage: Callable[[Path, Names, list[Member]], str]
    tests: Callable[..., list]  # (projects, echo, backend) -> a TestReport per project
    test_command: str  # how a user runs a project's tests, from its directory

    @property
    def template_dir(self) -> Path:
        from scaffold.paths import templates_dir

        return templates_dir() / self.name

    def run_tests(self, projects: list[Path], echo=None, backend: str = "tensorflow") -> list:
        return self.tests(projects, echo, backend)


def _nothing(*args: Any) -> dict[str, Any]:
    return {}


def _python_usage(project: Path, names: Names, members: list[Member]) -> str:
    return (
        f'Use it: pip install -e {project}, then model.compile(optimizer="adam", '
        f"loss={names.package}.{members[0].names.class_name}()){_more(members)}"
    )


def _r_usage(project: Path, names: Names, members: list[Member]) -> str:
    return (
        f"Use it: R CMD INSTALL {project}, then in R: library({names.r_package}); "
        f'model$compile(optimizer = "adam", loss = {members[0].names.r_function}()){_more(members)}'
    )


def _pytest(projects: list[Path], echo, backend: str) -> list:
    from scaffold.check import run_python_tests

    return run_python_tests(projects, echo, backend=backend)


def _testthat(projects: list[Path], echo, backend: str) -> list:
    from scaffold.check import run_r_tests

    return run_r_tests(projects, echo)  # the R tests run Keras on TensorFlow, whatever the backend


def _more(members: list[Member]) -> str:
    return f" (and {len(members) - 1} more: see its README)" if len(members) > 1 else ""


PYTHON = Target(
    "python",
    "{{cookiecutter.project_slug}}",
    lambda names: names.slug,
    _nothing,
    _nothing,
    _nothing,
    _python_usage,
    _pytest,
    "python -m pytest",
)
R = Target(
    "r",
    "{{cookiecutter.r_package}}",
    lambda names: names.r_package,
    r.project_context,
    r.context,
    r.package_context,
    _r_usage,
    _testthat,
    "Rscript -e 'testthat::test_local()'",
)
TARGETS_BY_NAME = {target.name: target for target in (PYTHON, R)}

LOSS_NAME_KEYS = ("module", "class_name", "function_name", "r_function", "kind", "task")


def plot_path(module: str) -> str:
    """Where a loss's plot goes in every generated project, shown in its README (with matplotlib)."""
    return f"docs/{module}.png"


def build_context(
    members: list[Member], names: Names, target: str, name: str, about: About = About(), destination: Path | None = None
) -> dict[str, Any]:
    """`destination`: where the package goes; the README's command names a --catalog relative to it."""
    year = about.year
    command = command_line(members, target, name, destination)
    project = {
        "version": __version__,
        "command": command,
        "catalog_relative": destination is not None and any(m.spec.origin == "--catalog" for m in members),
        # who the project belongs to: the SPDX id, and the authors as given (each target's context
        # writes them for its own files through scaffold/sinks)
        "license": about.license,
        "license_name": LICENSES[about.license],
        "year": year,
        "license_text": license_text(about, year),
        "python_requires": PYTHON_REQUIRES,
        "authors": [{"name": a.name, "email": a.email} for a in about.authors],
        "authors_toml": python.toml_authors(about),
    }
    kind = TARGETS_BY_NAME[target]
    project.update(kind.project_context(names, project))
    losses = [_loss(member, kind) for member in members]
    project["losses"] = losses
    project["has_plot"] = any(loss["has_plot"] for loss in losses)
    # train.py's synthetic data, one branch per kind of target (multi_output's is regression's)
    project["data_tasks"] = list(
        dict.fromkeys(
            "regression" if loss["task"] == "multi_output" else loss["task"]
            for loss in losses
            if loss["task"] not in ("metric", "embedding")  # their data make_data builds apart
        )
    )
    project["summary_toml"] = (
        losses[0]["summary_toml"]
        if len(losses) == 1
        else sinks.toml_string(
            "Keras 3 losses: " + ", ".join(loss["function_name"] for loss in losses) + " (generated by lossgen)"
        )
    )
    # Code blocks in the READMEs hold spec text (formula comments, choices): a fence longer than any
    # backtick run in them keeps each block closed where the template closes it.
    project["fence"] = sinks.markdown_fence(command, *(loss["fence_text"] for loss in losses))
    project.update(kind.package_context(losses))
    return {"project_slug": names.slug, "package": names.package, "r_package": names.r_package, "_project": project}


def _loss(member: Member, target: Target) -> dict[str, Any]:
    spec, values, names = member.spec, member.values, member.names
    data = test_data(spec, values)
    formula = python.formula_text(spec)
    loss = {
        "module": names.module,
        "class_name": names.class_name,
        "function_name": names.function_name,
        "r_function": names.r_function,
        "kind": spec.name,
        "task": spec.task,
        "title_md": sinks.markdown_text(spec.title),
        "summary_md": sinks.markdown_text(spec.summary),
        "description_md": sinks.markdown_text(spec.description),
        "formula_md": formula,
        "has_formula": spec.formula is not None,
        "is_composite": bool(spec.parts),
        "width": domains.width(spec, values),
        "head_activation": python.head_activation(spec, values),
        "has_invalid_params": bool(data["INVALID_PARAMS"]),
        "has_label_rank": spec.task not in LABELS_SHAPED_AS_PREDICTIONS,
        "has_plot": plot.can_plot(spec),
        "plot_path": plot_path(names.module),
        "fence_text": "\n".join(
            [
                formula,
                *(python_emit.literal(p, values[p.name]) for p in spec.params.values()),
                *(r_emit.literal(p, values[p.name]) for p in spec.params.values()),
            ]
        ),
        # the Python part goes to both targets: the R package's README shows the Python names too
        **python.context(spec, values, data),
    }
    loss.update(target.loss_context(spec, values, names, data))
    return loss


def loss_context(context: dict[str, Any], index: int) -> dict[str, Any]:
    """What the per-loss template renders with: the package's context, one loss in front."""
    loss = context["_project"]["losses"][index]
    return {**context, **{key: loss[key] for key in LOSS_NAME_KEYS}, "_loss": loss}
