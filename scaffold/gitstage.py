"""What lossgen asks of git, when the project is in a git work tree (without git nothing changes):

- conflicts git can see: each file an update left with markers gets index stages 1/2/3 (base, yours,
  lossgen's), as `git merge` leaves them, so `git status` lists it as unmerged and `git mergetool` or
  an IDE resolves it (copier#1350, #1833);
- what lossgen wrote, from the history: after lossgen's templates changed, today's rendering is no
  base for a 3-way merge, but the commit the owner made before editing holds the file as written
  (found by the SHA-256 the record keeps).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# a repository's own configuration must not run anything while lossgen records its conflicts
_SAFE = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]


def _git(project: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *_SAFE, "-C", str(project), *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )


def work_tree_prefix(project: Path) -> str | None:
    """The project's path inside its git work tree ("" at the top), or None outside one (or no git)."""
    if shutil.which("git") is None:
        return None
    result = _git(project, "rev-parse", "--is-inside-work-tree", "--show-prefix")
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    if result.returncode != 0 or not lines or lines[0] != "true":
        return None
    return lines[1] if len(lines) > 1 else ""


def record_conflicts(project: Path, versions: dict[str, tuple[bytes | None, bytes, bytes]]) -> bool:
    """Give each path (relative to the project) its stages 1-3 from (base, yours, lossgen's); False
    when the project is not in a git work tree (or git failed: the markers are still in the files)."""
    prefix = work_tree_prefix(project)
    if prefix is None or not versions:
        return False
    entries = []
    for rel, (base, ours, theirs) in sorted(versions.items()):
        path = prefix + rel
        entries.append(f"0 {'0' * 40}\t{path}")  # drop stage 0 first
        for stage, content in ((1, base), (2, ours), (3, theirs)):
            if content is None:
                continue
            blob = _git(project, "hash-object", "-w", "--stdin", stdin=content)
            if blob.returncode != 0:
                return False
            entries.append(f"100644 {blob.stdout.decode().strip()} {stage}\t{path}")
    result = _git(project, "update-index", "--index-info", stdin=("\n".join(entries) + "\n").encode("utf-8"))
    return result.returncode == 0


HISTORY_DEPTH = 50  # commits searched for what lossgen wrote


def committed_version(project: Path, rel: str, sha256: str) -> bytes | None:
    """`rel` (relative to the project) as one of its last HISTORY_DEPTH commits holds it, if that
    content's SHA-256 is `sha256`; None outside git or when no commit does."""
    import hashlib

    prefix = work_tree_prefix(project)
    if prefix is None:
        return None
    try:
        # plumbing only (rev-list, cat-file): no pager, signature check, textconv or filter runs
        log = _git(project, "--literal-pathspecs", "rev-list", f"--max-count={HISTORY_DEPTH}", "HEAD", "--", rel)
        if log.returncode != 0:
            return None
        for commit in log.stdout.decode("ascii", "replace").split():
            shown = _git(project, "cat-file", "blob", f"{commit}:{prefix}{rel}")
            if shown.returncode == 0 and hashlib.sha256(shown.stdout).hexdigest() == sha256:
                return shown.stdout
    except (OSError, subprocess.TimeoutExpired):  # no base found: the file is kept, and the plan says so
        return None
    return None


def has_markers(content: bytes) -> bool:
    """The conflict markers lossgen writes, at the start of a line."""
    lines = content.splitlines()
    return any(line.startswith(b"<<<<<<< ") for line in lines) and any(line.startswith(b">>>>>>> ") for line in lines)
