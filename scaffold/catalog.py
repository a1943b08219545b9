"""Finding loss specs: team catalogs first, then the built-ins.

Order of precedence (earlier wins; documented in docs/team-catalogs.md):
  1. --catalog DIR options, in the order given
  2. LOSSGEN_PATH, a path list (os.pathsep-separated)
  3. [tool.lossgen] catalogs = [...] in the nearest pyproject.toml above the working directory that
     has a [tool.lossgen] table (`update` and `check` look from the project's directory)
  4. installed packages' `lossgen.catalogs` entry points
  5. the built-in catalog
A team spec that reuses a built-in name must say `overrides = true`.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from scaffold import bounded_toml
from scaffold.errors import SpecError, UsageError
from scaffold.paths import builtin_losses_dir

if TYPE_CHECKING:
    from scaffold.spec import LossSpec

ENTRY_POINT_GROUP = "lossgen.catalogs"
MAX_PYPROJECT_BYTES = 4 << 20
MAX_PYPROJECT_DEPTH = 32  # real tool tables nest a few levels; tomllib would recurse once per level


@dataclass(frozen=True)
class Source:
    directory: Path
    origin: str  # how the directory was found, shown by `lossgen list`


@dataclass
class Catalog:
    specs: dict[str, LossSpec] = field(default_factory=dict)

    def names(self, task: str | None = None) -> list[str]:
        return sorted(n for n, s in self.specs.items() if task is None or s.task == task)

    def get(self, name: str) -> LossSpec:
        if name in self.specs:
            return self.specs[name]
        close = self.suggestions(name)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise UsageError(f"unknown kind {name!r} ({hint}see `lossgen list`)")

    def suggestions(self, name: str, limit: int = 4) -> list[str]:
        """Kinds a typo may have meant: those with `name` as one of their words (`focal`: binary_focal and
        sparse_focal), else difflib's closest, keeping all that score as well as the best (ties)."""
        word = name.strip().lower().replace("-", "_")
        words = [n for n in self.names() if word and word in n.split("_")]
        if words:
            return words[:limit]
        close = difflib.get_close_matches(word, self.specs, n=limit, cutoff=0.5)
        if not close:
            return []
        best = difflib.SequenceMatcher(None, word, close[0]).ratio()
        return [c for c in close if difflib.SequenceMatcher(None, word, c).ratio() >= best - 0.05]


def discover_sources(
    catalog_dirs: tuple[str, ...] = (), env: dict | None = None, cwd: Path | None = None
) -> list[Source]:
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    sources = [Source(Path(d), "--catalog") for d in catalog_dirs]
    sources += [Source(Path(d), "LOSSGEN_PATH") for d in env.get("LOSSGEN_PATH", "").split(os.pathsep) if d]
    sources += _pyproject_sources(cwd)
    sources += _entry_point_sources()
    for source in sources:
        if not source.directory.is_dir():
            raise UsageError(f"catalog directory {source.directory} (from {source.origin}) does not exist")
    return sources + [Source(builtin_losses_dir(), "built-in")]


def _pyproject_sources(cwd: Path) -> list[Source]:
    for directory in (cwd, *cwd.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                if pyproject.stat().st_size > MAX_PYPROJECT_BYTES:
                    raise SpecError(
                        f"larger than {MAX_PYPROJECT_BYTES >> 20} MiB; not read for [tool.lossgen]", str(pyproject)
                    )
                config = bounded_toml.loads(pyproject.read_text(encoding="utf-8"), MAX_PYPROJECT_DEPTH)
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, bounded_toml.TooDeep) as exc:
                raise SpecError(f"cannot read [tool.lossgen]: {exc}", str(pyproject)) from None
            tool = config.get("tool", {})
            if isinstance(tool, dict) and "lossgen" not in tool:
                continue  # e.g. a generated project's own pyproject.toml: the team's is further up
            lossgen = tool.get("lossgen", {}) if isinstance(tool, dict) else None
            dirs = lossgen.get("catalogs", []) if isinstance(lossgen, dict) else None
            if not isinstance(dirs, list) or not all(isinstance(d, str) and d for d in dirs):
                raise SpecError(
                    "[tool.lossgen] must be a table whose `catalogs` is a list of directory paths", str(pyproject)
                )
            return [Source(directory / d, f"{pyproject}") for d in dirs]
    return []


def _entry_point_sources() -> list[Source]:
    sources = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        what = f"entry point {entry_point.name} = {entry_point.value}"
        try:
            target = entry_point.load()
            if callable(target) and not isinstance(target, type):
                target = target()
        except Exception as exc:  # a broken plugin must not take the CLI down with a traceback
            raise UsageError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        if isinstance(target, ModuleType) and getattr(target, "__file__", None):
            path = Path(target.__file__).parent
        elif isinstance(target, (str, os.PathLike)) and str(target):
            path = Path(target)
        else:
            raise UsageError(
                f"{what} must name a package, a directory path, or a function returning a path "
                f"(got {type(target).__name__})"
            )
        dist = entry_point.dist.name if entry_point.dist else entry_point.value
        sources.append(Source(path, f"entry point {entry_point.name} ({dist})"))
    return sources


def spec_files(directory: Path) -> list[Path]:
    """The spec files of a catalog directory; hidden files (editor backups, macOS `._x.toml`) are not specs."""
    try:
        return sorted(p for p in directory.glob("*.toml") if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise UsageError(f"cannot read catalog directory {directory}: {exc.strerror}") from None


def load_catalog(catalog_dirs: tuple[str, ...] = (), env: dict | None = None, cwd: Path | None = None) -> Catalog:
    from scaffold.spec import load_spec

    catalog = Catalog()
    builtin_names = {p.stem for p in spec_files(builtin_losses_dir())}
    for source in discover_sources(catalog_dirs, env, cwd):
        for path in spec_files(source.directory):
            if path.stem in catalog.specs:
                continue  # an earlier source wins
            spec = load_spec(path, origin=source.origin)
            if source.origin != "built-in" and spec.name in builtin_names and not spec.overrides:
                raise SpecError(f"'{spec.name}' is a built-in kind; rename it or set `overrides = true`", str(path), 1)
            catalog.specs[spec.name] = spec
    compose_all(catalog)
    return catalog


def compose_all(catalog: Catalog) -> None:
    """Inline every composite spec ([[terms]]) from its parts in the same catalog."""
    from scaffold.composite import compose

    loaded = dict(catalog.specs)
    for name, spec in loaded.items():
        if spec.terms:
            catalog.specs[name] = compose(spec, loaded.get)


def file_finder(directory: Path):
    """Parts of a spec checked on its own (`lossgen validate FILE`, a recorded copy): a spec file of its
    directory, else a catalog's."""
    from scaffold.spec import load_spec

    def find(name: str, catalog: Catalog | None = None):
        path = directory / f"{name}.toml"
        if path.is_file():
            return load_spec(path, origin="validate")
        if catalog is not None:
            return catalog.specs.get(name)
        builtin = builtin_losses_dir() / f"{name}.toml"
        return load_spec(builtin) if builtin.is_file() else None

    return find
