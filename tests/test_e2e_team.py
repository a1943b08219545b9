"""End to end for team catalogs: the asym_mse team spec reached through each discovery path
(--catalog, LOSSGEN_PATH, [tool.lossgen] in pyproject.toml, an installed entry point) and the
hand-written topk_mse spec, generated for both targets. The discovery paths give the same project
(compared byte for byte, the record of where the spec came from aside), so one of them runs its
suite per target, beside the hand-written one: the Python suites in one pytest process, the R
packages in one Rscript process. LOSSGEN_FULL_MATRIX=1 runs every path's suite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaffold import check
from scaffold.cli import cli
from tests.helpers import FULL_MATRIX, TEAM, make_entry_point, snapshot

pytestmark = pytest.mark.e2e
PATHS = ["--catalog", "LOSSGEN_PATH", "pyproject", "entry point"]
TARGETS = ["python", "r"]
RUN = PATHS + ["hand-written"] if FULL_MATRIX else ["--catalog", "hand-written"]
# Where the spec was found: recorded for `lossgen update`, so it differs between discovery paths.
RECORD = ".lossgen.toml"
README = "README.md"  # its "Re-create it with" command names the catalog when --catalog found it


def generate(monkeypatch, root: Path, how: str, target: str, kind: str = "asym_mse") -> Path:
    """Make `kind` findable only through `how`, then run `lossgen new` from a fresh directory."""
    workdir = root / f"{how.replace(' ', '-').strip('-')}-{target}-{kind}"
    catalog = workdir / "team-losses"
    shutil.copytree(TEAM, catalog)
    out = workdir / "out"
    args = ["new", "--kind", kind, "--target", target, "--no-input", "--no-test", "-o", str(out)]
    env = {}
    with monkeypatch.context() as patch:
        patch.delenv("LOSSGEN_PATH", raising=False)
        patch.chdir(workdir)
        if how == "--catalog":
            args += ["--catalog", str(catalog)]
        elif how == "LOSSGEN_PATH":
            env["LOSSGEN_PATH"] = str(catalog)
        elif how == "pyproject":
            (workdir / "pyproject.toml").write_text('[tool.lossgen]\ncatalogs = ["team-losses"]\n')
        else:
            make_entry_point(workdir / "site", catalog)
            patch.syspath_prepend(str(workdir / "site"))
        result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    projects = [p for p in out.iterdir() if p.is_dir()]
    assert len(projects) == 1
    return projects[0]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    patch = pytest.MonkeyPatch()
    try:
        made = {(how, target): generate(patch, root, how, target) for how in PATHS for target in TARGETS}
        for target in TARGETS:
            made[("hand-written", target)] = generate(patch, root, "--catalog", target, kind="topk_mse")
    finally:
        patch.undo()
    return made


@pytest.fixture(scope="module")
def reports(generated):
    results = {}
    for target in TARGETS:
        keys = [key for key in generated if key[1] == target and key[0] in RUN]
        if target == "r" and check.r_missing() and not os.environ.get("LOSSGEN_REQUIRE_R"):
            continue
        for key, report in zip(keys, check.run_tests(target, [generated[k] for k in keys])):
            results[key] = report
    return results


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("how", PATHS[1:])
def test_every_discovery_path_gives_the_same_project(how, target, generated):
    ran, other = snapshot(generated[(PATHS[0], target)]), snapshot(generated[(how, target)])
    assert sorted(ran) == sorted(other)
    assert [path for path in ran if ran[path] != other[path]] == [RECORD, README]
    # the README differs only in the command that re-creates the project (--catalog DIR, or not) and,
    # for --catalog, the paragraph saying that DIR is relative to the project
    assert without_command(ran[README]) == without_command(other[README])
    assert f'target = "{target}"' in other[RECORD].decode()


def without_command(readme: bytes) -> list[str]:
    text = readme.decode()
    relative = "\n\nA `--catalog` directory above is relative to this directory"
    if relative in text:  # that paragraph, up to the blank line after it
        start = text.index(relative)
        text = text[:start] + text[text.index("\n\n", start + 2) :]
    lines = text.splitlines()
    commands = [line for line in lines if line.startswith("lossgen new ")]
    assert len(commands) == 1, commands
    return [line for line in lines if line not in commands]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("how", RUN)
def test_team_spec_generates_a_passing_project(how, target, reports, generated):
    if (how, target) not in reports:
        pytest.skip(f"R tests cannot run here: {check.r_missing()} (set LOSSGEN_REQUIRE_R=1 to fail instead)")
    report = reports[(how, target)]
    assert report.ok, f"{how}/{target}: {report.summary()}\n" + "\n".join(report.output[-40:])
    assert report.skipped == 0, f"{how}/{target}: generated tests must not skip checks"
    record = (generated[(how, target)] / ".lossgen.toml").read_text()
    assert f'target = "{target}"' in record


def test_failing_generated_tests_make_new_exit_1(tmp_path, capsys):
    """A wrong hand-computed example of a hand-written ([code]) loss, which only Keras can check, is
    caught by the generated tests, and `new` says so (a formula's is refused before writing: test_lifecycle)."""
    from scaffold import cli as cli_module

    catalog = tmp_path / "team"
    catalog.mkdir()
    wrong = (TEAM / "topk_mse.toml").read_text().replace("loss = [16.0, 0.0]", "loss = [17.0, 0.0]")
    assert wrong != (TEAM / "topk_mse.toml").read_text()
    (catalog / "topk_mse.toml").write_text(wrong)
    code = cli_module.main(
        ["new", "--catalog", str(catalog), "--kind", "topk_mse", "--no-input", "-o", str(tmp_path / "out")]
    )
    assert code == cli_module.EXIT_TESTS_FAILED == 1, capsys.readouterr().err
    assert (tmp_path / "out" / "topk-mse-loss" / "tests" / "topk_mse" / "test_values.py").is_file()  # kept to inspect
