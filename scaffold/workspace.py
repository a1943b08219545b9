"""The machine around a run: destinations, scratch directories for rendering, OS errors as one line,
and child processes that die with lossgen.

Paths are data, never templates: cookiecutter renders the paths it is given as Jinja, so it only
ever sees directories under a safe temporary base, never the user's output path. Scratch directories
are named `.lossgen-staging-*` and hold a marker with the owner's pid and host; a later run removes
those whose owner is dead (SIGKILL leaves them behind), and nothing else. What reaches a project is
written by commit.py alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from scaffold.confine import COMMIT_DIR
from scaffold.errors import UsageError

STAGING_PREFIX = ".lossgen-staging-"
MARKER = "lossgen-staging.pid"
ENVIRONMENT_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ELOOP,
    errno.EEXIST,
    errno.EXDEV,
    errno.EMLINK,
    errno.EFBIG,
}
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
        if destination.is_dir() and not allow_non_empty and any(e.name != COMMIT_DIR for e in destination.iterdir()):
            raise UsageError(
                f"{destination} already exists and is not empty (use --force to write into it; "
                "nothing else in it is removed)"
            )
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
    raise UsageError(
        f"no usable temporary directory: {tempfile.gettempdir()} holds '{{' or '}}' "
        "(template syntax); set TMPDIR to a directory without braces"
    )


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
def scratch_dir() -> Iterator[Path]:
    """A fresh directory to render in, under a temporary base whose path has no template syntax."""
    with staging_dir(safe_temp_base()) as path:
        yield path


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


def pause(point: str) -> None:
    """Test-only hook: LOSSGEN_TEST_PAUSE=point[:seconds] sleeps at a named point so that tests can
    send signals there. Points: rendered, staged, commit (inside the commit, interrupts deferred)."""
    value = os.environ.get("LOSSGEN_TEST_PAUSE", "")
    name, _, seconds = value.partition(":")
    if name == point:
        print(f"LOSSGEN_TEST_PAUSE {point} {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 30))


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a child process (a pool worker, the test runner): be killed when lossgen dies, even by
    SIGKILL, instead of waiting forever for work or running on unseen (Linux; elsewhere a no-op)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
