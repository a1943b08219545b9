"""The files around the generated code: what cookiecutter/copier users take for granted (issue 12).

A generated Python project in a fresh git repository passes `ruff check` with ruff's default rules,
its CI workflow parses and runs the commands its README gives, and after the README's steps `git
status` shows nothing that its .gitignore should have caught.
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from scaffold import PYTHON_REQUIRES
from scaffold import cli as cli_module
from tests.helpers import ROOT, commit_all


def generate(tmp_path: Path, *extra: str, kind: str = "huber") -> Path:
    assert (
        cli_module.main(
            [
                "new",
                "--kind",
                kind,
                "--no-input",
                "--no-test",
                "-o",
                str(tmp_path),
                "--author",
                "Ada Lovelace",
                "--email",
                "ada@example.org",
                *extra,
            ]
        )
        == 0
    )
    project = tmp_path / f"{kind.replace('_', '-')}-loss"
    commit_all(project)
    return project


def test_one_python_requirement_everywhere(tmp_path):
    own = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert own == f">={PYTHON_REQUIRES}"
    project = generate(tmp_path)
    generated = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert generated["requires-python"] == own
    assert (
        cli_module.main(["new", "--kind", "huber", "--target", "r", "--no-input", "--no-test", "-o", str(tmp_path)])
        == 0
    )
    assert f"Python (>= {PYTHON_REQUIRES})" in (tmp_path / "huberloss" / "DESCRIPTION").read_text()


def test_pyproject_carries_readme_license_and_authors(tmp_path):
    project = generate(tmp_path, "--license", "BSD-3-Clause")
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert meta["readme"] == "README.md" and meta["license"] == "BSD-3-Clause"
    assert meta["license-files"] == ["LICENSE"] and (project / "LICENSE").read_text().startswith("BSD 3-Clause")
    assert meta["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    assert "Copyright (c) " in (project / "LICENSE").read_text() and "Ada Lovelace" in (project / "LICENSE").read_text()


@pytest.mark.parametrize("kind", ["huber", "binary_focal", "sparse_focal", "output_mse", "contrastive", "library"])
def test_generated_python_passes_ruff_with_its_default_rules(tmp_path, kind):
    if kind == "library":  # several losses: the package's imports, __all__ and train.py's import sorted too
        kinds = ["mse", "huber", "multi_output_mse", "binary_focal", "contrastive", "sparse_focal"]
        assert (
            cli_module.main(
                [
                    "new",
                    *(a for k in kinds for a in ("--kind", k)),
                    "--name",
                    "team-losses",
                    "--no-input",
                    "--no-test",
                    "-o",
                    str(tmp_path),
                ]
            )
            == 0
        )
        project = tmp_path / "team-losses"
    else:
        project = generate(tmp_path, kind=kind)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_runs_what_the_readme_says(tmp_path):
    project = generate(tmp_path)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "test.yml").read_text())
    job = workflow["jobs"]["pytest"]
    matrix = job["strategy"]["matrix"]
    assert matrix["backend"] == ["tensorflow", "jax", "torch"]
    assert f"{PYTHON_REQUIRES}" in matrix["python-version"]
    steps = [step.get("run", "") for step in job["steps"]]
    readme = (project / "README.md").read_text()
    for backend in matrix["backend"]:
        install = f'pip install -e ".[{backend},test]"'
        assert install in readme, install
        assert install in [s.replace("${{ matrix.backend }}", backend) for s in steps]
    assert "pytest" in steps and "KERAS_BACKEND=jax pytest" in readme


@pytest.mark.e2e
def test_after_the_readmes_steps_git_sees_nothing_to_ignore(tmp_path):
    project = generate(tmp_path)
    # pip install -e ".[tensorflow,test]" builds the package in place (build/, *.egg-info) ...
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheels"),
            ".",
        ],
        cwd=project,
        check=True,
    )
    # ... pytest, and python train.py --epochs 2 --plot loss.png
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "tests/huber/test_values.py"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "train.py", "--epochs", "2", "--plot", "loss.png"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    model = project / "model.keras"
    model.write_bytes(b"saved by the README's reload example")
    assert (project / "loss.png").is_file() and list(project.glob("*.egg-info"))
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", status.stdout


def test_train_plot_without_matplotlib_fails_before_training(tmp_path, monkeypatch, capsys):
    project = generate(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    monkeypatch.syspath_prepend(str(project))
    script = runpy.run_path(str(project / "train.py"))
    trained = []
    script["main"].__globals__["train"] = lambda *a, **k: trained.append(1) or [1.0]
    with pytest.raises(SystemExit) as stopped:
        script["main"](["--plot", "loss.png"])
    assert re.search(r'pip install -e "\.\[plot\]"', str(stopped.value)) and trained == []


def test_the_wheel_ships_every_template_file(tmp_path):
    """`pip install .` (the README's Quickstart) must carry hidden files and .github workflows too."""
    import shutil
    import zipfile

    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    source = tmp_path / "source"  # a copy: building in place would leave build/ in the checkout
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheel"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("lossgen-*.whl")
    shipped = {
        name.removeprefix("scaffold/templates/")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.startswith("scaffold/templates/")
    }
    tracked = subprocess.run(
        ["git", "ls-files", "templates"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = {path.removeprefix("templates/") for path in tracked}
    assert expected and expected <= shipped, sorted(expected - shipped)
    modules = subprocess.run(
        ["git", "ls-files", "scaffold"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = set(modules) - set(zipfile.ZipFile(wheel).namelist())  # e.g. a subpackage pyproject does not list
    assert modules and not missing, sorted(missing)


def test_own_code_is_clean():
    """lossgen's own code meets the bar it sets for generated code: ruff check and ruff format, with the
    configuration in pyproject.toml ([tool.ruff]), clean on scaffold/, tests/ and benchmarks/."""
    paths = ["scaffold", "tests", "benchmarks"]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout[-5000:] + lint.stderr
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout[-5000:] + formatted.stderr


def test_generated_tests_mark_the_integration_tests_and_say_how_to_skip_them(tmp_path):
    """Formula tests unmarked, the template's Keras integration tests marked `integration` (registered),
    and the README gives the quick loop: lossgen's end-to-end tests rely on this split."""
    import ast

    project = generate(tmp_path)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert any(m.startswith("integration:") for m in pyproject["tool"]["pytest"]["ini_options"]["markers"])
    assert 'pytest -m "not integration"' in (project / "README.md").read_text()
    marked, unmarked = set(), set()
    for path in (project / "tests").rglob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                (marked if "pytest.mark.integration" in decorators else unmarked).add(f"{path.stem}.{node.name}")
    assert marked == {
        "test_keras.test_sample_weights_weight_each_sample",
        "test_keras.test_reductions",
        "test_keras.test_model_saves_and_reloads_without_custom_objects",
        "test_keras.test_model_compiled_with_the_function_reloads",
        "test_keras.test_trains_on_float16_outputs",
        "test_train.test_loss_falls_on_a_quick_run",
    }
    assert {name.split(".")[0] for name in unmarked} == {
        "test_values",
        "test_gradients",
        "test_stability",
        "test_keras",
        "test_train",
    }


@pytest.mark.parametrize("name", ["battery.py", "backend.py"])
def test_audit_runs_the_generated_projects_own_checks(tmp_path, name):
    """`lossgen audit` loads tests/battery.py and tests/backend.py from lossgen's template; the copy in
    a generated project (rendered by cookiecutter, formatted by black) must be the same bytes, or the
    audit and the generated tests would run different checks."""
    from scaffold.audit.runner import GENERATED_TESTS
    from scaffold.paths import templates_dir

    project = generate(tmp_path)
    assert (project / "tests" / name).read_bytes() == (templates_dir() / GENERATED_TESTS / name).read_bytes()
