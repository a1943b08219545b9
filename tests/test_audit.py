"""`lossgen audit`: the checks fail each classic defect on the right id, with numbers, and pass the
corrected losses and lossgen's own generated ones.

The e2e tests start TensorFlow once, in this process (scaffold.audit.run on the hand-written losses
of tests/data/audit), and a few CLI runs in subprocesses (exit codes, --json/--junit, a generated
project). The unit tests at the top import no Keras.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scaffold.audit import CHECK_IDS
from scaffold.audit.checks import Result
from scaffold.audit.reference import literal, option_args, parse_params, resolve
from scaffold.audit.report import Report, line
from scaffold.audit.runner import select
from scaffold.audit.target import parse
from scaffold.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "audit"


# ---------------------------------------------------------------------------------- unit (no Keras)
def test_target_forms():
    module = parse("teamlosses.huber:HuberLoss")
    assert (module.module, module.path, module.name) == ("teamlosses.huber", None, "HuberLoss")
    file = parse(f"{DATA / 'config.py'}:Huber")
    assert file.path == (DATA / "config.py").resolve() and file.name == "Huber" and not file.is_r
    assert parse(f"{DATA / 'losses.R'}:scalar_mse").is_r
    for bad in ("no_colon", "mod:", ":name", "a-b:c", f"{DATA / 'missing.py'}:x", "mod:not a name"):
        with pytest.raises(UsageError):
            parse(bad)


def test_params_are_literals():
    assert parse_params(["delta=2.5", "from_logits=true", "weights=[1, 2]", "mode=sum"]) == {
        "delta": 2.5,
        "from_logits": True,
        "weights": [1, 2],
        "mode": "sum",
    }
    assert literal("__import__('os')") == "__import__('os')"  # text, never evaluated
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_params(["delta"])


def test_against_options():
    assert option_args(["--delta", "2", "--from-logits", "--x=3"]) == {"delta": "2", "from_logits": True, "x": "3"}
    against = resolve("huber", ["--delta", "2"])
    assert against.spec.name == "huber" and against.values == {"delta": 2.0}
    with pytest.raises(UsageError, match="no such option --gamma for kind 'huber'"):
        resolve("huber", ["--gamma", "2"])
    with pytest.raises(UsageError, match="unknown kind"):
        resolve("hubber", [])
    assert resolve("keras.losses.Huber", ["--delta", "2"]).values == {"delta": 2}


def test_check_selection():
    assert select(None, None) == list(CHECK_IDS)
    assert select(["config", "per_sample"], None) == ["per_sample", "config"]  # always in CHECK_IDS order
    assert "jit" not in select(None, ["jit"])
    with pytest.raises(UsageError, match="unknown check id"):
        select(["per-sample"], None)


@pytest.mark.parametrize(
    "task",
    ["regression", "positive_regression", "binary", "categorical", "sparse_categorical", "multi_output", "metric"],
)
def test_inputs_of_every_task(task):
    from scaffold.audit.checks import Context

    for logits in (False, True) if task in ("binary", "categorical", "sparse_categorical") else (False,):
        ctx = Context(None, task, "tensorflow", None, None, from_logits=logits)
        case = ctx.sample()
        assert len(case.y_pred) == 8 and len(case.y_true) == 8
        assert ctx.extremes()


def test_report_files(tmp_path):
    report = Report(
        "m:f",
        "regression",
        "tensorflow",
        "function",
        [
            Result("per_sample", "fail", "returns shape () for a batch of 8; expected (8,)", 0.1),
            Result("config", "skip", "a plain function has no get_config", 0.0),
            Result("gradient", "pass", "24 partial derivatives match", 0.2),
        ],
        seconds=1.0,
    )
    assert report.exit_code == 1
    assert line(report.results[0]).split()[:2] == ["per_sample", "FAIL"]
    report.write_json(tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    assert {k: data[k] for k in ("target", "task", "backend")} == {
        "target": "m:f",
        "task": "regression",
        "backend": "tensorflow",
    }
    assert [(c["id"], c["status"]) for c in data["checks"]] == [
        ("per_sample", "fail"),
        ("config", "skip"),
        ("gradient", "pass"),
    ]
    report.write_junit(tmp_path / "a.xml")
    suite = ET.parse(tmp_path / "a.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='per_sample']/failure")
    assert "expected (8,)" in failure.get("message")


# ------------------------------------------------------------------------ e2e: in-process audit runs
def audit(target: str, task: str = "regression", **kwargs) -> dict[str, Result]:
    pytest.importorskip("tensorflow")
    from scaffold.audit import run

    report = run(f"{DATA / target}", task, backend="tensorflow", **kwargs)
    return {r.id: r for r in report.results}


def statuses(results: dict[str, Result]) -> dict[str, str]:
    return {check_id: r.status for check_id, r in results.items()}


FAST = ["per_sample", "sample_weight", "label_rank", "batch_independent", "gradient", "float16", "bfloat16", "config"]


@pytest.mark.e2e
def test_scalar_loss_fails_per_sample_and_sample_weight():
    bad = audit("scalar.py:scalar_mse", only=FAST)
    assert bad["per_sample"].status == "fail"
    assert "returns shape () for a batch of 8; expected (8,)" in bad["per_sample"].detail
    assert bad["sample_weight"].status == "fail" and "with weights 0..2 the loss is" in bad["sample_weight"].detail
    good = audit("scalar.py:mse", only=FAST)
    assert set(statuses(good).values()) <= {"pass", "skip"}, good


@pytest.mark.e2e
def test_tensorflow_guide_custom_mse():
    results = audit("scalar.py:CustomMSE", only=["per_sample", "config"])
    assert statuses(results) == {"per_sample": "fail", "config": "fail"}
    assert "unexpected keyword argument 'reduction'" in results["config"].detail


@pytest.mark.e2e
def test_config_missing_a_parameter_reloads_the_default():
    bad = audit("config.py:HuberNoConfig", only=FAST, params={"delta": 2.5})
    assert bad["config"].status == "fail"
    assert bad["config"].detail.startswith("delta=2.5 reloads as 1.0 (get_config() has no 'delta')")
    assert [i for i, r in bad.items() if r.status == "fail"] == ["config"]
    good = audit("config.py:Huber", only=FAST, params={"delta": 2.5})
    assert set(statuses(good).values()) == {"pass"}, good
    # without --param, audit varies the constructor's parameters itself
    assert audit("config.py:HuberNoConfig", only=["config"])["config"].detail.startswith("delta=2.5 reloads as 1.0")


@pytest.mark.e2e
def test_labels_broadcast_in_loss_call():
    bad = audit("rank.py:BroadcastMSE", only=["label_rank"])["label_rank"]
    assert bad.status == "fail" and "broadcasts to (8, 8)" in bad.detail
    good = audit("rank.py:AlignedMSE", only=FAST)
    assert set(statuses(good).values()) == {"pass"}, good


@pytest.mark.e2e
def test_log_one_plus_exp_overflows_in_float16():
    bad = audit("overflow.py:naive_logistic", task="binary", from_logits=True, only=FAST)
    assert bad["float16"].status == "fail"
    assert "values are inf when called on float16 tensors at huge_logits" in bad["float16"].detail
    assert [i for i, r in bad.items() if r.status == "fail"] == ["float16", "bfloat16"]
    good = audit("overflow.py:stable_logistic", task="binary", from_logits=True, only=FAST)
    assert set(statuses(good).values()) <= {"pass", "skip"}, good


@pytest.mark.e2e
def test_unregistered_function_does_not_reload():
    bad = audit("unregistered.py:plain_mae", only=["save_reload"])["save_reload"]
    assert bad.status == "fail"
    assert "cannot load the saved model: TypeError: Could not locate function 'plain_mae'" in bad.detail
    good = audit("unregistered.py:registered_mae", only=["save_reload", "jit", "mixed_precision"])
    assert set(statuses(good).values()) == {"pass"}, good


@pytest.mark.e2e
def test_tutorial_snippets():
    for name, task in (("weighted_bce", "binary"), ("huber_loss", "regression")):
        results = audit(f"seeds.py:{name}", task=task, only=["per_sample"])
        assert results["per_sample"].status == "fail", (name, results)
    # y_true cast to float32 whatever y_pred is: float64 inputs cannot be mixed with it
    gradient = audit("seeds.py:weighted_bce", task="binary", only=["gradient"])["gradient"]
    assert gradient.status == "fail" and gradient.detail.startswith("fails on float64 inputs: InvalidArgumentError")
    msle = audit(
        "seeds.py:custom_mean_squared_logarithmic_error",
        task="positive_regression",
        only=["per_sample", "sample_weight", "gradient"],
    )
    assert set(statuses(msle).values()) == {"pass"}, msle
    mse = audit("seeds.py:custom_mse", only=["per_sample", "sample_weight", "save_reload"])
    assert statuses(mse) == {"per_sample": "pass", "sample_weight": "pass", "save_reload": "fail"}


# --------------------------------------------------------------------------------- e2e: the CLI
def cli(*args: str, cwd: Path = ROOT, pythonpath: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), pythonpath]))}
    return subprocess.run(
        [sys.executable, "-m", "scaffold.cli", "audit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.e2e
def test_cli_exit_codes_and_reports(tmp_path):
    done = cli(
        f"{DATA / 'config.py'}:HuberNoConfig",
        "--task",
        "regression",
        "--param",
        "delta=2.5",
        "--only",
        "per_sample,config",
        "--json",
        str(tmp_path / "r.json"),
        "--junit",
        str(tmp_path / "r.xml"),
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split()[:2] == ["per_sample", "pass"]
    assert lines[2].split()[:2] == ["config", "FAIL"] and "delta=2.5 reloads as 1.0" in lines[2]
    data = json.loads((tmp_path / "r.json").read_text())
    assert [(c["id"], c["status"]) for c in data["checks"]] == [("per_sample", "pass"), ("config", "fail")]
    assert ET.parse(tmp_path / "r.xml").getroot().find("testsuite").get("failures") == "1"

    broken = cli(f"{DATA / 'broken.py'}:loss", "--task", "regression")
    assert broken.returncode == 2
    assert broken.stderr.strip().splitlines() == [
        (
            f"Error: target '{DATA / 'broken.py'}:loss' does not import: ModuleNotFoundError: No module named "
            "'no_such_module_for_lossgen_audit'"
        )
    ]
    assert "Traceback" not in broken.stderr


def test_cli_bad_usage_before_keras():
    for args in (
        ["m:f", "--task", "regression", "--only", "nope"],
        ["m:f", "--task", "nope"],
        ["m:f", "--task", "regression", "--delta", "2"],
        ["m:f", "--task", "regression", "--against", "hubber"],
        [f"{DATA / 'losses.R'}:mse", "--task", "regression", "--backend", "jax"],  # R runs on TensorFlow
    ):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# ------------------------------------------------------------------ e2e: R targets, through reticulate
R_CHECKS = ["per_sample", "sample_weight", "gradient", "float16", "bfloat16", "config"]
R_SKIPPED = {"save_reload", "backends", "distributed"}  # fresh Python processes cannot load R code


@pytest.fixture(scope="module")
def r_audits(r_available, tmp_path_factory) -> dict:
    """Every R target of these tests audited in one Rscript process (R, Python and TensorFlow start
    once): hand-written losses of tests/data/audit/losses.R and the huber_loss of a generated R package."""
    from scaffold.audit.r_bridge import run_many
    from scaffold.audit.runner import Job

    out = tmp_path_factory.mktemp("r-audit")
    subprocess.run(
        [sys.executable, "-m", "scaffold.cli", "new", "--kind", "huber", "--target", "r"]
        + ["--no-test", "--no-input", "-o", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    generated = next(out.glob("*/R/loss.R"))
    jobs = {
        "scalar": Job(f"{DATA / 'losses.R'}:scalar_mse", "regression", {}, "tensorflow", None, R_CHECKS),
        "mse": Job(f"{DATA / 'losses.R'}:mse", "regression", {}, "tensorflow", None, list(CHECK_IDS)),
        "no_config": Job(
            f"{DATA / 'losses.R'}:HuberNoConfig", "regression", {"delta": 2.5}, "tensorflow", None, R_CHECKS
        ),
        "config": Job(f"{DATA / 'losses.R'}:Huber", "regression", {"delta": 2.5}, "tensorflow", None, R_CHECKS),
        "generated": Job(
            f"{generated}:huber_loss",
            "regression",
            {"delta": 2},
            "tensorflow",
            resolve("huber", ["--delta", "2"]),
            list(CHECK_IDS),
        ),
        "missing": Job(f"{DATA / 'losses.R'}:no_such_loss", "regression", {}, "tensorflow", None, R_CHECKS),
    }
    return dict(zip(jobs, run_many(list(jobs.values())), strict=True))


def r_results(r_audits: dict, key: str) -> dict[str, Result]:
    report = r_audits[key]
    assert isinstance(report, Report), report
    return {r.id: r for r in report.results}


@pytest.mark.e2e
def test_r_scalar_loss_fails_per_sample_and_sample_weight(r_audits):
    bad = r_results(r_audits, "scalar")
    assert r_audits["scalar"].subject == "R function"
    assert bad["per_sample"].status == "fail"
    assert "returns shape () for a batch of 8; expected (8,)" in bad["per_sample"].detail
    assert bad["sample_weight"].status == "fail" and "with weights 0..2 the loss is" in bad["sample_weight"].detail
    good = r_results(r_audits, "mse")
    assert {i for i, r in good.items() if r.status == "fail"} == set(), good
    skipped = {i for i, r in good.items() if r.status == "skip"}
    assert skipped == R_SKIPPED | {"config", "reference"}, good
    assert all(good[i].detail.startswith("not run for R targets") for i in R_SKIPPED)
    assert "an R function has no get_config" in good["config"].detail
    assert good["mixed_precision"].status == good["jit"].status == "pass"  # compile() traces the R function


@pytest.mark.e2e
def test_r_loss_class_config(r_audits):
    bad = r_results(r_audits, "no_config")
    assert r_audits["no_config"].subject == "Loss subclass from R"
    assert [i for i, r in bad.items() if r.status == "fail"] == ["config"], bad
    assert bad["config"].detail.startswith("delta=2.5 reloads as 1.0 (get_config() has no 'delta')")
    good = r_results(r_audits, "config")
    assert set(statuses(good).values()) == {"pass"}, good


@pytest.mark.e2e
def test_r_generated_package_passes(r_audits):
    results = r_results(r_audits, "generated")
    assert r_audits["generated"].subject == "R loss factory huber_loss(delta = 2)"
    assert {i for i, r in results.items() if r.status == "skip"} == R_SKIPPED | {"config"}, results
    assert {i for i, r in results.items() if r.status == "pass"} == set(CHECK_IDS) - R_SKIPPED - {"config"}, results
    assert "within rtol 0.0001 of huber(delta=2.0)" in results["reference"].detail


@pytest.mark.e2e
def test_r_bad_target_and_cli(r_audits):
    missing = r_audits["missing"]
    assert isinstance(missing, UsageError)
    assert str(missing) == f"target '{DATA / 'losses.R'}:no_such_loss': losses.R defines no 'no_such_loss'"
    done = cli(f"{DATA / 'losses.R'}:scalar_mse", "--task", "regression", "--only", "per_sample,sample_weight")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("(R function), task regression, backend tensorflow")
    assert [x.split()[:2] for x in lines[1:3]] == [["per_sample", "FAIL"], ["sample_weight", "FAIL"]]
