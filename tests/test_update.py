"""`lossgen update` and `lossgen check` on real git repositories with real edits.

The team changes its spec (a default moves, a help text changes); the project's owner has edited
generated files and added their own. update must merge, keep everything that is theirs, say what
changed before touching anything, and leave .git alone. check says whether an update is due.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from tests.helpers import TEAM, git, run, snapshot


def change_default(team: Path) -> None:
    """The team moves alpha's default from 2 to 4 (and fixes the example that relies on it)."""
    spec = team / "asym_mse.toml"
    text = spec.read_text()
    text = text.replace("default = 2.0", "default = 4.0").replace("loss = [3.0]", "loss = [4.0]")
    spec.write_text(text.replace("(2 * 1 + 4) / 2 = 3", "(4 * 1 + 4) / 2 = 4"))


@pytest.fixture
def team(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(TEAM, tmp_path / "team")
    return tmp_path / "team"


def committed_project(tmp_path: Path, *extra: str, target: str = "python") -> Path:
    assert (
        run("new", "--catalog", "team", "--kind", "asym_mse", "--target", target, "--no-input", "--no-test", *extra)
        == 0
    )
    project = tmp_path / ("asymmseloss" if target == "r" else "asym-mse-loss")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    return project


def edit_docstring_and_add_a_test(project: Path) -> None:
    loss = project / "asym_mse_loss" / "asym_mse.py"
    text = loss.read_text()
    anchor = "    Formula::\n"
    loss.write_text(text.replace(anchor, "    Our team uses this for the weekly demand model.\n\n" + anchor, 1))
    (project / "tests" / "test_ours.py").write_text("def test_ours():\n    assert 1 + 1 == 2\n")


def test_update_keeps_edits_and_own_files_and_applies_the_new_default(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    edit_docstring_and_add_a_test(project)
    (project / "notes.txt").write_text("untracked\n")
    head, objects = git(project, "rev-parse", "HEAD"), snapshot(project / ".git" / "objects")
    change_default(team)
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    out = capsys.readouterr().out
    assert out.index("What changed") < out.index("Updated")  # the inputs are said before anything is written
    assert "alpha: 2.0 -> 4.0" in out and "-default = 2.0" in out and "+default = 4.0" in out
    loss = (project / "asym_mse_loss" / "asym_mse.py").read_text()
    assert "Our team uses this for the weekly demand model." in loss
    assert "def asym_mse_loss(y_true, y_pred, alpha=4.0):" in loss
    assert (project / "tests" / "test_ours.py").read_text().startswith("def test_ours")
    assert (project / "notes.txt").read_text() == "untracked\n"
    assert git(project, "rev-parse", "HEAD") == head and snapshot(project / ".git" / "objects") == objects
    record = tomllib.loads((project / ".lossgen.toml").read_text())
    (loss,) = record["losses"]
    assert loss["params"] == {"alpha": 4.0} and "default = 4.0" in loss["spec_text"]
    assert capsys.readouterr().err == ""
    assert run("check", str(project)) == 0


def test_an_edit_on_the_changed_line_is_a_conflict_and_nothing_is_lost(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    loss = project / "asym_mse_loss" / "asym_mse.py"
    loss.write_text(
        loss.read_text().replace(
            "def asym_mse_loss(y_true, y_pred, alpha=2.0):", "def asym_mse_loss(y_true, y_pred, alpha=2.5):  # tuned"
        )
    )
    change_default(team)
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 1
    out = capsys.readouterr().out
    assert (
        re.search(r"^  conflict +asym_mse_loss/asym_mse\.py$", out, re.MULTILINE)
        and f"Conflicts in {project / 'asym_mse_loss/asym_mse.py'}" in out
    )
    text = loss.read_text()
    assert "<<<<<<< yours (asym_mse_loss/asym_mse.py)" in text and ">>>>>>> lossgen update" in text
    assert "alpha=2.5):  # tuned" in text and "alpha=4.0):" in text
    assert "alpha=4.0" in (project / "README.md").read_text()  # every other file is updated
    assert 'PARAMS = {"alpha": 4.0}' in (project / "tests" / "asym_mse" / "cases.py").read_text()


def test_check_before_and_after_and_a_dry_run_changes_nothing(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    assert run("check", str(project)) == 0
    change_default(team)
    capsys.readouterr()
    assert run("check", str(project)) == 1
    out = capsys.readouterr().out
    assert "an update is available" in out and "alpha: 2.0 -> 4.0" in out
    assert re.search(r"^  updated +README\.md$", out, re.MULTILINE)
    before = snapshot(project)
    assert run("update", str(project), "--dry-run", "--diff") == 0
    out = capsys.readouterr().out
    assert "--- a/asym_mse_loss/asym_mse.py" in out and "+def asym_mse_loss(y_true, y_pred, alpha=4.0):" in out
    assert "Dry run: nothing was written." in out
    assert snapshot(project) == before
    assert run("update", str(project), "--no-test") == 0
    assert run("check", str(project)) == 0


def test_check_says_what_update_would_keep_and_where_it_would_stop(team, tmp_path, capsys):
    """A file edited by its owner whose base cannot be rebuilt (the record hashes another rendering:
    lossgen's templates changed since it wrote it) is kept and said so; a file the record does not list
    but lossgen would write is named as where `update` would stop. Both by `check`, which writes nothing."""
    project = committed_project(tmp_path)
    record = project / ".lossgen.toml"
    text = record.read_text()
    backend = re.search(r'^"tests/backend.py" = "([0-9a-f]{64})"$', text, re.MULTILINE)
    text = text.replace(backend.group(1), "0" * 64)  # what lossgen wrote then is not what it renders today
    text = re.sub(r'^"tests/battery.py" = "[0-9a-f]{64}"\n', "", text, flags=re.MULTILINE)
    record.write_text(text)
    (project / "tests" / "backend.py").write_text((project / "tests" / "backend.py").read_text() + "# mine\n")
    (project / "tests" / "battery.py").write_text("# my own checks\n")
    before = snapshot(project)
    capsys.readouterr()
    assert run("check", str(project)) == 1
    out = capsys.readouterr().out
    assert re.search(
        r"^  kept yours \(edited; lossgen's changed too, with no base to merge\) +tests/backend.py$", out, re.MULTILINE
    )
    assert "there is no base to merge against" in out  # what lossgen wrote is in no commit
    assert "`lossgen update` would stop here: " in out and "tests/battery.py exist(s) but lossgen did not write" in out
    assert snapshot(project) == before


def test_after_a_template_change_an_edited_file_merges_against_what_lossgen_wrote_from_git(team, tmp_path, capsys):
    """The record hashes what lossgen wrote; today's templates render something else. The owner had
    committed the file as written before editing it: that commit is the base, so lossgen's new
    version and the owner's edit are merged, not one of them dropped."""
    project = committed_project(tmp_path)
    backend = project / "tests" / "backend.py"
    today = backend.read_bytes()
    written = today.replace(b"import keras\n", b"import keras  # as an older lossgen wrote it\n")
    backend.write_bytes(written)
    record = project / ".lossgen.toml"
    text = record.read_text().replace(hashlib.sha256(today).hexdigest(), hashlib.sha256(written).hexdigest())
    # and an older lossgen's templates rendered it
    record.write_text(re.sub(r'^generator_sha256 = "\w+"', 'generator_sha256 = "older"', text, flags=re.MULTILINE))
    git(project, "commit", "-qam", "as an older lossgen wrote it")
    backend.write_bytes(b"# the owner's first line\n" + written)
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    assert re.search(r"^  merged +tests/backend.py$", capsys.readouterr().out, re.MULTILINE)
    assert backend.read_bytes() == b"# the owner's first line\n" + today
    assert run("check", str(project)) == 0


def test_check_is_two_for_what_is_not_a_project(tmp_path, capsys):
    assert run("check", str(tmp_path)) == 2
    assert "is not a lossgen project" in capsys.readouterr().err


def test_parameters_change_on_the_way(team, tmp_path, capsys):
    project = committed_project(tmp_path, "--alpha", "3")
    change_default(team)  # alpha was chosen: the new default does not apply
    capsys.readouterr()
    assert run("check", str(project)) == 1
    assert "alpha" not in capsys.readouterr().out.split("Files:")[0].replace("asym_mse", "")
    assert run("update", str(project), "--alpha", "5", "--no-test") == 0
    assert "alpha: 3.0 -> 5.0" in capsys.readouterr().out
    assert "alpha=5.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()


def test_a_record_of_lossgen_0_1_0_still_updates_and_says_what_it_cannot_know(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    path = project / ".lossgen.toml"
    record = tomllib.loads(path.read_text())
    old = {k: record[k] for k in ("target", "name", "lossgen_version")}
    old.update({k: record["losses"][0][k] for k in ("kind", "spec_origin", "spec_sha256")})
    old_text = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in old.items())
    path.write_text(old_text + "\n\n[params]\nalpha = 2.0\n")
    edit_docstring_and_add_a_test(project)
    change_default(team)
    capsys.readouterr()
    code = run("update", str(project), "--catalog", str(team), "--no-test")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "the record has no copy of the spec (lossgen 0.1.0), so lossgen cannot tell your edits" in out
    assert "does not list the files lossgen wrote" in out
    assert "Our team uses this" in (project / "asym_mse_loss" / "asym_mse.py").read_text()
    record = tomllib.loads(path.read_text())  # from now on, the record can reproduce the base
    assert record["record_version"] == 3 and record["losses"][0]["spec_text"] and record["files"]
    assert run("update", str(project), "--force", "--no-test") == 0
    assert "Our team uses this" not in (project / "asym_mse_loss" / "asym_mse.py").read_text()
    assert (project / "tests" / "test_ours.py").is_file()


def test_a_deleted_team_spec_is_refused_with_what_to_do(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    (team / "asym_mse.toml").unlink()
    before = snapshot(project)
    assert run("update", str(project), "--no-test") == 2
    err = capsys.readouterr().err
    assert "is not in its catalog any more" in err and "--catalog" in err and err.count("\n") == 1
    shutil.rmtree(team)
    assert run("check", str(project)) == 2
    assert "is gone; pass --catalog DIR" in capsys.readouterr().err
    assert snapshot(project) == before


def test_a_spec_found_through_an_entry_point(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    catalog = tmp_path / "plugin_catalog"
    shutil.copytree(TEAM, catalog)
    site = tmp_path / "site"
    name = f"teamlosses_{uuid.uuid4().hex[:8]}"
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(f"CATALOG = {str(catalog)!r}\n")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[lossgen.catalogs]\nteam = {name}:CATALOG\n")
    monkeypatch.syspath_prepend(str(site))
    assert run("new", "--kind", "asym_mse", "--no-input", "--no-test") == 0
    project = tmp_path / "asym-mse-loss"
    assert tomllib.loads((project / ".lossgen.toml").read_text())["losses"][0]["spec_origin"].startswith(
        "entry point team"
    )
    change_default(catalog)
    capsys.readouterr()
    assert run("check", str(project)) == 1
    assert run("update", str(project), "--no-test") == 0
    assert "alpha=4.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()


def test_an_r_package_updates_with_its_roxygen_edits_kept(team, tmp_path, capsys):
    project = committed_project(tmp_path, target="r")
    source = project / "R" / "loss.R"
    source.write_text(source.read_text().replace("#' @export", "#' @family team losses\n#' @export"))
    change_default(team)
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    text = source.read_text()
    assert "#' @family team losses" in text and "alpha = 4" in text
    assert run("check", str(project)) == 0


def test_files_you_deleted_stay_deleted_and_force_restores_them(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    (project / "README.md").unlink()
    change_default(team)
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    assert re.search(r"^  kept deleted \(you deleted it\) +README\.md$", capsys.readouterr().out, re.MULTILINE)
    assert not (project / "README.md").exists()
    assert run("update", str(project), "--force", "--no-test") == 0
    assert (project / "README.md").is_file()


def test_a_spec_from_tool_lossgen_is_found_from_the_projects_location(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    repo = tmp_path / "repo"
    shutil.copytree(TEAM, repo / "team")
    (repo / "pyproject.toml").write_text('[tool.lossgen]\ncatalogs = ["team"]\n')
    monkeypatch.chdir(repo)
    assert run("new", "--kind", "asym_mse", "--no-input", "--no-test", "-o", "models") == 0
    project = repo / "models" / "asym-mse-loss"  # holds a pyproject.toml of its own, without [tool.lossgen]
    change_default(repo / "team")
    monkeypatch.chdir(tmp_path)  # anywhere else
    capsys.readouterr()
    assert run("check", str(project)) == 1
    assert run("update", str(project), "--no-test") == 0
    assert "alpha=4.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()


@pytest.mark.e2e
def test_the_updated_project_passes_its_tests_with_the_users_own(team, tmp_path, capsys):
    project = committed_project(tmp_path)
    edit_docstring_and_add_a_test(project)
    change_default(team)
    capsys.readouterr()
    assert run("update", str(project)) == 0
    out = capsys.readouterr().out
    assert "40 passed, 0 failed" in out or ", 0 failed" in out.splitlines()[-2], out[-2000:]


def test_a_both_pair_is_checked_and_updated_together(team, tmp_path, capsys):
    assert run("new", "--catalog", "team", "--kind", "asym_mse", "--target", "both", "--no-input", "--no-test") == 0
    pair = tmp_path / "asym-mse-loss"
    assert run("check", str(pair)) == 0
    change_default(team)
    capsys.readouterr()
    assert run("check", str(pair)) == 1
    out = capsys.readouterr().out
    assert f"{pair / 'python'}: an update is available" in out and f"{pair / 'r'}: an update is available" in out
    assert run("update", str(pair), "--no-test") == 0
    assert "alpha=4.0):" in (pair / "python" / "asym_mse_loss" / "asym_mse.py").read_text()
    assert "alpha = 4" in (pair / "r" / "R" / "loss.R").read_text()
    assert run("check", str(pair)) == 0


def start_update(project: Path, pause: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from scaffold.cli import main; sys.exit(main())",
            "update",
            str(project),
            "--no-test",
        ],
        env={**os.environ, "LOSSGEN_TEST_PAUSE": pause},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("point, updated", [("staged", False), ("commit:1", True)])
def test_an_interrupted_update_leaves_the_old_tree_or_the_new_one(team, tmp_path, point, updated):
    project = committed_project(tmp_path)
    before = snapshot(project)
    change_default(team)
    process = start_update(project, point)
    line = process.stderr.readline()
    assert line.startswith(f"LOSSGEN_TEST_PAUSE {point.split(':')[0]} "), line + process.stderr.read()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err == "Interrupted\n"
    if updated:  # the interrupt waited for the commit: every file and the record are new
        assert "alpha=4.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()
        assert run("check", str(project)) == 0
    else:
        assert snapshot(project) == before
    assert not list(tmp_path.glob(".lossgen-staging*"))


def test_a_spec_from_lossgen_path_is_found_again(tmp_path, monkeypatch, capsys):
    shutil.copytree(TEAM, tmp_path / "shared-catalog")
    monkeypatch.setenv("LOSSGEN_PATH", str(tmp_path / "shared-catalog"))
    monkeypatch.chdir(tmp_path)
    assert run("new", "--kind", "asym_mse", "--no-input", "--no-test") == 0
    project = tmp_path / "asym-mse-loss"
    assert tomllib.loads((project / ".lossgen.toml").read_text())["losses"][0]["spec_origin"] == "LOSSGEN_PATH"
    change_default(tmp_path / "shared-catalog")
    assert run("check", str(project)) == 1
    assert run("update", str(project), "--no-test") == 0
    assert "alpha=4.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()


def test_parameters_without_a_project_argument_update_the_current_directory(team, tmp_path, monkeypatch, capsys):
    project = committed_project(tmp_path)
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert run("update", "--alpha", "5", "--no-test") == 0, capsys.readouterr().err  # "5" is a value, not PROJECT
    assert "alpha=5.0):" in (project / "asym_mse_loss" / "asym_mse.py").read_text()


def test_a_file_a_newer_lossgen_generates_is_added_not_taken_for_deleted(team, tmp_path, capsys):
    """A project from before a template file existed: the record does not list it, so it has no base
    and update adds it (rather than taking its absence for the owner's deletion)."""
    import tomli_w

    project = committed_project(tmp_path)
    workflow = ".github/workflows/test.yml"
    (project / workflow).unlink()
    path = project / ".lossgen.toml"
    record = tomllib.loads(path.read_text())
    del record["files"][workflow]
    path.write_text(tomli_w.dumps(record))
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    assert re.search(rf"^  added +{re.escape(workflow)}$", capsys.readouterr().out, re.MULTILINE)
    assert (project / workflow).is_file()
    deleted = project / "tests" / "asym_mse" / "test_gradients.py"  # the owner's deletion still stands
    deleted.unlink()
    assert run("update", str(project), "--alpha", "5", "--no-test") == 0
    assert not deleted.exists()
