"""A package's losses (specs + values) -> a Tree in memory: the targets' context (scaffold/targets)
through cookiecutter and black. What happens to the tree (plan, commit) is not this module's concern.

Everything that comes from a spec (text and generated code) travels in the private `_project` and
`_loss` context variables: cookiecutter renders non-private variables as Jinja templates, and spec text
must never be executed as a template. Paths are rendered too, so cookiecutter only sees a safe
temporary directory, never the user's.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scaffold import library, plot, workspace
from scaffold.about import About
from scaffold.errors import LossgenError, UsageError
from scaffold.library import Member
from scaffold.names import Names
from scaffold.paths import templates_dir
from scaffold.spec import LossSpec
from scaffold.targets import build_context, loss_context
from scaffold.tree import Tree

PARALLEL_FROM = 24  # jobs (files to format, pictures to draw) from which a process per core pays off


def _black(source: str) -> str | None:
    """The source formatted by black, or None when black leaves it as it is."""
    import black

    try:
        return black.format_file_contents(source, fast=False, mode=black.Mode())
    except black.NothingChanged:
        return None


def black_bytes(content: bytes) -> bytes:
    """Python (a merged file) formatted like the rest; as it is when black cannot read it."""
    try:
        formatted = _black(content.decode("utf-8"))
    except Exception:
        return content
    return content if formatted is None else formatted.encode("utf-8")


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


def _fork_unsafe() -> bool:
    """Whether this process has loaded a deep learning runtime (lossgen called as a library after
    Keras ran): its threads and objects do not survive a fork (TensorFlow aborts in the child when
    the garbage collector frees one of its functions), so the work stays in this process."""
    return any(name in sys.modules for name in ("tensorflow", "torch", "jax"))


@contextlib.contextmanager
def _workers(jobs: int) -> Iterator[Any]:
    """A pool of one process per core for a big package (fork: black and matplotlib are imported
    once), or None where starting processes costs more than it saves."""
    cores = os.cpu_count() or 1
    if jobs < PARALLEL_FROM or cores < 2 or not hasattr(os, "fork") or _fork_unsafe():
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import black  # noqa: F401 - imported before the fork, so each worker has it

    with ProcessPoolExecutor(
        max_workers=min(cores, 8),
        mp_context=multiprocessing.get_context("fork"),
        initializer=workspace.die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        yield pool


def _draw(job: tuple[LossSpec, dict[str, Any], Path]) -> None:
    spec, values, path = job
    path.parent.mkdir(parents=True, exist_ok=True)
    plot.draw(spec, values, path, with_keras=False)  # the Keras overlay is left to `show --plot`


def preview(spec: LossSpec, values: dict[str, Any], target: str, name: str | None = None) -> str:
    """The loss source for `lossgen show`: the same template file `new` writes, rendered alone."""
    from cookiecutter.environment import StrictEnvironment

    from scaffold.targets import TARGETS_BY_NAME

    name = name or spec.name
    kind = TARGETS_BY_NAME["python" if target == "numpy" else target]  # numpy: the Python project's reference
    context = loss_context(build_context([Member(spec, values, name)], Names.derive(name), kind.name, name), 0)
    top = kind.top_template
    root = kind.template_dir
    relative = {
        "python": "loss/{top}/{{cookiecutter.package}}/{{cookiecutter.module}}.py",
        "numpy": "loss/{top}/tests/{{cookiecutter.module}}/reference.py",
        "r": "project/{top}/R/loss.R",
    }[target].replace("{top}", top)
    env = StrictEnvironment(context={"cookiecutter": context}, keep_trailing_newline=True)
    text = env.from_string((root / relative).read_text(encoding="utf-8")).render(cookiecutter=context)
    if target in ("python", "numpy"):
        import black

        text = black.format_str(text, mode=black.Mode())
    return text


def _collect(root: Path) -> dict[str, bytes]:
    """The regular files of a rendered tree; bytecode never counts (the files lossgen writes are a
    function of the record, not of whether Python imported something on the way)."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or path.is_symlink() or not path.is_file():
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def render_tree(
    members: list[Member],
    target: str,
    name: str,
    about: About = About(),
    format_code: bool = True,
    project: Path | None = None,
    only: frozenset[str] | None = None,
) -> Tree:
    """The package rendered and formatted in a safe temporary directory (cookiecutter renders the
    paths it is given as templates, so it never sees the user's paths), returned in memory.

    The project template is rendered once, then the loss template once per loss in `only` (all when
    None). `project`: where it goes, so the README's command names a --catalog relative to it."""
    from cookiecutter.main import cookiecutter

    if only is not None or any(plot.can_plot(m.spec) for m in members):
        problem = plot.plot_missing()
        if problem:
            raise UsageError(f"{problem}; nothing was written")
    context = build_context(library.checked(members), Names.derive(name), target, name, about, project)
    chosen = [i for i, m in enumerate(members) if only is None or m.name in only]
    with workspace.scratch_dir() as work:
        config = work / "cookiecutter.yaml"
        # Keep cookiecutter's replay file and cache inside the work directory, not in $HOME.
        config.write_text(
            f"replay_dir: {json.dumps(str(work / 'replay'))}\ncookiecutters_dir: {json.dumps(str(work / 'cache'))}\n",
            encoding="utf-8",
        )
        templates = workspace.safe_template(templates_dir() / target, work)

        def render(template: str, extra_context: dict[str, Any]) -> Path:
            return Path(
                cookiecutter(
                    str(templates / template),
                    no_input=True,
                    extra_context=extra_context,
                    output_dir=str(work / "out"),
                    config_file=str(config),
                    accept_hooks=False,
                    overwrite_if_exists=True,
                )
            )

        rendered = render("project", context)
        owners: dict[str, str] = {}
        before = set(_paths(rendered))
        for index in chosen:
            render("loss", loss_context(context, index))
            now = set(_paths(rendered))
            owners.update({path: members[index].name for path in now - before})
            before = now
        losses = context["_project"]["losses"]
        pictures = [
            (members[i].spec, members[i].values, rendered / losses[i]["plot_path"])
            for i in chosen
            if losses[i]["has_plot"]
        ]
        owners.update({losses[i]["plot_path"]: members[i].name for i in chosen if losses[i]["has_plot"]})
        files = len(list(rendered.rglob("*.py"))) if format_code else 0
        with _workers(files + len(pictures)) as pool:
            drawn = pool.map(_draw, pictures) if pool is not None else map(_draw, pictures)
            if format_code:
                format_python_tree(rendered, pool)
            list(drawn)
        workspace.pause("rendered")
        return Tree(_collect(rendered), owners, None if only is None else frozenset(only))


def _paths(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
