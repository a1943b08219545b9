"""Bad input from the command line, a catalog or the environment: exit 2 and one line, nothing
written; found while trying lossgen as a hostile spec author would (issue 8, items 5 and 6)."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from scaffold import cli as cli_module
from scaffold.catalog import load_catalog
from scaffold.errors import SpecError
from tests.helpers import TEAM, assert_usage_error

ASYM = (TEAM / "asym_mse.toml").read_text()


@pytest.fixture(autouse=True)
def clean_env(isolated_cwd):
    return isolated_cwd


def run(capsys, *args: str) -> tuple[int, str]:
    code = cli_module.main(list(args))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--name", ""], "invalid name ''"),
        (["--name", "huber\n"], "invalid name 'huber\\n'"),
        (["--name", "x" * 61], "at most 60"),
        (["--kind", ""], "unknown kind ''"),
    ],
)
def test_new_refuses_bad_names_and_writes_nothing(capsys, clean_env, args, fragment):
    argv = ["new", "--no-input", "--no-test", "-o", "out", *args]
    if "--kind" not in args:
        argv += ["--kind", "huber"]
    code, err = run(capsys, *argv)
    assert_usage_error(code, err, fragment)
    assert not (clean_env / "out").exists() or not any((clean_env / "out").iterdir())


def test_show_with_an_empty_kind(capsys):
    assert_usage_error(*run(capsys, "show", ""), "unknown kind ''")


def test_spec_starter_name_with_a_trailing_newline(capsys, clean_env):
    assert_usage_error(*run(capsys, "spec", "abc\n"), "invalid spec name")
    assert list(clean_env.iterdir()) == []


def team_spec(root: Path, text: str, name: str = "asym_mse") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.toml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "case, edit, fragment",
    [
        (
            "param name with newline",
            lambda t: t.replace("[params.", '[params."alpha\\n"]\ntype = "float"\ndefault = 1.0\n\n[params.', 1),
            "must be one line",
        ),
        ("examples not tables", lambda t: "examples = [1]\n" + t.split("[[examples]]")[0], "example 1 must be a table"),
        (
            "step shadows ops",
            lambda t: t.replace('formula = """\n', 'formula = """\nops = y_pred * 1.0\n'),
            "`ops` would shadow",
        ),
        (
            "step shadows len",
            lambda t: t.replace('formula = """\n', 'formula = """\nlen = y_pred * 1.0\n'),
            "`len` would shadow",
        ),
        (
            "step shadows R's function",
            lambda t: t.replace('formula = """\n', 'formula = """\nrepeat = y_pred * 1.0\n'),
            "`repeat` would shadow",
        ),
        (
            "step shadows keras",
            lambda t: t.replace('formula = """\n', 'formula = """\nkeras = y_pred * 1.0\n'),
            "`keras` would shadow",
        ),
    ],
)
def test_hostile_team_specs_are_spec_errors(tmp_path, case, edit, fragment):
    text = edit(ASYM)
    assert text != ASYM, case
    team = team_spec(tmp_path / "team", text)
    with pytest.raises(SpecError, match=fragment) as caught:
        load_catalog((str(team),))
    assert caught.value.line is not None


def test_undecodable_spec_names_file_line_and_column(tmp_path, capsys):
    team = tmp_path / "team"
    team.mkdir()
    (team / "asym_mse.toml").write_bytes(ASYM.encode().replace(b"Asymmetric", b"Asym\xffmetric"))
    code, err = run(capsys, "list", "--catalog", str(team))
    assert_usage_error(code, err, "asym_mse.toml:2:")
    assert "not valid UTF-8" in err


def test_hidden_files_in_a_catalog_are_not_specs(tmp_path, capsys):
    team = team_spec(tmp_path / "team", ASYM)
    (team / "._asym_mse.toml").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    assert "asym_mse" in load_catalog((str(team),)).names()


@pytest.mark.parametrize(
    "pyproject",
    [
        "tool = 5\n",
        "[tool]\nlossgen = 3\n",
        '[tool.lossgen]\ncatalogs = "team"\n',
        "[tool.lossgen]\ncatalogs = [1]\n",
        "[tool.lossgen\n",
    ],
)
def test_malformed_tool_lossgen_table_is_one_line(tmp_path, capsys, monkeypatch, pyproject):
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    code, err = run(capsys, "list")
    assert_usage_error(code, err, str(tmp_path / "pyproject.toml"))


def install_entry_point(site: Path, body: str) -> None:
    name = f"badplugin_{uuid.uuid4().hex[:8]}"
    package = site / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(body))
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[lossgen.catalogs]\nteam = {name}:CATALOG\n")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("def CATALOG():\n    raise RuntimeError('plugin broke')\n", "plugin broke"),
        ("CATALOG = 42\n", "must name a package, a directory path"),
        ("def CATALOG():\n    return None\n", "got NoneType"),
        ("raise ImportError('cannot import')\nCATALOG = '.'\n", "cannot import"),
    ],
)
def test_broken_entry_points_are_usage_errors(tmp_path, capsys, monkeypatch, body, fragment):
    site = tmp_path / "site"
    install_entry_point(site, body)
    monkeypatch.syspath_prepend(str(site))
    code, err = run(capsys, "list")
    assert_usage_error(code, err, fragment)
    assert "entry point team" in err
