"""`lossgen update` and `lossgen check`: a generated project follows its spec, its owner's edits kept.

Three renderings meet here. *base* is the project as lossgen generated it: rendered again from the
record's copy of the spec and its answers; where the record's hash proves a file untouched, the file
itself is the base. *new* is what lossgen would write today: the spec found again at its recorded
origin, the answers with the user's overrides. *ours* is the user's tree. merge.plan decides per
file; install.commit writes the result with the same guarantees as `new` (lock, interrupts
deferred, record last). Only files lossgen wrote or would write are ever looked at.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__, install, merge
from scaffold.about import About
from scaffold.catalog import load_catalog
from scaffold.errors import SpecError, UsageError
from scaffold.library import Member
from scaffold.library import checked as library_checked
from scaffold.record import RECORD, read_record, record_text, spec_digest, spec_text
from scaffold.spec import LossSpec, parse_spec


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

    def lines(self) -> list[str]:
        of = f"{self.loss}: " if self.loss else ""
        out = [f"  {of}{name}: {_shown(old)} -> {_shown(new)}" for name, old, new in self.params]
        if self.spec_changed:
            out.append(f"  {of}the spec changed: sha256 {self.old_digest[:12]} -> {self.new_digest[:12]}")
            out += ["    " + line.rstrip("\n") for line in self.spec_diff]
        return out


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value)


@dataclass
class Update:
    project: Path
    record: dict[str, Any]
    members: list[Member]  # the package's losses as the update leaves them
    about: About
    inputs: list[InputChanges]  # one per loss that stays
    changes: list[merge.FileChange]
    new_files: dict[str, bytes]
    added: list[str] = field(default_factory=list)  # losses `add` brings in
    removed: list[str] = field(default_factory=list)  # losses `remove` takes out
    notes: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action == merge.CONFLICT]

    @property
    def old_version(self) -> str:
        return self.record.get("lossgen_version", "")

    def lines(self) -> list[str]:
        """What changed in the inputs: losses added or removed, parameters, specs, lossgen."""
        out = [f"  added loss: {name}" for name in self.added] + [f"  removed loss: {name}" for name in self.removed]
        out += [line for inputs in self.inputs for line in inputs.lines()]
        if self.old_version != __version__:
            out.append(f"  lossgen: {self.old_version or 'unknown'} -> {__version__}")
        return out

    @property
    def up_to_date(self) -> bool:
        """Nothing for `check` to report (a new lossgen version that renders the same is no update)."""
        return not (self.changes or self.added or self.removed
                    or any(i.spec_changed or i.params for i in self.inputs))

    @property
    def writes_nothing(self) -> bool:
        """Not even the record changes: the files, the specs, the answers and lossgen are as recorded."""
        return self.up_to_date and self.old_version == __version__


def projects_in(path: Path) -> list[Path]:
    """A project, or the two of a `--target both` pair (`huber-loss/python`, `huber-loss/r`)."""
    path = Path(path)
    if os.path.lexists(path / RECORD):
        return [path]
    pair = [path / target for target in ("python", "r") if (path / target / RECORD).is_file()]
    return pair or [path]  # read_record says what is wrong with it


def find_spec(record: dict[str, Any], project: Path, catalogs: tuple[str, ...]) -> LossSpec:
    """The spec as it is today, from where the loss's spec came from (or --catalog); `record` is one
    loss's entry of the project record."""
    recorded = record.get("catalog")
    if recorded:  # searched after --catalog: `add --catalog B` still finds the other losses' specs in A
        directory = (project / recorded).resolve()
        if directory.is_dir():
            catalogs = (*catalogs, str(directory))
        elif not catalogs:
            raise UsageError(f"{project / RECORD}: the spec's catalog {recorded} ({directory}) is gone; "
                             "pass --catalog DIR to say where the spec lives now")
    catalog = load_catalog(tuple(catalogs), cwd=project.resolve())
    kind = record["kind"]
    if kind not in catalog.specs:
        raise UsageError(f"the spec '{kind}' loss '{record['name']}' was generated from is not in its catalog any more "
                         f"(recorded origin: {record.get('spec_origin') or 'unknown'}); pass --catalog DIR "
                         "where it lives now")
    return catalog.get(kind)


def recorded_spec(record: dict[str, Any], project: Path) -> LossSpec | None:
    """The spec as it was at generation, from the record's copy; None for records without one."""
    text = record.get("spec_text")  # one loss's entry of the record
    if not text:
        return None
    try:
        return parse_spec(text, Path(f"{record['kind']}.toml"), origin=record.get("spec_origin", ""))
    except SpecError as exc:
        raise UsageError(f"{project / RECORD}: the recorded spec no longer loads: {exc.message}") from None


def _bind(spec: LossSpec, values: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return spec.bind(values)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _tree(members: list[Member], target: str, name: str, about: About) -> dict[str, bytes]:
    from scaffold.render import rendered_tree

    with rendered_tree(members, target, name, about=about) as root:
        return {path.relative_to(root).as_posix(): path.read_bytes()
                for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()}


def _ours(project: Path, paths: set[str]) -> dict[str, bytes | None]:
    """The user's files at lossgen's paths; a directory or link in the way is not overwritten."""
    ours: dict[str, bytes | None] = {}
    for rel in paths:
        path = project / rel
        if path.is_symlink() or (os.path.lexists(path) and not path.is_file()):
            raise UsageError(f"{path} is not a regular file; lossgen writes a file there (move it away)")
        try:
            ours[rel] = path.read_bytes() if path.is_file() else None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return ours


def _follow(loss: dict[str, Any], project: Path, catalogs: tuple[str, ...], overrides: dict[str, Any],
            label: str) -> tuple[Member, Member, InputChanges]:
    """One recorded loss as generated (base) and as lossgen would generate it now, and what changed."""
    where = f"{project / RECORD} ({loss['name']})" if label else str(project / RECORD)
    spec = find_spec(loss, project, catalogs)
    inputs = InputChanges(loss=label, old_digest=loss.get("spec_sha256", ""), new_digest=spec_digest(spec))
    new_text = spec_text(spec)
    if inputs.spec_changed and loss.get("spec_text"):
        inputs.spec_diff = list(difflib.unified_diff(loss["spec_text"].splitlines(keepends=True),
                                                     new_text.splitlines(keepends=True),
                                                     "recorded spec", str(spec.path), n=1))
    base_spec = recorded_spec(loss, project)
    if base_spec is None:
        base_spec = spec
        if inputs.spec_changed or not inputs.old_digest:
            inputs.notes.append("the record has no copy of the spec (lossgen 0.1.0), so lossgen cannot tell your "
                                "edits from the spec's changes: files that differ are kept as yours (`lossgen "
                                "update --force` replaces them with the new rendering); from now on the record "
                                "holds the spec")
    recorded_params = loss["params"]
    base_values = _bind(base_spec, {k: v for k, v in recorded_params.items() if k in base_spec.params}, where)
    chosen = {k: v for k, v in recorded_params.items() if k in spec.params and k in loss["given"]}
    values = _bind(spec, {**chosen, **overrides}, "update")
    for pname in sorted(set(recorded_params) | set(values)):
        old, new = recorded_params.get(pname), values.get(pname)
        if isinstance(old, list):
            old = [float(v) for v in old]
        if old != (list(new) if isinstance(new, tuple) else new):
            inputs.params.append((pname, old, new))
    name = loss["name"]
    return (Member(base_spec, base_values, name, frozenset(loss["given"])),
            Member(spec, values, name, frozenset(chosen) | frozenset(overrides)), inputs)


def prepare(project: Path, catalogs: tuple[str, ...] = (), overrides: dict[str, Any] | None = None,
            force: bool = False, loss: str | None = None, add: list[Member] = (),
            remove: tuple[str, ...] = ()) -> Update:
    """Everything `update` (and `add`, `remove`) would do, computed without writing (also what `check`
    and --dry-run show). `overrides` change the parameters of `loss`, or of the only loss."""
    project = Path(project)
    record = read_record(project)
    recorded = {entry["name"]: entry for entry in record["losses"]}
    library = len(recorded) > 1 or bool(add) or bool(remove)
    if overrides and loss is None and len(recorded) > 1:
        raise UsageError(f"{project} holds {len(recorded)} losses ({', '.join(recorded)}): say which one the "
                         "parameters are for with --loss NAME")
    if loss is not None and loss not in recorded:
        raise UsageError(f"{project} has no loss named {loss!r} (its losses: {', '.join(recorded)})")
    for name in remove:
        if name not in recorded:
            raise UsageError(f"{project} has no loss named {name!r} to remove (its losses: {', '.join(recorded)})")
    if remove and len(set(remove)) >= len(recorded):
        raise UsageError(f"removing {', '.join(remove)} would leave {project} without a loss; delete the project "
                         "instead")
    for member in add:
        if member.name in recorded:
            raise UsageError(f"{project} already holds a loss named '{member.name}' (its losses: "
                             f"{', '.join(recorded)}); `lossgen update` changes its parameters")
    base_members, new_members, inputs = [], [], []
    for name, entry in recorded.items():
        mine = (overrides or {}) if name == loss or len(recorded) == 1 else {}
        base, new, changed = _follow(entry, project, catalogs, mine, name if library else "")
        base_members.append(base)
        if name not in remove:
            new_members.append(new)
            inputs.append(changed)
    new_members += list(add)
    target, name = record["target"], record["name"]
    where = str(project / RECORD)
    try:
        about = About.from_record(record.get("about"))
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    notes = [note for changed in inputs for note in changed.notes]
    old_version = record.get("lossgen_version", "")
    if old_version != __version__:
        notes.append(f"the base is rendered with lossgen {__version__}'s templates (the project was "
                     f"generated by lossgen {old_version or 'unknown'}); files the record proves "
                     "untouched are updated as they are")
    base = _tree(base_members, target, name, about)
    new = _tree(library_checked(new_members), target, name, about)
    recorded_files = record["files"] or {}
    ours = _ours(project, set(base) | set(new) | set(recorded_files))
    if record["files"] is None:
        notes.append("the record does not list the files lossgen wrote (lossgen 0.1.0): your edits are "
                     "merged against a fresh rendering of the recorded answers")
    else:  # what lossgen did not write then has no base: a file a newer lossgen generates is added
        base = {rel: content for rel, content in base.items() if rel in recorded_files}
    for rel, digest in recorded_files.items():  # the record's hash proves the file is what lossgen wrote
        if ours.get(rel) is not None and hashlib.sha256(ours[rel]).hexdigest() == digest:
            base[rel] = ours[rel]
    changes = merge.plan(base, new, ours)
    edited_dropped = [merge.FileChange(rel, merge.KEEP_EDITED) for rel in sorted(recorded_files)
                      if rel not in base and rel not in new and ours.get(rel) is not None]
    changes = sorted(changes + edited_dropped, key=lambda c: c.path)
    stranded = [c.path for c in changes if c.action == merge.KEEP_EDITED and c.path not in new]
    if stranded and record.get("record_version", 1) < 2:  # a project of the one-loss layout
        notes.append(f"lossgen no longer writes {', '.join(stranded)}, which you edited: kept as they are. Since "
                     "lossgen 0.2.0 each loss lives in <package>/<module>.py with its tests in tests/<module>/ "
                     "(R: tests/testthat/test-<module>-*.R); carry your edits over to the files that replace them")
    if force:  # every file lossgen writes becomes its new rendering; nothing else is touched
        reset = {rel: merge.FileChange(rel, merge.UPDATE if ours.get(rel) is not None else merge.ADD, content)
                 for rel, content in new.items() if ours.get(rel) != content}
        changes = sorted([c for c in changes if c.path not in new] + list(reset.values()), key=lambda c: c.path)
    return Update(project, record, new_members, about, inputs, changes, new,
                  added=[m.name for m in add], removed=list(remove), notes=notes)


def apply(update: Update, format_code: bool = True) -> None:
    """Write the planned changes and the new record, atomically as `new` does."""
    project = update.project.resolve()
    writes = [c for c in update.changes if c.writes]
    removes = [c.path for c in update.changes if c.action == merge.REMOVE]
    files = {rel: hashlib.sha256(content).hexdigest() for rel, content in update.new_files.items()}
    with install.staging_dir(project.parent) as staging:
        tree = staging / "tree"
        tree.mkdir()
        for change in writes:
            path = tree / change.path
            path.parent.mkdir(parents=True, exist_ok=True)
            content = change.content
            if format_code and change.action == merge.MERGE and change.path.endswith(".py"):
                content = _black(content)
            path.write_bytes(content)
        (tree / RECORD).write_text(record_text(update.members, update.record["target"], update.record["name"],
                                               files, project, update.about), encoding="utf-8")
        install.pause("staged")
        install.commit(tree, [c.path for c in writes], removes, project)


def _black(content: bytes) -> bytes:
    """Merged Python, formatted like the rest; left as it is if black cannot read it."""
    import black

    try:
        return black.format_file_contents(content.decode("utf-8"), fast=False, mode=black.Mode()).encode("utf-8")
    except (black.NothingChanged, UnicodeDecodeError):
        return content
    except Exception:  # noqa: BLE001 - black's parse errors have no common base; the user's code stays
        return content


def diff(update: Update) -> list[str]:
    """Unified diff of the user's files against what update would write."""
    lines: list[str] = []
    for change in update.changes:
        if not (change.writes or change.action == merge.REMOVE):
            continue
        path = update.project / change.path
        before = path.read_bytes().decode("utf-8", "replace").splitlines(keepends=True) if path.is_file() else []
        after = change.content.decode("utf-8", "replace").splitlines(keepends=True) if change.content else []
        lines += difflib.unified_diff(before, after, f"a/{change.path}", f"b/{change.path}")
    return [line if line.endswith("\n") else line + "\n" for line in lines]

