"""Run several generated projects' pytest suites in one interpreter, so TensorFlow starts once.

    python -m scaffold.pytest_group [--markers EXPR] PROJECT_DIR [[--markers EXPR] PROJECT_DIR ...] [-- PYTEST_ARG ...]

`--markers EXPR` selects the tests of the projects that follow it by pytest's `-m EXPR` (for
example "not integration"), until the next `--markers`; an empty EXPR selects every test again.

Each project runs with its own rootdir and config; between projects, the modules it imported
from its own tree are dropped (generated projects reuse module names such as `cases`), and
sys.path is restored. One line per project reports the counts as JSON after RESULT_MARKER.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

RESULT_MARKER = "LOSSGEN-RESULT "


class _Counter:
    def __init__(self):
        self.counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "deselected": 0}

    def pytest_deselected(self, items):
        self.counts["deselected"] += len(items)

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            key = {"passed": "passed", "failed": "failed", "skipped": "skipped"}[report.outcome]
            if report.when == "setup" and report.outcome == "failed":
                key = "errors"
            self.counts[key] += 1

    def pytest_collectreport(self, report):
        if report.failed:
            self.counts["errors"] += 1


def run(project: Path, extra_args: list[str]) -> dict:
    project = project.resolve()
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    counter = _Counter()
    os.chdir(project)
    try:
        exit_code = pytest.main(
            [
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:benchmark",
                "--rootdir",
                str(project),
                *extra_args,
                str(project),
            ],
            plugins=[counter],
        )
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if file and Path(file).resolve().is_relative_to(project):
                del sys.modules[name]
    return {"project": str(project), "exit_code": int(exit_code), **counter.counts}


def main(argv: list[str]) -> int:
    extra = []
    if "--" in argv:
        index = argv.index("--")
        argv, extra = argv[:index], argv[index + 1 :]
    worst = 0
    markers = ""
    arguments = iter(argv)
    for directory in arguments:
        if directory == "--markers":
            markers = next(arguments, "")
            continue
        result = run(Path(directory), (["-m", markers] if markers else []) + extra)
        print(RESULT_MARKER + json.dumps(result), flush=True)
        worst = max(worst, 1 if result["exit_code"] else 0)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
