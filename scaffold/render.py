"""Spec + values -> a project on disk: the targets' context (scaffold/targets) through
cookiecutter, black, then install.py.

Everything that comes from a spec (text and generated code) travels in the private `_loss`
context variable: cookiecutter renders non-private variables as Jinja templates, and spec text
must never be executed as a template. Paths are rendered too, so cookiecutter only sees a safe
temporary directory; install.py stages the result beside the destination and commits it without
touching anything lossgen did not write, and record.py writes the project's `.lossgen.toml`.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from scaffold import install, plot
from scaffold.about import About
from scaffold.errors import LossgenError
from scaffold.names import Names
from scaffold.paths import templates_dir
from scaffold.record import RECORD, record_text
from scaffold.spec import LossSpec
from scaffold.targets import PLOT_PATH, build_context


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
