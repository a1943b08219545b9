"""Paths stay paths, nothing a user owns is lost, interrupts leave no mess (scaffold/workspace.py, plan.py, commit.py).

Real files, real git repositories, real subprocesses and real signals. Generation runs with
--no-test (no TensorFlow); the pause points of LOSSGEN_TEST_PAUSE (a test-only hook) let a test
act at a known moment: `rendered` (in the temporary work dir), `staged` (beside the destination),
`commit` (inside the commit, with interrupts blocked).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from scaffold import render, workspace
from scaffold.errors import UsageError
from tests.helpers import child_pids, pid_gone, run

LOSSGEN = [sys.executable, "-m", "scaffold.cli"]
PAYLOAD = "{{ cycler.__init__.__globals__.os.system('touch $PWNED') }}"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.delenv("LOSSGEN_TEST_PAUSE", raising=False)
    monkeypatch.setenv("PWNED", str(tmp_path / "pwned"))  # what PAYLOAD would create if rendered
    monkeypatch.setenv("TMPDIR", str(_tmpdir(tmp_path)))  # staging left in the temp dir is seen too
    monkeypatch.setattr("tempfile.tempdir", None)


def _tmpdir(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir(exist_ok=True)
    return path


def new(output_dir: Path | str, *extra: str) -> int:
    return run("new", "--kind", "huber", "--no-input", "--no-test", "-o", str(output_dir), *extra)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_complete(project: Path) -> dict:
    """The project holds every file its record lists, with the recorded content."""
    record = tomllib.loads((project / ".lossgen.toml").read_text(encoding="utf-8"))
    package = record["name"].replace("-", "_") + "_loss"
    assert any(rel.startswith(f"{package}/") or rel == "R/loss.R" for rel in record["files"])
    for rel, digest in record["files"].items():
        assert sha256(project / rel) == digest, rel
    return record


def staging_left(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.rglob(".lossgen-staging*")]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# Paths are never templates


@pytest.mark.parametrize(
    "dirname",
    [
        "d {{ 7*191 }}",
        "x" + PAYLOAD,
        "{% if true %}y{% endif %}",
        "c{# comment #}",
        "spaces and ünïcödé ✓",
    ],
)
def test_template_syntax_in_the_output_path_is_never_rendered(tmp_path, capsys, dirname):
    output = tmp_path / dirname
    assert new(output) == 0, capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([dirname, "tmp"])  # no `d 1337`
    assert [p.name for p in output.iterdir()] == ["huber-loss"]
    assert f"Generated huber (python) in {output / 'huber-loss'}\n" in capsys.readouterr().out
    assert_complete(output / "huber-loss")
    assert staging_left(tmp_path) == []


def test_template_syntax_in_the_working_directory_is_never_rendered(tmp_path, monkeypatch, capsys):
    cwd = tmp_path / ("x" + PAYLOAD)
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert run("new", "--kind", "huber", "--target", "r", "--no-input", "--no-test") == 0, capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([cwd.name, "tmp"])
    assert_complete(cwd / "huberloss")


def test_tmpdir_with_template_syntax_falls_back_to_a_safe_one(tmp_path):
    unsafe = tmp_path / ("t" + PAYLOAD)
    unsafe.mkdir()
    env = {**os.environ, "TMPDIR": str(unsafe)}
    done = subprocess.run(
        [*LOSSGEN, "new", "--kind", "mse", "--no-input", "--no-test", "-o", str(tmp_path / "o")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "pwned").exists() and list(unsafe.iterdir()) == []
    assert_complete(tmp_path / "o" / "mse-loss")


def test_no_safe_tmpdir_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(workspace.tempfile, "gettempdir", lambda: str(tmp_path / "{{ x }}"))
    monkeypatch.setattr(workspace.os.path, "isdir", lambda p: "{" in str(p))
    with pytest.raises(UsageError, match=r"no usable temporary directory: .*\{\{ x \}\} holds"):
        workspace.safe_temp_base()


def test_a_template_under_a_path_with_braces_is_copied_first(tmp_path, monkeypatch, capsys):
    from scaffold.paths import templates_dir

    home = tmp_path / "site {{ 7*7 }}" / "templates"
    shutil.copytree(templates_dir() / "python", home / "python")
    monkeypatch.setattr(render, "templates_dir", lambda: home)
    assert new(tmp_path / "out") == 0, capsys.readouterr().err
    assert not (tmp_path / "site 49").exists()
    assert_complete(tmp_path / "out" / "huber-loss")


# ---------------------------------------------------------------------------------------------
# Nothing lossgen did not write is ever deleted


@pytest.fixture
def git_project(tmp_path):
    """A generated project under git, with a venv-like directory and an untracked file."""
    assert new(tmp_path) == 0
    project = tmp_path / "huber-loss"
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "generated"], cwd=project, check=True)
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").write_text("#!/bin/sh\n")
    (project / "notes.txt").write_text("my notes\n")
    return project


def test_update_keeps_edits_when_lossgen_has_nothing_new(git_project, capsys):
    (git_project / "train.py").write_text("# my training script\n")
    (git_project / "tests" / "test_mine.py").write_text("def test_mine(): pass\n")
    before = snapshot(git_project)
    capsys.readouterr()
    assert run("update", str(git_project), "--no-test") == 0
    assert "up to date: nothing to change." in capsys.readouterr().out
    assert snapshot(git_project) == before


def test_update_force_overwrites_only_the_projects_files(git_project, capsys):
    (git_project / "train.py").write_text("# my training script\n")
    capsys.readouterr()
    assert run("update", str(git_project), "--force", "--no-test") == 0
    out = capsys.readouterr().out
    assert re.search(r"^  updated +train\.py$", out, re.MULTILINE), out
    assert_complete(git_project)
    assert (git_project / "notes.txt").read_text() == "my notes\n"
    assert (git_project / ".venv" / "bin" / "python").is_file()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=git_project, capture_output=True, text=True)
    assert status.returncode == 0 and status.stdout.split("\n")[:1] == ["?? notes.txt"]  # .venv/: .gitignore


def _pretend_earlier_file(project: Path, rel: str, text: str) -> None:
    """Make `rel` one of the earlier generation's files, which this generation no longer writes."""
    import tomli_w

    (project / rel).parent.mkdir(parents=True, exist_ok=True)
    (project / rel).write_text(text)
    path = project / ".lossgen.toml"
    record = tomllib.loads(path.read_text())
    record["files"][rel] = sha256(project / rel)
    path.write_text(tomli_w.dumps(record))


def test_files_no_longer_generated_are_removed_only_when_unchanged(git_project, capsys):
    _pretend_earlier_file(git_project, "old/unchanged.py", "x = 1\n")
    _pretend_earlier_file(git_project, "edited.py", "y = 1\n")
    (git_project / "edited.py").write_text("y = 2  # mine\n")
    capsys.readouterr()
    assert run("update", str(git_project), "--no-test") == 0
    out = capsys.readouterr().out
    assert re.search(r"^  removed +old/unchanged\.py$", out, re.MULTILINE)
    assert re.search(r"^  kept \(you edited it; lossgen no longer writes it\) +edited\.py$", out, re.MULTILINE)
    assert not (git_project / "old").exists() and (git_project / "edited.py").read_text() == "y = 2  # mine\n"
    record = assert_complete(git_project)
    assert "edited.py" not in record["files"]


def test_a_record_without_files_still_updates_and_says_edits_are_merged_against_a_fresh_rendering(git_project, capsys):
    path = git_project / ".lossgen.toml"
    text = path.read_text()
    path.write_text(text[: text.index("[files]")])  # as lossgen 0.1.0 wrote it
    (git_project / "train.py").write_text("# edited\n")
    capsys.readouterr()
    assert run("update", str(git_project), "--no-test") == 0
    assert "does not list the files lossgen wrote (lossgen 0.1.0)" in capsys.readouterr().out
    assert (git_project / "train.py").read_text() == "# edited\n"
    assert (git_project / "notes.txt").is_file()


def test_update_never_replaces_the_directory(git_project, capsys):
    inode = git_project.stat().st_ino
    (git_project / "train.py").write_text("# edited\n")
    shell = subprocess.Popen(["sleep", "30"], cwd=git_project)
    try:
        assert run("regenerate", str(git_project), "--force", "--no-test") == 0  # update's former name
        assert (git_project / "train.py").read_text() != "# edited\n"
        assert os.readlink(f"/proc/{shell.pid}/cwd") == str(git_project)  # not "... (deleted)"
    finally:
        shell.kill()
        shell.wait()
    assert git_project.stat().st_ino == inode


def test_update_from_inside_the_project(git_project, monkeypatch, capsys):
    monkeypatch.chdir(git_project)
    (git_project / "train.py").write_text("# edited\n")
    assert run("update", "--force", "--no-test") == 0, capsys.readouterr().err  # PROJECT defaults to .
    assert (git_project / "train.py").read_text() != "# edited\n"
    assert Path.cwd().samefile(git_project) and os.path.exists(os.getcwd())


def test_new_force_never_modifies_a_file_lossgen_did_not_write(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    (project / "huber_loss").mkdir(parents=True)
    (project / "huber_loss" / "huber.py").write_text("mine\n")
    (project / "data.csv").write_text("1,2\n")
    before = snapshot(project)
    assert new(tmp_path, "--force") == 2
    err = capsys.readouterr().err
    assert "huber_loss/huber.py exist(s) but lossgen did not write them" in err and err.count("\n") == 1, err
    assert snapshot(project) == before and not (project / ".lossgen-commit").exists()


def test_new_force_writes_its_files_beside_others_and_removes_nothing_else(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    project.mkdir()
    (project / "data.csv").write_text("1,2\n")
    assert new(tmp_path, "--force") == 0
    assert_complete(project)
    assert (project / "data.csv").read_text() == "1,2\n"


def test_a_directory_in_the_way_is_never_removed_even_with_force(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    (project / "train.py").mkdir(parents=True)
    (project / "train.py" / "keep").write_text("mine\n")
    assert new(tmp_path, "--force") == 2
    err = capsys.readouterr().err
    assert "cannot write train.py (a directory is in the way)" in err and err.count("\n") == 1
    assert sorted(snapshot(project)) == ["train.py/keep"]


def test_a_file_as_destination_is_never_replaced(tmp_path, capsys):
    (tmp_path / "huber-loss").write_text("mine\n")
    assert new(tmp_path, "--force") == 2
    assert f"{tmp_path / 'huber-loss'} exists and is not a directory" in capsys.readouterr().err
    assert (tmp_path / "huber-loss").read_text() == "mine\n"


# ---------------------------------------------------------------------------------------------
# Environment errors: exit 2, one line, naming the path


def assert_env_error(capsys, code: int, *fragments: str) -> None:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_output_dir_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert_env_error(capsys, new(tmp_path / "file" / "out"), f"{tmp_path / 'file'} is not a directory")


def test_output_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert_env_error(capsys, new(tmp_path / "file"), f"{tmp_path / 'file'}' is a file")  # Click's own check


def test_dangling_symlink_as_destination(tmp_path, capsys):
    (tmp_path / "huber-loss").symlink_to(tmp_path / "missing")
    assert_env_error(capsys, new(tmp_path), f"{tmp_path / 'huber-loss'} is a symbolic link to a missing path")
    assert_env_error(capsys, new(tmp_path, "--force"), "symbolic link to a missing path")


def test_name_component_too_long(tmp_path, capsys):
    assert_env_error(capsys, new(tmp_path / ("a" * 300)), "a" * 300, "File name too long")


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop capabilities")
def test_unwritable_output_dir(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    # without capabilities, root is just the owner: mode 555 refuses it too
    done = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-all",
            "--inh-caps=-all",
            *LOSSGEN,
            "new",
            "--kind",
            "mse",
            "--no-input",
            "--no-test",
            "-o",
            str(locked),
        ],
        capture_output=True,
        text=True,
    )
    if os.geteuid() == 0 and "Operation not permitted" in done.stderr and "setpriv" in done.stderr:
        pytest.skip("cannot drop capabilities here")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"Error: cannot create {locked / 'mse-loss'}: Permission denied\n"
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare for a private read-only mount")
def test_read_only_output_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    script = 'mount -t tmpfs -o ro tmpfs "$1" || exit 77; shift; exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            script,
            "sh",
            str(ro),
            *LOSSGEN,
            "new",
            "--kind",
            "mse",
            "--no-input",
            "--no-test",
            "-o",
            str(ro),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode == 77:
        pytest.skip("no private mounts here")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and str(ro) in done.stderr and "Read-only file system" in done.stderr


# ---------------------------------------------------------------------------------------------
# Concurrency and interrupts (subprocesses, real signals)


def start(output_dir: Path, *extra: str, pause: str = "", env: dict | None = None, **kwargs) -> subprocess.Popen:
    environment = {**os.environ, **(env or {})}
    if pause:
        environment["LOSSGEN_TEST_PAUSE"] = pause
    return subprocess.Popen(
        [*LOSSGEN, "new", "--kind", "huber", "--no-input", "--no-test", "-o", str(output_dir), *extra],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_paused(process: subprocess.Popen, point: str) -> None:
    line = process.stderr.readline()
    assert line.startswith(f"LOSSGEN_TEST_PAUSE {point} "), line + process.stderr.read()


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_two_concurrent_runs_into_one_destination_one_wins(tmp_path):
    runs = [start(tmp_path, "--delta", str(delta), pause="rendered:1") for delta in (2, 3)]
    for run_ in runs:
        wait_paused(run_, "rendered")
    results = [finish(r) for r in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser_err = next(err for code, _, err in results if code == 2)
    assert "appeared while lossgen was rendering" in loser_err and loser_err.count("\n") == 1
    record = assert_complete(tmp_path / "huber-loss")
    winner = next(out for code, out, _ in results if code == 0)
    assert (
        f"--delta {record['losses'][0]['params']['delta']}" in (tmp_path / "huber-loss" / ".lossgen.toml").read_text()
    )
    assert "Generated huber (python)" in winner
    assert staging_left(tmp_path) == []


def test_a_destination_created_while_rendering_is_left_alone(tmp_path):
    run_ = start(tmp_path, pause="rendered:0.5")
    wait_paused(run_, "rendered")
    (tmp_path / "huber-loss").mkdir()
    (tmp_path / "huber-loss" / "mine.txt").write_text("mine\n")
    code, _, err = finish(run_)
    assert code == 2 and "appeared while lossgen was rendering" in err
    assert snapshot(tmp_path / "huber-loss") == {"mine.txt": b"mine\n"}
    assert staging_left(tmp_path) == []


def test_a_second_lossgen_waits_for_the_first_to_commit(tmp_path):
    assert new(tmp_path) == 0
    first = start(tmp_path, "--force", "--delta", "5", pause="commit:8")  # long enough for a loaded machine
    wait_paused(first, "commit")
    second = start(tmp_path, "--force", "--delta", "6")
    code, out, err = finish(second)
    assert code == 0, err
    assert "Waiting for another lossgen working on" in out
    assert finish(first)[0] == 0
    assert assert_complete(tmp_path / "huber-loss")["losses"][0]["params"]["delta"] == 6.0


def test_a_lossgen_that_waits_too_long_gives_up_in_one_line(tmp_path):
    assert new(tmp_path) == 0
    first = start(tmp_path, "--force", "--delta", "5", pause="commit:5")
    wait_paused(first, "commit")
    second = start(tmp_path, "--force", "--delta", "6", env={"LOSSGEN_LOCK_WAIT": "0.5"})
    code, _, err = finish(second)
    assert code == 2 and "another lossgen is working on" in err and err.count("\n") == 1
    assert finish(first)[0] == 0
    assert assert_complete(tmp_path / "huber-loss")["losses"][0]["params"]["delta"] == 5.0


@pytest.mark.parametrize(
    "point,signum", [("rendered", signal.SIGTERM), ("staged", signal.SIGTERM), ("staged", signal.SIGINT)]
)
def test_an_interrupt_before_the_commit_leaves_no_trace(tmp_path, point, signum):
    run_ = start(tmp_path / "out", pause=point)
    wait_paused(run_, point)
    run_.send_signal(signum)
    code, _out, err = finish(run_)
    assert code == 128 + signum and err == "Interrupted\n"
    assert not (tmp_path / "out").exists()  # not even the output directory it made
    assert staging_left(tmp_path) == []


def test_an_interrupt_during_a_forced_rewrite_keeps_the_old_tree(tmp_path):
    assert new(tmp_path, "--delta", "2") == 0
    before = snapshot(tmp_path / "huber-loss")
    run_ = start(tmp_path, "--force", "--delta", "3", pause="staged")
    wait_paused(run_, "staged")
    run_.send_signal(signal.SIGTERM)
    assert finish(run_)[:1] == (143,)
    assert snapshot(tmp_path / "huber-loss") == before
    assert staging_left(tmp_path) == []


def test_an_interrupt_during_the_commit_waits_for_it(tmp_path):
    assert new(tmp_path, "--delta", "2") == 0
    run_ = start(tmp_path, "--force", "--delta", "3", pause="commit:1")
    wait_paused(run_, "commit")
    run_.send_signal(signal.SIGTERM)  # blocked until the commit is done
    code, _, err = finish(run_)
    assert code == 143 and err == "Interrupted\n"
    assert assert_complete(tmp_path / "huber-loss")["losses"][0]["params"]["delta"] == 3.0
    assert staging_left(tmp_path) == []


def test_scratch_left_by_sigkill_is_removed_by_the_next_run_and_nothing_else(tmp_path):
    run_ = start(tmp_path, pause="rendered")
    wait_paused(run_, "rendered")
    run_.kill()
    run_.communicate()
    tmp = _tmpdir(tmp_path)
    assert len(staging_left(tmp)) == 1  # the render's scratch directory in TMPDIR
    mine = tmp / ".lossgen-staging-mine"  # no marker: not lossgen's
    mine.mkdir()
    alive = tmp / ".lossgen-staging-alive"
    alive.mkdir()
    (alive / workspace.MARKER).write_text(f"{os.getpid()} {os.uname().nodename}\n")
    assert new(tmp_path) == 0
    assert sorted(staging_left(tmp_path)) == [alive, mine]


def test_a_commit_killed_before_its_decision_is_undone_by_the_next_run(tmp_path):
    run_ = start(tmp_path, pause="staged")
    wait_paused(run_, "staged")
    run_.kill()
    run_.communicate()
    project = tmp_path / "huber-loss"
    assert sorted(p.name for p in project.iterdir()) == [".lossgen-commit"]  # staged inside the project only
    assert new(tmp_path) == 0  # the next run undoes it first: the directory counts as empty
    assert_complete(project)
    assert not (project / ".lossgen-commit").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupt_stops_the_test_runner_and_its_children(tmp_path, signum):
    pids = tmp_path / "pids"
    driver = textwrap.dedent(f"""
        import sys
        from scaffold import check
        from scaffold.cli import main

        def fake_tests(projects, echo=None, pytest_args=(), **_options):
            check._stream(["sh", "-c", "sleep 300 & echo $$ $! > {pids}.tmp; mv {pids}.tmp {pids}; wait"],
                          check.quiet_environment(), echo)
            raise AssertionError("not reached")

        check.run_python_tests = fake_tests
        sys.exit(main(["new", "--kind", "mse", "--no-input", "-o", {str(tmp_path)!r}]))
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", driver], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not pids.exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    shell, sleeper = map(int, pids.read_text().split())
    process.send_signal(signum)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum and err.count("\n") == 1, err
    assert err.startswith(
        f"Interrupted: {tmp_path / 'mse-loss'} was written and is complete, but its tests did not finish"
    ), err
    assert pid_gone(shell) and pid_gone(sleeper)
    assert_complete(tmp_path / "mse-loss")  # the project was generated before the tests started


def test_new_into_an_existing_empty_directory_keeps_it(tmp_path, capsys):
    project = tmp_path / "huber-loss"
    project.mkdir()
    inode = project.stat().st_ino
    assert new(tmp_path) == 0, capsys.readouterr().err
    assert project.stat().st_ino == inode
    assert_complete(project)


@pytest.mark.e2e
def test_an_interrupt_during_a_real_test_run_leaves_no_pytest_behind(tmp_path):
    process = subprocess.Popen(
        [*LOSSGEN, "new", "--kind", "mse", "--no-input", "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # the runner starts after this line
        if line.startswith("Running the generated python tests"):
            break
    deadline = time.monotonic() + 30
    while not (runners := child_pids(process.pid)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1)  # let pytest import TensorFlow
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "Interrupted: " in err and "was written and is complete" in err, err
    assert all(pid_gone(pid) for pid in runners)
    assert_complete(tmp_path / "mse-loss")
