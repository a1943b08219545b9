"""The project record `.lossgen.toml`: what a project was generated from and which files lossgen wrote.

The record is what makes a later run safe: `regenerate` (and a future `update`) may replace or remove
only files lossgen wrote, and only while they are unchanged. It is written by lossgen after black, not
rendered by cookiecutter, with tomli_w; only the header comment is hand-made, one line per line.

Layout (record_version 3; version 2 had no `inputs_sha256`, `about.year`, `conflicts` or per-loss
`files`, version 1 held one loss's keys at the top level, and records of lossgen 0.1.0 have no
`record_version`, `spec_text` or `files`; read_record reads them all, and refuses a newer version):

    # Written by lossgen: the answers this project was generated from, and the files it wrote.
    # Repeat the run with:
    #   lossgen new --kind huber --delta 2.0 --kind binary_focal --target python --name teamlosses
    record_version = 3
    target = "python"               # python | r
    name = "teamlosses"             # --name: the project and package names derive from it
    lossgen_version = "0.5.0"
    inputs_sha256 = "..."           # digest of all the files are a function of: `check` compares it
    generator_sha256 = "..."        # digest of lossgen's code and templates that rendered them
    conflicts = ["README.md"]       # files the last update left with conflict markers (if any)

    [[losses]]                      # one table per loss of the package, in the package's order
    kind = "huber"                  # spec name
    name = "huber"                  # the loss's module, class and function names derive from it
    spec_origin = "built-in"        # how the spec was found (built-in, --catalog, LOSSGEN_PATH, ...)
    catalog = "../team"             # --catalog specs only: the directory, relative to the project
    spec_sha256 = "..."             # sha256 of the spec file's bytes ("" if it had no file)
    spec_text = '''...'''           # a copy of the spec file, to render the base again
    given = ["delta"]               # the parameters the user set; the rest follow the spec's defaults
    files = ["teamlosses/huber.py", "tests/huber/test_values.py", ...]  # written by its own templates

    [losses.params]                 # every parameter value, defaults included
    delta = 2.0

    [files]                         # every file the generation wrote: relative POSIX path = sha256
    "README.md" = "..."
    "teamlosses/huber.py" = "..."

The record itself is not listed in `files`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__, bounded_toml
from scaffold.errors import UsageError

RECORD = ".lossgen.toml"
RECORD_VERSION = 3
TARGETS = ("python", "r")
MAX_RECORD_BYTES = 16 << 20  # 32 losses with their spec copies take about 200 kB
MAX_DEPTH = 6  # the deepest the layout nests (losses -> params -> a list of floats) is 4
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def spec_digest(spec) -> str:
    """sha256 of the spec file; a composite's also covers its parts' files, so a changed part shows."""
    if not spec.path.is_file():
        return ""
    if not getattr(spec, "parts", ()):
        return hashlib.sha256(spec.path.read_bytes()).hexdigest()
    digest = hashlib.sha256(spec.path.read_bytes())
    for part in spec.parts:
        digest.update(b"\0" + part.name.encode() + b"\0" + spec_digest(part).encode())
    return digest.hexdigest()


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
            out.append(
                {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c)
                or (f"\\x{ord(c):02x}" if ord(c) < 0x80 else f"\\u{ord(c):04x}")
            )
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"


def _unprintable(c: str) -> bool:
    # Cc: C0/C1 controls (newline, tab, DEL, NEL); Zl/Zp: the Unicode line and paragraph separators
    return unicodedata.category(c) in ("Cc", "Zl", "Zp")


def command_line(members, target: str, name: str, project: Path | None = None) -> str:
    """The `lossgen new` command that repeats a generation, each argument shell-quoted: every loss's
    `--kind` followed by its parameters. With `project`, a --catalog directory is written relative to
    it (as the record keeps it), so the command reads the same on every machine and in the base
    rendering of an update."""
    args: list[str] = []
    catalogs: list[str] = []
    for member in members:
        spec, values = member.spec, member.values
        args += ["--kind", spec.name]
        if spec.origin == "--catalog":  # other sources are found again unnamed
            directory = catalog_of(spec, project) if project is not None else str(spec.path.parent.resolve())
            if directory not in catalogs:
                catalogs.append(directory)
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
# The record, typed


@dataclass(frozen=True)
class LossEntry:
    """One `[[losses]]` table: a loss's spec (where from, and a copy) and its answers."""

    kind: str
    name: str
    params: dict[str, Any]
    given: tuple[str, ...]
    spec_origin: str = ""
    catalog: str = ""  # --catalog specs: the directory, relative to the project
    spec_sha256: str = ""
    spec_text: str = ""
    files: tuple[str, ...] | None = None  # the files its own templates wrote (record_version 3)


@dataclass
class Record:
    """`.lossgen.toml`, read once per run: what the project was generated from and what lossgen wrote."""

    target: str
    name: str
    losses: list[LossEntry]
    files: dict[str, str] | None  # path -> sha256; None for records of lossgen 0.1.0
    lossgen_version: str = ""
    record_version: int = 1
    about: dict[str, Any] | None = None
    inputs_sha256: str = ""  # digest of everything the files are a function of (see inputs_digest)
    generator_sha256: str = ""  # digest of lossgen's code and templates that rendered the files
    conflicts: list[str] = field(default_factory=list)  # files left with conflict markers

    def loss(self, name: str) -> LossEntry:
        return next(entry for entry in self.losses if entry.name == name)

    @property
    def loss_names(self) -> list[str]:
        return [entry.name for entry in self.losses]


# ---------------------------------------------------------------------------------------------
# Writing


def catalog_of(spec, project: Path) -> str | None:
    """Where `update` finds a --catalog spec again: its directory relative to the project (a repository
    holding both moves as a whole). Other sources are found again by discovery from the project."""
    if spec.origin != "--catalog":
        return None
    return Path(os.path.relpath(spec.path.parent.resolve(), Path(project).resolve())).as_posix()


def loss_entry(member, project: Path, files: list[str] | None = None) -> dict[str, Any]:
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
        **({"files": sorted(files)} if files is not None else {}),
    }


def inputs_digest(
    generator: str, target: str, name: str, about, entries: list[dict[str, Any]], files: list[str]
) -> str:
    """sha256 of what a project's files are a function of: lossgen's templates and code (`generator`),
    the target, the name, who it belongs to and each loss's spec bytes, names and values; and of the
    list of files the record holds, so a record edited by hand never passes for a rendering. Equal
    digests mean an identical rendering, so `check` can answer without rendering anything."""
    losses = [
        {
            "kind": entry["kind"],
            "name": entry["name"],
            "catalog": entry.get("catalog") or "",
            "spec_sha256": entry.get("spec_sha256", ""),
            "given": sorted(entry.get("given", [])),
            "params": entry["params"],
            "files": sorted(entry.get("files") or []),
        }
        for entry in entries
    ]
    payload = {
        "generator": generator,
        "target": target,
        "name": name,
        "about": about.to_record() if about is not None else None,
        "losses": losses,
        "files": sorted(files),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode("utf-8")).hexdigest()


def record_text(
    members,
    target: str,
    name: str,
    files: dict[str, str],
    project: Path,
    about=None,
    owners: dict[str, list[str]] | None = None,
    generator: str = "",
    conflicts: list[str] = (),
) -> str:
    """The record's text: header comment, answers, each loss's spec copy and the written files' hashes.
    `owners`: each loss's own files (loss name -> paths); `generator`: lossgen's templates digest."""
    import tomli_w

    entries = [
        loss_entry(member, project, (owners or {}).get(member.name) if owners is not None else None)
        for member in members
    ]
    data = {
        "record_version": RECORD_VERSION,
        "target": target,
        "name": name,
        "lossgen_version": __version__,
        **(
            {
                "inputs_sha256": inputs_digest(generator, target, name, about, entries, list(files)),
                "generator_sha256": generator,
            }
            if generator
            else {}
        ),
        **({"about": about.to_record()} if about is not None else {}),
        **({"conflicts": sorted(conflicts)} if conflicts else {}),
        "losses": entries,
        "files": dict(sorted(files.items())),
    }
    header = [
        "# Written by lossgen: the answers this project was generated from, and the files it wrote.",
        "# Repeat the run with (--catalog directories relative to this project):",
        f"#   {command_line(members, target, name, project)}",
    ]
    return "\n".join(header) + "\n" + tomli_w.dumps(data, multiline_strings=True)


# ---------------------------------------------------------------------------------------------
# Reading


def parse_record(raw: bytes, path: Path) -> Record:
    """The record's bytes, checked enough to generate the project again.

    `files` is None for records written before lossgen tracked its files (0.1.0).
    Every problem is a UsageError naming the record's path.
    """
    if len(raw) > MAX_RECORD_BYTES:
        raise UsageError(f"{path}: larger than {MAX_RECORD_BYTES >> 20} MiB; not a record lossgen wrote")
    try:
        data = bounded_toml.loads(raw.decode("utf-8"), MAX_DEPTH)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from None
    except bounded_toml.TooDeep:
        raise UsageError(f"{path}: nested too deeply (lossgen's records nest {MAX_DEPTH} levels at most)") from None
    version = data.get("record_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UsageError(f"{path}: `record_version` must be a positive integer")
    if version > RECORD_VERSION:
        raise UsageError(
            f"{path}: written by a newer lossgen (record_version {version}; this lossgen "
            f"{__version__} reads up to {RECORD_VERSION}): upgrade lossgen"
        )
    for key in ("target", "name"):
        if not isinstance(data.get(key), str):
            raise UsageError(f"{path}: `{key}` is missing or malformed")
    for key in ("lossgen_version", "inputs_sha256", "generator_sha256"):
        if not isinstance(data.get(key, ""), str):
            raise UsageError(f"{path}: `{key}` must be a string")
    if data["target"] not in TARGETS:
        raise UsageError(f"{path}: unknown target {data['target']!r} (allowed: {', '.join(TARGETS)})")
    if version == 1:  # one loss, its answers at the top level
        data["losses"] = [{**{k: v for k, v in data.items() if k in LOSS_KEYS and k != "files"}, "name": data["name"]}]
    losses = data.get("losses")
    if not (isinstance(losses, list) and losses and all(isinstance(loss, dict) for loss in losses)):
        raise UsageError(f"{path}: `losses` must be a non-empty array of tables ([[losses]])")
    conflicts = data.get("conflicts", [])
    if not (isinstance(conflicts, list) and all(isinstance(c, str) and is_project_path(c) for c in conflicts)):
        raise UsageError(f"{path}: `conflicts` must be a list of paths inside the project")
    about = data.get("about")
    if about is not None and not isinstance(about, dict):
        raise UsageError(f"{path}: [about] must be a table")
    return Record(
        target=data["target"],
        name=data["name"],
        losses=[_loss(path, loss, i) for i, loss in enumerate(losses, start=1)],
        files=_files(path, data.get("files")),
        lossgen_version=data.get("lossgen_version", ""),
        record_version=version,
        about=about,
        inputs_sha256=data.get("inputs_sha256", ""),
        generator_sha256=data.get("generator_sha256", ""),
        conflicts=conflicts,
    )


def read_record(project: Path) -> Record:
    """The record of `project`, read through the project's directory handle (never through a link)."""
    from scaffold.confine import Root

    path = Path(project) / RECORD
    if not Path(project).is_dir():
        raise UsageError(f"{project} is not a lossgen project (not a directory)")
    with Root(project) as root:
        found = root.find(RECORD, MAX_RECORD_BYTES)
    if found.blocked:
        raise UsageError(f"{path}: {found.blocked}; not a record lossgen wrote")
    if found.content is None:
        raise UsageError(f"{project} is not a lossgen project (no {RECORD})")
    return parse_record(found.content, path)


LOSS_KEYS = ("kind", "name", "params", "given", "spec_sha256", "spec_text", "spec_origin", "catalog", "files")


def _loss(path: Path, loss: dict[str, Any], number: int) -> LossEntry:
    where = f"{path}: loss {number}"
    for key, kind in (("kind", str), ("name", str), ("params", dict)):
        if not isinstance(loss.get(key), kind):
            raise UsageError(f"{where}: `{key}` is missing or malformed")
    for pname, value in loss["params"].items():
        flat = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float, bool)) for v in flat):
            raise UsageError(f"{where}: params.{pname!r} must be a number, a string, a boolean or a list of numbers")
    given = loss.get("given", list(loss["params"]))  # 0.1.0 records: every value counts as chosen
    if not (isinstance(given, list) and all(isinstance(n, str) for n in given)):
        raise UsageError(f"{where}: `given` must be a list of parameter names")
    for key in ("spec_sha256", "spec_text", "spec_origin", "catalog"):
        if not isinstance(loss.get(key, ""), str):
            raise UsageError(f"{where}: `{key}` must be a string")
    catalog = loss.get("catalog", "")
    if catalog and ("\0" in catalog or os.path.isabs(catalog)):
        raise UsageError(f"{where}: `catalog` must be a directory relative to the project")
    files = loss.get("files")
    if files is not None and not (
        isinstance(files, list) and all(isinstance(f, str) and is_project_path(f) for f in files)
    ):
        raise UsageError(f"{where}: `files` must be a list of paths inside the project")
    return LossEntry(
        kind=loss["kind"],
        name=loss["name"],
        params=loss["params"],
        given=tuple(given),
        spec_origin=loss.get("spec_origin", ""),
        catalog=catalog,
        spec_sha256=loss.get("spec_sha256", ""),
        spec_text=loss.get("spec_text", ""),
        files=tuple(files) if files is not None else None,
    )


def _files(path: Path, files: Any) -> dict[str, str] | None:
    from scaffold.confine import Unsafe, check_rel

    if files is None:
        return None
    if not isinstance(files, dict):
        raise UsageError(f"{path}: `files` must be a table of path = sha256")
    for name, digest in files.items():
        if not (isinstance(digest, str) and _SHA256.match(digest)):
            raise UsageError(f"{path}: files.{name!r} is not a sha256 hex digest")
        try:
            check_rel(name)
        except Unsafe as exc:
            raise UsageError(f"{path}: files.{name!r}: {exc.why}") from None
    return files


def is_project_path(name: str) -> bool:
    """A normalised relative path lossgen may write: inside the project, outside version control."""
    from scaffold.confine import Unsafe, check_rel

    try:
        check_rel(name)
    except Unsafe:
        return False
    return True
