"""`lossgen validate`: check spec files the way lossgen's own tests check the built-ins.

Quick checks (no TensorFlow): schema, formula, built-in name clashes, examples and finiteness on
the task's extreme inputs with the NumPy evaluator. Full checks add, under Keras: the emitted
Python code on the examples, one value per sample, agreement with the named Keras reference on
random inputs of the task's domain, and finite values and gradients on the extreme inputs.
Every problem is one `file:line: message` line.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scaffold import domains
from scaffold.catalog import file_finder, spec_files
from scaffold.check import native_stderr_silenced
from scaffold.composite import compose
from scaffold.emit import numpy as numpy_emit
from scaffold.errors import SpecError, UsageError
from scaffold.paths import builtin_losses_dir
from scaffold.spec import Example, LossSpec, load_spec

RTOL, ATOL = 1e-6, 1e-9  # as the generated tests compare the examples (docs/spec-format.md)
TOLERANCE = "1e-6 or absolute 1e-9"


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def collect(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += spec_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    if not files:
        raise UsageError(f"no spec files (*.toml) found in {', '.join(paths)}")
    return files


def validate_file(path: Path, quick: bool) -> tuple[LossSpec | None, list[Problem]]:
    """Every problem of one spec; nothing a spec does stops the checks of the next one."""
    try:
        spec = load_spec(path, origin="validate")
        if spec.terms:
            spec = compose(spec, file_finder(path.parent))
    except SpecError as exc:
        return None, [Problem(exc.where, exc.message)]
    except Exception as exc:  # a bug in lossgen, shown as this spec's problem
        return None, [_internal(str(path), exc)]
    problems = _gather(quick_checks(spec), spec)
    if not quick and not problems:
        with native_stderr_silenced():  # TensorFlow's C++ start-up lines; problems are reported as lines
            problems += _gather(keras_checks(spec), spec)
    unique = list(dict.fromkeys(problems))  # one formula error met by every example is one problem
    return spec, unique


def _internal(where: str, exc: BaseException) -> Problem:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return Problem(where, f"internal error in lossgen on this spec ({type(exc).__name__}: {text}); please report it")


def _gather(checks: Iterator[Problem], spec: LossSpec) -> list[Problem]:
    problems: list[Problem] = []
    try:
        problems.extend(checks)  # one by one: the problems found before an exception are kept
    except SpecError as exc:
        problems.append(Problem(exc.where, exc.message))
    except Exception as exc:
        problems.append(_internal(str(spec.path), exc))
    return problems


def _example_where(spec: LossSpec, example: Example) -> str:
    return f"{spec.path}:{example.line}" if example.line else str(spec.path)


def _mismatch(expected: np.ndarray, got: np.ndarray) -> str | None:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        return f"got shape {got.shape}, expected {expected.shape} (one value per sample)"
    if not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        computed = [float(f"{v:.12g}") for v in got.ravel()]
        return (
            f"expected {expected.tolist()}, got {computed} (an example must hold to a relative "
            f"{TOLERANCE}: write its values with at least 7 significant digits)"
        )
    return None


def quick_checks(spec: LossSpec) -> Iterator[Problem]:
    builtin = builtin_losses_dir() / f"{spec.name}.toml"
    if builtin.is_file() and builtin.resolve() != spec.path.resolve() and not spec.overrides:
        yield Problem(spec.where("name"), f"'{spec.name}' is a built-in kind; rename it or set `overrides = true`")
    if spec.formula is None:
        return  # hand-written code: only the Keras run can check its examples
    located: set[str] = set()  # formula positions already reported: one line per cause
    for example in spec.examples:
        where = _example_where(spec, example)
        try:
            got = numpy_emit.evaluate(spec, example.y_true, example.y_pred, example.params)
        except SpecError as exc:
            located.add(exc.where)
            yield Problem(exc.where if exc.line else where, exc.message)
            continue
        except ValueError as exc:
            yield Problem(where, str(exc))
            continue
        problem = _mismatch(np.asarray(example.loss), got)
        if problem:
            yield Problem(where, f"example does not hold (NumPy): {problem}")
    values = spec.bind(check_formula=False)
    try:
        spec.check_values(values)
    except SpecError as exc:
        if exc.where not in located:
            yield Problem(exc.where, exc.message)
        return
    for case in domains.extremes(spec, values):
        try:
            got = numpy_emit.evaluate(spec, case.y_true, case.y_pred, values)
        except SpecError as exc:
            if exc.where not in located:
                located.add(exc.where)
                yield Problem(exc.where, f"{exc.message} (extreme input '{case.name}')")
            continue
        if not np.all(np.isfinite(got)):
            yield Problem(
                spec.where("formula"),
                f"unstable: non-finite loss {got.tolist()} on extreme input "
                f"'{case.name}' (y_pred={case.y_pred.tolist()})",
            )


def load_python_loss(spec: LossSpec, directory: Path):
    """Import the loss module `lossgen new` would write, from a temporary package beside the
    package's `_exact_ops` module it imports."""
    from scaffold.names import LossNames
    from scaffold.render import preview
    from scaffold.targets.python import exact_ops_source

    names = LossNames.derive(spec.name)
    package_name = f"lossgen_validate_{spec.name}"
    package = directory / package_name
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "_exact_ops.py").write_bytes(exact_ops_source())
    (package / "loss.py").write_text(preview(spec, spec.bind(), "python"), encoding="utf-8")
    module_names = (package_name, f"{package_name}._exact_ops", f"{package_name}.loss")
    sys.path.insert(0, str(directory))
    try:  # keras' serialization registry wants real modules
        module = importlib.import_module(f"{package_name}.loss")
    finally:
        sys.path.remove(str(directory))
        for name in module_names:
            sys.modules.pop(name, None)
    return getattr(module, names.function_name)


def keras_checks(spec: LossSpec) -> Iterator[Problem]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no C++ start-up chatter
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        try:
            loss_fn = load_python_loss(spec, Path(tmp))
        except Exception as exc:
            yield Problem(spec.where("code" if spec.code else "formula"), f"generated Python does not load: {exc}")
            return
    values = spec.bind()

    def run(y_true: Any, y_pred: Any, params: dict[str, Any]) -> np.ndarray:
        return np.asarray(loss_fn(np.asarray(y_true, "float64"), np.asarray(y_pred, "float64"), **params))

    for example in spec.examples:
        try:
            got = run(example.y_true, example.y_pred, spec.bind(example.params))
        except Exception as exc:
            yield Problem(_example_where(spec, example), f"Keras code fails on the example: {exc}")
            continue
        problem = _mismatch(np.asarray(example.loss), got)
        if problem:
            yield Problem(_example_where(spec, example), f"example does not hold (Keras): {problem}")

    rng = np.random.default_rng(0)
    samples = [domains.sample(spec, values, rng) for _ in range(3)]
    outputs = [run(sample.y_true, sample.y_pred, values) for sample in samples]
    for sample, got in zip(samples, outputs):
        if got.shape != (len(sample.y_pred),):
            yield Problem(
                spec.where("formula"),
                f"loss has shape {got.shape}; it must be one value per sample "
                f"({len(sample.y_pred)},): reduce the last axis, not the batch",
            )
            return
        if spec.formula is not None:
            reference = numpy_emit.evaluate(spec, sample.y_true, sample.y_pred, values)
            if not np.allclose(got, reference, rtol=RTOL, atol=ATOL):
                yield Problem(spec.where("formula"), "Keras code and NumPy reference disagree on random inputs")
                break

    if spec.reference and spec.reference.applies(values):
        builtin = getattr(keras.losses, spec.reference.cls, None)
        if not (isinstance(builtin, type) and issubclass(builtin, keras.losses.Loss)):
            yield Problem(spec.where("reference"), f"keras.losses has no loss class {spec.reference.cls}")
        else:
            try:
                reference_loss = builtin(**spec.reference.bind(values), reduction=None, dtype="float64")
                for sample, got in zip(samples, outputs):
                    expected = np.asarray(reference_loss(sample.y_true, sample.y_pred))
                    if not np.allclose(got, expected, rtol=RTOL, atol=1e-7):
                        worst = float(np.max(np.abs(got - expected)))
                        yield Problem(
                            spec.where("reference"),
                            f"disagrees with {spec.reference.text} on random "
                            f"{spec.task} inputs (max abs difference {worst:.3g})",
                        )
                        break
            except Exception as exc:
                yield Problem(spec.where("reference"), f"{spec.reference.text} cannot be evaluated: {exc}")

    for case in domains.extremes(spec, values):
        y_true = tf.constant(case.y_true, dtype="float32")
        y_pred = tf.Variable(tf.constant(case.y_pred, dtype="float32"))
        with tf.GradientTape() as tape:
            loss = loss_fn(y_true, y_pred, **values)
        gradient = tape.gradient(loss, y_pred)
        if not np.all(np.isfinite(loss.numpy())):
            yield Problem(spec.where("formula"), f"unstable: non-finite loss on extreme input '{case.name}' (float32)")
        elif gradient is None or not np.all(np.isfinite(gradient.numpy())):
            yield Problem(
                spec.where("formula"),
                f"unstable: non-finite gradient on extreme input '{case.name}' "
                "(float32); check where() branches, sqrt at 0 and unclipped logs",
            )
