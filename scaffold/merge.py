"""Three renderings in, one plan out: how `lossgen update` brings a project to a new rendering.

*base* is what lossgen wrote last time (re-rendered from the record), *new* is what it would write
now, *ours* is the file as it is in the user's tree. Per file, as copier and git do: untouched files
follow the new rendering, user edits that do not overlap a change are kept, overlapping ones become
conflict markers. The line merge itself is merge3's (breezy's diff3 implementation, pure Python, so
`update` needs no git binary); this module only decides per file.
"""

from __future__ import annotations

from dataclasses import dataclass

import merge3

# What happens to a file, and whether it is written.
UPDATE, ADD, MERGE, CONFLICT, REMOVE = "updated", "added", "merged", "conflict", "removed"
KEEP_DELETED, KEEP_EDITED = "kept deleted (you deleted it)", "kept (you edited it; lossgen no longer writes it)"
KEEP_BINARY = "kept yours (binary; lossgen's differs: update --force takes it)"
WRITES = {UPDATE, ADD, MERGE, CONFLICT}


@dataclass(frozen=True)
class FileChange:
    path: str
    action: str
    content: bytes | None = None  # what to write, for actions in WRITES

    @property
    def writes(self) -> bool:
        return self.action in WRITES


def merge_file(base: bytes, ours: bytes, new: bytes, path: str) -> tuple[bytes, bool]:
    """Line-based 3-way merge; returns the result and whether it holds conflict markers."""
    merger = merge3.Merge3(base.splitlines(keepends=True), ours.splitlines(keepends=True),
                           new.splitlines(keepends=True))
    conflicted = any(group[0] == "conflict" for group in merger.merge_groups())
    lines = merger.merge_lines(name_a=f"yours ({path})".encode(), name_b=b"lossgen update",
                               start_marker=b"<<<<<<<", mid_marker=b"=======", end_marker=b">>>>>>>")
    return b"".join(lines), conflicted


def plan(base: dict[str, bytes], new: dict[str, bytes], ours: dict[str, bytes | None]) -> list[FileChange]:
    """The change per file lossgen wrote or would write; files it never wrote are not looked at.

    `ours[path]` is the user's current content, None when the file is missing.
    """
    changes = []
    for path in sorted(set(base) | set(new)):
        before, after, current = base.get(path), new.get(path), ours.get(path)
        if after is None:  # the new rendering drops the file
            if current is not None and before is not None and current != before:
                changes.append(FileChange(path, KEEP_EDITED))
            elif current is not None:
                changes.append(FileChange(path, REMOVE))
            continue
        if current is None:
            if before is None:
                changes.append(FileChange(path, ADD, after))
            elif before != after:
                changes.append(FileChange(path, KEEP_DELETED))
            continue
        if current == after:
            continue
        if before is not None and current == before:
            changes.append(FileChange(path, UPDATE, after))
        elif before is not None and before == after:
            continue  # the user's edit, and nothing new from lossgen: nothing to do
        elif b"\0" in current or b"\0" in after:  # binary (a picture): no line merge, yours is kept
            changes.append(FileChange(path, KEEP_BINARY))
        else:
            merged, conflicted = merge_file(before or b"", current, after, path)
            if merged != current:  # equal: the user's tree already holds lossgen's change
                changes.append(FileChange(path, CONFLICT if conflicted else MERGE, merged))
    return changes
