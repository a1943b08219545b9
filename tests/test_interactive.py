"""Prompting: missing values are asked for in a terminal, bad answers re-asked; never without one."""

from __future__ import annotations

import datetime
import tomllib

from click.testing import CliRunner

from scaffold import cli as cli_module
from scaffold.cli import cli


def test_prompts_for_kind_parameters_and_target_and_reasks_on_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    answers = "hubr\nhuber\nabc\n-2\n3\n\n\n\nmit\nAda Lovelace\nnot-an-email\nada@example.org\n"
    result = CliRunner().invoke(cli, ["new", "--no-test", "-o", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    assert "unknown kind 'hubr' (did you mean 'huber'?" in result.output
    assert "'abc' is not valid for delta: expected a number > 0" in result.output
    assert "delta must be a number > 0, got -2" in result.output
    assert "target (python, r, both) [python]:" in result.output
    assert "delta=3.0" in (tmp_path / "huber-loss" / "huber_loss" / "huber.py").read_text()
    assert "e-mail address 'not-an-email' does not look like name@example.org" in result.output
    record = tomllib.loads((tmp_path / "huber-loss" / ".lossgen.toml").read_text())
    assert record["about"] == {
        "license": "MIT",
        "year": datetime.date.today().year,
        "authors": [{"name": "Ada Lovelace", "email": "ada@example.org"}],
    }


def test_given_options_are_not_prompted_for(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    result = CliRunner().invoke(
        cli,
        [
            "new",
            "--kind",
            "binary_focal",
            "--gamma",
            "1",
            "--no-from-logits",
            "--target",
            "python",
            "--name",
            "binary_focal",
            "--license",
            "MIT",
            "--no-test",
            "-o",
            str(tmp_path),
        ],
        input="0.5\nAda\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "gamma" not in result.output.split("Generated")[0].replace("--gamma", "")
    assert "alpha (" in result.output  # the one missing parameter
    text = (tmp_path / "binary-focal-loss" / "binary_focal_loss" / "binary_focal.py").read_text()
    assert "gamma=1.0" in text and "alpha=0.5" in text and "from_logits=False" in text


def test_no_input_never_prompts(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    result = CliRunner().invoke(cli, ["new", "--kind", "huber", "--no-input", "--no-test", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "[1.0]:" not in result.output
    assert "delta=1.0" in (tmp_path / "huber-loss" / "huber_loss" / "huber.py").read_text()


def test_nothing_is_written_outside_the_output_directory(tmp_path, monkeypatch):
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # cookiecutter's default replay dir is ~/.cookiecutter_replay
    result = CliRunner().invoke(cli, ["new", "--kind", "mse", "--no-input", "--no-test", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert list(home.iterdir()) == []
    assert [p.name for p in out.iterdir()] == ["mse-loss"]


def test_kinds_are_numbered_by_task_and_a_taken_destination_is_reported_after_the_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    (tmp_path / "huber-loss").mkdir()
    (tmp_path / "huber-loss" / "mine.txt").write_text("taken")
    from scaffold.catalog import load_catalog

    regression = load_catalog().names("regression")
    number = regression.index("huber") + 1  # regression is the first group
    answers = f"999\n{number}\n2\nPython\n\n\nmy-huber\n\n\nAda\n\n"
    result = CliRunner().invoke(cli, ["new", "--no-test", "-o", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    menu = result.output.split("kind of loss")[0]
    assert menu.startswith("regression:\n") and f"{number:>2}. huber" in menu and "\nbinary:\n" in menu
    assert "999 is not a number from the list" in result.output
    # the kind's parameters come first (issue 21); the taken directory is reported as soon as the output
    # directory is answered, and the name is asked again
    taken = result.output.index("huber-loss already exists")
    assert result.output.index("delta: Error size where the loss turns") < taken < result.output.index("license")
    assert (tmp_path / "my-huber-loss" / "my_huber_loss" / "my_huber.py").is_file()
    assert (tmp_path / "huber-loss" / "mine.txt").read_text() == "taken"


def test_several_kinds_ask_for_each_kinds_missing_parameters_under_its_name(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    result = CliRunner().invoke(
        cli,
        [
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
            "--target",
            "python",
            "--name",
            "team-losses",
            "--license",
            "MIT",
            "--no-test",
            "-o",
            str(tmp_path),
        ],
        input="0.5\nAda\n\n",
    )
    assert result.exit_code == 0, result.output
    asked = result.output.split("Generated")[0]
    assert "Parameters of binary_focal (Binary focal cross-entropy):" in asked and "alpha (" in asked
    assert "Parameters of huber" not in asked and "delta (" not in asked  # nothing left to ask for huber
    text = (tmp_path / "team-losses" / "team_losses" / "binary_focal.py").read_text()
    assert "gamma=3.0" in text and "alpha=0.5" in text


def test_all_in_a_terminal_takes_the_specs_defaults_without_asking(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    result = CliRunner().invoke(
        cli,
        [
            "new",
            "--all",
            "--task",
            "metric",
            "--target",
            "python",
            "--name",
            "metric",
            "--license",
            "MIT",
            "--no-test",
            "-o",
            str(tmp_path),
        ],
        input="Ada\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "Parameters of" not in result.output and "margin (" not in result.output
