"""lossgen as a Python API: `new`, `update` (which `add` and `remove` are), `check`; each returns a
result object and prints nothing. cli.py maps options to these calls and prints their results.

Every call that writes runs the same path: open the projects (locked, an interrupted commit finished
or undone), read each record once, render, plan (plan.py: one safety rule), commit (commit.py: all
or nothing, a `--target both` pair included), then give conflicts to git.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__, commit, gitstage, merge
from scaffold.about import About
from scaffold.errors import SpecError, UsageError
from scaffold.library import Member
from scaffold.library import checked as library_checked
from scaffold.plan import Plan, make_plan
from scaffold.project import Generation, InputChanges, Project, follow, generator_digest, opened, projects_in
from scaffold.record import RECORD, inputs_digest, record_text

Say = Callable[[str], None]


@dataclass
class ProjectRun:
    """One project's part of a run: what changed in its inputs, and the plan for its files."""

    project: Project
    generation: Generation
    plan: Plan
    inputs: list[InputChanges] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    old_version: str = __version__
    record_bytes: bytes = b""
    fresh: bool = False  # the directory did not exist before this run

    @property
    def path(self) -> Path:
        return self.project.path

    @property
    def changes(self) -> list[merge.FileChange]:
        return self.plan.changes

    @property
    def conflicts(self) -> list[str]:
        return self.plan.conflicts

    @property
    def up_to_date(self) -> bool:
        """Nothing for `check` to report (a new lossgen version that renders the same is no update)."""
        return not (self.plan.changes or self.added or self.removed or any(i.changed for i in self.inputs))

    record_same: bool = False  # the record on disk is byte for byte the one this run would write

    @property
    def writes_nothing(self) -> bool:
        """Not even the record changes: files, specs, answers and lossgen are as recorded."""
        return self.up_to_date and self.record_same

    def lines(self) -> list[str]:
        """What changed in the inputs: losses added or removed, parameters, specs, lossgen."""
        out = [f"  added loss: {name}" for name in self.added] + [f"  removed loss: {name}" for name in self.removed]
        out += [line for inputs in self.inputs for line in inputs.lines()]
        if self.old_version != __version__:
            out.append(f"  lossgen: {self.old_version or 'unknown'} -> {__version__}")
        return out

    def diff(self) -> list[str]:
        return self.plan.diff()


@dataclass
class RunResult:
    runs: list[ProjectRun]
    written: bool = False
    git_conflicts: bool = False  # the conflicts are unmerged entries of the git index

    @property
    def conflicts(self) -> list[Path]:
        return [run.path / path for run in self.runs for path in run.conflicts]

    @property
    def changed(self) -> list[ProjectRun]:
        return [run for run in self.runs if run.plan.touched]


# ---------------------------------------------------------------------------------------------
# new


def new(
    members: list[Member],
    targets: list[str],
    destinations: dict[str, Path],
    name: str,
    about: About,
    force: bool = False,
    format_code: bool = True,
    say: Say | None = None,
) -> RunResult:
    """Generate the package for each target into its destination (checked by the caller with
    `workspace.check_destination`); `force` writes into a non-empty one. An existing project there is
    updated with an empty base: every file lossgen writes becomes its new rendering, nothing else is
    touched."""
    from scaffold.workspace import make_output_dir

    library_checked(members)
    check_specs(members)
    paths = [destinations[target] for target in targets]
    created = _missing_directories(paths)  # removed again unless the commit happens
    fresh = {target: not os.path.lexists(destinations[target]) for target in targets}
    try:
        for target in targets:
            make_output_dir(destinations[target].parent)
        generations = {
            target: Generation(tuple(members), target, name, about, destinations[target]) for target in targets
        }
        trees = {target: generations[target].render(format_code) for target in targets}
        with opened(paths, say, create=True) as projects:
            runs = []
            for target, project in zip(targets, projects):
                if fresh[target] or not force:
                    leftovers = [e for e in os.listdir(project.path) if e != ".lossgen-commit"]
                    if leftovers:
                        state = "appeared" if fresh[target] else "is no longer empty"
                        raise UsageError(
                            f"{project.path} {state} while lossgen was rendering (another lossgen may "
                            "be writing it); nothing was written to it"
                        )
                record = project.record if project.has_record else None
                recorded = record.files if record is not None else None
                plan = make_plan(
                    project.root,
                    trees[target],
                    recorded,
                    None,
                    force=True,
                    legacy=record is not None and record.files is None,
                )
                if record is not None and record.files is None:
                    project.notes.append(
                        f"{project.path / RECORD} was written before lossgen recorded its files: "
                        "edits to the files it generates cannot be detected, and they were "
                        "overwritten"
                    )
                run = ProjectRun(
                    project,
                    generations[target],
                    plan,
                    fresh=fresh[target],
                    notes=list(project.notes),
                    added=[m.name for m in members],
                )
                run.record_bytes = _record(run)
                runs.append(run)
            _refuse(runs)
            _commit(runs)
            created = []
            return RunResult(runs, written=True)
    finally:
        for path in created:  # a run that did not commit leaves no directory it made
            try:
                os.rmdir(path)
            except OSError:
                pass


def _missing_directories(paths: list[Path]) -> list[Path]:
    """The directories making `paths` would create, deepest first (a pair's `huber-loss/` too)."""
    missing: list[Path] = []
    for path in paths:
        for directory in (Path(path), *Path(path).parents):
            if os.path.lexists(directory):
                break
            if directory not in missing:
                missing.append(directory)
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def check_specs(members: list[Member]) -> None:
    """A spec whose examples fail, or that is unstable, is refused before anything is written (the
    quick checks of `lossgen validate`: NumPy only, well under a second)."""
    from scaffold.validate import quick_checks

    for spec in {id(m.spec): m.spec for m in members}.values():
        problems = list(quick_checks(spec))
        problems = [p for p in problems if "is a built-in kind" not in p.message]
        if problems:
            raise SpecError(
                f"{problems[0].message} (`lossgen validate --quick {spec.path}` lists every problem; "
                "nothing was written)",
                problems[0].where,
            )


# ---------------------------------------------------------------------------------------------
# update, add, remove


def update(
    path: Path,
    catalogs: tuple[str, ...] = (),
    overrides: dict[str, Any] | None = None,
    loss: str | None = None,
    force: bool = False,
    format_code: bool = True,
    dry_run: bool = False,
    add: list[Member] = (),
    remove: tuple[str, ...] = (),
    say: Say | None = None,
) -> RunResult:
    """Bring the project at `path` (or both of a pair) to what lossgen generates today from its specs,
    keeping the owner's edits; `add`/`remove` change its losses on the way. Every project of a pair is
    planned before anything is written, and both are committed or neither."""
    with opened(projects_in(path), say) as projects:
        runs = [
            prepare(project, catalogs, overrides or {}, force, loss, list(add), tuple(remove), format_code)
            for project in projects
        ]
        _refuse(runs)
        if dry_run:
            return RunResult(runs)
        todo = [run for run in runs if not run.writes_nothing]
        if not todo:
            return RunResult(runs)
        from scaffold.workspace import pause

        pause("planned")
        _commit(todo)
        staged = any(
            gitstage.record_conflicts(
                run.path, {p: (run.plan.bases[p], run.plan.ours[p], run.plan.new[p]) for p in run.conflicts}
            )
            for run in todo
            if run.conflicts
        )
        return RunResult(runs, written=True, git_conflicts=staged)


def prepare(
    project: Project,
    catalogs: tuple[str, ...],
    overrides: dict[str, Any],
    force: bool,
    loss: str | None,
    add: list[Member],
    remove: tuple[str, ...],
    format_code: bool = True,
) -> ProjectRun:
    """Everything an update of one project would do, computed without writing (also what `check` and
    --dry-run show)."""
    record = project.record
    recorded = {entry.name: entry for entry in record.losses}
    names = ", ".join(recorded)
    library = len(recorded) > 1 or bool(add) or bool(remove)
    if overrides and loss is None and len(recorded) > 1:
        raise UsageError(
            f"{project.path} holds {len(recorded)} losses ({names}): say which one the parameters "
            "are for with --loss NAME"
        )
    if loss is not None and loss not in recorded:
        raise UsageError(f"{project.path} has no loss named {loss!r} (its losses: {names})")
    for name in remove:
        if name not in recorded:
            raise UsageError(f"{project.path} has no loss named {name!r} to remove (its losses: {names})")
    if remove and len(set(remove)) >= len(recorded):
        raise UsageError(
            f"removing {', '.join(remove)} would leave {project.path} without a loss; delete the project instead"
        )
    for member in add:
        if member.name in recorded:
            raise UsageError(
                f"{project.path} already holds a loss named {member.name!r} (its losses: {names}); "
                "`lossgen update` changes its parameters"
            )
    check_specs(list(add))
    base_members, new_members, inputs = [], [], []
    for name, entry in recorded.items():
        mine = overrides if name == loss or len(recorded) == 1 else {}
        base, now, changed = follow(project, entry, catalogs, mine, name if library else "")
        base_members.append(base)
        if name not in remove:
            new_members.append(now)
            inputs.append(changed)
    check_specs([m for m, i in zip(new_members, inputs) if i.spec_changed])
    new_members += list(add)
    try:
        about = About.from_record(record.about)
    except ValueError as exc:
        raise UsageError(f"{project.path / RECORD}: {exc}") from None
    notes = list(project.notes) + [note for changed in inputs for note in changed.notes]
    if record.lossgen_version != __version__:
        notes.append(
            f"the project was generated by lossgen {record.lossgen_version or 'unknown'}: files the record "
            "proves untouched are updated as they are, and files you edited are merged against the version "
            "lossgen wrote, found in the project's git history"
        )
    target = record.target
    generator = generator_digest(target)
    touched = {i.loss or record.losses[0].name for i in inputs if i.changed} | {m.name for m in add}
    partial = (
        record.generator_sha256 == generator
        and record.files is not None
        and not force
        and all(entry.files is not None for entry in record.losses)
    )
    only = frozenset(touched) if partial else None
    new_generation = Generation(tuple(library_checked(new_members)), target, record.name, about, project.path)
    base_generation = Generation(tuple(base_members), target, record.name, about, project.path)
    frozen: dict[str, str] = {}
    frozen_owners: dict[str, list[str]] = {}
    if partial:
        for entry in record.losses:
            if entry.name not in touched and entry.name not in remove:
                frozen_owners[entry.name] = list(entry.files or ())
                frozen.update({p: record.files[p] for p in entry.files or () if p in record.files})
    if partial and not touched and not remove and not add and _digest_now(project, catalogs) == record.inputs_sha256:
        # nothing the files depend on changed: the rendering is the recorded one, and nothing is rendered
        plan = Plan([], dict(record.files or {}), {e.name: list(e.files or ()) for e in record.losses}, {})
    else:
        new_tree = new_generation.render(format_code, only)
        base_only = None if only is None else frozenset(n for n in only if n in recorded)
        recorded_files = None if record.files is None else {p: s for p, s in record.files.items() if p not in frozen}
        plan = make_plan(
            project.root,
            new_tree,
            recorded_files,
            lambda: base_generation.render(format_code, base_only),
            force=force,
            legacy=record.files is None,
            frozen=frozen,
            frozen_owners=frozen_owners,
            written=lambda rel, sha: gitstage.committed_version(project.path, rel, sha),
        )
    if record.files is None:
        notes.append(
            "the record does not list the files lossgen wrote (lossgen 0.1.0): your edits are merged "
            "against a fresh rendering of the recorded answers"
        )
    stranded = [c.path for c in plan.changes if c.action == merge.KEEP_EDITED]
    if stranded and record.record_version < 2:  # a project of the one-loss layout
        notes.append(
            f"lossgen no longer writes {', '.join(stranded)}, which you edited: kept as they are. Since "
            "lossgen 0.2.0 each loss lives in <package>/<module>.py with its tests in tests/<module>/ "
            "(R: tests/testthat/test-<module>-*.R); carry your edits over to the files that replace them"
        )
    if format_code:
        _format_merged(plan)
    run = ProjectRun(
        project,
        new_generation,
        plan,
        inputs,
        added=[m.name for m in add],
        removed=list(remove),
        notes=notes,
        old_version=record.lossgen_version,
    )
    run.record_bytes = _record(run, conflicts=sorted(set(plan.conflicts) | set(_still_conflicted(project, plan))))
    run.record_same = project.root.read(RECORD) == run.record_bytes
    return run


def _still_conflicted(project: Project, plan: Plan) -> list[str]:
    """Files an earlier update left with markers that still hold them (and this run does not rewrite)."""
    rewritten = {c.path for c in plan.touched}
    out = []
    for rel in project.record.conflicts:
        if rel in rewritten:
            continue
        found = project.root.find(rel)
        if found.content is not None and gitstage.has_markers(found.content):
            out.append(rel)
    return out


def _format_merged(plan: Plan) -> None:
    """Merged Python, formatted like the rest; left as it is if black cannot read it."""
    from scaffold.render import black_bytes

    plan.changes = [
        merge.FileChange(c.path, c.action, black_bytes(c.content))
        if c.action == merge.MERGE and c.path.endswith(".py")
        else c
        for c in plan.changes
    ]


def _record(run: ProjectRun, conflicts: list[str] = ()) -> bytes:
    """The record this run leaves: the new answers and specs, the files and their owners, the digests."""
    generation = run.generation
    return record_text(
        list(generation.members),
        generation.target,
        generation.name,
        run.plan.files,
        run.path,
        generation.about,
        owners=run.plan.owners,
        generator=generator_digest(generation.target),
        conflicts=list(conflicts),
    ).encode("utf-8")


def _refuse(runs: list[ProjectRun]) -> None:
    for run in runs:
        message = run.plan.refusal(str(run.path))
        if message:
            raise UsageError(message)


def _commit(runs: list[ProjectRun]) -> None:
    parts = [
        commit.Part(
            run.project.root,
            [
                commit.Write(c.path, c.content if c.writes else None, run.plan.seen.get(c.path))
                for c in run.plan.touched
            ],
            run.record_bytes,
        )
        for run in runs
    ]
    commit.commit(parts)


# ---------------------------------------------------------------------------------------------
# check


@dataclass
class CheckResult:
    path: Path
    up_to_date: bool
    reason: str = ""  # why not, in one line
    run: ProjectRun | None = None  # the full comparison, when one was needed


def check(path: Path, catalogs: tuple[str, ...] = ()) -> list[CheckResult]:
    """Whether each project at `path` (one, or a pair) is up to date. Reads, never writes; renders
    nothing when the digest of the inputs matches the record's."""
    results = []
    for project_path in projects_in(path):
        from scaffold.confine import Root
        from scaffold.record import read_record

        record = read_record(project_path)
        with Root(project_path) as root:
            if commit.pending(root):
                busy = commit.busy(root)
                results.append(
                    CheckResult(
                        project_path,
                        False,
                        "another lossgen is committing to it right now; check again when it has finished"
                        if busy
                        else "an interrupted lossgen commit is unfinished (the next lossgen update finishes it)",
                    )
                )
                continue
            marked = [
                rel
                for rel in record.conflicts
                if (found := root.find(rel)).content is not None and gitstage.has_markers(found.content)
            ]
            if marked:
                results.append(CheckResult(project_path, False, f"conflict markers remain in {', '.join(marked)}"))
                continue
            project = Project(project_path, root)
            project.record = record
            if record.inputs_sha256 and _digest_now(project, catalogs) == record.inputs_sha256:
                results.append(CheckResult(project_path, True))
                continue
            run = prepare(project, catalogs, {}, False, None, [], ())
            results.append(
                CheckResult(
                    project_path,
                    run.up_to_date,
                    "" if run.up_to_date else f"an update is available (lossgen update {project_path})",
                    run,
                )
            )
    return results


def _digest_now(project: Project, catalogs: tuple[str, ...]) -> str | None:
    record = project.record
    try:
        about = About.from_record(record.about)
    except ValueError:
        return None
    entries = []
    for entry in record.losses:
        sha = project.spec_sha(entry, catalogs)
        if sha is None:
            return None
        entries.append(
            {
                "kind": entry.kind,
                "name": entry.name,
                "catalog": entry.catalog,
                "spec_sha256": sha,
                "given": list(entry.given),
                "params": entry.params,
                "files": list(entry.files or []),
            }
        )
    return inputs_digest(
        generator_digest(record.target), record.target, record.name, about, entries, list(record.files or {})
    )


__all__ = ["CheckResult", "ProjectRun", "RunResult", "check", "new", "prepare", "update"]
