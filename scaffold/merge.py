"""Three versions of a file in, one decision out.

*base* is what lossgen wrote last time (re-rendered from the record), *new* is what it would write
now, *ours* is the file as it is in the user's tree. Per file, as copier and git do: untouched files
follow the new rendering, user edits that do not overlap a change are kept, overlapping ones become
conflict markers. The line merge itself is merge3's (breezy's diff3 implementation, pure Python, so
`update` needs no git binary); plan.py applies this per file of a project.
"""

from __future__ import annotations

from dataclasses import dataclass

import merge3

# What happens to a file, and whether it is written.
UPDATE, ADD, MERGE, CONFLICT, REMOVE = "updated", "added", "merged", "conflict", "removed"
KEEP_DELETED, KEEP_EDITED = "kept deleted (you deleted it)", "kept (you edited it; lossgen no longer writes it)"
KEEP_BINARY = "kept yours (binary; lossgen's differs: update --force takes it)"
KEEP_UNMERGEABLE = "kept yours (edited; lossgen's changed too, with no base to merge)"  # not in git history
WRITES = {UPDATE, ADD, MERGE, CONFLICT}


@dataclass(frozen=True)
class FileChange:
    path: str
    action: str
    content: bytes | None = None  # what to write, for actions in WRITES

    @property
    def writes(self) -> bool:
        return self.action in WRITES

    @property
    def touches(self) -> bool:
        """Written or removed."""
        return self.action in WRITES or self.action == REMOVE


def merge_file(base: bytes, ours: bytes, new: bytes, path: str) -> tuple[bytes, bool]:
    """Line-based 3-way merge; returns the result and whether it holds conflict markers."""
    merger = merge3.Merge3(
        base.splitlines(keepends=True), ours.splitlines(keepends=True), new.splitlines(keepends=True)
    )
    conflicted = any(group[0] == "conflict" for group in merger.merge_groups())
    lines = merger.merge_lines(
        name_a=f"yours ({path})".encode(),
        name_b=b"lossgen update",
        start_marker=b"<<<<<<<",
        mid_marker=b"=======",
        end_marker=b">>>>>>>",
    )
    return b"".join(lines), conflicted


def decide(path: str, before: bytes | None, after: bytes | None, current: bytes | None) -> FileChange | None:
    """What happens to one file, from its base, new and current content (None: absent); None: nothing."""
    if after is None:  # the new rendering drops the file
        if current is not None and before is not None and current != before:
            return FileChange(path, KEEP_EDITED)
        if current is not None:
            return FileChange(path, REMOVE)
        return None
    if current is None:
        if before is None:
            return FileChange(path, ADD, after)
        if before != after:
            return FileChange(path, KEEP_DELETED)
        return None
    if current == after:
        return None
    if before is not None and current == before:
        return FileChange(path, UPDATE, after)
    if before is not None and before == after:
        return None  # the user's edit, and nothing new from lossgen: nothing to do
    if b"\0" in current or b"\0" in after:  # binary (a picture): no line merge, yours is kept
        return FileChange(path, KEEP_BINARY)
    merged, conflicted = merge_file(before or b"", current, after, path)
    if merged == current:  # the user's tree already holds lossgen's change
        return None
    return FileChange(path, CONFLICT if conflicted else MERGE, merged)
