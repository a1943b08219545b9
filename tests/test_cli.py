"""The `lossgen` command line: output, one-line errors with exit code 2, and nothing half-written.

Output checks use click's CliRunner on `scaffold.cli.cli`; exit codes and stderr go through
`scaffold.cli.main` (the console entry point), in-process with capsys. Two checks that must see a
fresh interpreter (which modules `lossgen list` imports) run a subprocess. `new` always runs with
--no-test, so no generated test suite (and no TensorFlow) runs here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib

import pytest
from click.testing import CliRunner

from scaffold import cli as cli_module
from scaffold.cli import cli, main
from scaffold.sinks import markdown_text


@pytest.fixture
def runner():
    return CliRunner()


pytestmark = pytest.mark.usefixtures("isolated_cwd")  # no team catalogs from the environment or a pyproject.toml


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, fragment: str) -> None:
    assert err.startswith("Error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert fragment in err, err


# ---------------------------------------------------------------------------------------------
# help, list, show


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_help_and_list_do_not_import_tensorflow_or_keras(tmp_path, argv):
    script = (
        f"import sys; from scaffold.cli import main; code = main({argv!r}); "
        "assert code == 0, code; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOSSGEN_PATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    expected = "lossgen new --kind huber --delta 2" if argv == ["--help"] else "huber "
    assert expected in result.stdout


def test_help(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "new"):
        assert f"  {command} " in result.output


def test_list(runner):
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(names) and {"huber", "mse", "binary_focal", "tversky"} <= set(names)
    huber = next(line for line in lines if line.startswith("huber "))
    assert huber.split()[1] == "regression"
    assert "Quadratic for small errors, linear beyond delta; robust to outliers." in huber


def test_list_task_filters(runner):
    result = runner.invoke(cli, ["list", "--task", "binary"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines, result.output
    assert all(line.split()[1] == "binary" for line in lines), result.output
    names = {line.split()[0] for line in lines}
    assert {"binary_crossentropy", "binary_focal", "hinge"} <= names
    assert "huber" not in names and "mse" not in names


def test_list_unknown_task_exit_code(capsys):
    code, out, err = run_main(capsys, "list", "--task", "ranking")
    assert code == 2 and out == ""
    assert_one_line_error(err, "Invalid value for '--task': 'ranking' is not one of")


def test_show_huber_delta(runner):
    result = runner.invoke(cli, ["show", "huber", "--delta", "2"])
    assert result.exit_code == 0, result.output
    assert "def huber_loss(y_true, y_pred, delta=2.0):" in result.output
    assert "        delta=2.0,\n" in result.output  # the Loss class constructor default
    assert "    quadratic = minimum(abs_error, delta)\n" in result.output


def test_show_huber_default(runner):
    result = runner.invoke(cli, ["show", "huber"])
    assert result.exit_code == 0, result.output
    assert "def huber_loss(y_true, y_pred, delta=1.0):" in result.output


def test_show_target_numpy(runner):
    result = runner.invoke(cli, ["show", "huber", "--target", "numpy", "--delta", "3"])
    assert result.exit_code == 0, result.output
    assert "import numpy as np" in result.output
    assert "def reference_loss(y_true, y_pred, delta=3.0):" in result.output
    assert "    quadratic = np.minimum(abs_error, delta)\n" in result.output
    assert "ops." not in result.output


def test_show_target_r(runner):
    result = runner.invoke(cli, ["show", "huber", "--target", "r"])
    assert result.exit_code == 0, result.output
    assert "huber_loss <- function(delta = 1.0) {" in result.output
    assert "quadratic <- keras$ops$minimum(abs_error, delta)" in result.output
    assert "error <- keras$ops$subtract(y_pred, y_true)" in result.output
    assert "def " not in result.output


def test_show_target_r_exit_code(capsys):
    code, out, err = run_main(capsys, "show", "huber", "--target", "r")
    assert (code, err) == (0, "")
    assert "keras$ops$mean(" in out and "axis = -1L" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["show", "hubr"], "unknown kind 'hubr' (did you mean 'huber'? see `lossgen list`)"),
        (["show", "huber", "--delta", "0"], "Invalid value for '--delta': delta must be a number > 0, got 0"),
        (["show", "huber", "--gamma", "2"], "no such option --gamma for kind 'huber' (its parameters: --delta)"),
    ],
)
def test_show_bad_input(capsys, args, fragment):
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert_one_line_error(err, fragment)


# ---------------------------------------------------------------------------------------------
# new: bad input writes nothing


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--kind", "hubr"], "unknown kind 'hubr' (did you mean 'huber'? see `lossgen list`)"),
        (["--kind", "huber", "--gamma", "2"], "no such option --gamma for kind 'huber' (its parameters: --delta)"),
        (["--kind", "huber", "--delta", "-1"], "Invalid value for '--delta': delta must be a number > 0, got -1"),
        (["--kind", "huber", "--delta", "0"], "Invalid value for '--delta': delta must be a number > 0, got 0"),
        (
            ["--kind", "huber", "--delta", "nan"],
            "Invalid value for '--delta': delta must be finite (a number > 0), got nan",
        ),
        (
            ["--kind", "huber", "--delta", "inf"],
            "Invalid value for '--delta': delta must be finite (a number > 0), got inf",
        ),
        (
            ["--kind", "huber", "--delta", "abc"],
            "Invalid value for '--delta': 'abc' is not valid for delta: expected a number > 0",
        ),
        (
            ["--kind", "binary_focal", "--alpha", "1.5"],
            "Invalid value for '--alpha': alpha must be a number >= 0 and <= 1, got 1.5",
        ),
        (
            ["--kind", "huber", "--name", "1bad"],
            "invalid name '1bad': use letters, digits, '-' and '_', starting with a letter",
        ),
        (
            ["--kind", "huber", "--name", "a b"],
            "invalid name 'a b': use letters, digits, '-' and '_', starting with a letter",
        ),
        (["--kind", "huber", "--name", "../escape"], "invalid name '../escape'"),
        ([], "missing --kind (choose from: bce_dice, binary_crossentropy,"),
    ],
    ids=[
        "unknown-kind",
        "unknown-option",
        "negative",
        "zero",
        "nan",
        "inf",
        "not-a-number",
        "alpha-range",
        "name-digit",
        "name-space",
        "name-path",
        "missing-kind",
    ],
)
def test_new_bad_input(tmp_path, capsys, args, fragment):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run_main(capsys, "new", *args, "--no-input", "--no-test", "--output-dir", str(out_dir))
    assert code == 2
    assert out == ""
    assert_one_line_error(err, fragment)
    assert list(out_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "out"]
    assert list((tmp_path / "cwd").iterdir()) == []


def test_new_into_missing_output_dir_bad_input_creates_nothing(tmp_path, capsys):
    out_dir = tmp_path / "not-yet"
    code, _out, err = run_main(
        capsys, "new", "--kind", "huber", "--delta", "nan", "--no-input", "--no-test", "-o", str(out_dir)
    )
    assert code == 2
    assert_one_line_error(err, "got nan")
    assert not out_dir.exists()


def test_new_existing_non_empty_directory(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    project.mkdir()
    (project / "keep.txt").write_text("mine\n", encoding="utf-8")
    code, out, err = run_main(capsys, "new", "--kind", "huber", "--no-input", "--no-test", "-o", str(tmp_path))
    assert code == 2 and out == ""
    assert_one_line_error(err, f"{project} already exists and is not empty (use --force to write into it")
    assert [p.name for p in project.iterdir()] == ["keep.txt"]
    assert (project / "keep.txt").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "huber-loss"]


# ---------------------------------------------------------------------------------------------
# new: success


def test_new_huber(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run_main(
        capsys, "new", "--kind", "huber", "--delta", "2", "--no-input", "--no-test", "-o", str(out_dir)
    )
    assert code == 0, err
    assert err == ""
    project = out_dir / "huber-loss"
    assert f"Generated huber (python) in {project}\n" in out
    assert "Tests not run (--no-test)." in out
    assert [p.name for p in out_dir.iterdir()] == ["huber-loss"]  # no .lossgen-* staging left
    loss_py = (project / "huber_loss" / "huber.py").read_text(encoding="utf-8")
    assert "def huber_loss(y_true, y_pred, delta=2.0):" in loss_py
    assert "class HuberLoss(keras.losses.Loss):" in loss_py
    record_text = (project / ".lossgen.toml").read_text(encoding="utf-8")
    assert "\ndelta = 2.0\n" in record_text + "\n"
    record = tomllib.loads(record_text)
    (loss,) = record["losses"]
    assert loss["kind"] == "huber" and record["target"] == "python" and loss["params"] == {"delta": 2.0}
    assert "#   lossgen new --kind huber --delta 2.0 --target python --name huber" in record_text
    assert (project / "README.md").is_file() and (project / "pyproject.toml").is_file()


def test_new_force_writes_into_existing_directory_and_keeps_other_files(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    project.mkdir()
    (project / "stale.txt").write_text("old\n", encoding="utf-8")
    code, _out, err = run_main(
        capsys,
        "new",
        "--kind",
        "huber",
        "--delta",
        "3",
        "--no-input",
        "--no-test",
        "--no-format",
        "--force",
        "-o",
        str(tmp_path),
    )
    assert code == 0, err
    assert (project / "stale.txt").read_text(encoding="utf-8") == "old\n"  # not lossgen's: never removed
    assert "delta=3.0" in (project / "huber_loss" / "huber.py").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "huber-loss"]


def test_new_name_option(tmp_path, capsys):
    code, _out, err = run_main(
        capsys,
        "new",
        "--kind",
        "mse",
        "--name",
        "my-mse",
        "--no-input",
        "--no-test",
        "--no-format",
        "-o",
        str(tmp_path),
    )
    assert code == 0, err
    loss_py = (tmp_path / "my-mse-loss" / "my_mse_loss" / "my_mse.py").read_text(encoding="utf-8")
    assert "class MyMseLoss(keras.losses.Loss):" in loss_py


def test_new_kind_help_lists_parameters(runner):
    result = runner.invoke(cli, ["new", "--kind", "huber", "--help"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert (
        "--delta FLOAT Error size where the loss turns from quadratic to linear. Allowed: a number > 0. [default: 1.0]"
    ) in flat
    assert "--gamma" not in flat


def test_new_help_without_kind_has_no_parameter_options(runner):
    result = runner.invoke(cli, ["new", "--help"])
    assert result.exit_code == 0, result.output
    assert "--kind TEXT" in result.output and "--delta FLOAT" not in result.output


# ---------------------------------------------------------------------------------------------
# Team catalogs: spec text is never run as a Jinja template

PROBE = textwrap.dedent('''\
    name = "jinja_probe"
    title = "Probe {{ 7*7 }} title"
    summary = "Summary {{ 7*7 }} and {% raw %} end."
    description = """
    Description {{ 7*7 }} with {% raw %} and {# comment #} inside."""
    task = "regression"
    formula = """
    loss = mean(weight * abs(y_pred - y_true), axis=-1)
    """

    [params.weight]
    type = "float"
    default = 1.0
    gt = 0.0
    help = "Weight {{ 7*7 }} with {% raw %} too."

    [[examples]]
    y_true = [[0.0, 1.0]]
    y_pred = [[2.0, 1.0]]
    loss = [1.0]

    [[examples]]
    params = { weight = 2.0 }
    y_true = [[0.0]]
    y_pred = [[-1.5]]
    loss = [3.0]
''')
VERBATIM = ["Probe {{ 7*7 }} title", "Summary {{ 7*7 }} and {% raw %} end."]


@pytest.fixture
def team_catalog(tmp_path):
    catalog = tmp_path / "team"
    catalog.mkdir()
    (catalog / "jinja_probe.toml").write_text(PROBE, encoding="utf-8")
    return catalog


def test_team_catalog_listed(runner, team_catalog):
    result = runner.invoke(cli, ["list", "--catalog", str(team_catalog)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("jinja_probe "))
    assert "Summary {{ 7*7 }} and {% raw %} end." in line
    assert f"[--catalog: {team_catalog / 'jinja_probe.toml'}]" in line


def test_jinja_in_spec_text_is_rendered_verbatim(tmp_path, capsys, team_catalog):
    out_dir = tmp_path / "out"
    code, _out, err = run_main(
        capsys,
        "new",
        "--kind",
        "jinja_probe",
        "--catalog",
        str(team_catalog),
        "--no-input",
        "--no-test",
        "-o",
        str(out_dir),
    )
    assert code == 0, err
    project = out_dir / "jinja-probe-loss"
    readme = (project / "README.md").read_text(encoding="utf-8")
    loss_py = (project / "jinja_probe_loss" / "jinja_probe.py").read_text(encoding="utf-8")
    for text, sink in ((readme, markdown_text), (loss_py, str)):
        for fragment in VERBATIM + [
            "Description {{ 7*7 }} with {% raw %} and {# comment #} inside.",
            "Weight {{ 7*7 }} with {% raw %} too.",
        ]:
            assert sink(fragment) in text  # as written, through the sink's own escaping only
        # No rendered "{{ 7*7 }}" anywhere (the README's repeat command names the tmp catalog path).
        assert "49" not in text.replace(str(team_catalog.resolve()), "<catalog>")
    assert readme.startswith("# jinja-probe-loss: Probe {{ 7\\*7 }} title\n")


def test_jinja_in_spec_text_show(runner, team_catalog):
    result = runner.invoke(cli, ["show", "jinja_probe", "--catalog", str(team_catalog)])
    assert result.exit_code == 0, result.output
    assert '"""Probe {{ 7*7 }} title.' in result.output
    assert "Weight {{ 7*7 }} with {% raw %} too." in result.output
    assert "49" not in result.output


def test_team_spec_reusing_builtin_name_needs_overrides(tmp_path, capsys):
    catalog = tmp_path / "team"
    catalog.mkdir()
    (catalog / "huber.toml").write_text(PROBE.replace('name = "jinja_probe"', 'name = "huber"'), encoding="utf-8")
    code, out, err = run_main(capsys, "list", "--catalog", str(catalog))
    assert code == 2 and out == ""
    assert_one_line_error(
        err, f"{catalog / 'huber.toml'}:1: 'huber' is a built-in kind; rename it or set `overrides = true`"
    )


def test_bad_team_spec_is_one_located_line(tmp_path, capsys):
    catalog = tmp_path / "team"
    catalog.mkdir()
    (catalog / "jinja_probe.toml").write_text(
        PROBE.replace("abs(y_pred - y_true)", "abs(y_pred.T - y_true)"), encoding="utf-8"
    )
    code, out, err = run_main(capsys, "list", "--catalog", str(catalog))
    assert code == 2 and out == ""
    assert_one_line_error(err, f"Error: {catalog / 'jinja_probe.toml'}:8:26: attribute access not allowed")


def test_missing_catalog_directory(tmp_path, capsys):
    code, out, err = run_main(capsys, "list", "--catalog", str(tmp_path / "nope"))
    assert code == 2 and out == ""
    assert_one_line_error(err, f"catalog directory {tmp_path / 'nope'} (from --catalog) does not exist")


def test_an_internal_error_is_one_short_line(monkeypatch, capsys):
    def broken(*args):
        raise RuntimeError("context:\n" + "x" * 5000)

    monkeypatch.setattr(cli_module, "open_catalog", broken)
    assert cli_module.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: internal error: RuntimeError: context: xxx") and err.count("\n") == 1
    assert len(err) < 450 and err.rstrip().endswith("(set LOSSGEN_DEBUG=1 for details)")
