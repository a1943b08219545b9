"""Helpers shared by lossgen's test modules (fixtures live in conftest.py; no test module imports another)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from click.testing import CliRunner

from scaffold import cli as cli_module

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TEAM = TESTS / "data" / "team"  # the test team catalog: asym_mse (a formula) and topk_mse (hand-written [code])
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]

# The exhaustive matrix for a release check (README, "Development"): every built-in kind as a one-loss
# project with its whole suite on every backend, every library's and team project's whole suite.
# Without it, the end-to-end tests prove the same things once: see tests/test_e2e_python.py.
FULL_MATRIX = os.environ.get("LOSSGEN_FULL_MATRIX", "") not in ("", "0")
# What the quick end-to-end runs pass to the generated projects' pytest: their formula tests only.
FORMULA_ONLY = "not integration"


def run(*args: str) -> int:
    """`lossgen ARGS` in this process; its exit code."""
    return cli_module.main(list(args))


def probe(script: str, *args: str, backend: str | None = None, path: tuple[Path, ...] = (), timeout: float = 600):
    """Run tests/SCRIPT in a fresh interpreter (lossgen and `path` importable, KERAS_BACKEND set if
    given) and parse the JSON it prints on its last line: Keras starts once per probe."""
    import json

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (ROOT, *path))), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    command = [sys.executable, str(TESTS / script), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def generate(output_dir: Path, *args: str) -> None:
    """`lossgen new ARGS --no-input --no-test -o OUTPUT_DIR` through Click's runner; must succeed."""
    result = CliRunner().invoke(cli_module.cli, ["new", *args, "--no-input", "--no-test", "-o", str(output_dir)])
    assert result.exit_code == 0, result.output


def git(project: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=project, check=True, capture_output=True, text=True).stdout


def commit_all(project: Path) -> None:
    """`git init`, then everything committed, as a user keeps a generated project."""
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root (relative POSIX path -> bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_entry_point(site: Path, catalog: Path) -> None:
    """An installed distribution, laid out as pip leaves it, exposing `lossgen.catalogs`."""
    name = f"teamlosses_{uuid.uuid4().hex[:8]}"  # unique: an imported module outlives its sys.path entry
    package = site / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"CATALOG = {str(catalog)!r}\n")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[lossgen.catalogs]\nteam = {name}:CATALOG\n")


def child_pids(pid: int) -> list[int]:
    """The children of process `pid`, from every one of its threads (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def pid_gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its reaper runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def assert_usage_error(code: int, err: str, fragment: str) -> None:
    """Exit code 2 and one line on stderr naming what was wrong; never a traceback or internal error."""
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err and fragment in err, err


R_CHECK_ENV = {
    "RETICULATE_PYTHON": sys.executable,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # offline: no CRAN incoming checks, no time server for file timestamps
    "_R_CHECK_CRAN_INCOMING_": "false",
    "_R_CHECK_CRAN_INCOMING_REMOTE_": "false",
    "_R_CHECK_FUTURE_FILE_TIMESTAMPS_": "false",
}


def r_cmd_check(package: Path, where: Path) -> str:
    """R CMD build, then R CMD check --no-manual of the tarball (tests and examples included), as the
    package's README says, in `where`; the check's log, which must end with Status: OK."""
    env = {**os.environ, **R_CHECK_ENV}
    build = subprocess.run(["R", "CMD", "build", str(package)], cwd=where, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(where.glob("*.tar.gz"))
    result = subprocess.run(
        ["R", "CMD", "check", "--no-manual", tarball.name], cwd=where, env=env, capture_output=True, text=True
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    status = next((line for line in log.splitlines() if line.startswith("Status:")), "")
    assert status == "Status: OK", log[-3000:]
    return log
