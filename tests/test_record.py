"""The project record .lossgen.toml (scaffold/record.py): written with tomli_w, read strictly."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

from scaffold import cli as cli_module
from scaffold import record
from scaffold.catalog import load_catalog
from scaffold.errors import UsageError
from scaffold.library import Member


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)


def test_the_record_lists_every_written_file_with_its_hash_and_a_spec_copy(tmp_path):
    assert (
        cli_module.main(["new", "--kind", "huber", "--delta", "2", "--no-input", "--no-test", "-o", str(tmp_path)]) == 0
    )
    project = tmp_path / "huber-loss"
    text = (project / ".lossgen.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    on_disk = sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file() and p.name != ".lossgen.toml"
    )
    assert sorted(data["files"]) == on_disk
    for rel, digest in data["files"].items():
        assert hashlib.sha256((project / rel).read_bytes()).hexdigest() == digest
    spec = load_catalog(()).get("huber")
    (loss,) = data["losses"]
    assert loss["spec_text"] == spec.path.read_text(encoding="utf-8")
    assert loss["spec_sha256"] == hashlib.sha256(spec.path.read_bytes()).hexdigest()
    assert {k: data[k] for k in ("target", "name", "record_version")} == {
        "target": "python",
        "name": "huber",
        "record_version": 3,
    }
    assert {k: loss[k] for k in ("kind", "name", "params", "given")} == {
        "kind": "huber",
        "name": "huber",
        "params": {"delta": 2.0},
        "given": ["delta"],
    }
    assert text.splitlines()[2] == "#   lossgen new --kind huber --delta 2.0 --target python --name huber"
    assert record.read_record(project).files == data["files"]


@pytest.mark.parametrize(
    "arg",
    [
        "plain",
        "two words",
        "it's",
        "x{{ 7*7 }}",
        "$(id)",
        "tab\there",
        "new\nline",
        "cr\rbell\x07",
        "del\x7f",
        "quote'and\\back\nslash",
        "ünï\u2028sep",
        "",
    ],
)
def test_shell_words_stay_one_line_and_mean_the_argument(arg):
    word = record.shell_word(arg)
    assert "\n" not in word and "\r" not in word and "\u2028" not in word
    assert tomllib.loads(f"# {word}\nx = 1\n") == {"x": 1}  # a valid TOML comment
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True).stdout
    assert echoed.decode("utf-8") == arg
    if arg.isprintable():
        assert word == shlex.quote(arg)


def test_the_repeat_command_quotes_a_catalog_path(tmp_path):
    team = tmp_path / "team's specs\n{{ x }}"
    team.mkdir()
    source = Path(__file__).parent / "data" / "team" / "asym_mse.toml"
    (team / "asym_mse.toml").write_text(source.read_text())
    spec = load_catalog((str(team),)).get("asym_mse")
    line = record.command_line([Member(spec, spec.bind({}), "asym")], "python", "asym")
    assert "\n" not in line and f"--catalog {record.shell_word(str(team.resolve()))}" in line


def write(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / ".lossgen.toml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


GOOD = 'kind = "huber"\ntarget = "python"\nname = "huber"\n[params]\ndelta = 2.0\n'


@pytest.mark.parametrize(
    "content,message",
    [
        (b"\xff\xfe", "not UTF-8 text"),
        ("kind = \n", "malformed TOML"),
        ('kind = 1\ntarget = "python"\nname = "x"\n[params]\n', "`kind` is missing or malformed"),
        ('kind = "huber"\ntarget = "python"\nname = "x"\nparams = 3\n', "`params` is missing or malformed"),
        ('kind = "huber"\ntarget = "go"\nname = "x"\n[params]\n', "unknown target 'go'"),
        ("spec_text = 3\n" + GOOD, "`spec_text` must be a string"),
        (GOOD + "[files]\n'a.py' = 'abc'\n", "is not a sha256 hex digest"),
        (GOOD + f"[files]\n'../a.py' = '{'0' * 64}'\n", "not a relative path inside the project"),
        (GOOD + f"[files]\n'/etc/passwd' = '{'0' * 64}'\n", "not a relative path inside the project"),
        (GOOD + f"[files]\n'a/./b' = '{'0' * 64}'\n", "not a relative path inside the project"),
        ("files = 3\n" + GOOD, "`files` must be a table"),
    ],
)
def test_a_malformed_record_is_a_usage_error_naming_it(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(UsageError) as error:
        record.read_record(tmp_path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_or_directory_record(tmp_path):
    with pytest.raises(UsageError, match="is not a lossgen project \\(no .lossgen.toml\\)"):
        record.read_record(tmp_path)
    (tmp_path / ".lossgen.toml").mkdir()
    with pytest.raises(UsageError, match="a directory is in the way; not a record lossgen wrote"):
        record.read_record(tmp_path)


def test_a_record_from_lossgen_0_1_0_reads_without_files(tmp_path):
    write(tmp_path, "# Written by lossgen\n" + GOOD)
    assert record.read_record(tmp_path).files is None


def test_regenerate_reports_a_malformed_record_in_one_line(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    write(tmp_path / "p", "kind = [\n")
    assert cli_module.main(["regenerate", str(tmp_path / "p"), "--no-test"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {tmp_path / 'p' / '.lossgen.toml'}: malformed TOML") and err.count("\n") == 1
