"""Who a generated project belongs to: its license and authors.

Answers come from the command line, the interactive flow or `git config`; all of them are text
someone else wrote (git config included), so they are checked here like spec text: one line, no
control characters, an e-mail address that looks like one, a license lossgen knows.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from scaffold.sinks import refused_character

# SPDX ids lossgen can write a LICENSE for (texts in templates/licenses/<id>.txt).
LICENSES = {
    "Apache-2.0": "Apache License 2.0",
    "MIT": "MIT License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "GPL-3.0-or-later": "GNU General Public License v3.0 or later",
    "MPL-2.0": "Mozilla Public License 2.0",
}
DEFAULT_LICENSE = "Apache-2.0"
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_NAME = 100


@dataclass(frozen=True)
class Author:
    name: str
    email: str = ""


@dataclass(frozen=True)
class About:
    license: str = DEFAULT_LICENSE
    authors: tuple[Author, ...] = ()
    # the copyright year, recorded: the files lossgen writes are a function of the record, not of the date
    year: int = field(default_factory=lambda: datetime.date.today().year)

    def to_record(self) -> dict[str, Any]:
        return {
            "license": self.license,
            "year": self.year,
            "authors": [{"name": a.name, **({"email": a.email} if a.email else {})} for a in self.authors],
        }

    @classmethod
    def from_record(cls, data: Any) -> About:
        """The record's [about] table; ValueError says what is wrong. Old records have none."""
        if data is None:
            return cls()
        if not isinstance(data, dict) or not isinstance(data.get("authors", []), list):
            raise ValueError("[about] must hold `license` and a list of `authors`")
        authors = []
        for entry in data.get("authors", []):
            if not isinstance(entry, dict):
                raise ValueError("each of [about] authors must be a table with `name` (and `email`)")
            authors.append(author(entry.get("name"), entry.get("email", "")))
        year = data.get("year", datetime.date.today().year)  # records before lossgen 0.3.0 have none
        if not isinstance(year, int) or isinstance(year, bool) or not 1970 <= year <= 9999:
            raise ValueError("[about] year must be an integer year")
        return cls(check_license(data.get("license", DEFAULT_LICENSE)), tuple(authors), year)


def license_text(about: About, year: int) -> str:
    """The LICENSE file's text; the licenses that name a holder get the year and the authors."""
    from scaffold.paths import templates_dir

    text = (templates_dir() / "licenses" / f"{about.license}.txt").read_text(encoding="utf-8")
    holder = ", ".join(a.name for a in about.authors) or "the authors"
    return text.replace("<YEAR>", str(year)).replace("<COPYRIGHT HOLDER>", holder)


def check_license(value: Any) -> str:
    if value not in LICENSES:
        raise ValueError(f"unknown license {value!r} (choose an SPDX id: {', '.join(LICENSES)})")
    return value


def check_name(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_NAME
        or refused_character(value, multiline=False) is not None
    ):
        raise ValueError(f"author name {value!r} must be one line of at most {MAX_NAME} printable characters")
    return " ".join(value.split())


def check_email(value: Any) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_RE.fullmatch(value):
        raise ValueError(f"e-mail address {value!r} does not look like name@example.org")
    return value


def author(name: Any, email: Any = "") -> Author:
    return Author(check_name(name), check_email(email))


def git_author() -> Author | None:
    """`git config user.name` / `user.email`, when set and sensible; None otherwise (never an error:
    a stray git setting must not stop a generation)."""
    git = shutil.which("git")
    if git is None:
        return None
    values = []
    for key in ("user.name", "user.email"):
        try:
            result = subprocess.run([git, "config", "--get", key], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        values.append(result.stdout.strip() if result.returncode == 0 else "")
    try:
        return author(*values) if values[0] else None
    except ValueError:
        return None
