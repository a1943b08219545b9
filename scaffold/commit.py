"""All or nothing: a plan's file changes written to one project, or to both of a `--target both` pair.

The protocol, per commit (the caller holds every project's lock, from reading the record on):

1. *verify*: every file the plan read still has the content the plan was made from, else nothing is
   written ("changed while updating; run again");
2. *stage*: each project gets `.lossgen-commit/` inside it (so a project that is a mount point works
   and nothing is written beside it) with the new contents, the new record and a journal of the
   operations, each with the hash it expects before and leaves after; all fsynced;
3. *decide*: a `decided` marker in the first project's commit area. Before it exists the commit is
   undone by deleting the staging; after it, it is finished by rolling forward;
4. *apply*: each file is written through confine.Root (a temporary file beside it, renamed over
   it, so no rename crosses filesystems), removals, and each record last;
5. *clean up*: the other projects' commit areas, then the first's.

SIGINT, SIGTERM and SIGHUP wait until step 5 is done. SIGKILL, a power cut or an I/O error leaves
the journal: the next lossgen command on the project (`recover`, under its lock) finishes the
commit or undoes it before anything else, and `check` reports it until then.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scaffold.confine import COMMIT_DIR, Root, content_sha256
from scaffold.errors import UsageError
from scaffold.plan import listed
from scaffold.record import RECORD

JOURNAL = "journal.json"
DECIDED = "decided"
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MAX_JOURNAL_BYTES = 16 << 20


class Changed(UsageError):
    """A file changed between planning and commit (the user saved it, or another tool wrote it)."""


@dataclass(frozen=True)
class Write:
    """One file operation: `content` replaces the file (None removes it), which must still hash to
    `expect` (None: absent) as when the plan read it."""

    path: str
    content: bytes | None
    expect: str | None


@dataclass
class Part:
    """One project's share of a commit."""

    root: Root
    writes: list[Write]
    record: bytes


def commit(parts: list[Part]) -> None:
    """Verify, stage, decide, apply, clean up (module docstring); the first part decides for all."""
    stale = [
        f"{part.root.path / w.path}"
        for part in parts
        for w in part.writes
        if content_sha256(part.root.read(w.path)) != w.expect
    ]
    if stale:
        raise Changed(f"changed while updating: {listed(stale)}; nothing was written; run again")
    from scaffold.workspace import pause

    txn = uuid.uuid4().hex
    primary = parts[0].root.path.resolve()
    staged: list[Part] = []
    decided = False
    try:  # an interrupt or error before the decision undoes the staging: nothing was written
        for part in parts:
            staged.append(part)
            _stage(
                part,
                txn,
                os.path.relpath(primary, part.root.path.resolve()),
                [os.path.relpath(p.root.path.resolve(), primary) for p in parts[1:]] if part is parts[0] else [],
            )
        pause("staged")
        with interrupts_deferred():  # from the decision on, interrupts wait for the end
            _decide(parts[0].root, txn)
            decided = True
            for part in parts:
                _roll_forward(part.root, _journal(part.root))
            for part in parts[1:] + parts[:1]:
                _discard(part.root)
    except BaseException:
        if not decided:
            for part in staged:
                _discard(part.root)
        raise


def recover(root: Root, held: dict[Path, Root] | None = None) -> str:
    """Finish or undo a commit an earlier lossgen left (call under the project's lock; `held`: the
    other projects this run has locked, by resolved path); says what was done."""
    if not _exists(root):
        return ""
    journal = _journal(root)
    if journal is None:  # killed while staging: nothing was applied
        _discard(root)
        return "removed the staging of an interrupted commit (nothing of it had been written)"
    if journal.get("host") != socket.gethostname():  # e.g. committed to a repository and cloned
        raise UsageError(
            f"{root.path / COMMIT_DIR} holds a commit lossgen left on another machine ({journal.get('host')!r}); "
            "lossgen finishes only its own interrupted commits: remove that directory and run again"
        )
    primary = (root.path / journal["primary"]).resolve()
    if _decided(primary, journal["txn"]):
        done = _roll_forward(root, journal)
        for partner in journal.get("partners", []):  # the primary finishes its pair's other half too
            path = (primary / partner).resolve()
            with contextlib.ExitStack() as stack:
                other = (held or {}).get(path)
                if other is None:
                    other = stack.enter_context(Root(path))
                    stack.enter_context(locked(other))
                other_journal = _journal(other)
                if other_journal is not None and other_journal["txn"] == journal["txn"]:
                    _roll_forward(other, other_journal)
                    _discard(other)
        _discard(root)
        return f"finished an interrupted commit ({done} file(s) written or removed)"
    _discard(root)
    return "undid an interrupted commit (it had not started writing)"


def pending(root: Root) -> bool:
    """An interrupted commit waits to be finished (for `check`)."""
    return _exists(root)


def busy(root: Root) -> bool:
    """Another lossgen holds the project's lock (its commit is under way, not interrupted)."""
    try:
        fcntl.flock(root.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(root.fd, fcntl.LOCK_UN)
    return False


# ---------------------------------------------------------------------------------------------
# Steps


def _stage(part: Part, txn: str, primary: str, partners: list[str]) -> None:
    fd = _commit_dir(part.root, create=True)
    try:
        ops = []
        for index, write in enumerate(part.writes):
            blob = None
            if write.content is not None:
                blob = f"{index:05d}"
                _write_at(fd, blob, write.content)
            ops.append({"path": write.path, "blob": blob, "expect": write.expect, "sha": content_sha256(write.content)})
        _write_at(fd, "record", part.record)
        journal = {"txn": txn, "host": socket.gethostname(), "primary": primary, "partners": partners, "ops": ops}
        _write_at(fd, JOURNAL, json.dumps(journal).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _decide(root: Root, txn: str) -> None:
    fd = _commit_dir(root)
    try:
        _write_at(fd, DECIDED, txn.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _roll_forward(root: Root, journal: dict | None) -> int:
    """Apply every operation not yet applied, the record last; idempotent, so a crash here is fine."""
    if journal is None:
        return 0
    fd = _commit_dir(root)
    try:
        done = 0
        blocked = []
        for op in journal["ops"]:
            current = content_sha256(root.read(op["path"]))
            if current == op["sha"]:
                continue
            if current != op["expect"]:
                blocked.append(op["path"])
                continue
            if op["blob"] is None:
                root.unlink(op["path"])
            else:
                root.write(op["path"], _read_at(fd, op["blob"]))
            done += 1
            if done == 1:
                from scaffold.workspace import pause

                pause("commit")
        if blocked:
            raise UsageError(
                f"{root.path}: an interrupted commit cannot be finished: {', '.join(blocked[:10])} "
                f"changed since it started; look at them, then remove {root.path / COMMIT_DIR} "
                "and run lossgen update again"
            )
        root.write(RECORD, _read_at(fd, "record"))
        return done
    finally:
        os.close(fd)


def _discard(root: Root) -> None:
    with contextlib.suppress(FileNotFoundError):
        info = os.stat(COMMIT_DIR, dir_fd=root.fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(COMMIT_DIR, dir_fd=root.fd)
        else:
            os.unlink(COMMIT_DIR, dir_fd=root.fd)  # not ours to keep: lossgen reserves the name


# ---------------------------------------------------------------------------------------------
# The commit area: files read and written relative to its directory handle, never through links


def _exists(root: Root) -> bool:
    try:
        os.stat(COMMIT_DIR, dir_fd=root.fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def _commit_dir(root: Root, create: bool = False) -> int:
    if create:
        _discard(root)
        os.mkdir(COMMIT_DIR, 0o700, dir_fd=root.fd)
    return os.open(COMMIT_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root.fd)


def _write_at(fd: int, name: str, content: bytes) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
    try:
        with os.fdopen(out, "wb", closefd=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(out)
    finally:
        os.close(out)


def _read_at(fd: int, name: str, limit: int = MAX_JOURNAL_BYTES << 2) -> bytes:
    handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
    with os.fdopen(handle, "rb") as stream:
        return stream.read(limit)


def _journal(root: Root) -> dict | None:
    """The journal, or None when staging had not finished (no complete journal was written)."""
    try:
        fd = _commit_dir(root)
    except OSError:
        return None
    try:
        data = json.loads(_read_at(fd, JOURNAL, MAX_JOURNAL_BYTES))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not (
        isinstance(data, dict)
        and isinstance(data.get("txn"), str)
        and isinstance(data.get("ops"), list)
        and isinstance(data.get("primary"), str)
    ):
        return None
    return data


def _decided(primary: Path, txn: str) -> bool:
    try:
        with Root(primary) as root:
            fd = _commit_dir(root)
            try:
                return _read_at(fd, DECIDED, 100).decode("ascii", "replace") == txn
            finally:
                os.close(fd)
    except (OSError, UsageError):
        return False


# ---------------------------------------------------------------------------------------------
# Locks and signals


LOCK_WAIT_SECONDS = float(os.environ.get("LOSSGEN_LOCK_WAIT", "120"))


@contextlib.contextmanager
def locked(root: Root, wait: float | None = None, say=None) -> Iterator[None]:
    """An exclusive flock on the project directory itself: no lock file is left in the user's tree,
    and the kernel releases it when lossgen dies, even by SIGKILL. Waits for another lossgen (up to
    `wait` seconds, LOSSGEN_LOCK_WAIT), so two updates run one after the other, never interleaved."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(root.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise UsageError(
                    f"another lossgen is working on {root.path} (waited {wait:g} s); try again when it has finished"
                ) from None
            if say is not None and not told:
                say(f"Waiting for another lossgen working on {root.path} ...")
                told = True
            time.sleep(0.05)
    try:
        yield
    finally:
        fcntl.flock(root.fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Interrupts wait until the commit is done: the old files or the new ones, never half of each.

    Deferred at the Python level, not with pthread_sigmask: the kernel hands a process signal to any
    thread that does not block it (NumPy's BLAS threads), and Python then runs the handler in the main
    thread anyway. After the commit the deferred signals are raised again, once each.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: caught.append(signum)) for signum in DEFERRED_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)
