"""The one place lossgen touches a project's files: below its root, through real directories only.

Every path is walked component by component from a handle on the project directory, each directory
opened with O_NOFOLLOW | O_DIRECTORY relative to the one before (openat), so a symbolic link on the
way (`docs -> /shared`, `outlink -> /elsewhere`, `tests -> .git/info`) is refused at the component
that is a link, whatever happens between a check and a use. Only regular files are read, written
or removed; nothing under `.git`, `.hg` or `.svn` is, and neither is lossgen's own commit area.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Self

from scaffold.errors import UsageError

VCS_DIRS = frozenset({".git", ".hg", ".svn"})
COMMIT_DIR = ".lossgen-commit"  # staging and journal of a commit in progress, inside the project
MAX_FILE_BYTES = 64 << 20  # a generated file is far smaller; a bigger one is not lossgen's
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def content_sha256(content: bytes | None) -> str | None:
    """The sha256 a record keeps for a file's content; None for no file."""
    return None if content is None else hashlib.sha256(content).hexdigest()


class Unsafe(UsageError):
    """A path lossgen will not touch, and why (exit 2)."""

    def __init__(self, rel: str, why: str):
        self.rel, self.why = rel, why
        super().__init__(f"{rel}: {why}")


@dataclass(frozen=True)
class Found:
    """What is at a path: a regular file's bytes, nothing (None), or why lossgen may not touch it."""

    content: bytes | None = None
    blocked: str = ""

    @property
    def exists(self) -> bool:
        return self.content is not None


def check_rel(rel: str) -> PurePosixPath:
    """A normalised relative POSIX path below the root, outside version control and lossgen's commit area."""
    pure = PurePosixPath(rel)
    if (
        not rel
        or pure.is_absolute()
        or "\\" in rel
        or "\0" in rel
        or str(pure) != rel
        or any(part in ("..", ".") for part in pure.parts)
    ):
        raise Unsafe(repr(rel), "not a relative path inside the project")
    if VCS_DIRS & set(pure.parts) or pure.parts[0] == COMMIT_DIR:
        raise Unsafe(
            rel, f"inside {next(p for p in pure.parts if p in VCS_DIRS | {COMMIT_DIR})}, which lossgen never touches"
        )
    return pure


class Root:
    """A handle on a project directory; every access below it goes through `_parent`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise UsageError(f"cannot open the project directory {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _parent(self, rel: str, create: bool = False) -> Iterator[tuple[int | None, str]]:
        """The open directory holding `rel` and the file's name; None when a directory on the way is
        missing (and not created). A link or non-directory on the way raises Unsafe."""
        pure = check_rel(rel)
        fds: list[int] = []
        fd = self.fd
        try:
            for index, part in enumerate(pure.parts[:-1]):
                where = "/".join(pure.parts[: index + 1])
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        yield None, pure.name
                        return
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise Unsafe(rel, _why_not_directory(exc, where, fd)) from None
                fds.append(fd)
            yield fd, pure.name
        finally:
            for opened in reversed(fds):
                os.close(opened)

    def find(self, rel: str, limit: int = MAX_FILE_BYTES) -> Found:
        """The file at `rel`: its bytes, absent, or blocked (a link, a directory, a device in the way)."""
        try:
            with self._parent(rel) as (parent, name):
                if parent is None:
                    return Found()
                try:
                    fd = os.open(
                        name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=parent
                    )
                except FileNotFoundError:
                    return Found()
                except OSError as exc:
                    return Found(blocked=_why_not_file(exc, name, parent))
                try:
                    info = os.fstat(fd)
                    if stat.S_ISDIR(info.st_mode):
                        return Found(blocked="a directory is in the way")
                    if not stat.S_ISREG(info.st_mode):
                        return Found(blocked="not a regular file")
                    if info.st_size > limit:
                        return Found(blocked=f"larger than {limit} bytes")
                    with os.fdopen(fd, "rb", closefd=False) as handle:
                        data = handle.read(limit + 1)
                    if len(data) > limit:
                        return Found(blocked=f"larger than {limit} bytes")
                    return Found(content=data)
                finally:
                    os.close(fd)
        except Unsafe as exc:
            return Found(blocked=exc.why)

    def read(self, rel: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """The bytes of `rel`, None when absent; Unsafe when something else is there."""
        found = self.find(rel, limit)
        if found.blocked:
            raise Unsafe(rel, found.blocked)
        return found.content

    def write(self, rel: str, content: bytes, mode: int = 0o644) -> None:
        """Replace `rel` with `content` atomically: a temporary file beside it (same filesystem), fsynced,
        renamed over it. Directories on the way are created as real directories."""
        with self._parent(rel, create=True) as (parent, name):
            found = self._at(parent, name)
            if found:
                raise Unsafe(rel, found)
            temp = f".{name}.lossgen-{os.getpid()}"
            fd = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                mode,
                dir_fd=parent,
            )
            try:
                with os.fdopen(fd, "wb", closefd=False) as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                os.close(fd)
                _quietly(os.unlink, temp, dir_fd=parent)
                raise
            os.close(fd)
            try:
                os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                _quietly(os.unlink, temp, dir_fd=parent)
                raise

    def unlink(self, rel: str) -> None:
        """Remove the regular file `rel` (absent is fine), then its directories as long as they are empty."""
        pure = check_rel(rel)
        with self._parent(rel) as (parent, name):
            if parent is None:
                return
            found = self._at(parent, name)
            if found:
                raise Unsafe(rel, found)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=parent)
        for directory in list(pure.parents)[:-1]:
            with self._parent(str(directory)) as (parent, name):
                if parent is None:
                    return
                try:
                    os.rmdir(name, dir_fd=parent)  # only when empty: nothing but lossgen's file was there
                except OSError:
                    return

    @staticmethod
    def _at(parent: int, name: str) -> str:
        """Why the entry `name` may not be replaced or removed ("" when it is a file or absent)."""
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return ""
        if stat.S_ISLNK(info.st_mode):
            return "a symbolic link (lossgen never writes through links)"
        if stat.S_ISDIR(info.st_mode):
            return "a directory is in the way"
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        return ""


def _why_not_directory(exc: OSError, where: str, parent: int) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        try:
            info = os.stat(PurePosixPath(where).name, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                return f"{where} is a symbolic link"
        except OSError:
            pass
        return f"{where} is not a directory"
    return f"cannot open {where}: {exc.strerror}"


def _why_not_file(exc: OSError, name: str, parent: int) -> str:
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return "a symbolic link (lossgen never reads or writes through links)"
    if exc.errno == errno.EISDIR:
        return "a directory is in the way"
    return f"cannot open: {exc.strerror}"


def _quietly(fn, *args, **kwargs) -> None:
    with contextlib.suppress(OSError):
        fn(*args, **kwargs)
