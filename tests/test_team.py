"""Team catalogs (fast): sources and their precedence, built-in clashes, `validate --quick`,
`spec`, and hostile specs that must never be executed."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaffold import cli as cli_module
from scaffold.catalog import load_catalog
from scaffold.cli import cli
from scaffold.errors import SpecError
from scaffold.tasks import TASKS
from tests.helpers import TEAM, make_entry_point

ASYM = (TEAM / "asym_mse.toml").read_text()


def catalog_dir(root: Path, title: str, name: str = "asym_mse", extra: str = "") -> Path:
    """A catalog holding the asym_mse spec under `name`, retitled so a test can tell sources apart."""
    root.mkdir(parents=True, exist_ok=True)
    text = ASYM.replace('title = "Asymmetric squared error"', f'title = "{title}"')
    text = text.replace('name = "asym_mse"', f'name = "{name}"\n{extra}')
    (root / f"{name}.toml").write_text(text)
    return root


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def title_of(**kwargs) -> str:
    return load_catalog(**kwargs).get("asym_mse").title


def test_each_source_alone_finds_the_team_spec(clean_env, monkeypatch):
    tmp = clean_env
    assert title_of(catalog_dirs=(str(catalog_dir(tmp / "cli", "from cli")),)) == "from cli"
    assert title_of(env={"LOSSGEN_PATH": str(catalog_dir(tmp / "env", "from env"))}) == "from env"
    project = tmp / "project"
    catalog_dir(project / "losses", "from pyproject")
    (project / "pyproject.toml").write_text('[tool.lossgen]\ncatalogs = ["losses"]\n')
    (project / "src").mkdir()
    assert title_of(env={}, cwd=project / "src") == "from pyproject"  # nearest pyproject upwards
    make_entry_point(tmp / "site", catalog_dir(tmp / "ep", "from entry point"))
    monkeypatch.syspath_prepend(str(tmp / "site"))
    assert title_of(env={}) == "from entry point"


def test_precedence_cli_then_env_then_pyproject_then_entry_point(clean_env, monkeypatch):
    tmp = clean_env
    catalog_dir(tmp / "losses", "from pyproject")
    (tmp / "pyproject.toml").write_text('[tool.lossgen]\ncatalogs = ["losses"]\n')
    make_entry_point(tmp / "site", catalog_dir(tmp / "ep", "from entry point"))
    monkeypatch.syspath_prepend(str(tmp / "site"))
    env = {"LOSSGEN_PATH": str(catalog_dir(tmp / "env", "from env"))}
    cli_dir = str(catalog_dir(tmp / "cli", "from cli"))
    assert title_of(catalog_dirs=(cli_dir,), env=env) == "from cli"
    assert title_of(env=env) == "from env"
    assert title_of(env={}) == "from pyproject"
    (tmp / "pyproject.toml").unlink()
    assert title_of(env={}) == "from entry point"


def test_team_spec_with_a_builtin_name_needs_overrides(clean_env):
    tmp = clean_env
    clash = catalog_dir(tmp / "clash", "My huber", name="huber")
    with pytest.raises(SpecError, match="'huber' is a built-in kind; rename it or set `overrides = true`"):
        load_catalog(catalog_dirs=(str(clash),))
    shutil.rmtree(clash)
    allowed = catalog_dir(tmp / "override", "My huber", name="huber", extra="overrides = true")
    spec = load_catalog(catalog_dirs=(str(allowed),)).get("huber")
    assert spec.title == "My huber" and spec.origin == "--catalog"


def test_list_shows_where_each_kind_comes_from(clean_env):
    team = catalog_dir(clean_env / "team", "Asym")
    result = CliRunner().invoke(cli, ["list", "--catalog", str(team)])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("asym_mse"))
    assert f"[--catalog: {team / 'asym_mse.toml'}]" in line
    huber = next(line for line in result.output.splitlines() if line.startswith("huber "))
    assert "[" not in huber  # built-ins carry no origin tag


def test_missing_catalog_directory_is_a_usage_error(clean_env):
    code = cli_module.main(["list", "--catalog", str(clean_env / "nope")])
    assert code == 2


# --- validate --------------------------------------------------------------------------------

SPEC_HEAD = """\
name = "{name}"
title = "T"
summary = "S"
task = "regression"
"""
EXAMPLE = """
[[examples]]
y_true = [[1.0]]
y_pred = [[3.0]]
loss = [4.0]
"""
# (case, formula or extra TOML, expected `file:line[:col]` suffix, message fragment)
MALFORMED = [
    ("unknown function", 'formula = "loss = sqr(y_pred - y_true)"', ":5:19:", "unknown function `sqr`"),
    ("attribute access", 'formula = "loss = y_pred.shape"', ":5:19:", "attribute access"),
    ("subscript", 'formula = "loss = y_pred[0]"', ":5:19:", "subscripts"),
    ("import", 'formula = """\nimport os\nloss = y_pred\n"""', ":6:1:", "import not allowed"),
    ("lambda", 'formula = "loss = (lambda x: x)(y_pred)"', ":5:20:", "lambda"),
    ("undefined name", 'formula = "loss = square(y_pred - y_ture)"', ":5:35:", "undefined name `y_ture`"),
    ("no loss statement", 'formula = "error = y_pred - y_true"', ":5:12:", "`loss = ...` statement"),
    ("dunder name", 'formula = "loss = __import__(y_pred)"', ":5:19:", "unknown function `__import__`"),
    (
        "wrong parameter type",
        'formula = "loss = y_pred"\n[params.k]\ntype = "str"\ndefault = 1',
        ":7:1:",
        "type must be one of",
    ),
    (
        "bad default",
        'formula = "loss = y_pred"\n[params.k]\ntype = "float"\ndefault = -1.0\ngt = 0.0',
        ":8:1:",
        "bad default",
    ),
    ("TOML syntax error", 'formula = "loss = y_pred"\nbroken = = 1', ":6:", "TOML syntax error"),
]


def write(directory: Path, name: str, body: str, examples: str = EXAMPLE) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(SPEC_HEAD.format(name=name) + body + "\n" + examples)
    return path


@pytest.mark.parametrize("case, body, where, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_validate_reports_malformed_specs_with_location(tmp_path, case, body, where, message):
    path = write(tmp_path, "bad", body)
    result = CliRunner().invoke(cli, ["validate", "--quick", str(path)])
    assert result.exit_code == 1
    problem = result.output.splitlines()[0]
    assert problem.startswith(f"{path}{where}"), problem
    assert message in problem
    assert result.output.splitlines()[-1] == "1 spec(s) checked (quick), 1 problem(s)"


def test_validate_reports_a_failing_example_at_its_line(tmp_path):
    path = write(
        tmp_path,
        "wrong",
        'formula = "loss = mean(square(y_pred - y_true), axis=-1)"',
        EXAMPLE.replace("loss = [4.0]", "loss = [5.0]"),
    )
    result = CliRunner().invoke(cli, ["validate", "--quick", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7: example does not hold (NumPy): expected [5.0], got [4.0]" in result.output


def test_validate_reports_an_unstable_formula(tmp_path):
    path = tmp_path / "naive_bce.toml"
    path.write_text(
        textwrap.dedent('''\
        name = "naive_bce"
        title = "T"
        summary = "S"
        task = "binary"
        formula = """
        loss = mean(-(y_true * log(y_pred) + (1 - y_true) * log(1 - y_pred)), axis=-1)
        """

        [[examples]]
        y_true = [[1.0]]
        y_pred = [[0.5]]
        loss = [0.6931471805599453]
        ''')
    )
    result = CliRunner().invoke(cli, ["validate", "--quick", str(path)])
    assert result.exit_code == 1
    assert f"{path}:6: unstable: non-finite loss" in result.output
    assert "'saturated_wrong'" in result.output


def test_validate_accepts_good_specs_and_directories(tmp_path):
    result = CliRunner().invoke(cli, ["validate", "--quick", str(TEAM)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 spec(s) checked (quick), 0 problem(s)"


def test_validate_missing_path_is_a_usage_error(tmp_path):
    assert cli_module.main(["validate", str(tmp_path / "missing.toml")]) == 2


# --- spec starter ----------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(TASKS))
def test_starter_spec_validates_as_written(tmp_path, task):
    result = CliRunner().invoke(cli, ["spec", "team_loss", "--task", task, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "team_loss.toml").read_text()
    assert f'task = "{task}"' in text and "# Statements in order" in text
    checked = CliRunner().invoke(cli, ["validate", "--quick", str(tmp_path / "team_loss.toml")])
    assert checked.exit_code == 0, checked.output


def test_starter_refuses_to_overwrite(tmp_path):
    (tmp_path / "team_loss.toml").write_text("mine")
    assert cli_module.main(["spec", "team_loss", "-o", str(tmp_path)]) == 2
    assert (tmp_path / "team_loss.toml").read_text() == "mine"


# --- hostile specs ---------------------------------------------------------------------------

HOSTILE = [
    ("import", 'formula = """\nimport os\nloss = y_pred\n"""'),
    ("attribute", 'formula = "loss = y_pred.__class__"'),
    ("dunder call", """formula = "loss = __import__('os').system('touch PWNED')\""""),
    ("builtin escape", 'formula = "loss = open(y_pred)"'),
    (
        "reference code",
        (
            'formula = "loss = y_pred"\n'
            """reference = "__import__('os').system('touch PWNED')\""""
        ),
    ),
    ("reference attribute", 'formula = "loss = y_pred"\nreference = "keras.losses.Huber(delta=os.environ)"'),
]


@pytest.mark.parametrize("case, body", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_specs_are_rejected_and_never_run(tmp_path, monkeypatch, case, body):
    team, out = tmp_path / "team", tmp_path / "out"
    team.mkdir()
    out.mkdir()
    monkeypatch.chdir(out)
    write(team, "hostile", body)
    code = cli_module.main(["new", "--catalog", str(team), "--kind", "huber", "--no-input", "--no-test"])
    assert code == 2  # the broken team catalog is reported before anything is generated
    assert list(out.iterdir()) == []
    assert not (tmp_path / "PWNED").exists() and not (out / "PWNED").exists()


def test_hand_written_code_is_copied_not_run_at_generation(tmp_path, monkeypatch):
    team, out = tmp_path / "team", tmp_path / "out"
    team.mkdir()
    text = (
        (TEAM / "topk_mse.toml")
        .read_text()
        .replace("squared = ops.square(y_pred - y_true)", 'open("PWNED", "w")\nsquared = ops.square(y_pred - y_true)')
    )
    (team / "topk_mse.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    code = cli_module.main(
        ["new", "--catalog", str(team), "--kind", "topk_mse", "--no-input", "--no-test", "-o", str(out)]
    )
    assert code == 0
    assert 'open("PWNED", "w")' in (out / "topk-mse-loss" / "topk_mse_loss" / "topk_mse.py").read_text()
    assert not (tmp_path / "PWNED").exists()
