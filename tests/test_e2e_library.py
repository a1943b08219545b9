"""End to end for packages of several losses, both targets: a 3-loss library, the same library after
`lossgen add` of a fourth loss into its committed git checkout (the owner's edits kept), and `--all`
over the test team catalog. Their tests run as a user runs them, grouped so that Python starts
TensorFlow once and R starts once; the 3-loss R package also goes through R CMD check (the one R CMD
check of a library). The grown library runs its whole Python suite, the others their formula tests
(`-m "not integration"`: a library of all built-in kinds trains, saves and reloads every loss in
tests/test_e2e_python.py); LOSSGEN_FULL_MATRIX=1 runs every suite whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scaffold import check
from tests.helpers import FORMULA_ONLY, FULL_MATRIX, TEAM, commit_all, git, r_cmd_check, run

pytestmark = pytest.mark.e2e
THREE = [
    "--kind",
    "huber",
    "--delta",
    "2",
    "--kind",
    "binary_focal",
    "--gamma",
    "3",
    "--kind",
    "sparse_categorical_crossentropy",
]
OWNER_NOTE = "Ask the platform team before changing a default."


@pytest.fixture(scope="module")
def libraries(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("libraries")
    made = {}
    assert (
        run(
            "new",
            *THREE,
            "--name",
            "teamlosses",
            "--target",
            "both",
            "--no-input",
            "--no-test",
            "-o",
            str(root / "three"),
        )
        == 0
    )
    made["three"] = root / "three" / "teamlosses"

    assert (
        run(
            "new",
            *THREE,
            "--name",
            "teamlosses",
            "--target",
            "both",
            "--no-input",
            "--no-test",
            "-o",
            str(root / "grown"),
        )
        == 0
    )
    grown = root / "grown" / "teamlosses"
    commit_all(grown)
    for readme in (grown / "python" / "README.md", grown / "r" / "README.md"):
        readme.write_text(readme.read_text() + f"\n## Team notes\n\n{OWNER_NOTE}\n")
    assert run("add", str(grown), "--kind", "quantile", "--tau", "0.9", "--no-test") == 0
    made["grown"] = grown

    assert (
        run(
            "new",
            "--catalog",
            str(TEAM),
            "--all",
            "--name",
            "catalog-losses",
            "--target",
            "both",
            "--no-input",
            "--no-test",
            "-o",
            str(root / "all"),
        )
        == 0
    )
    made["all"] = root / "all" / "catalog-losses"
    return made


@pytest.fixture(scope="module")
def python_reports(libraries):
    projects = [libraries[name] / "python" for name in ("three", "grown", "all")]
    markers = {} if FULL_MATRIX else {projects[0]: FORMULA_ONLY, projects[2]: FORMULA_ONLY}
    return dict(zip(("three", "grown", "all"), check.run_python_tests(projects, markers=markers)))


@pytest.fixture(scope="module")
def r_reports(libraries, r_available):
    packages = [libraries[name] / "r" for name in ("three", "grown", "all")]
    return dict(zip(("three", "grown", "all"), check.run_tests("r", packages)))


@pytest.mark.parametrize("name", ["three", "grown", "all"])
def test_python_library_suites_pass(python_reports, name):
    report = python_reports[name]
    assert report.ok, report.summary() + "\n" + "\n".join(report.output[-60:])


@pytest.mark.parametrize("name", ["three", "grown", "all"])
def test_r_library_suites_pass(r_reports, name):
    report = r_reports[name]
    assert report.ok and report.failed == 0 and report.skipped == 0, (
        report.summary() + "\n" + "\n".join(report.output[-60:])
    )


def test_every_loss_is_tested_on_its_own_and_reloads_when_compiled_with_the_plain_function(libraries, python_reports):
    project = libraries["grown"] / "python"
    modules = ["huber", "binary_focal", "sparse_categorical_crossentropy", "quantile"]
    for module in modules:
        assert (
            "def test_model_compiled_with_the_function_reloads"
            in (project / "tests" / module / "test_keras.py").read_text()
        )
    # a library's suite is the per-loss suites together: four losses, four times a one-loss suite's tests
    assert python_reports["grown"].passed >= 4 * 40, python_reports["grown"].summary()


def test_add_kept_the_owners_edits_and_said_what_it_did(libraries):
    grown = libraries["grown"]
    for target in ("python", "r"):
        assert OWNER_NOTE in (grown / target / "README.md").read_text()
    assert "QuantileLoss" in (grown / "python" / "README.md").read_text()
    assert "export(quantile_loss)" in (grown / "r" / "NAMESPACE").read_text()
    assert (grown / "r" / "man" / "quantile_loss.Rd").is_file()
    status = git(grown, "status", "--porcelain")
    assert re.search(r"^ M python/README\.md$", status, re.MULTILINE) and re.search(
        r"^\?\? python/tests/quantile/", status, re.MULTILINE
    )


def test_three_loss_r_package_passes_r_cmd_check_without_notes(libraries, r_available, tmp_path):
    log = r_cmd_check(libraries["three"] / "r", tmp_path)
    assert "checking tests" in log, log[-3000:]
