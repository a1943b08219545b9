"""End to end for the R target: a library of every built-in kind generated as one R package, and its
testthat suite (every kind's tests) run in ONE Rscript process (Python and TensorFlow start once
under reticulate). A one-loss package holds the very test files the library holds for its kind (the
tests below compare them byte for byte); R CMD check of a one-loss package runs in
tests/test_r_package.py, of a library in tests/test_e2e_library.py. With LOSSGEN_FULL_MATRIX=1 every
kind's one-loss package runs its suite too, in the same process.

R and Python agree because both suites check their loss against the same inputs and the same
float64 reference values, computed by lossgen from the spec at generation time; the last test
shows the two generated projects really carry identical data.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

from scaffold import check
from scaffold.catalog import load_catalog
from scaffold.names import Names
from tests import helpers
from tests.helpers import FULL_MATRIX

pytestmark = pytest.mark.e2e
KINDS = load_catalog().names()


LIBRARY = "alllosses"
ONE_LOSS_KINDS = KINDS if FULL_MATRIX else ["huber", "sparse_focal", "weighted_cce", "contrastive"]


def generate(root: Path, kind: str, target: str) -> Path:
    helpers.generate(root, "--kind", kind, "--target", target, "--author", "Ada Lovelace", "--email", "ada@example.org")
    return root / Names.derive(kind).directory(target)


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("r-packages")
    helpers.generate(root, "--all", "--name", LIBRARY, "--target", "r")
    return {LIBRARY: root / LIBRARY, **{kind: generate(root, kind, "r") for kind in ONE_LOSS_KINDS}}


@pytest.fixture(scope="module")
def reports(packages, r_available) -> dict[str, check.TestReport]:
    run = packages if FULL_MATRIX else {LIBRARY: packages[LIBRARY]}
    return dict(zip(run, check.run_r_tests(list(run.values()))))


@pytest.mark.parametrize("label", [LIBRARY, *ONE_LOSS_KINDS] if FULL_MATRIX else [LIBRARY])
def test_generated_package_tests_pass(label, reports):
    report = reports[label]
    assert report.ok, f"{label}: {report.summary()}\n" + "\n".join(report.output[-60:])
    assert report.skipped == 0, f"{label}: generated tests must not skip checks"


def test_the_library_ran_every_kinds_tests(packages, reports):
    testthat = packages[LIBRARY] / "tests" / "testthat"
    assert sorted(path.stem for path in (testthat / "cases").glob("*.R")) == KINDS
    assert len(list(testthat.glob("test-*.R"))) >= 6 * len(KINDS)
    assert reports[LIBRARY].tests >= 15 * len(KINDS), reports[LIBRARY].summary()


@pytest.mark.parametrize("kind", ONE_LOSS_KINDS)
def test_one_loss_packages_hold_the_librarys_tests_for_their_kind(kind, packages):
    """So the library's run of a kind's testthat suite is that of its one-loss package."""
    one, library = packages[kind] / "tests" / "testthat", packages[LIBRARY] / "tests" / "testthat"
    files = [*one.glob(f"test-{kind}-*.R"), one / "cases" / f"{kind}.R"]
    assert len(files) >= 6, files
    for path in files:
        assert path.read_bytes() == (library / path.relative_to(one)).read_bytes(), path


def r_numbers(text: str, variable: str) -> np.ndarray:
    match = re.search(rf"^\s*{variable} = (?:matrix\(\s*)?c\(([^)]*)\)", text, re.MULTILINE)
    assert match, f"{variable} not found"
    return np.array([float(v) for v in match.group(1).split(",")])


@pytest.mark.parametrize("kind", ["huber", "sparse_focal", "weighted_cce", "contrastive"])
def test_r_and_python_projects_check_identical_inputs_and_reference(kind, packages, tmp_path):
    python_cases = runpy.run_path(str(generate(tmp_path, kind, "python") / "tests" / kind / "cases.py"))
    r_cases = (packages[kind] / "tests" / "testthat" / "cases" / f"{kind}.R").read_text()
    for r_name, py_name in [
        ("random_y_true", "RANDOM_Y_TRUE"),
        ("random_y_pred", "RANDOM_Y_PRED"),
        ("random_loss", "RANDOM_LOSS"),
    ]:
        np.testing.assert_array_equal(r_numbers(r_cases, r_name), np.ravel(python_cases[py_name]))
