"""The R package around the generated loss (issue 12): what an R package maintainer expects.

DESCRIPTION's Authors@R and License as R writes them, the LICENSE files, a workflow that runs the
README's commands, lintr's default linters with no finding, roxygen2 leaving man/ as lossgen wrote
it, 1-based indexes, train.R's command line, and `git status` clean after the README's steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scaffold import PYTHON_REQUIRES
from scaffold import cli as cli_module
from tests.helpers import R_CHECK_ENV, commit_all, r_cmd_check

R_ENV = {"RETICULATE_PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "2"}


def generate(tmp_path: Path, kind: str = "huber", *extra: str, git: bool = False) -> Path:
    assert (
        cli_module.main(
            ["new", "--kind", kind, "--target", "r", "--no-input", "--no-test", "-o", str(tmp_path), *extra]
        )
        == 0
    )
    package = tmp_path / f"{kind.replace('_', '')}loss"
    if git:
        commit_all(package)
    return package


def description(package: Path) -> dict[str, str]:
    fields, name = {}, None
    for line in (package / "DESCRIPTION").read_text().splitlines():
        if line.startswith((" ", "\t")):
            fields[name] += "\n" + line.strip()
        else:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def rscript(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["Rscript", "-e", code], cwd=cwd, capture_output=True, text=True, env={**os.environ, **R_ENV, **env}
    )


@pytest.mark.parametrize(
    ("spdx", "field", "stub"),
    [
        ("Apache-2.0", "Apache License (>= 2)", False),
        ("MIT", "MIT + file LICENSE", True),
        ("BSD-3-Clause", "BSD_3_clause + file LICENSE", True),
        ("GPL-3.0-or-later", "GPL (>= 3)", False),
        ("MPL-2.0", "MPL-2.0", False),
    ],
)
def test_license_as_r_writes_it(tmp_path, spdx, field, stub):
    package = generate(tmp_path, "huber", "--license", spdx, "--author", "Ada Lovelace", "--email", "ada@example.org")
    assert description(package)["License"] == field
    assert (package / "LICENSE").is_file() == stub
    if stub:  # the two-line file R's license templates refer to
        assert (package / "LICENSE").read_text().splitlines()[1] == "COPYRIGHT HOLDER: Ada Lovelace"
    assert "^LICENSE\\.md$" in (package / ".Rbuildignore").read_text().splitlines()
    assert (package / "LICENSE.md").read_text().strip()


@pytest.mark.parametrize(
    ("args", "authors"),
    [
        (
            ["--author", "Ada Lovelace", "--email", "ada@example.org"],
            'person("Ada", "Lovelace", email = "ada@example.org", role = c("aut", "cre"))',
        ),
        (
            ["--author", "Guido van Rossum", "--email", "guido@example.org"],
            'person("Guido", "van Rossum", email = "guido@example.org", role = c("aut", "cre"))',
        ),
        (["--author", "Hypatia"], 'person("Hypatia", role = "aut")'),
    ],
)
def test_authors_at_r(tmp_path, monkeypatch, args, authors):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # no e-mail from this machine's git config
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    package = generate(tmp_path, "huber", *args)
    assert description(package)["Authors@R"] == authors
    assert "author@example.com" not in (package / "DESCRIPTION").read_text()
    readme = (package / "README.md").read_text()
    assert ("names no\nmaintainer yet" in readme) == ("--email" not in args)


def test_description_names_the_python_and_roxygen(tmp_path):
    fields = description(generate(tmp_path))
    assert fields["SystemRequirements"].startswith(f"Python (>= {PYTHON_REQUIRES})")
    assert fields["RoxygenNote"] and fields["Config/testthat/edition"] == "3"


def test_indexes_count_from_one_in_r(tmp_path):
    package = generate(tmp_path, "output_mse", "--output-index", "2")
    code = (package / "R" / "loss.R").read_text()
    assert "output_mse_loss <- function(output_index = 3L) {" in code
    assert "output_index <- as.integer(output_index) - 1L" in code
    rd = " ".join((package / "man" / "output_mse_loss.Rd").read_text().split())
    assert "Counted from 1, as R counts" in rd and "Allowed: a whole number >= 1." in rd
    cases = (package / "tests" / "testthat" / "cases" / "output_mse.R").read_text()
    assert "params = list(output_index = 3L)" in cases
    assert 'list(name = "output_index", value = 0L)' in cases  # lossgen's -1: out of range in R too


def test_the_workflow_runs_what_the_readme_says(tmp_path):
    package = generate(tmp_path)
    workflow = yaml.safe_load((package / ".github" / "workflows" / "R-CMD-check.yaml").read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    readme = (package / "README.md").read_text()
    for command in ("R CMD build .", "R CMD check --no-manual huberloss_0.1.0.tar.gz"):
        assert command in steps and command in readme, command
    assert any("RETICULATE_PYTHON" in step for step in steps)
    assert f'"{PYTHON_REQUIRES}"' in (package / ".github" / "workflows" / "R-CMD-check.yaml").read_text()


def test_no_line_over_80_characters(tmp_path):
    for kind in ("huber", "weighted_cce", "output_mse", "sparse_focal", "binary_focal", "quantile"):
        package = generate(tmp_path, kind)
        for path in [*package.glob("R/*.R"), *package.glob("tests/**/*.R"), package / "train.R"]:
            long = [n for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > 80]
            assert not long, f"{path.relative_to(tmp_path)}: lines {long}"


LINTED = ["huber", "output_mse", "sparse_focal", "weighted_cce", "sparse_categorical_crossentropy", "tversky"]


@pytest.fixture(scope="module")
def lints(tmp_path_factory, r_available) -> dict[str, str]:
    """kind -> what lintr's default linters say about its package and train.R; one Rscript for all."""
    root = tmp_path_factory.mktemp("lintr")
    packages = {kind: generate(root, kind, git=True) for kind in LINTED}
    script = (
        "for (dir in commandArgs(trailingOnly = TRUE)) { setwd(dir); "
        'lints <- c(lintr::lint_package(), lintr::lint("train.R")); '
        'cat("LINTS", dir, length(lints), "\\n"); print(lints) }'
    )
    result = subprocess.run(
        ["Rscript", "-e", script, *map(str, packages.values())],
        capture_output=True,
        text=True,
        env={**os.environ, **R_ENV},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sections = {}
    for section in result.stdout.split("LINTS ")[1:]:
        directory, count = section.split("\n", 1)[0].split()
        sections[directory] = (int(count), section)
    return {kind: sections[str(package)] for kind, package in packages.items()}


@pytest.mark.e2e
@pytest.mark.parametrize("kind", LINTED)
def test_lintr_default_linters_find_nothing(kind, lints):
    count, output = lints[kind]
    assert count == 0, output


@pytest.mark.e2e
def test_roxygen2_leaves_man_and_namespace_as_generated(tmp_path, r_available):
    package = generate(tmp_path, "sparse_focal", git=True)
    result = rscript("roxygen2::roxygenise()", package)
    assert result.returncode == 0, result.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=package, capture_output=True, text=True)
    assert status.stdout == "", status.stdout


@pytest.mark.e2e
def test_argument_errors_show_the_value_as_r_code(tmp_path, r_available):
    package = generate(tmp_path, "weighted_cce")
    result = rscript(
        'for (f in list.files("R", full.names = TRUE)) source(f)\n'
        'for (value in list(c(1, 0, 5), "2", NA)) '
        "message(try(weighted_cce_loss(class_weights = value), silent = TRUE))",
        package,
    )
    assert "`class_weights` must be a numeric vector of length >= 2, each value > 0, got c(1, 0, 5)" in result.stderr
    assert 'got "2"' in result.stderr and "got NA" in result.stderr


@pytest.mark.e2e
def test_train_r_command_line(tmp_path, r_available):
    package = generate(tmp_path)

    def train(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["Rscript", "train.R", *args], cwd=package, capture_output=True, text=True, env={**os.environ, **R_ENV}
        )

    shown = train("--help")
    assert shown.returncode == 0 and "--plot FILE.png" in shown.stdout
    unknown = train("--learning-rate", "3")
    assert unknown.returncode == 2 and "unknown argument: --learning-rate" in unknown.stderr
    assert "usage: Rscript train.R" in unknown.stderr
    assert train("--epochs").returncode == 2
    unwritable = train("--plot", str(tmp_path / "missing" / "loss.png"))
    assert unwritable.returncode != 0 and "cannot write" in unwritable.stderr
    assert "epoch" not in unwritable.stdout  # refused before training


@pytest.mark.e2e
def test_after_the_readmes_steps_git_sees_nothing_to_ignore(tmp_path, r_available):
    """R CMD build . and R CMD check in the package, train.R --plot, a saved model: all ignored."""
    package = generate(tmp_path, "huber", "--author", "Ada Lovelace", "--email", "ada@example.org", git=True)
    env = {**os.environ, **R_CHECK_ENV}
    # the one R CMD check of a one-loss package (tests and examples included; a library's: test_e2e_library.py)
    log = r_cmd_check(Path("."), package)
    assert "checking tests" in log and "testthat.R" in log, log[-3000:]
    subprocess.run(
        ["Rscript", "train.R", "--epochs", "2", "--plot", "loss.png"], cwd=package, env=env, capture_output=True
    )  # the loss may not fall in 2 epochs: status 1 is fine here
    (package / "model.keras").write_bytes(b"saved by the README's reload example")
    assert (package / "loss.png").is_file() and (package / "huberloss.Rcheck").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=package,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", status.stdout


def test_r_names_never_collide_with_keras3():
    """keras3 names losses and metrics loss_* and metric_*; lossgen's R functions end in _loss, a
    form none of keras3's exports (tests/data/keras3_exports.txt, from keras3's NAMESPACE) takes."""
    from scaffold.names import LossNames
    from scaffold.paths import builtin_losses_dir

    exports = set((Path(__file__).parent / "data" / "keras3_exports.txt").read_text().split())
    assert len(exports) > 60 and not any(name.endswith("_loss") for name in exports)
    kinds = sorted(path.stem for path in builtin_losses_dir().glob("*.toml"))
    assert len(kinds) >= 32
    for name in [*kinds, "loss", "loss_huber", "metric-huber"]:
        function = LossNames.derive(name).r_function
        assert function.endswith("_loss") and function not in exports, (name, function)
