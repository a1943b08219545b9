"""Issue 17's findings, each reproduced as it was reported and kept as a regression test.

A committed record, a symbolic link or a second lossgen is an attacker or an accident; lossgen's
lifecycle (new --force, update, add, remove, check) must neither write outside the project nor lose
what is not its own, and must never call a half-applied tree up to date. Projects are generated once
per module (--no-test, no TensorFlow) and copied per test.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from scaffold import api
from scaffold.confine import COMMIT_DIR
from tests.helpers import TEAM, child_pids, commit_all, git, pid_gone, run

LOSSGEN = [sys.executable, "-m", "scaffold.cli"]


def committed(project: Path) -> Path:
    commit_all(project)
    return project


def snapshot(root: Path) -> dict[str, bytes]:
    """The work tree's files (not .git's: git itself may touch its index; not through links)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(root).parts
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_of(project: Path) -> dict:
    return tomllib.loads((project / ".lossgen.toml").read_text())


def rewrite_record(project: Path, change) -> None:
    data = record_of(project)
    change(data)
    (project / ".lossgen.toml").write_text(tomli_w.dumps(data))


def assert_complete(project: Path) -> None:
    """Every file the record lists holds the recorded content; no commit is pending."""
    for rel, digest in record_of(project)["files"].items():
        assert sha256((project / rel).read_bytes()) == digest, rel
    assert not (project / COMMIT_DIR).exists()


def one_line_error(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "internal error" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.delenv("LOSSGEN_TEST_PAUSE", raising=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """Projects generated once: huber alone, a 2-loss library, a team library, a --target both pair."""
    root = tmp_path_factory.mktemp("generated")
    shutil.copytree(TEAM, root / "team")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert run("new", "--kind", "huber", "--no-input", "--no-test") == 0
        assert run("new", "--kind", "huber", "--kind", "mse", "--name", "teamlosses", "--no-input", "--no-test") == 0
        assert (
            run(
                "new",
                "--catalog",
                "team",
                "--kind",
                "asym_mse",
                "--kind",
                "huber",
                "--name",
                "cl",
                "--no-input",
                "--no-test",
            )
            == 0
        )
        os.mkdir("pair")
        assert (
            run(
                "new",
                "--catalog",
                "team",
                "--kind",
                "asym_mse",
                "--target",
                "both",
                "--no-input",
                "--no-test",
                "-o",
                "pair",
            )
            == 0
        )
    finally:
        os.chdir(cwd)
    return {
        "huber": root / "huber-loss",
        "library": root / "teamlosses",
        "team_library": root / "cl-loss",
        "pair": root / "pair" / "asym-mse-loss",
        "team": root / "team",
    }


@pytest.fixture
def copy(generated, tmp_path, monkeypatch):
    """A fresh, committed copy of a generated project (with the team catalog beside it)."""
    shutil.copytree(generated["team"], tmp_path / "team")
    monkeypatch.chdir(tmp_path)

    def make(which: str) -> Path:
        target = tmp_path / generated[which].relative_to(generated["team"].parent)  # catalogs stay where they were
        shutil.copytree(generated[which], target, symlinks=True)
        return committed(target)

    return make


# ---------------------------------------------------------------------------------------------
# Safety: a committed record is input like any other


def test_a_record_listing_git_head_is_refused_and_the_repository_stays(copy, capsys):
    project = copy("huber")
    head = (project / ".git" / "HEAD").read_bytes()
    rewrite_record(project, lambda r: r["files"].__setitem__(".git/HEAD", sha256(head)))
    for args in (
        ["update", str(project), "--no-test"],
        ["add", str(project), "--kind", "mse", "--no-test"],
        ["remove", str(project), "--loss", "huber", "--no-test"],
        ["new", "--kind", "huber", "--force", "--no-input", "--no-test", "-o", str(project.parent)],
    ):
        one_line_error(capsys, run(*args), ".git/HEAD", "inside .git, which lossgen never touches")
        assert (project / ".git" / "HEAD").read_bytes() == head


def test_a_kind_option_on_an_unreadable_record_names_the_record_problem(copy, capsys):
    """`update --delta 3` reads the record to offer --delta: a record it cannot read is the error,
    not an unknown option."""
    project = copy("huber")
    head = (project / ".git" / "HEAD").read_bytes()
    rewrite_record(project, lambda r: r["files"].__setitem__(".git/HEAD", sha256(head)))
    one_line_error(capsys, run("update", str(project), "--delta", "3", "--no-test"), ".git/HEAD", "inside .git")
    assert (project / ".git" / "HEAD").read_bytes() == head


def test_a_recorded_file_behind_a_directory_link_outside_is_never_deleted(copy, tmp_path, capsys):
    project = copy("huber")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("precious\n")
    (project / "outlink").symlink_to(elsewhere)
    rewrite_record(project, lambda r: r["files"].__setitem__("outlink/precious.txt", sha256(b"precious\n")))
    capsys.readouterr()
    assert run("update", str(project), "--no-test") == 0
    assert (elsewhere / "precious.txt").read_text() == "precious\n"
    assert "outlink/precious.txt (outlink is a symbolic link" in capsys.readouterr().out


@pytest.mark.parametrize("link, to", [("huber_loss", "elsewhere"), ("docs", ".git/info")])
def test_a_committed_directory_link_is_never_written_through(copy, tmp_path, capsys, link, to):
    project = copy("huber")
    target = tmp_path / "elsewhere" if to == "elsewhere" else project / to
    if to == "elsewhere":
        shutil.copytree(project / link, target)
    shutil.rmtree(project / link)
    (project / link).symlink_to(target)
    before = snapshot(target)
    one_line_error(capsys, run("update", str(project), "--delta", "3", "--no-test"), f"{link} is a symbolic link")
    assert snapshot(target) == before
    assert record_of(project)["losses"][0]["params"]["delta"] == 1.0


def test_a_docs_directory_shared_through_a_link_is_not_overwritten(copy, tmp_path, capsys):
    project = copy("huber")
    shared = tmp_path / "shared"
    shutil.move(project / "docs", shared)
    (project / "docs").symlink_to(shared)
    picture = (shared / "huber.png").read_bytes()
    one_line_error(
        capsys, run("update", str(project), "--delta", "3", "--no-test"), "docs/huber.png (docs is a symbolic link"
    )
    assert (shared / "huber.png").read_bytes() == picture


def test_add_never_writes_into_a_file_the_user_wrote_that_the_record_does_not_list(copy, capsys):
    project = copy("library")
    mine = project / "teamlosses" / "mae.py"
    mine.write_text("def mine():\n    return 1\n")
    one_line_error(
        capsys,
        run("add", str(project), "--kind", "mae", "--no-test"),
        "teamlosses/mae.py exist(s) but lossgen did not write them",
    )
    assert mine.read_text() == "def mine():\n    return 1\n"
    assert [loss["name"] for loss in record_of(project)["losses"]] == ["huber", "mse"]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("link", "a symbolic link"),
        ("record_version = 99\ntarget = 'python'\nname = 'x'\n", "written by a newer lossgen (record_version 99"),
        ("x = " + "[" * 900 + "]" * 900 + "\n", "nested too deeply"),
        ("x = " + "[" * 8 + "]" * 8 + "\ntarget = 'python'\nname = 'x'\n", "nested too deeply"),
    ],
)
def test_a_hostile_record_is_one_line_exit_2(copy, capsys, content, fragment):
    project = copy("huber")
    record = project / ".lossgen.toml"
    record.unlink()
    if content == "link":
        record.symlink_to("/dev/zero")
    else:
        record.write_text(content)
    for command in ("update", "check"):
        one_line_error(capsys, run(command, str(project), *(["--no-test"] if command == "update" else [])), fragment)


@pytest.mark.parametrize("recursion_limit", [None, 100_000])  # TensorFlow and JAX raise the limit when imported
def test_nesting_too_deep_is_one_line_exit_2_whatever_the_recursion_limit(copy, capsys, recursion_limit):
    original = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit or original)
    deep = "[" * 900 + "]" * 900
    try:
        project = copy("huber")
        (project.parent / "pyproject.toml").write_text(f"[tool.lossgen]\nx = {deep}\n")
        rewrite_record(project, lambda r: r["losses"][0].__setitem__("spec_sha256", "0" * 64))  # force a lookup
        one_line_error(capsys, run("update", str(project), "--no-test"), "nested too deeply")
        (project.parent / "pyproject.toml").unlink()
        with open(project / ".lossgen.toml", "a") as record:
            record.write(f"deep = {deep}\n")
        one_line_error(capsys, run("check", str(project)), "nested too deeply")
    finally:
        sys.setrecursionlimit(original)


def test_control_characters_from_a_record_never_reach_the_terminal(copy, capsys):
    project = copy("huber")
    rewrite_record(project, lambda r: r["losses"][0].update(kind="hu\x1b]0;pwned\x07ber", spec_origin="\x1b[2J"))
    code = run("update", str(project), "--no-test")
    err = capsys.readouterr().err
    assert code == 2 and "\x1b" not in err and "\x07" not in err and "\\x1b" in err, err


# ---------------------------------------------------------------------------------------------
# Consistency: one lossgen at a time, all or nothing


def start(*args: str, pause: str = "", env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, **(env or {})}
    if pause:
        environment["LOSSGEN_TEST_PAUSE"] = pause
    return subprocess.Popen(
        [*LOSSGEN, *args], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_paused(process: subprocess.Popen, point: str) -> None:
    while True:
        line = process.stderr.readline()
        assert line, process.stderr.read()
        if line.startswith(f"LOSSGEN_TEST_PAUSE {point} "):
            return


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def killed_at(point: str, *args: str) -> None:
    """Run lossgen until it pauses at `point`, then SIGKILL it (nothing of it can clean up)."""
    process = start(*args, pause=f"{point}:30")
    wait_paused(process, point)
    process.kill()
    process.communicate()


def test_two_updates_in_a_row_run_one_after_the_other(copy, capsys):
    project = copy("huber")
    first = start("update", str(project), "--delta", "3", "--no-test", pause="commit:2")
    wait_paused(first, "commit")
    second = start("update", str(project), "--delta", "4", "--no-test")
    code, out, err = finish(second)
    assert code == 0 and "conflict" not in out, out + err
    assert finish(first)[0] == 0
    assert record_of(project)["losses"][0]["params"]["delta"] == 4.0
    assert "delta=4.0" in (project / "huber_loss" / "huber.py").read_text()
    assert_complete(project)
    assert run("check", str(project)) == 0


def test_two_concurrent_adds_both_land_in_the_record(copy):
    project = copy("library")
    runs = [start("add", str(project), "--kind", kind, "--no-test") for kind in ("mae", "quantile")]
    assert [finish(r)[0] for r in runs] == [0, 0]
    assert sorted(loss["name"] for loss in record_of(project)["losses"]) == ["huber", "mae", "mse", "quantile"]
    assert_complete(project)


def test_a_file_saved_while_lossgen_plans_stops_the_commit(copy):
    project = copy("huber")
    process = start("update", str(project), "--delta", "3", "--no-test", pause="planned:3")
    wait_paused(process, "planned")
    train = project / "train.py"
    train.write_text(train.read_text() + "# saved by the user meanwhile\n")
    before = snapshot(project)
    code, _, err = finish(process)
    assert code == 2 and "changed while updating" in err and "run again" in err, err
    assert snapshot(project) == before


def test_sigkill_inside_the_commit_is_reported_by_check_and_finished_by_the_next_command(copy, capsys):
    project = copy("huber")
    killed_at("commit", "update", str(project), "--delta", "3", "--no-test")
    capsys.readouterr()
    assert run("check", str(project)) == 1
    assert "an interrupted lossgen commit is unfinished" in capsys.readouterr().out
    assert run("update", str(project), "--no-test") == 0
    assert "finished an interrupted commit" in capsys.readouterr().out
    assert_complete(project)
    assert record_of(project)["losses"][0]["params"]["delta"] == 3.0
    assert run("check", str(project)) == 0


def test_a_pair_whose_r_half_cannot_be_written_writes_neither(copy, capsys):
    pair = copy("pair")
    r_code = pair / "r" / "R" / "loss.R"
    r_code.unlink()
    r_code.mkdir()  # a directory in the way of a file lossgen writes
    before = snapshot(pair)
    one_line_error(
        capsys, run("update", str(pair), "--alpha", "3", "--no-test"), "R/loss.R (a directory is in the way)"
    )
    assert snapshot(pair) == before


def test_a_pair_is_committed_together_and_a_killed_commit_finishes_both_halves(copy, capsys):
    pair = copy("pair")
    killed_at("commit", "update", str(pair), "--alpha", "3", "--no-test")
    assert (pair / "r" / COMMIT_DIR).is_dir()  # staged, decided by python's half, not yet applied
    assert run("update", str(pair / "r"), "--no-test") == 0  # the R half alone: its decision is in python/
    assert run("update", str(pair), "--no-test") == 0
    for half in ("python", "r"):
        assert_complete(pair / half)
        assert record_of(pair / half)["losses"][0]["params"]["alpha"] == 3.0


def test_pool_workers_die_with_a_killed_lossgen(tmp_path):
    process = start(
        "new", "--all", "--task", "binary", "--no-input", "--no-test", "-o", str(tmp_path), pause="rendered:30"
    )
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and process.poll() is None:
        workers = child_pids(process.pid)
        if workers:
            break
        time.sleep(0.05)
    assert workers, "the package is big enough for a pool: workers expected"
    process.kill()
    process.wait()  # not communicate(): a surviving worker would hold the pipes open
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(pid_gone(pid) for pid in workers):
        time.sleep(0.1)
    assert all(pid_gone(pid) for pid in workers)


def test_no_pool_is_forked_once_a_deep_learning_runtime_is_loaded(monkeypatch):
    """lossgen called as a library after Keras ran: a forked TensorFlow aborts in the child when the
    garbage collector frees one of its functions, so the work stays in this process."""
    from scaffold import render

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    with render._workers(render.PARALLEL_FROM) as pool:
        assert pool is not None
    for runtime in ("tensorflow", "torch", "jax"):
        monkeypatch.setitem(sys.modules, runtime, object())
        with render._workers(render.PARALLEL_FROM) as pool:
            assert pool is None, runtime
        monkeypatch.delitem(sys.modules, runtime)


# ---------------------------------------------------------------------------------------------
# Correctness


def test_a_team_library_merges_its_readme_on_every_add(copy, capsys):
    project = copy("team_library")
    with open(project / "README.md", "a") as readme:
        readme.write("\nOur notes.\n")
    capsys.readouterr()
    assert run("add", str(project), "--kind", "mse", "--no-test") == 0
    out = capsys.readouterr().out
    assert "conflict" not in out and "merged   README.md" in out, out
    assert (project / "README.md").read_text().endswith("\nOur notes.\n")
    assert "--catalog ../team" in (project / "README.md").read_text()


def test_the_rendered_tree_holds_no_bytecode(generated):
    for project in (generated["huber"], generated["library"]):
        files = record_of(project)["files"]
        assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
        assert "docs/huber.png" in files


def test_bytecode_beside_the_templates_never_reaches_a_project(tmp_path, monkeypatch):
    """A template tree a test run (or an import) left __pycache__ in still renders the same files."""
    from scaffold import paths, render
    from scaffold.about import About
    from scaffold.catalog import load_catalog
    from scaffold.library import Member

    templates = tmp_path / "templates"
    shutil.copytree(paths.templates_dir(), templates)
    for tests in templates.glob("python/*/*/tests"):
        (tests / "__pycache__").mkdir()
        (tests / "__pycache__" / "conftest.cpython-311.pyc").write_bytes(b"\xa7\r\r\n")
    monkeypatch.setattr(paths, "templates_dir", lambda: templates)
    monkeypatch.setattr(render, "templates_dir", lambda: templates)
    spec = load_catalog(()).get("mse")
    tree = render.render_tree([Member(spec, spec.bind({}), "mse")], "python", "mse", About(year=2026), False)
    assert "tests/conftest.py" in tree.files
    assert not [path for path in tree.files if "__pycache__" in path or path.endswith(".pyc")]


def test_a_dry_run_diff_names_a_binary_file_instead_of_printing_it(copy, capsys):
    project = copy("huber")
    capsys.readouterr()
    assert run("update", str(project), "--delta", "3", "--dry-run", "--diff") == 0
    out = capsys.readouterr().out
    assert "Binary files a/docs/huber.png and b/docs/huber.png differ" in out and "PNG" not in out
    assert "-    delta=1.0," in out or "delta=3.0" in out


def test_parameters_at_the_root_of_a_pair_and_a_wrong_loss_name(copy, capsys):
    pair = copy("pair")
    capsys.readouterr()
    assert run("update", str(pair), "--loss", "asym_mse", "--alpha", "3", "--no-test") == 0
    assert record_of(pair / "r")["losses"][0]["params"]["alpha"] == 3.0
    one_line_error(
        capsys,
        run("update", str(pair), "--loss", "nope", "--alpha", "3", "--no-test"),
        "no loss named 'nope'",
        "asym_mse",
    )


def test_update_catalog_without_project_means_the_current_directory(copy, monkeypatch, capsys):
    project = copy("team_library")
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert run("update", "--catalog", "../team", "--loss", "asym_mse", "--alpha", "5", "--no-test") == 0
    assert record_of(project)["losses"][0]["params"]["alpha"] == 5.0


def test_a_spec_whose_examples_fail_is_refused_before_anything_is_written(copy, tmp_path, capsys):
    project = copy("team_library")
    spec = tmp_path / "team" / "asym_mse.toml"
    spec.write_text(spec.read_text().replace("loss = [3.0]", "loss = [3.5]"))
    before = snapshot(project)
    one_line_error(capsys, run("update", str(project), "--no-test"), "asym_mse.toml", "nothing was written")
    assert snapshot(project) == before
    one_line_error(
        capsys,
        run(
            "new",
            "--catalog",
            str(tmp_path / "team"),
            "--kind",
            "asym_mse",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path / "fresh"),
        ),
        "example does not hold",
    )
    assert not (tmp_path / "fresh").exists()


def test_conflicts_are_unmerged_in_git_and_check_fails_until_resolved(copy, capsys):
    project = copy("huber")
    module = project / "huber_loss" / "huber.py"
    module.write_text(module.read_text().replace("delta=1.0", "delta=1.5"))
    capsys.readouterr()
    assert run("update", str(project), "--delta", "3", "--no-test") == 1
    assert "git lists them as unmerged" in capsys.readouterr().out
    unmerged = git(project, "ls-files", "--unmerged", "huber_loss/huber.py")
    assert sorted({line.split()[2] for line in unmerged.splitlines()}) == ["1", "2", "3"]
    assert "UU huber_loss/huber.py" in git(project, "status", "--porcelain")
    assert run("check", str(project)) == 1
    assert "conflict markers remain in huber_loss/huber.py" in capsys.readouterr().out
    module.write_text(
        re.sub(r"<<<<<<< .*?\n.*?=======\n(.*?)>>>>>>> .*?\n", r"\1", module.read_text(), flags=re.DOTALL)
    )
    assert run("check", str(project)) == 0


# ---------------------------------------------------------------------------------------------
# Mount points: staging inside the project, no rename across filesystems


def _unshared(*command: str, mounts: list[Path]) -> subprocess.CompletedProcess:
    """Run `command` in a private mount namespace with an empty tmpfs on each of `mounts`."""
    script = "; ".join(f'mount -t tmpfs tmpfs "{m}" || exit 77' for m in mounts) + '; exec "$@"'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *command], capture_output=True, text=True)


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare for private mounts")
def test_a_project_that_is_a_mount_point_updates_and_nothing_is_written_beside_it(copy, tmp_path):
    project = copy("huber")
    saved = tmp_path / "saved"
    shutil.copytree(project, saved, symlinks=True)
    script = (
        f'cp -a "{saved}/." "{project}/" && {" ".join(LOSSGEN)} update "{project}" --delta 3 --no-test && '
        f'{" ".join(LOSSGEN)} check "{project}" && ls -a "{project.parent}"'
    )
    done = _unshared("sh", "-c", script, mounts=[project])
    if done.returncode == 77:
        pytest.skip("no private mounts here")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout and ".lossgen-staging" not in done.stdout


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare for private mounts")
def test_tests_on_another_filesystem_update_without_a_cross_device_rename(copy, tmp_path):
    project = copy("huber")
    saved = tmp_path / "saved-tests"
    shutil.copytree(project / "tests", saved)
    script = (
        f'cp -a "{saved}/." "{project}/tests/" && {" ".join(LOSSGEN)} update "{project}" --delta 3 --no-test'
        f' && {" ".join(LOSSGEN)} check "{project}"'
    )
    done = _unshared("sh", "-c", script, mounts=[project / "tests"])
    if done.returncode == 77:
        pytest.skip("no private mounts here")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare for private mounts")
def test_new_into_an_empty_mount_point(tmp_path):
    mount = tmp_path / "huber-loss"
    mount.mkdir()
    done = _unshared(
        *LOSSGEN, "new", "--kind", "huber", "--no-input", "--no-test", "--force", "-o", str(tmp_path), mounts=[mount]
    )
    if done.returncode == 77:
        pytest.skip("no private mounts here")
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# The API, without a CliRunner


def test_the_api_returns_results_and_check_answers_from_the_digest(copy, monkeypatch):
    project = copy("library")
    [result] = api.check(project)
    assert result.up_to_date and result.run is None  # answered from the digest: nothing rendered
    from scaffold import render

    monkeypatch.setattr(render, "render_tree", lambda *a, **k: pytest.fail("check rendered"))
    assert api.check(project)[0].up_to_date
    monkeypatch.undo()
    outcome = api.update(project, overrides={"delta": 2.5}, loss="huber")
    assert outcome.written and not outcome.conflicts
    assert [c.path for c in outcome.runs[0].changes if c.path.startswith("teamlosses/")] == ["teamlosses/huber.py"]
    assert record_of(project)["losses"][0]["params"]["delta"] == 2.5
    assert api.check(project)[0].up_to_date


def test_check_answers_a_composite_from_the_digest_too(tmp_path, monkeypatch):
    """A composite's recorded digest covers its parts' files; check computes the same without
    composing or rendering anything."""
    assert run("new", "--kind", "bce_dice", "--no-input", "--no-test", "-o", str(tmp_path)) == 0
    from scaffold import render

    monkeypatch.setattr(render, "render_tree", lambda *a, **k: pytest.fail("check rendered"))
    assert api.check(tmp_path / "bce-dice-loss")[0].up_to_date


def test_an_update_of_one_loss_renders_what_it_touches_and_equals_a_full_rendering(copy, tmp_path):
    project = copy("library")
    assert api.update(project, overrides={"delta": 2.5}, loss="huber").written
    assert (
        run(
            "new",
            "--kind",
            "huber",
            "--delta",
            "2.5",
            "--kind",
            "mse",
            "--name",
            "teamlosses",
            "--no-input",
            "--no-test",
            "-o",
            str(tmp_path / "full"),
        )
        == 0
    )
    full = snapshot(tmp_path / "full" / "teamlosses")
    mine = snapshot(project)
    assert {k for k in full if k != ".lossgen.toml"} == {k for k in mine if k != ".lossgen.toml"}
    for rel in full:
        if rel != ".lossgen.toml":
            assert mine[rel] == full[rel], rel


def test_the_test_runner_dies_with_a_killed_lossgen(tmp_path):
    process = subprocess.Popen(
        [*LOSSGEN, "new", "--kind", "huber", "--no-input", "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("Running the generated python tests"):
            break
    deadline = time.monotonic() + 30
    runners: list[int] = []
    while time.monotonic() < deadline and not runners:
        runners = child_pids(process.pid)
        time.sleep(0.02)
    assert runners, "the generated tests run in a child process"
    process.kill()
    process.wait()  # the pipe stays open (a runner must not die of a broken pipe, but of lossgen's death)
    deadline = time.monotonic() + 1.5  # PR_SET_PDEATHSIG: at once (without it, until its next write fails)
    while time.monotonic() < deadline and not all(pid_gone(pid) for pid in runners):
        time.sleep(0.1)
    gone = all(pid_gone(pid) for pid in runners)
    for pid in runners:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.stdout.close()
    assert gone


def test_an_interrupted_new_of_a_pair_leaves_no_directory_behind(tmp_path):
    process = start(
        "new",
        "--kind",
        "huber",
        "--target",
        "both",
        "--no-input",
        "--no-test",
        "-o",
        str(tmp_path / "out"),
        pause="staged:30",
    )
    wait_paused(process, "staged")
    process.send_signal(signal.SIGTERM)
    assert finish(process)[0] == 143
    assert not (tmp_path / "out").exists()  # neither half, nor huber-loss/ or the -o directory around them


def test_check_tells_a_commit_under_way_from_an_interrupted_one(copy, capsys):
    project = copy("huber")
    process = start("update", str(project), "--delta", "3", "--no-test", pause="commit:5")
    wait_paused(process, "commit")
    capsys.readouterr()
    assert run("check", str(project)) == 1
    assert "another lossgen is committing to it right now" in capsys.readouterr().out
    assert finish(process)[0] == 0
    assert run("check", str(project)) == 0


def test_a_commit_area_from_another_machine_is_never_replayed(copy, capsys):
    """A `.lossgen-commit/` committed to a repository (a forged journal) is not finished on a clone."""
    import json

    project = copy("huber")
    area = project / COMMIT_DIR
    area.mkdir()
    (area / "00000").write_text("print('planted')\n")
    (area / "record").write_bytes((project / ".lossgen.toml").read_bytes())
    journal = {
        "txn": "t",
        "host": "elsewhere",
        "primary": ".",
        "partners": [],
        "ops": [{"path": "planted.py", "blob": "00000", "expect": None, "sha": sha256(b"print('planted')\n")}],
    }
    (area / "journal.json").write_text(json.dumps(journal))
    (area / "decided").write_text("t")
    one_line_error(capsys, run("update", str(project), "--no-test"), "another machine ('elsewhere')")
    assert not (project / "planted.py").exists()
    assert "/.lossgen-commit/" in (project / ".gitignore").read_text()
