"""Packages of several losses: names, the command line (repeated --kind, --all), the record, and
`add` / `remove` / `update` on a library. Nothing here runs the generated tests (see
tests/test_e2e_library.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from scaffold.errors import UsageError
from scaffold.names import LossNames, Names, check_unique
from tests.helpers import TEAM, assert_usage_error, git, run


def record_of(project: Path) -> dict:
    return tomllib.loads((project / ".lossgen.toml").read_text())


# ---------------------------------------------------------------------------------------------
# Names


def test_a_library_name_keeps_its_own_ending_and_each_loss_gets_names_of_its_own():
    assert Names.derive("teamlosses") == Names("teamlosses", "teamlosses", "teamlosses")
    assert Names.derive("team-losses").package == "team_losses"
    assert Names.derive("huber").package == "huber_loss"  # one-loss projects are named as before
    assert LossNames.derive("binary_focal") == LossNames(
        "binary_focal", "BinaryFocalLoss", "binary_focal_loss", "binary_focal_loss"
    )
    assert LossNames.derive("loss").module == "custom"


@pytest.mark.parametrize(
    "names, fragment",
    [
        (["huber", "huber"], "loss 'huber' is given twice"),
        (["x", "x_loss_loss"], "would both be named 'x_loss'"),  # x's function is x_loss_loss's module
        (["huber", "huber-loss"], "would both be named 'huber'"),
        (["backend"], "module name 'backend', which the generated tests use"),
        (["import"], "a Python or R keyword"),
        (["repeat"], "a Python or R keyword"),
    ],
)
def test_names_two_losses_would_share_are_refused(names, fragment):
    with pytest.raises(UsageError, match=fragment):
        check_unique([(name, LossNames.derive(name)) for name in names])


# ---------------------------------------------------------------------------------------------
# new: several kinds, each with its own options


def test_each_kinds_options_follow_its_kind(tmp_path, capsys):
    assert (
        run(
            "new",
            "--kind",
            "huber",
            "--delta",
            "2",
            "--kind",
            "binary_focal",
            "--gamma",
            "3",
            "--no-from-logits",
            "--kind",
            "mse",
            "--name",
            "teamlosses",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    project = tmp_path / "teamlosses"
    losses = {loss["name"]: loss for loss in record_of(project)["losses"]}
    assert list(losses) == ["huber", "binary_focal", "mse"]
    assert losses["huber"]["params"] == {"delta": 2.0} and losses["huber"]["given"] == ["delta"]
    assert losses["binary_focal"]["params"]["gamma"] == 3.0
    assert sorted(losses["binary_focal"]["given"]) == ["from_logits", "gamma"]
    assert losses["binary_focal"]["params"]["alpha"] == 0.25  # the spec's default, not given
    for module in ("huber", "binary_focal", "mse"):
        assert (project / "teamlosses" / f"{module}.py").is_file()
        assert (project / "tests" / module / "test_values.py").is_file()
    init = (project / "teamlosses" / "__init__.py").read_text()
    assert "from teamlosses.binary_focal import BinaryFocalLoss, binary_focal_loss" in init
    assert "def huber_loss(y_true, y_pred, delta=2.0):" in (project / "teamlosses" / "huber.py").read_text()
    assert "--kind huber --delta 2.0 --kind binary_focal --gamma 3.0" in (project / ".lossgen.toml").read_text()
    train = (project / "train.py").read_text()
    assert '"binary_focal": {' in train and 'choices=sorted(LOSSES), default="huber"' in train


def test_an_option_of_another_kind_names_the_kind_it_follows(isolated_cwd, capsys):
    code = run("new", "--kind", "huber", "--gamma", "3", "--kind", "binary_focal", "--no-input", "--no-test")
    assert_usage_error(
        code, capsys.readouterr().err, "no such option --gamma for kind 'huber' (its parameters: --delta)"
    )
    code = run("new", "--kind", "huber", "--kind", "binary_focal", "--gamma", "-1", "--no-input", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "--gamma")
    code = run("new", "--kind", "huber", "--kind", "huber", "--no-input", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "loss 'huber' is given twice")
    code = run("new", "--kind", "huber", "--kind", "nonesuch", "--no-input", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "nonesuch")
    assert list(isolated_cwd.iterdir()) == []


def test_help_with_several_kinds_lists_each_kinds_parameters(capsys):
    assert run("new", "--kind", "huber", "--kind", "binary_focal", "--help") == 0
    out = capsys.readouterr().out
    assert "Parameters of huber (Huber loss), after its --kind" in out and "--delta" in out
    assert "Parameters of binary_focal" in out and "--gamma" in out


def test_all_takes_every_spec_of_the_team_catalog(tmp_path, capsys):
    assert (
        run(
            "new",
            "--catalog",
            str(TEAM),
            "--all",
            "--name",
            "teamlosses",
            "--target",
            "both",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    for target in ("python", "r"):
        record = record_of(tmp_path / "teamlosses" / target)
        assert [loss["kind"] for loss in record["losses"]] == ["asym_mse", "topk_mse"]
        assert all(loss["spec_origin"] == "--catalog" and loss["catalog"] for loss in record["losses"])
    r_code = (tmp_path / "teamlosses" / "r" / "R" / "loss.R").read_text()
    assert "asym_mse_loss <- function(" in r_code and "topk_mse_loss <- function(" in r_code
    namespace = (tmp_path / "teamlosses" / "r" / "NAMESPACE").read_text()
    assert "export(asym_mse_loss)\nexport(topk_mse_loss)\n" in namespace


def test_all_names_each_loss_after_its_kind_even_when_the_catalog_holds_one(tmp_path):
    catalog = tmp_path / "team"
    catalog.mkdir()
    (catalog / "asym_mse.toml").write_text((TEAM / "asym_mse.toml").read_text())
    assert (
        run(
            "new",
            "--catalog",
            str(catalog),
            "--all",
            "--name",
            "teamlosses",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    assert (tmp_path / "teamlosses" / "teamlosses" / "asym_mse.py").is_file()
    assert [loss["name"] for loss in record_of(tmp_path / "teamlosses")["losses"]] == ["asym_mse"]


def test_all_with_a_task_takes_that_tasks_kinds(tmp_path):
    assert (
        run("new", "--all", "--task", "binary", "--name", "binary", "--no-input", "--no-test", "-o", str(tmp_path)) == 0
    )
    kinds = [loss["kind"] for loss in record_of(tmp_path / "binary-loss")["losses"]]
    assert "binary_crossentropy" in kinds and "binary_focal" in kinds and "huber" not in kinds


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--all", "--kind", "huber"], "--all and --kind exclude each other"),
        (["--kind", "huber", "--task", "binary"], "--task goes with --all"),
        (["--all", "--catalog", "empty"], "has no kind"),
    ],
)
def test_all_and_task_misuse_is_a_usage_error(isolated_cwd, capsys, args, fragment):
    (isolated_cwd / "empty").mkdir()
    code = run("new", *args, "--no-input", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, fragment)
    assert [p.name for p in isolated_cwd.iterdir()] == ["empty"]


# ---------------------------------------------------------------------------------------------
# add, remove and update on a library


@pytest.fixture
def library(tmp_path) -> Path:
    """A committed two-loss Python package with the owner's edits to its README and a loss module."""
    assert (
        run(
            "new",
            "--kind",
            "huber",
            "--kind",
            "mse",
            "--name",
            "teamlosses",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    project = tmp_path / "teamlosses"
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our notes\n\nAsk the platform team first.\n")
    huber = project / "teamlosses" / "huber.py"
    huber.write_text(huber.read_text().replace('"""Huber loss.', '"""Huber loss (our default).', 1))
    (project / "notes.txt").write_text("untracked\n")
    return project


def test_add_merges_the_new_loss_in_and_keeps_the_owners_edits(library, capsys):
    head = git(library, "rev-parse", "HEAD")
    assert run("add", str(library), "--kind", "binary_focal", "--gamma", "3", "--no-test") == 0
    out = capsys.readouterr().out
    assert "added loss: binary_focal" in out
    assert (library / "teamlosses" / "binary_focal.py").is_file()
    assert (library / "tests" / "binary_focal" / "test_values.py").is_file()
    readme = (library / "README.md").read_text()
    assert "Ask the platform team first." in readme and "BinaryFocalLoss" in readme
    assert '"""Huber loss (our default).' in (library / "teamlosses" / "huber.py").read_text()
    assert "from teamlosses.binary_focal import" in (library / "teamlosses" / "__init__.py").read_text()
    assert (library / "notes.txt").read_text() == "untracked\n"
    assert git(library, "rev-parse", "HEAD") == head
    losses = record_of(library)["losses"]
    assert [loss["name"] for loss in losses] == ["huber", "mse", "binary_focal"]
    assert losses[2]["params"]["gamma"] == 3.0 and losses[2]["given"] == ["gamma"]
    assert run("check", str(library)) == 0


def test_add_refuses_a_loss_the_package_holds_or_whose_names_clash(library, capsys):
    before = {p: p.read_bytes() for p in library.rglob("*") if p.is_file() and ".git" not in p.parts}
    code = run("add", str(library), "--kind", "huber", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "already holds a loss named 'huber'")
    code = run("add", str(library), "--kind", "mae", "--name", "huber_loss", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "would both be named 'huber'")
    after = {p: p.read_bytes() for p in library.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


def test_remove_takes_a_losss_files_and_keeps_edited_ones(library, capsys):
    mse = library / "teamlosses" / "mse.py"
    mse.write_text(mse.read_text() + "\n# our note\n")
    assert run("remove", str(library), "--loss", "mse", "--no-test") == 0
    out = capsys.readouterr().out
    assert "removed loss: mse" in out
    assert not (library / "tests" / "mse").exists()
    assert mse.is_file()  # edited: kept, and said so
    assert "from teamlosses.mse" not in (library / "teamlosses" / "__init__.py").read_text()
    assert "Ask the platform team first." in (library / "README.md").read_text()
    assert [loss["name"] for loss in record_of(library)["losses"]] == ["huber"]
    code = run("remove", str(library), "--loss", "huber", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "would leave")
    code = run("remove", str(library), "--loss", "nonesuch", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "no loss named 'nonesuch'")


def test_update_changes_the_parameters_of_the_loss_named(library, capsys):
    code = run("update", str(library), "--delta", "3", "--no-test")
    assert_usage_error(code, capsys.readouterr().err, "say which one the parameters are for with --loss NAME")
    assert run("update", str(library), "--loss", "huber", "--delta", "3", "--no-test") == 0
    assert "huber: delta: 1.0 -> 3.0" in capsys.readouterr().out
    huber = (library / "teamlosses" / "huber.py").read_text()
    assert "delta=3.0" in huber and '"""Huber loss (our default).' in huber
    assert run("check", str(library)) == 0


@pytest.mark.parametrize("kinds", [["huber"], ["huber", "binary_focal", "mse"]], ids=["one", "three"])
def test_readmes_have_one_blank_line_between_blocks(tmp_path, kinds):
    args = [a for kind in kinds for a in ("--kind", kind)]
    assert (
        run("new", *args, "--name", "teamlosses", "--target", "both", "--no-input", "--no-test", "-o", str(tmp_path))
        == 0
    )
    for target in ("python", "r"):
        readme = (tmp_path / "teamlosses" / target / "README.md").read_text()
        assert "\n\n\n" not in readme, target
        headings = [line for line in readme.splitlines() if line.startswith("## ")]
        assert len(headings) >= (3 if len(kinds) == 1 else 5), headings


def test_add_from_another_catalog_still_finds_the_other_losses_specs(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    for catalog, spec in ((first, "asym_mse.toml"), (second, "topk_mse.toml")):
        catalog.mkdir()
        (catalog / spec).write_text((TEAM / spec).read_text())
    assert (
        run(
            "new",
            "--catalog",
            str(first),
            "--kind",
            "asym_mse",
            "--name",
            "team-losses",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    project = tmp_path / "team-losses"
    assert run("add", str(project), "--catalog", str(second), "--kind", "topk_mse", "--no-test") == 0
    losses = record_of(project)["losses"]
    assert [(loss["kind"], loss["catalog"]) for loss in losses] == [("asym_mse", "../first"), ("topk_mse", "../second")]
    assert run("check", str(project)) == 0
