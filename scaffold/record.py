"""The project record `.lossgen.toml`: what a project was generated from and which files lossgen wrote.

The record is what makes a later run safe: `regenerate` (and a future `update`) may replace or remove
only files lossgen wrote, and only while they are unchanged. It is written by lossgen after black, not
rendered by cookiecutter, with tomli_w; only the header comment is hand-made, one line per line.

Layout (record_version 2; version 1 held one loss's keys at the top level, and records of lossgen
0.1.0 have no `record_version`, `spec_text` or `files`; read_record reads all three):

    # Written by lossgen: the answers this project was generated from, and the files it wrote.
    # Repeat the run with:
    #   lossgen new --kind huber --delta 2.0 --kind binary_focal --target python --name teamlosses
    record_version = 2
    target = "python"               # python | r
    name = "teamlosses"             # --name: the project and package names derive from it
    lossgen_version = "0.2.0"

    [[losses]]                      # one table per loss of the package, in the package's order
    kind = "huber"                  # spec name
    name = "huber"                  # the loss's module, class and function names derive from it
    spec_origin = "built-in"        # how the spec was found (built-in, --catalog, LOSSGEN_PATH, ...)
    catalog = "../team"             # --catalog specs only: the directory, relative to the project
    spec_sha256 = "..."             # sha256 of the spec file's bytes ("" if it had no file)
    spec_text = '''...'''           # a copy of the spec file, to render the base again
    given = ["delta"]               # the parameters the user set; the rest follow the spec's defaults

    [losses.params]                 # every parameter value, defaults included
    delta = 2.0

    [files]                         # every file the generation wrote: relative POSIX path = sha256
    "README.md" = "..."
    "teamlosses/huber.py" = "..."

The record itself is not listed in `files`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import tomllib
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from scaffold import __version__
from scaffold.errors import UsageError

RECORD = ".lossgen.toml"
RECORD_VERSION = 2
TARGETS = ("python", "r")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def spec_digest(spec) -> str:
    return hashlib.sha256(spec.path.read_bytes()).hexdigest() if spec.path.is_file() else ""


def spec_text(spec) -> str:
    return spec.path.read_bytes().decode("utf-8") if spec.path.is_file() else ""


# ---------------------------------------------------------------------------------------------
# The repeat command


def shell_word(arg: str) -> str:
    """One shell word that stays on one line: shlex.quote, or bash's $'...' for control characters."""
    if not any(_unprintable(c) for c in arg):
        return shlex.quote(arg)
    out = []
    for c in arg:
        if c in "\\'":
            out.append("\\" + c)
        elif _unprintable(c):
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c) or
                       (f"\\x{ord(c):02x}" if ord(c) < 0x80 else f"\\u{ord(c):04x}"))
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"


def _unprintable(c: str) -> bool:
    # Cc: C0/C1 controls (newline, tab, DEL, NEL); Zl/Zp: the Unicode line and paragraph separators
    return unicodedata.category(c) in ("Cc", "Zl", "Zp")


def command_line(members, target: str, name: str) -> str:
    """The `lossgen new` command that repeats a generation, each argument shell-quoted: every loss's
    `--kind` followed by its parameters."""
    args: list[str] = []
    catalogs: list[str] = []
    for member in members:
        spec, values = member.spec, member.values
        args += ["--kind", spec.name]
        if spec.origin == "--catalog" and str(spec.path.parent.resolve()) not in catalogs:
            catalogs.append(str(spec.path.parent.resolve()))  # other sources are found again unnamed
        for pname, value in values.items():
            flag = "--" + pname.replace("_", "-")
            ptype = spec.params[pname].type
            if ptype == "bool":
                args.append(flag if value else f"--no-{pname.replace('_', '-')}")
            elif ptype == "float_list":
                args += [flag, ",".join(repr(v) for v in value)]
            else:
                args += [flag, str(value)]
    for catalog in catalogs:
        args += ["--catalog", catalog]
    args += ["--target", target, "--name", name]
    return "lossgen new " + " ".join(shell_word(a) for a in args)


# ---------------------------------------------------------------------------------------------
# Writing


def catalog_of(spec, project: Path) -> str | None:
    """Where `update` finds a --catalog spec again: its directory relative to the project (a repository
    holding both moves as a whole). Other sources are found again by discovery from the project."""
    if spec.origin != "--catalog":
        return None
    return Path(os.path.relpath(spec.path.parent.resolve(), Path(project).resolve())).as_posix()


def loss_entry(member, project: Path) -> dict[str, Any]:
    """One `[[losses]]` table: the loss's name, its spec (where from, and a copy) and its answers."""
    spec, values = member.spec, member.values
    catalog = catalog_of(spec, project)
    return {
        "kind": spec.name,
        "name": member.name,
        "spec_origin": spec.origin,
        **({"catalog": catalog} if catalog else {}),
        "spec_sha256": spec_digest(spec),
        "spec_text": spec_text(spec),
        # the parameters the user chose; the others follow the spec's default when it changes
        "given": sorted(member.given),
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
    }


def record_text(members, target: str, name: str, files: dict[str, str], project: Path, about=None) -> str:
    """The record's text: header comment, answers, each loss's spec copy and the written files' hashes."""
    import tomli_w

    data = {
        "record_version": RECORD_VERSION,
        "target": target,
        "name": name,
        "lossgen_version": __version__,
        **({"about": about.to_record()} if about is not None else {}),
        "losses": [loss_entry(member, project) for member in members],
        "files": dict(sorted(files.items())),
    }
    header = [
        "# Written by lossgen: the answers this project was generated from, and the files it wrote.",
        "# Repeat the run with:",
        f"#   {command_line(members, target, name)}",
    ]
    return "\n".join(header) + "\n" + tomli_w.dumps(data, multiline_strings=True)


# ---------------------------------------------------------------------------------------------
# Reading


def read_record(project: Path) -> dict[str, Any]:
    """The record of `project`, checked enough to generate the project again.

    `files` is None for records written before lossgen tracked its files (0.1.0).
    Every problem is a UsageError naming the record's path.
    """
    path = Path(project) / RECORD
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{project} is not a lossgen project (no {RECORD})") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not lossgen's record file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        record = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from None
    for key in ("target", "name"):
        if not isinstance(record.get(key), str):
            raise UsageError(f"{path}: `{key}` is missing or malformed")
    if not isinstance(record.get("lossgen_version", ""), str):
        raise UsageError(f"{path}: `lossgen_version` must be a string")
    if record["target"] not in TARGETS:
        raise UsageError(f"{path}: unknown target {record['target']!r} (allowed: {', '.join(TARGETS)})")
    if record.get("record_version", 1) == 1:  # one loss, its answers at the top level
        record["losses"] = [{**{k: v for k, v in record.items() if k in LOSS_KEYS}, "name": record["name"]}]
    losses = record.get("losses")
    if not (isinstance(losses, list) and losses and all(isinstance(loss, dict) for loss in losses)):
        raise UsageError(f"{path}: `losses` must be a non-empty array of tables ([[losses]])")
    record["losses"] = [_loss(path, loss, i) for i, loss in enumerate(losses, start=1)]
    record["files"] = _files(path, record.get("files"))
    return record


LOSS_KEYS = ("kind", "name", "params", "given", "spec_sha256", "spec_text", "spec_origin", "catalog")


def _loss(path: Path, loss: dict[str, Any], number: int) -> dict[str, Any]:
    where = f"{path}: loss {number}"
    for key, kind in (("kind", str), ("name", str), ("params", dict)):
        if not isinstance(loss.get(key), kind):
            raise UsageError(f"{where}: `{key}` is missing or malformed")
    given = loss.get("given", list(loss["params"]))  # 0.1.0 records: every value counts as chosen
    if not (isinstance(given, list) and all(isinstance(n, str) for n in given)):
        raise UsageError(f"{where}: `given` must be a list of parameter names")
    for key in ("spec_sha256", "spec_text", "spec_origin", "catalog"):
        if not isinstance(loss.get(key, ""), str):
            raise UsageError(f"{where}: `{key}` must be a string")
    return {**{k: v for k, v in loss.items() if k in LOSS_KEYS}, "given": given}


def _files(path: Path, files: Any) -> dict[str, str] | None:
    if files is None:
        return None
    if not isinstance(files, dict):
        raise UsageError(f"{path}: `files` must be a table of path = sha256")
    for name, digest in files.items():
        if not (isinstance(digest, str) and _SHA256.match(digest)):
            raise UsageError(f"{path}: files.{name!r} is not a sha256 hex digest")
        if not is_project_path(name):
            raise UsageError(f"{path}: files.{name!r} is not a relative path inside the project")
    return files


def is_project_path(name: str) -> bool:
    """A normalised relative POSIX path that stays inside the project (no `..`, no absolute path)."""
    pure = PurePosixPath(name)
    return (bool(name) and not pure.is_absolute() and "\\" not in name and "\0" not in name
            and str(pure) == name and all(part not in ("..", ".") for part in pure.parts))
