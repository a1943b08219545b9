"""One planner for every command that writes a project: (base, new, working tree, record) -> changes.

`new` into a fresh or existing directory, `new --force`, `update`, `add` and `remove` all end here;
`new --force` is an update whose base is empty. One safety rule holds for all of them:

- only paths the new rendering has or the record lists are looked at, through confine.Root (below the
  root, real directories only, never `.git`), so a path whose way holds a link or whose place holds
  a directory, link or device is *blocked*: exit 2 if lossgen would write there, left alone otherwise;
- a file that exists but that the record does not list is someone else's: lossgen never modifies it
  (exit 2 naming it), unless it already holds exactly what lossgen would write;
- a recorded file is lossgen's while it hashes as recorded; edited, it is merged against the base.
  When the base re-rendered today does not hash as recorded (lossgen's templates changed), it is
  not what lossgen wrote: the file as written is taken from `written` (the owner's git history),
  or the file is kept and the plan says so, since a merge against today's rendering would drop
  lossgen's changes silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from scaffold import merge
from scaffold.confine import Root, content_sha256
from scaffold.merge import FileChange
from scaffold.tree import Tree

MAX_LISTED = 10


@dataclass
class Plan:
    """What a commit will do to one project, and what it saw: `seen` is each path's hash when read."""

    changes: list[FileChange]
    files: dict[str, str]  # the new record's [files]
    owners: dict[str, list[str]]  # each loss's own files, for the record
    seen: dict[str, str | None]
    blocked: list[str] = field(default_factory=list)  # "path (why)": lossgen would write there, but may not
    untracked: list[str] = field(default_factory=list)  # exist, not lossgen's, would be modified
    kept_blocked: list[str] = field(default_factory=list)  # recorded, no longer generated, not reachable
    bases: dict[str, bytes | None] = field(default_factory=dict)  # a conflict's base, for git's stage 1
    ours: dict[str, bytes] = field(default_factory=dict)  # a conflict's "yours", for git's stage 2
    new: dict[str, bytes] = field(default_factory=dict)  # a conflict's "theirs", for git's stage 3
    current: dict[str, bytes | None] = field(default_factory=dict)  # every path's content as read

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action == merge.CONFLICT]

    @property
    def touched(self) -> list[FileChange]:
        return [c for c in self.changes if c.touches]

    def refusal(self, where: str) -> str:
        """The exit-2 message when the plan may not be committed, or ""."""
        if self.blocked:
            return (
                f"{where}: cannot write {listed(self.blocked)} (lossgen writes only regular files through real "
                "directories, and never removes what it did not write)"
            )
        if self.untracked:
            return (
                f"{where}: {listed(self.untracked)} exist(s) but lossgen did not write them (not in "
                f"{'the record' if self.files is not None else 'a record'}); lossgen never modifies such files: "
                "move them away, or delete them, and run again"
            )
        return ""

    def diff(self) -> list[str]:
        """Unified diff of the user's files against what the commit would write; binary files by name."""
        lines: list[str] = []
        for change in self.touched:
            before_bytes = self.current.get(change.path) or b""
            after_bytes = change.content or b""
            if b"\0" in before_bytes or b"\0" in after_bytes:
                lines.append(f"Binary files a/{change.path} and b/{change.path} differ\n")
                continue
            before = before_bytes.decode("utf-8", "replace").splitlines(keepends=True)
            after = after_bytes.decode("utf-8", "replace").splitlines(keepends=True)
            lines += difflib.unified_diff(before, after, f"a/{change.path}", f"b/{change.path}")
        return [line if line.endswith("\n") else line + "\n" for line in lines]


def listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    return shown + (f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else "")


def make_plan(
    root: Root,
    new: Tree,
    recorded: dict[str, str] | None,
    base: Callable[[], Tree] | None,
    *,
    force: bool = False,
    legacy: bool = False,
    frozen: dict[str, str] | None = None,
    frozen_owners: dict[str, list[str]] | None = None,
    written: Callable[[str, str], bytes | None] | None = None,
) -> Plan:
    """The changes that bring `root` from what lossgen wrote (`recorded`: path -> sha256, None when the
    directory has no record or a 0.1.0 one) to `new`, the user's edits kept.

    base: renders the project as lossgen generated it, called only when an edited file needs it (None:
    an empty base, as for `new --force`); force: every file lossgen writes becomes its new rendering;
    legacy: a 0.1.0 record, whose rendering's paths count as lossgen's; frozen: recorded files of
    losses this run did not render (unchanged by construction), carried into the record as they are;
    written(path, sha256): what lossgen wrote there, when `base` cannot rebuild it (from git history).
    """
    recorded_files = recorded or {}
    paths = sorted(set(new.files) | set(recorded_files))
    found = {path: root.find(path) for path in paths}
    seen = {path: content_sha256(f.content) for path, f in found.items() if not f.blocked}
    plan = Plan([], {path: content_sha256(content) for path, content in new.files.items()}, new.owned(), seen)
    if frozen:
        plan.files.update(frozen)
        for owner, owned in (frozen_owners or {}).items():
            plan.owners.setdefault(owner, list(owned))
    base_tree: Tree | None = None

    def base_of(path: str) -> bytes | None:
        nonlocal base_tree
        if base is None or (recorded is not None and path not in recorded_files):
            return None  # no base for what lossgen did not write then: a file a newer lossgen generates is added
        if base_tree is None:
            base_tree = base()
        return base_tree.files.get(path)

    for path in paths:
        after, where = new.files.get(path), found[path]
        if where.blocked:
            if after is not None:
                plan.blocked.append(f"{path} ({where.blocked})")
            else:
                plan.kept_blocked.append(f"{path} ({where.blocked})")
            continue
        current = where.content
        plan.current[path] = current
        if current is not None and path not in recorded_files and not legacy and current != after:
            plan.untracked.append(path)
            continue
        if force and after is not None:
            if current != after:
                plan.changes.append(FileChange(path, merge.UPDATE if current is not None else merge.ADD, after))
            continue
        recorded_sha = recorded_files.get(path)
        if current == after:
            continue
        if current is not None and recorded_sha is not None and content_sha256(current) == recorded_sha:
            before = current  # the record proves the file is what lossgen wrote: it is its own base
        elif recorded_sha is not None and (current is None or after is None):
            # deleted by you, or no longer generated and edited: the recorded hash is all it takes
            change = (
                FileChange(path, merge.KEEP_DELETED)
                if current is None and content_sha256(after) != recorded_sha
                else FileChange(path, merge.KEEP_EDITED)
                if current is not None
                else None
            )
            if change is not None:
                plan.changes.append(change)
            continue
        elif current is None:
            before = base_of(path) if after is None else None
        else:
            before = base_of(path)
            if before is not None and recorded_sha is not None and content_sha256(before) != recorded_sha:
                # rendered by a lossgen whose templates changed since: not what was written, so not a
                # base; what was written may be in the owner's history
                if content_sha256(after) == recorded_sha:
                    continue  # lossgen writes today what it wrote then: your edit is all there is
                before = written(path, recorded_sha) if written is not None else None
                if before is None:
                    plan.changes.append(FileChange(path, merge.KEEP_UNMERGEABLE))
                    continue
        change = merge.decide(path, before, after, current)
        if change is None:
            continue
        plan.changes.append(change)
        if change.action == merge.CONFLICT:
            plan.bases[path], plan.ours[path], plan.new[path] = before, current, after
    return plan
