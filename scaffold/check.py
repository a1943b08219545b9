"""Running a generated project's own tests (pytest or testthat) and reporting the counts."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.pytest_group import RESULT_MARKER

R_INSTALL_HINT = (
    "install R, reticulate and testthat: `apt-get install r-base-core r-cran-reticulate r-cran-testthat` "
    '(Debian/Ubuntu), or in R: install.packages(c("reticulate", "testthat"))'
)
R_RUNNER = Path(__file__).resolve().parent / "run_testthat.R"
STOP_GRACE_SECONDS = 3.0  # how long the test runner gets to stop on SIGTERM before SIGKILL


@dataclass
class TestReport:
    project: Path
    ran: bool
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    exit_code: int = 0
    problem: str = ""  # why the tests did not run, and what to do about it
    output: list[str] = field(default_factory=list)
    # What the counts count: pytest's tests, or testthat's expectations (as testthat's own summary
    # does), which then run in `tests` test_that() blocks.
    unit: str = "tests"
    tests: int = 0

    @property
    def ok(self) -> bool:
        return self.ran and self.exit_code == 0 and self.failed == 0 and self.errors == 0 and self.passed > 0

    def summary(self) -> str:
        if not self.ran:
            return f"tests did not run: {self.problem}"
        text = f"{self.passed} {self.unit} passed, {self.failed} failed"
        if self.errors:
            text += f", {self.errors} errors"
        if self.skipped:
            text += f", {self.skipped} skipped"
        if self.tests:
            text += f" in {self.tests} tests"
        return text


# TensorFlow's C++ start-up lines (absl, oneDNN, the CUDA stub, CPU features): no environment variable
# silences them in TF 2.21. They stay in the report's output; they are not echoed to the user.
NATIVE_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)"
)


def is_native_startup_noise(line: str) -> bool:
    return bool(NATIVE_STARTUP_NOISE.match(line))


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the duration (Python-level errors still raise normally)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _stream(command: list[str], env: dict, echo: Callable[[str], None] | None) -> tuple[int, list[str]]:
    """Run the test runner in a process group of its own, echoing its output; whatever ends lossgen
    early (an interrupt, an error) stops the whole group, so no pytest, Rscript or reticulate is left."""

    process = subprocess.Popen(
        dying_with_lossgen(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if echo and not line.startswith(RESULT_MARKER) and not is_native_startup_noise(line):
                echo(line.rstrip("\n"))
        return process.wait(), lines
    finally:
        _stop_group(process)
        process.stdout.close()


def dying_with_lossgen(command: list[str]) -> list[str]:
    """The command run so that it is killed when lossgen dies, even by SIGKILL (util-linux's setpriv
    sets PR_SET_PDEATHSIG before exec; no Python runs between fork and exec, which threads make unsafe)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def _stop_group(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the child's process group, then SIGKILL whatever is left after `grace` seconds."""
    deadline = time.monotonic() + grace
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(process):
            break
        os.killpg(process.pid, signum)
        while _group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.05)
    process.wait()


def _group_alive(process: subprocess.Popen) -> bool:
    process.poll()  # reap the leader, or it counts as a member
    try:
        os.killpg(process.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _results(lines: list[str]) -> dict[str, dict]:
    results = {}
    for line in lines:
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            results[str(Path(data["project"]).resolve())] = data
    return results


def quiet_environment() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    return env


def backend_missing(backend: str) -> str:
    """Empty when the Keras backend's module is importable in the Python lossgen runs in (checked
    without importing it); otherwise what to install."""
    if importlib.util.find_spec(backend) is not None:
        return ""
    return (
        f"the Keras {backend} backend is not installed in the Python lossgen runs in ({sys.executable}); "
        f'install lossgen\'s extra: pip install "lossgen[{backend}]" '
        f'(from a lossgen checkout: pip install -e ".[{backend}]")'
    )


def run_python_tests(
    projects: list[Path],
    echo: Callable[[str], None] | None = None,
    pytest_args: tuple[str, ...] = (),
    backend: str = "tensorflow",
    markers: dict[Path, str] | None = None,
) -> list[TestReport]:
    """All projects in one interpreter (the one lossgen runs in), so Keras and its backend start once.
    markers: a pytest `-m` expression per project (e.g. "not integration"); absent or "": every test."""
    problem = backend_missing(backend)
    if problem:
        return [TestReport(p, ran=False, exit_code=1, problem=problem) for p in projects]
    command = [sys.executable, "-m", "scaffold.pytest_group"]
    for project in projects:
        command += ["--markers", (markers or {}).get(project, ""), str(project)]
    if pytest_args:
        command += ["--", *pytest_args]
    env = quiet_environment()
    env["KERAS_BACKEND"] = backend
    exit_code, lines = _stream(command, env, echo)
    return _reports(projects, lines, exit_code, "pytest")


def _reports(projects: list[Path], lines: list[str], exit_code: int, runner: str) -> list[TestReport]:
    results = _results(lines)
    reports = []
    for project in projects:
        data = results.get(str(Path(project).resolve()))
        if data is None:
            tail = "; ".join(lines[-3:]) or f"exit code {exit_code}"
            reports.append(
                TestReport(
                    project,
                    ran=False,
                    exit_code=exit_code or 1,
                    problem=f"{runner} stopped before reporting ({tail})",
                    output=lines,
                )
            )
        else:
            reports.append(
                TestReport(
                    project,
                    ran=True,
                    passed=data["passed"],
                    failed=data["failed"],
                    errors=data["errors"],
                    skipped=data["skipped"],
                    exit_code=data["exit_code"],
                    output=lines,
                    unit=data.get("unit", "tests"),
                    tests=data.get("tests", 0),
                )
            )
    return reports


def r_missing() -> str:
    """Empty when R can run the tests; otherwise what is missing and how to install it."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return f"Rscript not found; {R_INSTALL_HINT}"
    probe = subprocess.run(
        [
            rscript,
            "-e",
            (
                'for (p in c("reticulate", "testthat")) if (!requireNamespace(p, quietly = TRUE)) '
                'cat("missing:", p, "\\n")'
            ),
        ],
        capture_output=True,
        text=True,
    )
    missing = [line.split(":", 1)[1].strip() for line in probe.stdout.splitlines() if line.startswith("missing:")]
    if probe.returncode != 0 or missing:
        what = ", ".join(missing) or probe.stderr.strip()[-200:]
        return f"R package(s) missing: {what}; {R_INSTALL_HINT}"
    return ""


def run_r_tests(projects: list[Path], echo: Callable[[str], None] | None = None) -> list[TestReport]:
    """testthat in one Rscript process, with reticulate pointed at the interpreter lossgen runs in."""
    problem = r_missing()
    if problem:
        return [TestReport(p, ran=False, exit_code=1, problem=problem) for p in projects]
    env = quiet_environment()
    env["RETICULATE_PYTHON"] = sys.executable
    env["KERAS_BACKEND"] = "tensorflow"  # the R tests' gradient check uses TensorFlow
    exit_code, lines = _stream(["Rscript", str(R_RUNNER), *map(str, projects)], env, echo)
    return _reports(projects, lines, exit_code, "testthat")


def run_tests(
    target: str, projects: list[Path], echo: Callable[[str], None] | None = None, backend: str = "tensorflow"
) -> list[TestReport]:
    """backend: the Keras backend the Python tests run on (the R tests run Keras on TensorFlow)."""
    from scaffold.targets import TARGETS_BY_NAME

    return TARGETS_BY_NAME[target].run_tests(projects, echo, backend)
