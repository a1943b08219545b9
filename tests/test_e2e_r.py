"""End to end for the R target: every built-in kind generated as an R package and every testthat
suite run in ONE Rscript process (Python and TensorFlow start once under reticulate).

R and Python agree because both suites check their loss against the same inputs and the same
float64 reference values, computed by lossgen from the spec at generation time; the last test
shows the two generated projects really carry identical data.
"""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from scaffold import check
from scaffold.catalog import load_catalog
from scaffold.cli import cli
from scaffold.names import Names

pytestmark = pytest.mark.e2e
KINDS = load_catalog().names()


def generate(root: Path, kind: str, target: str) -> Path:
    result = CliRunner().invoke(cli, ["new", "--kind", kind, "--target", target, "--no-input", "--no-test",
                                      "-o", str(root), "--author", "Ada Lovelace", "--email", "ada@example.org"])
    assert result.exit_code == 0, result.output
    return root / Names.derive(kind).directory(target)


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("r-packages")
    return {kind: generate(root, kind, "r") for kind in KINDS}


@pytest.fixture(scope="module")
def reports(packages, r_available) -> dict[str, check.TestReport]:
    return dict(zip(packages, check.run_r_tests(list(packages.values()))))


@pytest.mark.parametrize("kind", KINDS)
def test_generated_package_tests_pass(kind, reports):
    report = reports[kind]
    assert report.ok, f"{kind}: {report.summary()}\n" + "\n".join(report.output[-60:])
    assert report.skipped == 0, f"{kind}: generated tests must not skip checks"


def r_numbers(text: str, variable: str) -> np.ndarray:
    match = re.search(rf"^\s*{variable} = (?:matrix\(\s*)?c\(([^)]*)\)", text, re.MULTILINE)
    assert match, f"{variable} not found"
    return np.array([float(v) for v in match.group(1).split(",")])


@pytest.mark.parametrize("kind", ["huber", "sparse_focal", "weighted_cce", "contrastive"])
def test_r_and_python_projects_check_identical_inputs_and_reference(kind, packages, tmp_path):
    python_cases = runpy.run_path(str(generate(tmp_path, kind, "python") / "tests" / kind / "cases.py"))
    r_cases = (packages[kind] / "tests" / "testthat" / "cases" / f"{kind}.R").read_text()
    for r_name, py_name in [("random_y_true", "RANDOM_Y_TRUE"), ("random_y_pred", "RANDOM_Y_PRED"),
                            ("random_loss", "RANDOM_LOSS")]:
        np.testing.assert_array_equal(r_numbers(r_cases, r_name), np.ravel(python_cases[py_name]))


@pytest.mark.parametrize("kind", ["huber"])  # a package of several: tests/test_e2e_library.py
def test_r_cmd_check_status_ok_without_notes(kind, packages, r_available, tmp_path):
    log = r_cmd_check(packages[kind], tmp_path)
    status = next((line for line in log.splitlines() if line.startswith("Status:")), "")
    assert status == "Status: OK", log[-3000:]


def r_cmd_check(package: Path, where: Path) -> str:
    """R CMD build, then R CMD check --no-manual of the tarball, as the package's README says; the
    check's log. Offline: no CRAN incoming checks, no time server for file timestamps."""
    import subprocess
    import sys

    env = {**os.environ, "RETICULATE_PYTHON": sys.executable, "_R_CHECK_CRAN_INCOMING_": "false",
           "_R_CHECK_CRAN_INCOMING_REMOTE_": "false", "_R_CHECK_FUTURE_FILE_TIMESTAMPS_": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    build = subprocess.run(["R", "CMD", "build", str(package)], cwd=where, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(where.glob("*.tar.gz"))
    result = subprocess.run(["R", "CMD", "check", "--no-manual", tarball.name], cwd=where, env=env,
                            capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    return log
