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
from types import ModuleType
from typing import Any

from scaffold.audit import CHECK_IDS
from scaffold.audit.report import Report
from scaffold.errors import UsageError

BACKENDS = ("tensorflow", "jax", "torch")
GENERATED_TESTS = Path("python", "project", "{{cookiecutter.project_slug}}", "tests")
GENERATED_TESTS_PACKAGE = "_lossgen_generated_tests"


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


def generated_tests(module: str) -> ModuleType:
    """A module of the generated projects' tests package (`backend`: autodiff; `battery`: the
    checks), loaded from lossgen's template of it: cookiecutter copies those files unchanged, so
    the audit runs the very code the generated tests run."""
    from scaffold.paths import templates_dir

    if GENERATED_TESTS_PACKAGE not in sys.modules:
        path = templates_dir() / GENERATED_TESTS
        spec = importlib.util.spec_from_file_location(
            GENERATED_TESTS_PACKAGE, path / "__init__.py", submodule_search_locations=[str(path)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[GENERATED_TESTS_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{GENERATED_TESTS_PACKAGE}.{module}")


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
    start_keras(backend)
    subject = targets.load(ref, job.params)
    return run_subjects([(subject, job)], on_start=on_start, on_result=on_result, started=started)[0]


def start_keras(backend: str) -> None:
    """Keras imported on `backend` (float64 enabled on JAX, as the generated tests' conftest does)."""
    use_backend(backend)
    from scaffold.check import native_stderr_silenced

    with native_stderr_silenced():  # TensorFlow's start-up chatter on fd 2
        import keras  # noqa: F401

        if backend == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)


def run_many(jobs: list[Job]) -> list[Report | UsageError]:
    """Several Python audits on one backend in this process, for a team's whole module or lossgen's
    own catalog: Keras starts once, and the fresh-process checks start one process per check and
    package for all of them. A job whose target does not load gets its UsageError."""
    from scaffold.audit import target as targets

    backends = {job.backend for job in jobs}
    if len(backends) > 1:
        raise UsageError(f"one backend per run: got {', '.join(sorted(backends))}")
    if any(targets.parse(job.target).is_r for job in jobs):
        raise UsageError("R targets are audited by scaffold.audit.r_bridge.run_many")
    start_keras(backends.pop())
    loaded: list[tuple[Any, Job]] = []
    outcomes: list[Report | UsageError | None] = []
    for job in jobs:
        try:
            loaded.append((targets.load(targets.parse(job.target), job.params), job))
            outcomes.append(None)
        except UsageError as exc:
            outcomes.append(exc)
    reports = iter(run_subjects(loaded))
    return [outcome if outcome is not None else next(reports) for outcome in outcomes]


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


def run_subjects(
    pairs: list[tuple[Any, Job]],
    on_start: Callable | None = None,
    on_result: Callable | None = None,
    started: float | None = None,
) -> list[Report]:
    """The chosen checks on loaded subjects, Keras already imported (in this process, or in the
    Python that R embeds for an R target): each subject's in-process checks in CHECK_IDS order,
    then the fresh-process ones (the last ids) batched over all subjects. The callbacks are for a
    single subject (the CLI prints its lines as they come)."""
    from scaffold.audit import checks, fresh
    from scaffold.audit import target as targets
    from scaffold.check import native_stderr_silenced

    started = time.perf_counter() if started is None else started
    contexts, reports, deferred = [], [], []
    for subject, job in pairs:
        ctx, report = _context(subject, job), Report(job.target, job.task, job.backend, subject.label)
        contexts.append(ctx)
        reports.append(report)
        if on_start is not None:
            on_start(report)
        for check_id in job.chosen:
            if check_id in fresh.CHECK_IDS and not subject.is_r:
                continue
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
        deferred.append([c for c in job.chosen if c in fresh.CHECK_IDS and not subject.is_r])

    def collect(index: int, result) -> None:
        reports[index].results.append(result)
        if on_result is not None:
            on_result(result)

    with native_stderr_silenced():
        fresh.run(contexts, deferred, on_result=collect)
    for report in reports:
        report.seconds = time.perf_counter() - started
    return reports


def run_subject(subject, job: Job, **kwargs) -> Report:
    """run_subjects for one subject."""
    return run_subjects([(subject, job)], **kwargs)[0]


def _context(subject, job: Job):
    """The Context of one subject's checks: the shared battery, the task's inputs, logits or not."""
    from scaffold.audit import checks
    from scaffold.audit.reference import check_keras_name

    if job.against is not None:
        check_keras_name(job.against)
    from_logits = job.from_logits
    if from_logits is None:  # y_pred are logits if the loss says so (a from_logits parameter or attribute)
        given = job.params.get("from_logits", subject.params.get("from_logits"))
        from_logits = bool(given if given is not None else getattr(subject.built, "from_logits", False))
    return checks.Context(
        subject,
        job.task,
        job.backend,
        generated_tests("backend"),
        generated_tests("battery"),
        batch_coupled=job.batch_coupled,
        against=job.against,
        from_logits=from_logits,
    )
