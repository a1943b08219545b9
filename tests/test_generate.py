"""`new --target both` and `regenerate` (no generated test runs: rendering only)."""

from __future__ import annotations

import shutil
import tomllib

import pytest

from tests.helpers import TEAM, run


def test_both_targets_from_one_spec(tmp_path):
    assert (
        run(
            "new", "--kind", "huber", "--delta", "2", "--target", "both", "--no-input", "--no-test", "-o", str(tmp_path)
        )
        == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["huber-loss"]
    assert sorted(p.name for p in (tmp_path / "huber-loss").iterdir()) == ["python", "r"]
    assert "delta=2.0" in (tmp_path / "huber-loss" / "python" / "huber_loss" / "huber.py").read_text()
    assert "huber_loss <- function(delta = 2.0)" in (tmp_path / "huber-loss" / "r" / "R" / "loss.R").read_text()


def test_both_targets_with_the_one_word_name_loss(tmp_path):
    assert (
        run(
            "new",
            "--kind",
            "huber",
            "--name",
            "loss",
            "--target",
            "both",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path),
        )
        == 0
    )
    assert (tmp_path / "loss" / "python" / "loss" / "custom.py").is_file() and (tmp_path / "loss" / "r" / "R").is_dir()


def test_both_targets_write_nothing_when_one_destination_is_taken(tmp_path, capsys):
    (tmp_path / "huber-loss" / "r").mkdir(parents=True)
    (tmp_path / "huber-loss" / "r" / "mine.R").write_text("keep me")
    assert run("new", "--kind", "huber", "--target", "both", "--no-input", "--no-test", "-o", str(tmp_path)) == 2
    assert "huber-loss/r already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "huber-loss").iterdir()] == ["r"]
    assert (tmp_path / "huber-loss" / "r" / "mine.R").read_text() == "keep me"


@pytest.mark.parametrize("command", ["update", "regenerate"])  # regenerate: update's former name
def test_update_picks_up_a_changed_team_spec(tmp_path, monkeypatch, capsys, command):
    team = tmp_path / "team"
    shutil.copytree(TEAM, team)
    monkeypatch.chdir(tmp_path)
    assert run("new", "--catalog", "team", "--kind", "asym_mse", "--alpha", "3", "--no-input", "--no-test") == 0
    record = tomllib.loads((tmp_path / "asym-mse-loss" / ".lossgen.toml").read_text())
    assert record["losses"][0]["params"] == {"alpha": 3.0} and record["losses"][0]["spec_origin"] == "--catalog"
    assert (
        "--catalog ../team " in (tmp_path / "asym-mse-loss" / ".lossgen.toml").read_text()
    )  # relative: the same on every machine

    spec = team / "asym_mse.toml"
    spec.write_text(spec.read_text().replace("How much more an under-prediction costs", "What a shortfall costs"))
    capsys.readouterr()
    assert run(command, "asym-mse-loss", "--no-test") == 0  # the record says where the catalog is
    out = capsys.readouterr().out
    assert "the spec changed" in out and '-help = "How much more' in out
    loss = (tmp_path / "asym-mse-loss" / "asym_mse_loss" / "asym_mse.py").read_text()
    assert "What a shortfall costs" in loss and "alpha=3.0" in loss
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lossgen-")] == []


def test_update_refuses_what_is_not_a_project_and_follows_a_renamed_one(tmp_path, capsys):
    assert run("update", str(tmp_path)) == 2
    assert "is not a lossgen project (no .lossgen.toml)" in capsys.readouterr().err
    assert run("new", "--kind", "mse", "--no-input", "--no-test", "-o", str(tmp_path)) == 0
    (tmp_path / "mse-loss").rename(tmp_path / "renamed")
    capsys.readouterr()
    assert run("update", str(tmp_path / "renamed"), "--no-test") == 0  # the record, not the name, says what it is
    assert "up to date: nothing to change." in capsys.readouterr().out
