"""Running generated tests: what happens when R is missing, and how counts are read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import check
from scaffold import cli as cli_module
from scaffold.pytest_group import RESULT_MARKER


def test_missing_r_still_generates_and_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(check.shutil, "which", lambda name: None)  # no Rscript on PATH
    code = cli_module.main(["new", "--kind", "huber", "--target", "r", "--no-input", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == cli_module.EXIT_TESTS_NOT_RUN == 3
    assert (tmp_path / "huberloss" / "R" / "loss.R").is_file()
    assert "tests did not run: Rscript not found" in out
    assert "apt-get install r-base-core r-cran-reticulate r-cran-testthat" in out
    assert 'install.packages(c("reticulate", "testthat"))' in out


def test_reports_are_matched_to_projects_and_judged(tmp_path):
    ok, failing, silent = tmp_path / "ok", tmp_path / "failing", tmp_path / "silent"
    lines = [
        RESULT_MARKER + f'{{"project": "{ok}", "exit_code": 0, "passed": 3, "failed": 0, "skipped": 0, "errors": 0}}',
        RESULT_MARKER + f'{{"project": "{failing}", "exit_code": 1, "passed": 2, "failed": 1, "skipped": 0, '
        '"errors": 0}',
    ]
    reports = check._reports([ok, failing, silent], lines, 1, "pytest")
    assert [r.ok for r in reports] == [True, False, False]
    assert reports[0].summary() == "3 tests passed, 0 failed"
    assert reports[1].summary() == "2 tests passed, 1 failed"
    assert not reports[2].ran and reports[2].summary().startswith("tests did not run: pytest stopped")


def test_testthat_reports_name_their_unit(tmp_path):
    """testthat counts expectations (its PASS); the summary says so, and in how many test_that()s."""
    line = RESULT_MARKER + (
        f'{{"project": "{tmp_path}", "exit_code": 0, "unit": "expectations", "tests": 25, '
        '"passed": 54, "failed": 0, "skipped": 0, "errors": 0}'
    )
    (report,) = check._reports([tmp_path], [line], 0, "testthat")
    assert report.ok and report.summary() == "54 expectations passed, 0 failed in 25 tests"


def test_a_run_with_no_passing_test_is_not_ok(tmp_path):
    report = check.TestReport(tmp_path, ran=True, passed=0, exit_code=0)
    assert not report.ok


def test_shell_completion_offers_kind_names():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "_LOSSGEN_COMPLETE": "bash_complete",
        "COMP_WORDS": "lossgen new --kind spa",
        "COMP_CWORD": "3",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from scaffold.cli import main; main()"], env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["plain,sparse_categorical_crossentropy", "plain,sparse_focal"]


@pytest.mark.parametrize(
    "line, noise",
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
        ("I0000 00:00:1795469510.816458   11643 port.cc:153] oneDNN custom operations are on.", True),
        ("E0000 00:00:1795469514.784497   11643 cuda_platform.cc:52] failed call to cuInit: INTERNAL", True),
        (
            (
                "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
                "appropriate compiler flags."
            ),
            True,
        ),
        ("42 passed in 6.74s", False),
        ("E       AssertionError: values differ", False),
        ("[ FAIL 1 | WARN 0 | SKIP 0 | PASS 54 ]", False),
    ],
)
def test_tensorflow_startup_lines_are_not_echoed(line, noise):
    assert check.is_native_startup_noise(line) is noise


@pytest.mark.e2e
def test_full_validate_prints_no_tensorflow_startup_lines():
    spec = Path(__file__).parent / "data" / "team" / "asym_mse.toml"
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from scaffold.cli import main; sys.exit(main())", "validate", str(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.endswith("1 spec(s) checked, 0 problem(s)\n")
