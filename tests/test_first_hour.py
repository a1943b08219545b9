"""Issue 21: the rough edges a new user meets between the Quickstart and a team's first library.

Each test reproduces one finding (it failed before the fix) and keeps it fixed. Fast: no TensorFlow.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from scaffold import cli as cli_module
from scaffold.cli import main

ROOT = Path(__file__).resolve().parents[1]
HUGE_HEX = "0x" + "f" * 4500  # 4,500 hex digits: TOML reads it; Python cannot print it in decimal
SPEC = '''name = "{name}"
title = "A team loss"
summary = "Squared error times alpha."
task = "regression"
{top}formula = """
loss = mean(alpha * square(y_pred - y_true), axis=-1)
"""

[{params}.alpha]
type = "float"
default = 1.0
gt = 0.0

[[examples]]
y_true = [[0.0]]
y_pred = [[{y_pred}]]
loss = [{loss}]
'''


def write_spec(
    directory: Path,
    name: str = "team_mse",
    *,
    top: str = "",
    params: str = "params",
    y_pred: str = "1.0",
    loss: str = "1.0",
    file_name: str | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (file_name or f"{name}.toml")
    path.write_text(SPEC.format(name=name, top=top, params=params, y_pred=y_pred, loss=loss), encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(code: int, err: str, *fragments: str) -> None:
    """Exit code 2 and one line on stderr naming what was wrong; no traceback, no internal error."""
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.delenv("LOSSGEN_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------------------------
# Bad input that ended as "internal error" (exit 1)


def test_spec_into_a_path_below_a_file_is_bad_input(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a directory")
    code, _, err = run(capsys, "spec", "x", "-o", "afile/sub")
    assert_bad_input(code, err, "afile is not a directory")


@pytest.mark.parametrize(
    "args",
    [
        ["new", "--kind", "mse", "--no-input", "--no-test", "-o", "loop1"],
        ["new", "--kind", "mse", "--no-input", "--no-test", "-o", "loop1/sub"],
        ["spec", "x", "-o", "loop1"],
    ],
)
def test_a_symlink_loop_as_output_directory_is_bad_input(tmp_path, capsys, args):
    os.symlink("loop1", tmp_path / "loop1")
    code, _, err = run(capsys, *args)
    assert_bad_input(code, err, "loop1", "symbolic link")


@pytest.mark.parametrize("where", ["reference", "loss", "y_pred"])
@pytest.mark.parametrize("command", ["show", "new", "validate"])
def test_a_4500_digit_hex_integer_in_a_spec_is_bad_input(tmp_path, capsys, where, command):
    spec = {
        "reference": lambda d: write_spec(d, top=f'reference = "keras.losses.Huber(delta={HUGE_HEX})"\n'),
        "loss": lambda d: write_spec(d, loss=HUGE_HEX),
        "y_pred": lambda d: write_spec(d, y_pred=HUGE_HEX),
    }[where](tmp_path / "team")
    args = {
        "show": ["show", "team_mse", "--catalog", "team"],
        "new": ["new", "--kind", "team_mse", "--catalog", "team", "--no-input", "--no-test"],
        "validate": ["validate", "--quick", spec],
    }[command]
    code, out, err = run(capsys, *args)
    if command == "validate":  # one problem line per spec, exit 1 (a spec with problems), never an internal error
        assert code == 1 and "internal error" not in out, out
        assert re.search(r"team_mse\.toml:\d+(:\d+)?: .*more than 15 digits", out), out
    else:
        assert_bad_input(code, err, "team_mse.toml:", "more than 15 digits")
    assert not list(tmp_path.glob("*-loss"))


def test_a_decimal_integer_beyond_pythons_limit_is_located(tmp_path, capsys):
    write_spec(tmp_path / "team", y_pred="9" * 4500)
    code, _, err = run(capsys, "show", "team_mse", "--catalog", "team")
    assert_bad_input(code, err, "team_mse.toml:16:", "at most 15 digits")
    assert len(err) < 400


@pytest.mark.parametrize("command", ["show", "validate"])
def test_a_list_where_a_hashable_key_is_expected_is_bad_input(tmp_path, capsys, command):
    spec = write_spec(tmp_path / "team", top='reference = "keras.losses.Huber(delta={[1]: 2})"\n')
    args = ["show", "team_mse", "--catalog", "team"] if command == "show" else ["validate", "--quick", spec]
    code, out, err = run(capsys, *args)
    if command == "validate":
        assert (
            code == 1 and "team_mse.toml:5:1: reference argument `delta` must be a parameter name or a constant" in out
        )
        assert "internal error" not in out
    else:
        assert_bad_input(code, err, "team_mse.toml:5:1:", "parameter name or a constant")


# ---------------------------------------------------------------------------------------------
# Spec messages


def test_a_table_name_typo_is_located_and_suggested(tmp_path, capsys):
    spec = write_spec(tmp_path / "team", params="param")  # [param.alpha] for [params.alpha]
    code, out, _ = run(capsys, "validate", "--quick", spec)
    assert code == 1
    assert f"{spec}:9:1: unknown key `param` (did you mean `params`?" in out, out


def test_an_example_off_in_the_sixth_digit_says_the_tolerance(tmp_path, capsys):
    spec = write_spec(tmp_path / "team", y_pred="1.0408329997330663", loss="1.08333")  # 13/12 is 1.0833333...
    code, out, _ = run(capsys, "validate", "--quick", spec)
    assert code == 1
    assert "expected [1.08333], got [1.08333333333]" in out and "relative 1e-6 or absolute 1e-9" in out, out
    assert "at least 7 significant digits" in out
    docs = (ROOT / "docs" / "spec-format.md").read_text()
    assert "relative\ntolerance of 1e-6 (absolute 1e-9" in docs
    write_spec(tmp_path / "team", y_pred="1.0408329997330663", loss="1.0833333")
    code, out, _ = run(capsys, "validate", "--quick", spec)
    assert code == 0, out


# ---------------------------------------------------------------------------------------------
# Prompts: the order a new user expects, each answer checked when given; helpful re-asks


def interactive_new(tmp_path, monkeypatch, answers: str, *args: str):
    from click.testing import CliRunner

    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    return CliRunner().invoke(cli_module.cli, ["new", "--no-test", *args], input=answers)


def test_prompts_come_in_order_kind_parameters_target_then_where_and_who(tmp_path, monkeypatch):
    answers = "binary_focal\n3\n0.5\nmaybe\nn\n\nMy Focal!\nmy-focal\nout\nMIT\nAda\nnope\nada@example.org\n"
    result = interactive_new(tmp_path, monkeypatch, answers)
    assert result.exit_code == 0, result.output
    text = result.output
    order = [
        "kind of loss",
        "gamma (",
        "alpha (",
        "from_logits [y/N]",
        "target (",
        "project name",
        "output directory",
        "license (",
        "author",
        "e-mail",
    ]
    positions = [text.index(prompt) for prompt in order]
    assert positions == sorted(positions), text
    # each answer is checked when given: the bad name before the output directory is asked
    assert text.index("invalid name 'My Focal!'") < text.index("output directory")
    assert text.index("is not a yes/no answer") < text.index("target (")
    assert text.index("does not look like name@example.org") < text.index("Generated")
    module = (tmp_path / "out" / "my-focal-loss" / "my_focal_loss" / "my_focal.py").read_text()
    assert "gamma=3.0" in module and "alpha=0.5" in module and "from_logits=False" in module


def test_a_bad_yes_no_answer_says_what_is_allowed(tmp_path, monkeypatch):
    result = interactive_new(
        tmp_path,
        monkeypatch,
        "maybe\nyes\n\nAda\n\n",
        "--kind",
        "binary_focal",
        "--gamma",
        "2",
        "--alpha",
        "0.25",
        "--target",
        "python",
        "--name",
        "bf",
        "--license",
        "MIT",
    )
    assert result.exit_code == 0, result.output
    assert "Error: 'maybe' is not a yes/no answer: answer y or n" in result.output
    assert "invalid input" not in result.output
    assert "from_logits=True" in (tmp_path / "bf-loss" / "bf_loss" / "bf.py").read_text()


def test_a_name_that_would_make_a_keyword_is_refused_at_the_name_prompt(tmp_path, monkeypatch):
    result = interactive_new(
        tmp_path, monkeypatch, "class\nmine\n\n\nAda\n\n", "--kind", "mse", "--target", "python", "--license", "MIT"
    )
    assert result.exit_code == 0, result.output
    assert result.output.index("Python or R keyword") < result.output.index("output directory")
    assert (tmp_path / "mine-loss").is_dir()


@pytest.mark.parametrize(
    "typo, meant",
    [
        ("focal", ["binary_focal", "focal_tversky", "sparse_focal"]),
        ("hubr", ["huber"]),
        ("cce", ["label_smoothed_cce", "weighted_cce"]),
    ],
)
def test_a_kind_typo_suggests_every_kind_it_may_mean(capsys, typo, meant):
    code, _, err = run(capsys, "show", typo)
    assert_bad_input(code, err, f"unknown kind '{typo}' (did you mean {' or '.join(repr(m) for m in meant)}?")


# ---------------------------------------------------------------------------------------------
# Interrupts


def test_an_interrupt_during_the_generated_tests_says_the_project_is_complete_but_untested(
    tmp_path, capsys, monkeypatch
):
    import signal

    from scaffold import check

    def interrupted(*args, **kwargs):
        raise cli_module.Interrupted(signal.SIGINT)  # what Ctrl-C raises while the tests run

    monkeypatch.setattr(check, "run_tests", interrupted)
    code, _out, err = run(capsys, "new", "--kind", "mse", "--no-input", "-o", "out")
    project = tmp_path / "out" / "mse-loss"
    assert code == 130
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"Interrupted: {project} was written and is complete, but its tests did not finish; "
        f"run them with: cd {project} && python -m pytest"
    ), err
    assert (project / "mse_loss" / "mse.py").is_file() and (project / ".lossgen.toml").is_file()


# ---------------------------------------------------------------------------------------------
# The generated project's pictures


def drawn_figure(kind: str, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib import pyplot as plt

    from scaffold import plot
    from scaffold.catalog import load_catalog

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)  # keep the figure draw() would close
    spec = load_catalog().get(kind)
    plot.draw(spec, spec.bind(), tmp_path / f"{kind}.png", with_keras=False)
    return kept[0]


@pytest.mark.parametrize("kind", ["binary_focal", "contrastive", "sparse_focal"])
def test_the_legend_covers_no_curve(tmp_path, monkeypatch, kind):
    figure = drawn_figure(kind, tmp_path, monkeypatch)
    renderer = figure.canvas.get_renderer()
    assert len(figure.legends) == 1 and all(axes.get_legend() is None for axes in figure.axes)
    legend = figure.legends[0].get_window_extent(renderer)
    for axes in figure.axes:
        assert not legend.overlaps(axes.get_window_extent(renderer)), kind


def test_curves_that_coincide_are_drawn_once_and_say_so(tmp_path, monkeypatch):
    import numpy as np

    figure = drawn_figure("contrastive", tmp_path, monkeypatch)
    lines = figure.axes[0].get_lines()
    curves = [line.get_ydata() for line in lines]
    assert not any(np.allclose(a, b) for i, a in enumerate(curves) for b in curves[i + 1 :])
    labels = [line.get_label() for line in lines]
    assert "margin = 1, 0.5, 2 (the same curve), similar (1)" in labels, labels
    assert len(labels) == 4  # similar once; dissimilar for each margin


# ---------------------------------------------------------------------------------------------
# The generated Python project: train.py --help without Keras; CI's optional lossgen check


@pytest.fixture(scope="module")
def metric_project(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    code = main(
        [
            "new",
            "--kind",
            "contrastive",
            "--kind",
            "huber",
            "--name",
            "pairs",
            "--no-input",
            "--no-test",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    return out / "pairs-loss"


def test_train_help_imports_no_keras(metric_project):
    import subprocess
    import sys

    probe = (
        "import runpy, sys\nsys.argv = ['train.py', '--help']\ntry:\n    runpy.run_path('train.py', "
        "run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('IMPORTED', sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=metric_project, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: train.py" in result.stdout and "--loss {contrastive,huber}" in result.stdout
    assert "IMPORTED []" in result.stdout, result.stdout
    assert result.stderr == ""


def _assert_optional_lossgen_check_job(workflow_path: Path, readme_path: Path) -> None:
    import yaml

    job = yaml.safe_load(workflow_path.read_text())["jobs"]["lossgen-check"]
    assert job["if"] == "${{ vars.LOSSGEN_PIP != '' }}"  # optional: runs once the repository says how
    steps = [step.get("run") for step in job["steps"]]
    assert 'pip install "$LOSSGEN_PIP"' in steps and "lossgen check" in steps
    readme = " ".join(readme_path.read_text().split())
    assert "`lossgen-check` job runs `lossgen check`" in readme and "LOSSGEN_PIP" in readme


def test_ci_has_an_optional_documented_lossgen_check_job(metric_project):
    _assert_optional_lossgen_check_job(
        metric_project / ".github" / "workflows" / "test.yml", metric_project / "README.md"
    )


def test_the_r_package_ci_has_the_same_optional_job(tmp_path):
    assert main(["new", "--kind", "huber", "--target", "r", "--no-input", "--no-test", "-o", str(tmp_path)]) == 0
    package = tmp_path / "huberloss"
    _assert_optional_lossgen_check_job(package / ".github" / "workflows" / "R-CMD-check.yaml", package / "README.md")


# ---------------------------------------------------------------------------------------------
# README's Quickstart says what a terminal asks, and where the project goes


def test_quickstart_lists_the_questions_a_terminal_asks_in_order(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "pip install . && lossgen new --kind huber --delta 2 -o ~/losses" in quickstart
    assert "outside lossgen's\nclone" in quickstart and "`~/losses/huber-loss/`" in quickstart
    said = re.findall(r"the (target|project name|output directory|license|author|e-mail)", quickstart)
    losses = tmp_path / "losses"  # the Quickstart's -o ~/losses, which need not exist yet
    result = interactive_new(tmp_path, monkeypatch, "\n" * 6, "--kind", "huber", "--delta", "2", "-o", str(losses))
    assert result.exit_code == 0, result.output
    asked = re.findall(
        r"^(?:.*: )?(target|project name|output directory|license|author|e-mail)\b",
        result.output.replace(": ", ":\n"),
        flags=re.MULTILINE,
    )
    assert said == asked == ["target", "project name", "output directory", "license", "author", "e-mail"]
    assert (losses / "huber-loss" / "huber_loss" / "huber.py").is_file()


# ---------------------------------------------------------------------------------------------
# The R package's README under keras3


def test_r_readme_keras3_snippet_is_complete_and_says_when_to_convert(tmp_path, capsys):
    assert main(["new", "--kind", "huber", "--target", "r", "--no-input", "--no-test", "-o", str(tmp_path)]) == 0
    readme = (tmp_path / "huberloss" / "README.md").read_text()
    keras3 = readme.split("library(keras3)\n", 1)[1].split("```", 1)[0]
    assert keras3.index("model <- keras_model_sequential(input_shape = 8)") < keras3.index("model |> compile(")
    assert "layer_dense(units = " in keras3
    assert "with keras3 attached\n(`library(keras3)`), `as.array()` takes the tensor" in readme
    assert "with reticulate alone" in readme and "`keras$ops$convert_to_numpy()` turns it into an R array" in readme


# ---------------------------------------------------------------------------------------------
# Names, keys and paths from specs and the file system are shown escaped, on one line


def test_a_parameter_name_with_a_newline_is_shown_escaped_on_one_line(tmp_path, capsys):
    spec = write_spec(tmp_path / "team")
    spec.write_text(spec.read_text().replace("[params.alpha]", '[params."alpha\\n"]'))  # TOML's escape
    code, out, _ = run(capsys, "validate", "--quick", spec)
    assert code == 1
    assert f"{spec}:9:" in out and "`params.alpha\\n` must be one line" in out, out
    assert out.count("\n") == 2, out  # the problem and the summary
    code, _, err = run(capsys, "show", "team_mse", "--catalog", "team")
    assert_bad_input(code, err, "`params.alpha\\n` must be one line")


def test_a_spec_file_name_with_a_newline_is_shown_escaped_on_one_line(tmp_path, capsys):
    spec = write_spec(tmp_path / "team", file_name="team\nmse.toml")
    for args in (["validate", "--quick", spec], ["validate", "--quick", tmp_path / "team"]):
        code, out, _ = run(capsys, *args)
        assert code == 1 and out.count("\n") == 2, out
        assert "team\\nmse.toml:1:1: name 'team_mse' must match the file name (team\\nmse.toml)" in out, out
    code, _, err = run(capsys, "list", "--catalog", "team")
    assert_bad_input(code, err, "team\\nmse.toml")


def test_an_output_path_with_a_newline_is_shown_escaped(tmp_path, capsys):
    code, out, _ = run(capsys, "new", "--kind", "mse", "--no-input", "--no-test", "-o", "a\nb")
    assert code == 0
    assert "in " + str(tmp_path / "a\\nb" / "mse-loss") in out
    assert all(line.startswith(("Generated", "Tests not run", "Use it")) for line in out.splitlines()), out
