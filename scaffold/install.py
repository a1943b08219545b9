"""Bringing a rendered project into its destination without ever losing what a user owns.

Paths are data, never templates: cookiecutter renders the paths it is given as Jinja, so it only
ever sees directories under a safe temporary base (`work_dir`), never the user's output path.
The rendered tree is then staged beside the destination (same filesystem) and committed:

- a fresh destination: the staged directory is renamed into place with RENAME_NOREPLACE, so a
  destination that appears while lossgen renders is left alone, and of two runs one wins;
- an existing destination (empty, forced, or regenerated): file by file, under an exclusive lock on
  the directory, with SIGINT/SIGTERM/SIGHUP deferred, so an interrupt leaves the old files or the
  new ones. The directory itself is never removed or replaced. Files the new rendering writes replace
  lossgen's earlier files; the earlier record's files the rendering no longer has are removed only
  while unchanged; anything else (.git, untracked files, venvs) is never touched. Files lossgen did
  not write, or that were edited since, are overwritten only with `overwrite` (--force); a directory
  or symbolic link in the way is never removed.

Staging directories are named `.lossgen-staging-*` and hold a marker with the owner's pid and host;
a later run removes those whose owner is dead (SIGKILL leaves them behind), and nothing else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from scaffold.errors import UsageError
from scaffold.record import RECORD, file_sha256, read_record

STAGING_PREFIX = ".lossgen-staging-"
MARKER = "lossgen-staging.pid"
ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG,
                      errno.ENOSPC, errno.EDQUOT, errno.ELOOP, errno.EEXIST, errno.EXDEV, errno.EMLINK,
                      errno.EFBIG}
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MAX_LISTED = 10


@dataclass
class Installed:
    """What a commit did, for the CLI to report."""

    path: Path
    overwritten: list[str] = field(default_factory=list)  # not lossgen's (or edited) and replaced: --force
    kept: list[str] = field(default_factory=list)  # earlier lossgen files no longer generated, but edited
    removed: list[str] = field(default_factory=list)  # earlier lossgen files no longer generated, unchanged
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Environment errors: one line naming the path


@contextlib.contextmanager
def os_errors(doing: str, path: Path | str, name_file: bool = True) -> Iterator[None]:
    """Turn an environment OSError (permissions, read-only, name too long, ...) into a UsageError
    naming the file the OS named (or `path`, when that is lossgen's own temporary name)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRNOS:
            raise
        raise UsageError(describe(exc, doing, path, name_file)) from None


def describe(exc: OSError, doing: str, path: Path | str, name_file: bool = True) -> str:
    where = exc.filename if exc.filename is not None and name_file else path
    if exc.errno == errno.ENOTDIR:
        blocker = _non_directory_ancestor(Path(os.fsdecode(where)))
        if blocker is not None:
            return f"{doing} {where}: {blocker} is not a directory"
    return f"{doing} {os.fsdecode(where)}: {exc.strerror}"


def _non_directory_ancestor(path: Path) -> Path | None:
    for parent in reversed([path, *path.parents]):
        if os.path.lexists(parent) and not parent.is_dir():
            return parent
    return None


# ---------------------------------------------------------------------------------------------
# Destinations


def check_destination(output_dir: Path, dirname: str, allow_non_empty: bool) -> Path:
    """The project directory; refused if it holds anything unless allowed, and never a file or a link
    to nowhere (lossgen would have to delete it)."""
    with os_errors("cannot use", output_dir):
        try:
            destination = Path(output_dir).resolve() / dirname
        except RuntimeError:  # pathlib (Python < 3.13): "Symlink loop from ..."
            raise UsageError(f"cannot use {output_dir}: a symbolic link loop") from None
        if os.path.islink(destination) and not destination.exists():
            raise UsageError(f"{destination} is a symbolic link to a missing path; remove it or choose another -o")
        if os.path.lexists(destination) and not destination.is_dir():
            raise UsageError(f"{destination} exists and is not a directory")
        if destination.is_dir() and not allow_non_empty and any(destination.iterdir()):
            raise UsageError(f"{destination} already exists and is not empty (use --force to write into it; "
                             "nothing else in it is removed)")
    return destination


def make_output_dir(output_dir: Path) -> Path:
    if os.path.lexists(output_dir) and not output_dir.is_dir():
        raise UsageError(f"cannot create the output directory {output_dir}: it exists and is not a directory")
    with os_errors("cannot create the output directory", output_dir):
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except RuntimeError:  # pathlib: "Symlink loop from ..."
            raise UsageError(f"cannot create the output directory {output_dir}: a symbolic link loop") from None
    return output_dir


def template_safe(path: Path | str) -> bool:
    """True when cookiecutter may see this path: no Jinja syntax ({{, {%, {#), so no brace at all."""
    return not ({"{", "}"} & set(str(path)))


def safe_temp_base() -> Path:
    """A writable temporary directory whose path carries no template syntax (TMPDIR is user input)."""
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp"):
        if template_safe(candidate) and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    raise UsageError(f"no usable temporary directory: {tempfile.gettempdir()} holds '{{' or '}}' "
                     "(template syntax); set TMPDIR to a directory without braces")


def safe_template(template: Path, work: Path) -> Path:
    """The template itself, or a copy under `work` when its path (lossgen's install path) has braces."""
    if template_safe(template):
        return template
    copy = work / "template" / template.name
    shutil.copytree(template, copy)
    return copy


# ---------------------------------------------------------------------------------------------
# Staging directories


@contextlib.contextmanager
def staging_dir(parent: Path) -> Iterator[Path]:
    """A fresh `.lossgen-staging-*` directory in `parent`, removed on exit; stale ones removed first."""
    remove_stale(parent)
    with os_errors("cannot write in", parent, name_file=False):
        path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    try:
        (path / MARKER).write_text(f"{os.getpid()} {socket.gethostname()}\n", encoding="utf-8")
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale(parent: Path) -> None:
    """Remove staging directories (ours: with the marker) whose process on this host is gone."""
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(STAGING_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            pid, host = (entry / MARKER).read_text(encoding="utf-8").split()
            pid_number = int(pid)
        except (OSError, ValueError):
            continue  # not ours, or not readable: leave it
        if entry.is_symlink() or host != socket.gethostname() or _alive(pid_number):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stage(rendered: Path, staging: Path) -> tuple[Path, dict[str, str]]:
    """Move the rendered tree beside the destination; returns it and its files' sha256 by POSIX path."""
    tree = staging / "tree"
    with os_errors("cannot write in", staging):
        shutil.move(str(rendered), str(tree))
    files = {}
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(tree).as_posix()] = file_sha256(path)
    files.pop(RECORD, None)
    return tree, files


def pause(point: str) -> None:
    """Test-only hook: LOSSGEN_TEST_PAUSE=point[:seconds] sleeps at a named point so that tests can
    send signals there. Points: rendered, staged, commit (inside the commit, interrupts deferred)."""
    value = os.environ.get("LOSSGEN_TEST_PAUSE", "")
    name, _, seconds = value.partition(":")
    if name == point:
        print(f"LOSSGEN_TEST_PAUSE {point} {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 30))


# ---------------------------------------------------------------------------------------------
# Commit


def install(tree: Path, files: dict[str, str], destination: Path, *, fresh: bool, must_be_empty: bool,
            overwrite: bool) -> Installed:
    """Commit the staged `tree` (with its record) to `destination`.

    fresh: the destination did not exist when lossgen checked it; must_be_empty: `new` without
    --force; overwrite: replace files lossgen did not write or that were edited (--force).
    """
    if not os.path.lexists(destination):
        if _rename_noreplace(tree, destination):
            return Installed(destination)
        must_be_empty = True  # reserved with os.mkdir: ours, and empty
    elif fresh:
        raise UsageError(f"{destination} appeared while lossgen was rendering; nothing was written to it")
    with _locked(destination):
        if must_be_empty:
            with os_errors("cannot read", destination):
                if any(destination.iterdir()):
                    raise UsageError(f"{destination} is no longer empty (something was written to it while "
                                     "lossgen was rendering); nothing was written to it")
        with os_errors("cannot read", destination):
            plan = _plan(files, destination)
        if plan.blocked:
            raise UsageError(f"{destination}: cannot write {_listed(plan.blocked)} "
                             "(lossgen never removes what it did not write)")
        if plan.conflicts and not overwrite:
            raise UsageError(f"{destination}: would overwrite files lossgen did not write or that were "
                             f"edited since: {_listed(plan.conflicts)} (use --force to overwrite them)")
        with os_errors("cannot write", destination), _interrupts_deferred():
            _apply(tree, sorted(files), plan.remove, destination)
    return Installed(destination, overwritten=plan.conflicts, kept=plan.kept, removed=plan.remove,
                     notes=plan.notes)


@dataclass
class _Plan:
    conflicts: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _plan(files: dict[str, str], destination: Path) -> _Plan:
    """Sort every path the commit touches into: replace, refuse (conflict or blocked), remove, keep."""
    plan = _Plan()
    old: dict[str, str] | None = None
    has_record = os.path.lexists(destination / RECORD)
    if has_record:
        old = read_record(destination)["files"]
        if old is None:
            plan.notes.append(f"{destination / RECORD} was written before lossgen recorded its files: edits "
                              "to the files it generates cannot be detected, and they were overwritten")
    for rel, digest in files.items():
        target = destination / rel
        problem = _blocked_parent(destination, rel)
        if problem:
            plan.blocked.append(f"{rel} ({problem})")
        elif not os.path.lexists(target):
            continue
        elif target.is_dir() and not target.is_symlink():
            plan.blocked.append(f"{rel} (a directory is in the way)")
        elif target.is_symlink() or not target.is_file():
            plan.conflicts.append(rel)  # lossgen never writes links or special files
        else:
            current = file_sha256(target)
            lossgens = (old is None and has_record) or (old is not None and old.get(rel) == current)
            if current != digest and not lossgens:  # a 0.1.0 record: the rendering's paths count as lossgen's
                plan.conflicts.append(rel)
    for rel, digest in sorted((old or {}).items()):
        target = destination / rel
        if rel in files or not os.path.lexists(target):
            continue
        if (not _blocked_parent(destination, rel) and target.is_file() and not target.is_symlink()
                and file_sha256(target) == digest):
            plan.remove.append(rel)
        else:
            plan.kept.append(rel)
    return plan


def _blocked_parent(destination: Path, rel: str) -> str:
    """Why a file cannot be written at `rel` without removing something (a file or link as a parent)."""
    parent = destination
    for part in Path(rel).parts[:-1]:
        parent = parent / part
        if parent.is_symlink():
            return f"{parent.relative_to(destination)} is a symbolic link"
        if os.path.lexists(parent) and not parent.is_dir():
            return f"{parent.relative_to(destination)} is not a directory"
    return ""


def commit(tree: Path, write: list[str], remove: list[str], destination: Path) -> None:
    """`update`'s commit of changes it planned itself: the staged files in `write` (and the record)
    replace theirs, the files in `remove` go; under the lock, with interrupts deferred."""
    with _locked(destination), os_errors("cannot write", destination), _interrupts_deferred():
        _apply(tree, write, remove, destination)


def _apply(tree: Path, write: list[str], remove: list[str], destination: Path) -> None:
    """All renames and removals; the record last, so a record always describes files on disk."""
    for index, rel in enumerate(write):
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tree / rel, target)
        if index == 0:
            pause("commit")
    for rel in remove:
        (destination / rel).unlink()
        for parent in (destination / rel).parents:
            if parent == destination:
                break
            try:
                parent.rmdir()  # only when empty: nothing but lossgen's removed files was there
            except OSError:
                break
    os.replace(tree / RECORD, destination / RECORD)


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    return shown + (f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else "")


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Interrupts wait until the commit is done: the old files or the new ones, never half of each.

    Deferred at the Python level, not with pthread_sigmask: the kernel hands a process signal to any
    thread that does not block it (NumPy's BLAS threads), and Python then runs the handler in the main
    thread anyway. After the commit the deferred signals are raised again, once each.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                for signum in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


@contextlib.contextmanager
def _locked(destination: Path) -> Iterator[None]:
    """An exclusive, non-blocking flock on the destination directory for the commit."""
    with os_errors("cannot open", destination):
        fd = os.open(destination, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another lossgen is writing {destination}; try again when it has finished") from None
        yield
    finally:
        os.close(fd)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(source: Path, destination: Path) -> bool:
    """Rename unless the destination exists. False when the OS cannot: then the destination was
    reserved with os.mkdir (also fails if it exists) and the caller installs into it."""
    appeared = UsageError(f"{destination} appeared while lossgen was rendering (another lossgen may be "
                          "writing it); nothing was written to it")
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if sys.platform == "linux" else None
    if renameat2 is not None:
        result = renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), _RENAME_NOREPLACE)
        if result == 0:
            return True
        code = ctypes.get_errno()
        if code in (errno.EEXIST, errno.ENOTEMPTY):
            raise appeared
        if code not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            with os_errors("cannot write", destination):
                raise OSError(code, os.strerror(code), str(destination))
    try:
        os.mkdir(destination)
    except FileExistsError:
        raise appeared from None
    except OSError as exc:
        with os_errors("cannot create", destination):
            raise exc
    return False
