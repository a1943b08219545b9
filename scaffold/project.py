"""One project through one run, as copier's Worker carries one: its directory handle, its lock, its
record (read once, bounded, typed), its catalog (loaded once), and what a generation of it is.

    Project      the directory (confine.Root), locked from opening to the end of the commit; an
                 interrupted commit is finished or undone before the record is read
    Generation   members + target + name + about + where: frozen; render() -> Tree
    follow()     a recorded loss as generated (base) and as lossgen would generate it now
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from scaffold import __version__, bounded_toml, commit
from scaffold.about import About
from scaffold.catalog import Catalog, discover_sources, load_catalog
from scaffold.confine import Root
from scaffold.errors import SpecError, UsageError
from scaffold.library import Member
from scaffold.paths import templates_dir
from scaffold.record import RECORD, LossEntry, Record, read_record, spec_digest, spec_text

_generators: dict[str, str] = {}
MAX_COMPOSITE_DEPTH = 8


def generator_digest(target: str) -> str:
    """sha256 of what turns a record into files for `target`: lossgen's version, its code and its
    templates (not the built-in specs: those are each loss's input, hashed on their own)."""
    if target not in _generators:
        digest = hashlib.sha256(__version__.encode())
        code = Path(__file__).resolve().parent
        roots = [code, templates_dir() / target, templates_dir() / "licenses"]
        for root in roots:
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    if root == code and "templates" in path.relative_to(code).parts:
                        continue
                    digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _generators[target] = digest.hexdigest()
    return _generators[target]


def projects_in(path: Path) -> list[Path]:
    """A project, or the two of a `--target both` pair (`huber-loss/python`, `huber-loss/r`)."""
    path = Path(path)
    if os.path.lexists(path / RECORD):
        return [path]
    pair = [path / target for target in ("python", "r") if os.path.lexists(path / target / RECORD)]
    return pair or [path]  # read_record says what is wrong with it


class Project:
    """A lossgen project directory, opened for one run."""

    def __init__(self, path: Path, root: Root):
        self.path = Path(path)
        self.root = root
        self.notes: list[str] = []
        self._catalogs: dict[tuple[str, ...], Catalog] = {}

    @cached_property
    def record(self) -> Record:
        return read_record(self.path)

    @property
    def has_record(self) -> bool:
        found = self.root.find(RECORD)
        return found.exists or bool(found.blocked)

    def catalog(self, catalogs: tuple[str, ...]) -> Catalog:
        """Every spec the project's losses may come from, loaded once: --catalog first, then each
        recorded catalog (relative to the project), then discovery from the project's directory."""
        recorded = []
        for entry in self.record.losses:
            if entry.catalog:
                directory = (self.path / entry.catalog).resolve()
                if directory.is_dir():
                    recorded.append(str(directory))
                elif not catalogs:
                    raise UsageError(
                        f"{self.path / RECORD}: the spec's catalog {entry.catalog} ({directory}) is gone; "
                        "pass --catalog DIR to say where the spec lives now"
                    )
        key = tuple(dict.fromkeys((*catalogs, *recorded)))
        if key not in self._catalogs:
            self._catalogs[key] = load_catalog(key, cwd=self.path.resolve())
        return self._catalogs[key]

    def spec_sha(self, entry: LossEntry, catalogs: tuple[str, ...]) -> str | None:
        """The digest record.spec_digest gives the spec `entry` would be generated from today, found
        without compiling any spec (for `check`); None when it cannot be found that way."""
        dirs = list(catalogs) + ([str(self.path / entry.catalog)] if entry.catalog else [])
        try:
            sources = discover_sources(tuple(dirs), cwd=self.path.resolve())
        except (UsageError, SpecError):
            return None
        return _spec_file_digest(entry.kind, [source.directory for source in sources])


def _spec_file_digest(kind: str, directories: list[Path], depth: int = 0) -> str | None:
    """sha256 of the first `kind.toml` in `directories`; for a composite ([[terms]]), folded with each
    part's digest in the order of its terms, as record.spec_digest does for a composed spec."""
    path = next((d / f"{kind}.toml" for d in directories if (d / f"{kind}.toml").is_file()), None)
    if path is None or depth > MAX_COMPOSITE_DEPTH:
        return None
    try:
        raw = path.read_bytes()
        terms = bounded_toml.loads(raw.decode("utf-8"), 8).get("terms") if b"terms" in raw else None
    except (OSError, ValueError):  # unreadable or malformed: the full comparison says what is wrong
        return None
    digest = hashlib.sha256(raw)
    if not terms:
        return digest.hexdigest()
    for term in terms:
        part = term.get("kind") if isinstance(term, dict) else None
        part_digest = _spec_file_digest(part, directories, depth + 1) if isinstance(part, str) else None
        if part_digest is None:
            return None
        digest.update(b"\0" + part.encode() + b"\0" + part_digest.encode())
    return digest.hexdigest()


@contextlib.contextmanager
def opened(
    paths: list[Path], say: Callable[[str], None] | None = None, create: bool = False
) -> Iterator[list[Project]]:
    """The projects at `paths`, each locked (in path order, so two runs never deadlock), an interrupted
    commit of theirs finished or undone first. create: make a missing directory (for `new`)."""
    with contextlib.ExitStack() as stack:
        projects: list[Project] = []
        for path in sorted(paths, key=lambda p: str(Path(p).resolve())):
            if create:
                from scaffold.workspace import os_errors

                with os_errors("cannot create", path):
                    Path(path).mkdir(parents=True, exist_ok=True)
            root = stack.enter_context(Root(path))
            stack.enter_context(commit.locked(root, say=say))
            projects.append(Project(path, root))
        held = {p.path.resolve(): p.root for p in projects}
        for project in projects:
            done = commit.recover(project.root, held)
            if done:
                project.notes.append(done)
        yield sorted(projects, key=lambda p: [Path(x).resolve() for x in paths].index(p.path.resolve()))


@dataclass(frozen=True)
class Generation:
    """What one project is generated from: everything its files are a function of."""

    members: tuple[Member, ...]
    target: str
    name: str
    about: About
    project: Path  # where it goes: the README's command names a --catalog relative to it

    def render(self, format_code: bool = True, only: frozenset[str] | None = None):
        from scaffold.render import render_tree

        return render_tree(list(self.members), self.target, self.name, self.about, format_code, self.project, only)


# ---------------------------------------------------------------------------------------------
# Following a recorded loss


@dataclass
class InputChanges:
    """What changed in what the project is generated from, said before anything is touched."""

    loss: str = ""  # the loss these inputs belong to ("" for a one-loss project: no need to say)
    params: list[tuple[str, Any, Any]] = field(default_factory=list)  # (name, old, new); None: absent
    spec_diff: list[str] = field(default_factory=list)  # unified diff of the spec text
    old_digest: str = ""
    new_digest: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def spec_changed(self) -> bool:
        return bool(self.old_digest) and self.old_digest != self.new_digest

    @property
    def changed(self) -> bool:
        return self.spec_changed or bool(self.params)

    def lines(self) -> list[str]:
        of = f"{self.loss}: " if self.loss else ""
        out = [f"  {of}{name}: {_shown(old)} -> {_shown(new)}" for name, old, new in self.params]
        if self.spec_changed:
            out.append(f"  {of}the spec changed: sha256 {self.old_digest[:12]} -> {self.new_digest[:12]}")
            out += ["    " + line.rstrip("\n") for line in self.spec_diff]
        return out


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def find_spec(project: Project, entry: LossEntry, catalogs: tuple[str, ...]):
    """The spec as it is today, from where the loss's spec came from (or --catalog)."""
    catalog = project.catalog(catalogs)
    if entry.kind not in catalog.specs:
        raise UsageError(
            f"the spec {entry.kind!r} loss {entry.name!r} was generated from is not in its catalog any "
            f"more (recorded origin: {entry.spec_origin or 'unknown'}); pass --catalog DIR where it "
            "lives now"
        )
    return catalog.get(entry.kind)


def recorded_spec(project: Project, entry: LossEntry, catalogs: tuple[str, ...] = ()):
    """The spec as it was at generation, from the record's copy; None for records without one. It
    sits where the record says its catalog is, so it renders the same command line as then. A
    composite's parts come from the catalog as it is today (the record holds no copy of them)."""
    from scaffold.composite import compose
    from scaffold.spec import parse_spec

    if not entry.spec_text:
        return None
    directory = (project.path / entry.catalog) if entry.catalog else Path(".")
    try:
        spec = parse_spec(entry.spec_text, directory / f"{entry.kind}.toml", origin=entry.spec_origin)
        return compose(spec, project.catalog(catalogs).specs.get) if spec.terms else spec
    except SpecError as exc:
        raise UsageError(f"{project.path / RECORD}: the recorded spec no longer loads: {exc.message}") from None


def _bind(spec, values: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return spec.bind(values)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def follow(
    project: Project, entry: LossEntry, catalogs: tuple[str, ...], overrides: dict[str, Any], label: str
) -> tuple[Member, Member, InputChanges]:
    """One recorded loss as generated (base) and as lossgen would generate it now, and what changed."""
    where = f"{project.path / RECORD} ({entry.name})" if label else str(project.path / RECORD)
    spec = find_spec(project, entry, catalogs)
    inputs = InputChanges(loss=label, old_digest=entry.spec_sha256, new_digest=spec_digest(spec))
    if inputs.spec_changed and entry.spec_text:
        inputs.spec_diff = list(
            difflib.unified_diff(
                entry.spec_text.splitlines(keepends=True),
                spec_text(spec).splitlines(keepends=True),
                "recorded spec",
                str(spec.path),
                n=1,
            )
        )
    base_spec = recorded_spec(project, entry, catalogs)
    if base_spec is None:
        base_spec = spec
        if inputs.spec_changed or not inputs.old_digest:
            inputs.notes.append(
                "the record has no copy of the spec (lossgen 0.1.0), so lossgen cannot tell your "
                "edits from the spec's changes: files that differ are kept as yours (`lossgen "
                "update --force` replaces them with the new rendering); from now on the record "
                "holds the spec"
            )
    recorded_params = entry.params
    base_values = _bind(base_spec, {k: v for k, v in recorded_params.items() if k in base_spec.params}, where)
    chosen = {k: v for k, v in recorded_params.items() if k in spec.params and k in entry.given}
    values = _bind(spec, {**chosen, **overrides}, "update")
    for pname in sorted(set(recorded_params) | set(values)):
        old, new = recorded_params.get(pname), values.get(pname)
        if isinstance(old, list):
            old = [float(v) for v in old]
        if old != (list(new) if isinstance(new, tuple) else new):
            inputs.params.append((pname, old, new))
    return (
        Member(base_spec, base_values, entry.name, frozenset(entry.given)),
        Member(spec, values, entry.name, frozenset(chosen) | frozenset(overrides)),
        inputs,
    )
