"""One audit run: the options checked, the backend chosen, Keras imported, the target loaded, the
chosen checks run in CHECK_IDS order. Every bad option or target is a UsageError (exit 2)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.audit import CHECK_IDS
from scaffold.audit.report import Report
from scaffold.errors import UsageError

BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_TEMPLATE = Path("python", "project", "{{cookiecutter.project_slug}}", "tests", "backend.py")


def select(only: list[str] | None, skip: list[str] | None) -> list[str]:
    for option, ids in (("--only", only), ("--skip", skip)):
        unknown = [i for i in ids or [] if i not in CHECK_IDS]
        if unknown:
            raise UsageError(f"{option}: unknown check id(s) {', '.join(unknown)} (ids: {', '.join(CHECK_IDS)})")
    chosen = [i for i in CHECK_IDS if not only or i in only]
    return [i for i in chosen if i not in (skip or [])]


def use_backend(backend: str) -> None:
    """KERAS_BACKEND for this process, before Keras is imported; exit 2 if that cannot be."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend}: expected one of {', '.join(BACKENDS)}")
    if importlib.util.find_spec(backend) is None:
        raise UsageError(f'the {backend} backend is not installed (pip install "lossgen[{backend}]")')
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise UsageError(
                f"Keras is already running on {keras.backend.backend()} in this process; "
                f"audit on {backend} needs a fresh one"
            )
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def shared_backend_helpers():
    """The generated projects' tests/backend.py (values_and_gradient, as_float64, FLOAT64_IS_EXACT),
    loaded from lossgen's own template: audit's autodiff is the generated tests' autodiff."""
    from scaffold.paths import templates_dir

    path = templates_dir() / BACKEND_TEMPLATE
    spec = importlib.util.spec_from_file_location("_lossgen_audit_backend", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(
    target: str,
    task: str,
    params: dict[str, Any] | None = None,
    backend: str = "tensorflow",
    against: Any = None,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    batch_coupled: bool = False,
    from_logits: bool | None = None,
    on_start: Callable | None = None,
    on_result: Callable | None = None,
) -> Report:
    """Audit `target`; `on_start(report)` is called once the target is loaded and `on_result(result)` as
    each check ends (the CLI prints them as they come). An R target (file.R:name) runs in an Rscript
    process (scaffold.audit.r_bridge); everything else in this one."""
    from scaffold.audit import target as targets
    from scaffold.spec import TASKS

    started = time.perf_counter()
    if task not in TASKS:
        raise UsageError(f"--task {task}: expected one of {', '.join(TASKS)}")
    chosen = select(only, skip)
    ref = targets.parse(target)
    job = Job(target, task, dict(params or {}), backend, against, chosen, batch_coupled, from_logits)
    if ref.is_r:
        from scaffold.audit import r_bridge

        return r_bridge.run(job, on_start=on_start, on_result=on_result, started=started)
    use_backend(backend)
    from scaffold.check import native_stderr_silenced

    with native_stderr_silenced():  # TensorFlow's start-up chatter on fd 2
        import keras  # noqa: F401

        if backend == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
    subject = targets.load(ref, job.params)
    return run_subject(subject, job, on_start=on_start, on_result=on_result, started=started)


@dataclass(frozen=True)
class Job:
    """What an audit was asked for, options checked (R's process gets it as a pickle)."""

    target: str
    task: str
    params: dict[str, Any]
    backend: str
    against: Any  # scaffold.audit.reference.Against or None
    chosen: list[str]
    batch_coupled: bool = False
    from_logits: bool | None = None


# Checks that start a fresh Python process which imports the target: it cannot load R code.
R_SKIPS = {
    "save_reload": "not run for R targets: a fresh Python process cannot load an R loss (in R, reload with "
    "load_model(custom_objects = ...) in a session that defines it)",
    "backends": "not run for R targets: it compares fresh Python processes, which cannot load an R loss",
    "distributed": "not run for R targets: MirroredStrategy runs in a fresh Python process, which cannot "
    "load an R loss",
}


def run_subject(
    subject,
    job: Job,
    on_start: Callable | None = None,
    on_result: Callable | None = None,
    started: float | None = None,
) -> Report:
    """The chosen checks on a loaded subject, Keras already imported (in this process, or in the
    Python that R embeds for an R target)."""
    from scaffold.audit import checks
    from scaffold.audit import target as targets
    from scaffold.audit.reference import check_keras_name
    from scaffold.check import native_stderr_silenced

    started = time.perf_counter() if started is None else started
    if job.against is not None:
        check_keras_name(job.against)
    from_logits = job.from_logits
    if from_logits is None:  # y_pred are logits if the loss says so (a from_logits parameter or attribute)
        given = job.params.get("from_logits", subject.params.get("from_logits"))
        from_logits = bool(given if given is not None else getattr(subject.built, "from_logits", False))
    ctx = checks.Context(
        subject,
        job.task,
        job.backend,
        shared_backend_helpers(),
        batch_coupled=job.batch_coupled,
        against=job.against,
        from_logits=from_logits,
    )
    report = Report(job.target, job.task, job.backend, subject.label)
    if on_start is not None:
        on_start(report)
    for check_id in job.chosen:
        began = time.perf_counter()
        if subject.is_r and check_id in R_SKIPS:
            result = checks.skipped(check_id, R_SKIPS[check_id])
        else:
            try:
                with native_stderr_silenced():  # TensorFlow's and XLA's native logging
                    result = checks.CHECKS[check_id](ctx)
            except Exception as exc:
                result = checks.failed(check_id, f"raises {targets.last_line(exc)}")
        result.seconds = time.perf_counter() - began
        ctx.results[check_id] = result
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    report.seconds = time.perf_counter() - started
    return report
