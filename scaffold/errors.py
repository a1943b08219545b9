"""Errors that carry a location, so every problem in a spec reads as `file:line:col: message`."""

from __future__ import annotations


class LossgenError(Exception):
    """A problem the user can fix; the CLI prints it on one line, never as a traceback."""


class SpecError(LossgenError):
    def __init__(self, message: str, path: str = "<spec>", line: int | None = None, col: int | None = None):
        self.message = message
        self.path = str(path)
        self.line = line
        self.col = col
        super().__init__(str(self))

    @property
    def where(self) -> str:
        """`path`, `path:line` or `path:line:col`, as far as the location is known."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class UsageError(LossgenError):
    """Bad command-line input (exit code 2)."""
