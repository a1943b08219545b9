"""A package's losses (specs + values) -> a project on disk: the targets' context (scaffold/targets) through
cookiecutter, black, then install.py.

Everything that comes from a spec (text and generated code) travels in the private `_project` and
`_loss` context variables: cookiecutter renders non-private variables as Jinja templates, and spec text
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

from scaffold import install, library, plot
from scaffold.about import About
from scaffold.errors import LossgenError
from scaffold.library import Member
from scaffold.names import Names
from scaffold.paths import templates_dir
from scaffold.record import RECORD, record_text
from scaffold.spec import LossSpec
from scaffold.targets import build_context, loss_context


PARALLEL_FROM = 24  # jobs (files to format, pictures to draw) from which a process per core pays off


def _black(source: str) -> str | None:
    """The source formatted by black, or None when black leaves it as it is."""
    import black

    try:
        return black.format_file_contents(source, fast=False, mode=black.Mode())
    except black.NothingChanged:
        return None


_formatted: dict[str, str | None] = {}  # source -> black's output: `update` renders base and new, mostly alike


def format_python_tree(root: Path, pool=None) -> int:
    """Run black over every .py file (in `pool`'s processes when given); returns how many it changed."""
    paths = sorted(root.rglob("*.py"))
    sources = {path: path.read_text(encoding="utf-8") for path in paths}
    todo = sorted({source for source in sources.values() if source not in _formatted})
    if len(_formatted) > 4000:  # a long-lived process (a test session) keeps a bounded memo
        _formatted.clear()
        todo = sorted(set(sources.values()))
    try:
        results = pool.map(_black, todo, chunksize=4) if pool is not None else map(_black, todo)
        _formatted.update(zip(todo, results))
    except Exception as exc:  # invalid generated code is lossgen's bug; say where
        where = next((p.name for p, source in sources.items() if source in todo), "?") if len(todo) == 1 else "a file"
        raise LossgenError(f"black could not format {where}: {type(exc).__name__}: {exc}") from None
    changed = 0
    for path, source in sources.items():
        if _formatted[source] is not None:
            path.write_text(_formatted[source], encoding="utf-8")
            changed += 1
    return changed


@contextlib.contextmanager
def _workers(jobs: int) -> Iterator[Any]:
    """A pool of one process per core for a big package (fork: black and matplotlib are imported
    once), or None where starting processes costs more than it saves."""
    cores = os.cpu_count() or 1
    if jobs < PARALLEL_FROM or cores < 2 or not hasattr(os, "fork"):
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import black  # noqa: F401 - imported before the fork, so each worker has it
    with ProcessPoolExecutor(max_workers=min(cores, 8), mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def _draw(job: tuple[LossSpec, dict[str, Any], Path]) -> None:
    spec, values, path = job
    path.parent.mkdir(parents=True, exist_ok=True)
    plot.draw(spec, values, path, with_keras=False)  # the Keras overlay is left to `show --plot`


def preview(spec: LossSpec, values: dict[str, Any], target: str, name: str | None = None) -> str:
    """The loss source for `lossgen show`: the same template file `new` writes, rendered alone."""
    from cookiecutter.environment import StrictEnvironment

    name = name or spec.name
    template_target = "r" if target == "r" else "python"
    context = loss_context(build_context([Member(spec, values, name)], Names.derive(name), template_target, name), 0)
    top = "{{cookiecutter.r_package}}" if template_target == "r" else "{{cookiecutter.project_slug}}"
    root = templates_dir() / template_target
    relative = {"python": "loss/{top}/{{cookiecutter.package}}/{{cookiecutter.module}}.py",
                "numpy": "loss/{top}/tests/{{cookiecutter.module}}/reference.py",
                "r": "project/{top}/R/loss.R"}[target].replace("{top}", top)
    env = StrictEnvironment(context={"cookiecutter": context}, keep_trailing_newline=True)
    text = env.from_string((root / relative).read_text(encoding="utf-8")).render(cookiecutter=context)
    if target in ("python", "numpy"):
        import black

        text = black.format_str(text, mode=black.Mode())
    return text


@contextlib.contextmanager
def rendered_tree(members: list[Member], target: str, name: str, format_code: bool = True,
                  about: About = About()) -> Iterator[Path]:
    """The package rendered and formatted in a safe temporary directory (cookiecutter renders the
    paths it is given as templates, so it never sees the user's paths); removed on exit.

    The project template is rendered once, then the loss template once per loss into the same tree."""
    from cookiecutter.main import cookiecutter

    context = build_context(library.checked(members), Names.derive(name), target, name, about)
    with install.staging_dir(install.safe_temp_base()) as work:
        config = work / "cookiecutter.yaml"
        # Keep cookiecutter's replay file and cache inside the work directory, not in $HOME.
        config.write_text(f"replay_dir: {json.dumps(str(work / 'replay'))}\n"
                          f"cookiecutters_dir: {json.dumps(str(work / 'cache'))}\n", encoding="utf-8")
        templates = install.safe_template(templates_dir() / target, work)

        def render(template: str, extra_context: dict[str, Any]) -> Path:
            return Path(cookiecutter(str(templates / template), no_input=True, extra_context=extra_context,
                                     output_dir=str(work / "out"), config_file=str(config), accept_hooks=False,
                                     overwrite_if_exists=True))

        rendered = render("project", context)
        for index in range(len(members)):
            render("loss", loss_context(context, index))
        pictures = [(member.spec, member.values, rendered / loss["plot_path"])
                    for member, loss in zip(members, context["_project"]["losses"]) if loss["has_plot"]]
        files = len(list(rendered.rglob("*.py"))) if format_code else 0
        with _workers(files + len(pictures)) as pool:
            drawn = pool.map(_draw, pictures) if pool is not None else map(_draw, pictures)
            if format_code:
                format_python_tree(rendered, pool)
            list(drawn)
        yield rendered


def render_project(members: list[Member], target: str, destination: Path, name: str,
                   force: bool = False, format_code: bool = True, about: About = About()) -> install.Installed:
    """Render, format, hash, record, install into `destination` (an existing directory only with force)."""
    destination = install.check_destination(destination.parent, destination.name, allow_non_empty=force)
    fresh = not os.path.lexists(destination)
    output_dir = install.make_output_dir(destination.parent)
    with install.staging_dir(output_dir) as staging, rendered_tree(members, target, name, format_code, about) as rendered:
        install.pause("rendered")
        tree, files = install.stage(rendered, staging)
        (tree / RECORD).write_text(record_text(members, target, name, files, destination, about), encoding="utf-8")
        install.pause("staged")
        return install.install(tree, files, destination, fresh=fresh, must_be_empty=not force,
                               overwrite=force)
