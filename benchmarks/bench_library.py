"""A package of every built-in kind against one project per kind: generation time, and test time.

    python benchmarks/bench_library.py [--targets python,r] [--kinds huber,mse,...] [--skip-tests]

For each target it prints:

- generation alone: the library of all kinds rendered in-process (cookiecutter, black, plots,
  record; no test run), and `lossgen new --all --no-test` as a user runs it (Python start-up included);
- the library's whole test suite in one process, against the per-kind projects' suites run in one
  process too (scaffold.pytest_group / run_testthat.R: TensorFlow starts once per language), and
  their ratio (goal: at most 1.5).

A benchmark, not a test: the figures depend on the machine (the issue's closing note quotes them).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scaffold import api, check
from scaffold.about import About
from scaffold.catalog import load_catalog
from scaffold.library import Member


def generate(members_: list[Member], target: str, destination: Path, name: str) -> Path:
    """The package written to `destination` as `lossgen new --no-test` writes it."""
    api.new(members_, [target], {target: destination}, name, About())
    return destination


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def members(kinds: list[str]) -> list[Member]:
    catalog = load_catalog(())
    return [Member(catalog.get(kind), catalog.get(kind).bind({}), kind) for kind in kinds]


def suite(target: str, projects: list[Path]) -> tuple[float, str]:
    seconds, reports = timed(check.run_tests, target, projects)
    passed = sum(r.passed for r in reports)
    failed = sum(r.failed + r.errors for r in reports) + sum(not r.ran for r in reports)
    return seconds, f"{passed} passed, {failed} failed or not run"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="python,r")
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: every built-in kind)")
    parser.add_argument("--skip-tests", action="store_true", help="generation figures only")
    args = parser.parse_args()
    kinds = args.kinds.split(",") if args.kinds else load_catalog(()).names()
    print(f"{len(kinds)} kinds")
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            library = members(kinds)
            seconds, _ = timed(generate, library, target, tmp / "library", "library")
            print(f"{target}: generation of the library, in-process: {seconds:.2f} s")
            command = [
                sys.executable,
                "-m",
                "scaffold.cli",
                "new",
                "--all",
                "--target",
                target,
                "--no-test",
                "--no-input",
                "--name",
                "cli",
                "-o",
                str(tmp),
            ]
            if args.kinds:
                command = [c for c in command if c != "--all"] + [a for k in kinds for a in ("--kind", k)]
            seconds, _ = timed(subprocess.run, command, check=True, stdout=subprocess.DEVNULL)
            print(f"{target}: `lossgen new --all --no-test` (wall, Python start-up included): {seconds:.2f} s")
            if args.skip_tests:
                continue
            singles = []
            for member in library:
                singles.append(generate([member], target, tmp / "single" / member.name, member.name))
            library_seconds, library_counts = suite(target, [tmp / "library"])
            print(f"{target}: the library's suite, one process: {library_seconds:.1f} s ({library_counts})")
            single_seconds, single_counts = suite(target, singles)
            print(
                f"{target}: the {len(singles)} per-kind suites, one process: {single_seconds:.1f} s ({single_counts})"
            )
            print(f"{target}: ratio library / per-kind: {library_seconds / single_seconds:.2f} (goal: <= 1.5)")


if __name__ == "__main__":
    main()
