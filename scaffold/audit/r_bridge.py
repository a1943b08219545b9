"""R targets of `lossgen audit` (`path/to/file.R:name`): the same checks, run in the Python that R
embeds through reticulate.

One Rscript process per audit (R, Python and TensorFlow start once). It sources the file in a fresh
environment (calling its `.onLoad()` if it has one, as for the R/ file of a package lossgen
generated), looks `name` up and hands what it finds to `serve()` below, in R's own Python:

- an R function with arguments `y_true` and `y_pred` (or two arguments without defaults): the
  loss; `--param` values are passed to it as further named arguments;
- any other R function: a loss factory (`huber_loss(delta = 2)`), called with the `--param`
  values; it must return a loss function, or a Keras Loss object made in R;
- a Python object (a Loss subclass made with `reticulate::PyClass`, a Loss instance, a Python
  function): classified as for a Python target.

An R function reaches Python as a callable (`reticulate::r_to_py`), as keras3's `compile()` passes
it: Keras wraps it in LossFunctionWrapper, `tf.GradientTape` records the `keras$ops` calls it
makes, and `model.fit` traces it. So the checks are the Python ones, with the same inputs and
messages; those that start a fresh Python process that imports the target (save_reload, backends,
distributed) are skipped with their reason (runner.R_SKIPS).

The Rscript process reports on its stdout, one JSON object per line after MARKER: `{"start":
subject label}`, `{"result": {...}}` per check, `{"error": message}` for bad usage (exit 2 here).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaffold.audit.report import Report
from scaffold.errors import UsageError

MARKER = "LOSSGEN-AUDIT "

R_SCRIPT = r"""# lossgen audit of R losses: Rscript audit.R FILE NAME JOB [FILE NAME JOB ...]
# (see scaffold/audit/r_bridge.py). Each target is audited in turn in this one process.
marker <- "LOSSGEN-AUDIT "
if (!requireNamespace("reticulate", quietly = TRUE)) {
  cat(marker, "{\"error\": \"R targets need the R package reticulate (apt-get install r-cran-reticulate)\"}\n",
      sep = "")
  quit(status = 2L)
}
bridge <- tryCatch(reticulate::import("scaffold.audit.r_bridge"), error = function(e) {
  cat(marker, "{\"error\": ", encodeString(paste(
    "R's Python (RETICULATE_PYTHON) cannot import lossgen:", gsub("\\s+", " ", conditionMessage(e))
  ), quote = "\""), "}\n", sep = "")
  quit(status = 2L)
})
shown <- function(e) gsub("\\s+", " ", trimws(conditionMessage(e)))

is_loss_function <- function(f) {
  formals_ <- formals(f)
  if (all(c("y_true", "y_pred") %in% names(formals_))) {
    return(TRUE)
  }
  required <- vapply(formals_, function(v) identical(v, quote(expr = )), logical(1L))
  sum(required[names(formals_) != "..."]) >= 2L
}

audit_one <- function(file, name, job) {
  target <- sprintf("target '%s:%s'", file, name)
  fail <- function(message) {
    bridge$fail(job, paste(message, collapse = " "))
    stop(structure(class = c("lossgen_reported", "error", "condition"), list(message = message, call = NULL)))
  }
  # --param values as R values: numbers, logicals, strings; a list of scalars becomes a vector.
  params <- lapply(bridge$r_params(job), function(value) {
    if (is.list(value) && all(vapply(value, function(v) is.atomic(v) && length(v) == 1L, logical(1L)))) {
      unlist(value)
    } else {
      value
    }
  })
  call_text <- function(fun) {
    given <- vapply(names(params), function(n) paste(n, "=", deparse1(params[[n]])), character(1L))
    sprintf("%s(%s)", fun, paste(given, collapse = ", "))
  }
  env <- new.env(parent = globalenv())
  tryCatch(sys.source(file, envir = env, chdir = TRUE), error = function(e) {
    fail(sprintf("%s does not source: %s", target, shown(e)))
  })
  if (exists(".onLoad", envir = env, inherits = FALSE)) {
    package_dir <- dirname(dirname(normalizePath(file)))
    tryCatch(get(".onLoad", envir = env)(dirname(package_dir), basename(package_dir)), error = function(e) {
      fail(sprintf("%s: .onLoad() fails: %s", target, shown(e)))
    })
  }
  # the file's own environment, or the global one (where a file's plain source() calls define things)
  home <- if (exists(name, envir = env, inherits = FALSE)) env else globalenv()
  if (!exists(name, envir = home, inherits = FALSE)) {
    fail(sprintf("%s: %s defines no '%s'", target, basename(file), name))
  }
  object <- get(name, envir = home, inherits = FALSE)
  serve_function <- function(loss, origin) {
    bridge$serve(job, reticulate::r_to_py(loss), "function", origin)
  }
  if (inherits(object, "python.builtin.object")) {
    bridge$serve(job, object, "python", "R")
  } else if (!is.function(object)) {
    fail(sprintf(
      "%s: %s is a %s, not a loss (an R function, a loss factory or a Keras Loss)",
      target, name, class(object)[[1L]]
    ))
  } else if (is_loss_function(object)) {
    loss <- object
    if (length(params)) {
      extra <- setdiff(names(params), names(formals(object)))
      if (length(extra) && !("..." %in% names(formals(object)))) {
        fail(sprintf("%s: %s has no argument %s", target, name, paste(extra, collapse = ", ")))
      }
      loss <- function(y_true, y_pred) do.call(object, c(list(y_true, y_pred), params))
    }
    serve_function(loss, if (length(params)) sprintf("R function, %s", call_text(name)) else "R function")
  } else {
    made <- tryCatch(do.call(object, params), error = function(e) {
      fail(sprintf("%s: %s fails: %s", target, call_text(name), shown(e)))
    })
    if (inherits(made, "python.builtin.object")) {
      bridge$serve(job, made, "made", sprintf("R loss factory %s", call_text(name)))
    } else if (is.function(made)) {
      serve_function(made, sprintf("R loss factory %s", call_text(name)))
    } else {
      fail(sprintf(
        "%s: %s returns a %s, not a loss function (function(y_true, y_pred))",
        target, call_text(name), class(made)[[1L]]
      ))
    }
  }
}

args <- commandArgs(trailingOnly = TRUE)
for (i in seq(1L, length(args), by = 3L)) {
  tryCatch(audit_one(args[[i]], args[[i + 1L]], args[[i + 2L]]), lossgen_reported = function(e) NULL,
           error = function(e) {
             bridge$fail(args[[i + 2L]], sprintf("target '%s:%s': %s", args[[i]], args[[i + 1L]], shown(e)))
           })
}
"""


# ------------------------------------------------------------------------ lossgen's side (parent)
def run(job, on_start: Callable | None = None, on_result: Callable | None = None, started: float = 0.0) -> Report:
    """Audit an R target in one Rscript process; its results are reported as they come."""
    (outcome,) = run_many([job], on_start=on_start, on_result=on_result)
    if isinstance(outcome, UsageError):
        raise outcome
    outcome.seconds = time.perf_counter() - started
    return outcome


def run_many(
    jobs: list, on_start: Callable | None = None, on_result: Callable | None = None
) -> list[Report | UsageError]:
    """Audit R targets in turn in one Rscript process (R, Python and TensorFlow start once): for each
    job its Report, or the UsageError that stopped it. on_start(report) and on_result(result) as
    they come."""
    from scaffold.audit.checks import Result
    from scaffold.audit.target import parse
    from scaffold.check import R_INSTALL_HINT, _stop_group, dying_with_lossgen

    refs = [parse(job.target) for job in jobs]
    for job in jobs:
        if job.backend != "tensorflow":
            raise UsageError(f"--backend {job.backend}: R targets run on TensorFlow, as lossgen's R packages do")
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise UsageError(f"target {jobs[0].target!r} is R code: Rscript not found; {R_INSTALL_HINT}")
    reports: list[Report | None] = [None] * len(jobs)
    errors: list[str] = [""] * len(jobs)
    with tempfile.TemporaryDirectory(prefix="lossgen-audit-r-") as tmp:
        script, stderr_path = Path(tmp, "audit.R"), Path(tmp, "stderr.txt")
        script.write_text(R_SCRIPT, encoding="utf-8")
        command = [rscript, str(script)]
        for i, (job, ref) in enumerate(zip(jobs, refs, strict=True)):
            job_path = Path(tmp, f"job{i}.pickle")
            job_path.write_bytes(pickle.dumps(job))
            command += [str(ref.path), ref.name, str(job_path)]
        with open(stderr_path, "w", encoding="utf-8", errors="replace") as stderr:
            process = subprocess.Popen(
                dying_with_lossgen(command),
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                env=environment(),
                start_new_session=True,
            )
            assert process.stdout is not None
            try:
                for line in process.stdout:
                    if not line.startswith(MARKER):
                        continue
                    event = json.loads(line[len(MARKER) :])
                    index = _index(event.get("job"))
                    if index is None:  # R could not start the bridge: every target fails alike
                        errors = [errors[i] or event.get("error", "") for i in range(len(jobs))]
                    elif "error" in event:
                        errors[index] = event["error"]
                    elif "start" in event:
                        reports[index] = Report(
                            jobs[index].target, jobs[index].task, jobs[index].backend, event["start"]
                        )
                        if on_start is not None:
                            on_start(reports[index])
                    elif "result" in event and reports[index] is not None:
                        result = Result(**event["result"])
                        reports[index].results.append(result)
                        reports[index].seconds += result.seconds
                        if on_result is not None:
                            on_result(result)
                status = process.wait()
            finally:
                _stop_group(process)
                process.stdout.close()
        lines = [x for x in stderr_path.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
    outcomes: list[Report | UsageError] = []
    for job, report, error in zip(jobs, reports, errors, strict=True):
        if error:
            outcomes.append(UsageError(error))
        elif report is None or len(report.results) < len(job.chosen):
            outcomes.append(
                UsageError(
                    f"target {job.target!r}: R stopped before the audit ended (status {status}): "
                    f"{lines[-1].strip() if lines else 'no output'}"
                )
            )
        else:
            outcomes.append(report)
    return outcomes


def _index(job_path: str | None) -> int | None:
    if not job_path:
        return None
    return int(Path(job_path).stem.removeprefix("job"))


def environment() -> dict[str, str]:
    """R's reticulate pointed at this Python, Keras on TensorFlow, this lossgen importable."""
    import scaffold

    root = str(Path(scaffold.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["RETICULATE_PYTHON"] = sys.executable
    env["KERAS_BACKEND"] = "tensorflow"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = os.pathsep.join([root, os.getcwd(), *filter(None, [env.get("PYTHONPATH")])])
    return env


# ------------------------------------------------------------- R's side (the Python R embeds)
def _emit(job_path: str, event: dict) -> None:
    # a line of its own even after R output that did not end its line (cat("x") in the user's file)
    os.write(1, ("\n" + MARKER + json.dumps({"job": job_path, **event}) + "\n").encode("utf-8"))


def _job(path: str):
    # the file lossgen wrote for this run, in a directory only it can write (mkdtemp)
    return pickle.loads(Path(path).read_bytes())


def r_params(job_path: str) -> dict[str, Any]:
    """The --param values, for R to call a factory with. Whole numbers become R doubles, as `2` is
    in R code (`2L` is an integer): `--param delta=2` calls `huber_loss(delta = 2)`."""

    def as_r(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, (list, tuple)):
            return [as_r(v) for v in value]
        return value

    return {name: as_r(value) for name, value in _job(job_path).params.items()}


def fail(job_path: str, message: str) -> None:
    _emit(job_path, {"error": message})


def serve(job_path: str, obj: Any, kind: str, origin: str) -> None:
    """Run the audit on what R made of the target. kind: "function" (an R loss, parameters bound),
    "made" (a Python object an R factory returned, parameters used), "python" (a Python object R
    defined: classified as a Python target, built with the parameters)."""
    from scaffold.audit.runner import run_subject
    from scaffold.audit.target import Subject, classify, last_line, parse
    from scaffold.check import native_stderr_silenced

    job = _job(job_path)
    try:
        with native_stderr_silenced():
            import keras  # noqa: F401
        ref = parse(job.target)
        if kind == "function":
            subject = Subject(ref, "function", obj, {}, r_origin=origin)
        else:
            subject = classify(ref, obj, job.params if kind == "python" else {}, r_origin=origin)
        run_subject(
            subject,
            job,
            on_start=lambda report: _emit(job_path, {"start": report.subject}),
            on_result=lambda r: _emit(
                job_path, {"result": {"id": r.id, "status": r.status, "detail": r.detail, "seconds": r.seconds}}
            ),
        )
    except UsageError as exc:
        fail(job_path, str(exc))
    except Exception as exc:  # reported as bad usage, one line (the parent exits 2)
        fail(job_path, f"target {job.target!r}: {last_line(exc)}")
