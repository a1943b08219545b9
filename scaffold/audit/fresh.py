"""The checks that need a fresh Python process: save_reload (a user reloads a model in a new
session), backends (the same values on the other Keras backends) and distributed
(MirroredStrategy needs logical devices set before TensorFlow starts).

Each check is three steps: `prepare` in this process (train and save a model, write the inputs),
one child process that answers for many targets at once (scaffold.audit.child), and `conclude`.
Auditing 50 losses starts a handful of processes, not 200: one per check, backend and import root
(targets from one package share a child, as they share a session for a user; files never do).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scaffold.audit.checks import Context, Result, failed, from_finding, passed, skipped
from scaffold.audit.target import last_line

CHECK_IDS = ("save_reload", "backends", "distributed")
BACKENDS = ("tensorflow", "jax", "torch")


def run(contexts: list[Context], chosen: list[list[str]], on_result: Callable | None = None) -> None:
    """The fresh-process checks each context chose, batched, into each context's results;
    `on_result(index, result)` as each is known. A result's seconds are its share of its batch."""
    with tempfile.TemporaryDirectory(prefix="lossgen-audit-") as tmp:
        workdir = Path(tmp)
        for check_id in CHECK_IDS:
            began = time.perf_counter()
            results: dict[int, Result] = {}
            prepare, conclude = STEPS[check_id]
            pending: list[tuple[int, list[dict]]] = []
            for i, ctx in enumerate(contexts):
                if check_id not in chosen[i]:
                    continue
                try:
                    prepared = prepare(ctx, workdir / f"{i}-{check_id}")
                except Exception as exc:
                    prepared = failed(check_id, f"raises {last_line(exc)}")
                if isinstance(prepared, Result):
                    results[i] = prepared
                else:
                    pending.append((i, prepared))
            answers = _ask([(contexts[i], request) for i, requests in pending for request in requests], workdir)
            for i, requests in pending:
                mine = [answers[id(request)] for request in requests]
                try:
                    results[i] = conclude(contexts[i], requests, mine)
                except Exception as exc:
                    results[i] = failed(check_id, f"raises {last_line(exc)}")
            for i in sorted(results):
                results[i].seconds = (time.perf_counter() - began) / len(results)
                contexts[i].results[check_id] = results[i]
                if on_result is not None:
                    on_result(i, results[i])


# ------------------------------------------------------------------------------------ save_reload
def prepare_save_reload(ctx: Context, stem: Path) -> list[dict] | Result:
    case = ctx.sample(seed=2, batch=16)
    model, inputs = ctx.battery.trained_model(ctx.subject.for_compile(), case.y_true, ctx.head, case.y_pred.shape)
    expected = ctx.battery.evaluate(model, inputs, case.y_true)
    path = stem.with_suffix(".keras")
    try:
        model.save(path)
    except Exception as exc:
        return failed("save_reload", f"model.save() fails: {last_line(exc)}")
    data = stem.with_suffix(".npz")
    np.savez(data, inputs=inputs, y_true=case.y_true)
    return [
        {"mode": "reload", "backend": ctx.backend_name, "model": str(path), "data": str(data), "expected": expected}
    ]


def conclude_save_reload(ctx: Context, requests: list[dict], answers: list[dict]) -> Result:
    (request,), (answer,) = requests, answers
    if "error" in answer:
        hint = ""
        if "locate" in answer["error"] and "register_keras_serializable" not in answer["error"]:
            hint = " (decorate the loss with @keras.saving.register_keras_serializable())"
        return failed("save_reload", f"a fresh process cannot load the saved model: {answer['error']}{hint}")
    finding = ctx.battery.save_reload(request["expected"], float(answer["loss"]), answer.get("loss_repr", "?"))
    if finding:
        return passed("save_reload", f"reloaded in a fresh process, {finding.detail}")
    return from_finding("save_reload", finding)


# --------------------------------------------------------------------------------------- backends
def _installed(backends) -> list[str]:
    return [b for b in backends if importlib.util.find_spec(b) is not None]


def prepare_backends(ctx: Context, stem: Path) -> list[dict] | Result:
    others = [b for b in BACKENDS if b != ctx.backend_name]
    installed = _installed(others)
    if not installed:
        return skipped("backends", f"no other Keras backend installed ({', '.join(others)})")
    case = ctx.sample()
    data = stem.with_suffix(".npz")
    np.savez(data, y_true=case.y_true, y_pred=case.y_pred)
    from scaffold.audit.checks import per_sample_values

    mine = per_sample_values(ctx, case.y_true, case.y_pred).tolist()
    return [{"mode": "values", "backend": b, "data": str(data), "mine": mine} for b in installed]


def conclude_backends(ctx: Context, requests: list[dict], answers: list[dict]) -> Result:
    battery = ctx.battery
    for request, answer in zip(requests, answers, strict=True):
        backend = request["backend"]
        if "error" in answer:
            return failed("backends", f"on {backend}: {answer['error']}")
        theirs, mine = np.asarray(answer["values"], dtype=np.float64), np.asarray(request["mine"], dtype=np.float64)
        if not battery.close(theirs, mine, 1e-4, 1e-6):
            size = battery.worst(theirs, mine)[1] if theirs.shape == mine.shape else math.inf
            return failed(
                "backends",
                f"{backend} gives {theirs.shape} values differing from {ctx.backend_name}'s by {battery.fmt(size)}",
            )
    compared = [r["backend"] for r in requests]
    missing = [b for b in BACKENDS if b != ctx.backend_name and b not in compared]
    note = f" ({', '.join(missing)} not installed)" if missing else ""
    return passed("backends", f"{ctx.backend_name} and {', '.join(compared)} agree within rtol 1e-4{note}")


# ------------------------------------------------------------------------------------ distributed
def prepare_distributed(ctx: Context, stem: Path) -> list[dict] | Result:
    if ctx.backend_name != "tensorflow":
        return skipped("distributed", f"MirroredStrategy is TensorFlow's; not checked on {ctx.backend_name}")
    if ctx.couples_batch:
        return skipped(
            "distributed",
            "a batch-coupled loss sees only its replica's part of the batch under a strategy (mining is per "
            "replica), so its weights differ from one device's by design",
        )
    return [{"mode": "distributed", "backend": "tensorflow"}]


def conclude_distributed(ctx: Context, requests: list[dict], answers: list[dict]) -> Result:
    (answer,) = answers
    if "error" in answer:
        return failed("distributed", answer["error"])
    size = float(answer["difference"])
    if size > 1e-5:
        return failed(
            "distributed",
            f"after 3 SGD steps on 2 replicas the weights differ from one device's by "
            f"{ctx.battery.fmt(size)} (a loss that reduces over the batch is scaled wrong under a strategy)",
        )
    return passed("distributed", f"3 SGD steps on 2 replicas match one device (max difference {ctx.battery.fmt(size)})")


STEPS = {
    "save_reload": (prepare_save_reload, conclude_save_reload),
    "backends": (prepare_backends, conclude_backends),
    "distributed": (prepare_distributed, conclude_distributed),
}


# ------------------------------------------------------------------------------- the fresh process
def import_root(ctx: Context) -> str:
    """Targets that share a child: those of one top-level package; a file target is its own."""
    ref = ctx.subject.ref
    return ref.module.split(".")[0] if ref.module is not None else str(ref.path)


def _ask(pending: list[tuple[Context, dict]], workdir: Path) -> dict[int, dict]:
    """Every request answered, one child per backend and import root; {id(request): answer}."""
    groups: dict[tuple[str, str], list[tuple[Context, dict]]] = defaultdict(list)
    for ctx, request in pending:
        groups[(request["backend"], import_root(ctx))].append((ctx, request))
    answers: dict[int, dict] = {}
    for n, ((backend, _), members) in enumerate(groups.items()):
        jobs = [
            {
                **request,
                "target": ctx.subject.ref.text,
                "task": ctx.task,
                "params": ctx.subject.params,
                "from_logits": ctx.from_logits,
            }
            for ctx, request in members
        ]
        replies = child(jobs, backend, workdir / f"requests-{n}.json")
        for (_, request), reply in zip(members, replies, strict=True):
            answers[id(request)] = reply
    return answers


def child(jobs: list[dict], backend: str, path: Path) -> list[dict]:
    """scaffold.audit.child run in a fresh interpreter on `backend`; one answer per job."""
    import scaffold

    root = str(Path(scaffold.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = os.pathsep.join([root, os.getcwd(), *filter(None, [env.get("PYTHONPATH")])])
    path.write_text(json.dumps(jobs))
    timeout = 180 + 30 * len(jobs)
    command = [sys.executable, "-m", "scaffold.audit.child", str(path)]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        return [{"error": f"the fresh process took more than {timeout:g} s"}] * len(jobs)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("["):
            replies = json.loads(line)
            if len(replies) == len(jobs):
                return replies
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    error = f"the fresh process ended with status {done.returncode}: {lines[-1] if lines else 'no output'}"
    return [{"error": error}] * len(jobs)
