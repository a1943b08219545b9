"""The audit's checks: each takes the Context of one run and returns a Result (pass, fail or skip,
with the reason in numbers).

Each check is the runtime form of a test lossgen writes into every generated project
(templates/python/loss/.../tests/): per_sample <- test_one_value_per_sample, sample_weight <-
test_per_sample_weights_weight_each_sample and test_zero_sample_weight_gives_zero, label_rank <-
test_targets_without_trailing_axis_are_aligned, gradient <- test_autodiff_matches_central_differences,
float16/bfloat16 <- test_function_is_finite, mixed_precision <- test_trains_on_float16_outputs,
config <- test_config_round_trip, save_reload <- test_model_saves_and_reloads_without_custom_objects.
The autodiff they use is the generated projects' own tests/backend.py, loaded from lossgen's
template (see Context.backend), so the two compute gradients the same way on every backend.

Keras is imported by the runner before any check runs; the checks import it at call time.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from scaffold import domains
from scaffold.audit.target import Subject, last_line
from scaffold.targets.python import HEADS  # the toy model's head, as generated train.py has it

BATCH = 8
SEED = 20240229


@dataclass
class Result:
    id: str
    status: str  # "pass", "fail" or "skip"
    detail: str
    seconds: float = 0.0


@dataclass
class Context:
    subject: Subject
    task: str
    backend_name: str
    backend: ModuleType  # the generated projects' tests/backend.py
    batch_coupled: bool = False
    against: Any = None  # scaffold.audit.reference.Against or None
    from_logits: bool = False
    results: dict[str, Result] = field(default_factory=dict)

    # ------------------------------------------------------------------ inputs of the task's domain
    @property
    def domain(self):
        return _Domain(self.task)

    @property
    def domain_params(self) -> dict:
        # what domains reads of a loss's parameters (an empty _Domain declares none: only from_logits)
        return {"from_logits": True} if self.from_logits else {}

    def sample(self, seed: int = SEED, batch: int = BATCH) -> domains.Case:
        return domains.sample(self.domain, self.domain_params, np.random.default_rng(seed), batch=batch)

    def extremes(self) -> list[domains.Case]:
        return domains.extremes(self.domain, self.domain_params)

    @property
    def couples_batch(self) -> bool:
        """The loss compares the samples of a batch: by its task (embedding) or as the user declared."""
        return self.task == "embedding" or self.batch_coupled

    @property
    def head(self) -> str:
        return "linear" if self.from_logits else HEADS[self.task]

    def passed(self, check_id: str) -> bool:
        result = self.results.get(check_id)
        return result is not None and result.status == "pass"


@dataclass(frozen=True)
class _Domain:
    """What scaffold.domains reads from a LossSpec: the task (no parameters, no formula)."""

    task: str
    params: dict = field(default_factory=dict)
    formula: Any = None


def passed(check_id: str, detail: str) -> Result:
    return Result(check_id, "pass", detail)


def failed(check_id: str, detail: str) -> Result:
    return Result(check_id, "fail", detail)


def skipped(check_id: str, detail: str) -> Result:
    return Result(check_id, "skip", detail)


# ------------------------------------------------------------------------------------------ helpers
def fmt(x: float) -> str:
    return f"{x:.6g}"


def shape_of(values) -> tuple[int, ...]:
    return tuple(int(d) for d in values.shape)


def f64(ctx: Context, values) -> np.ndarray:
    try:
        return ctx.backend.as_float64(values)
    except (ValueError, TypeError):  # a 0-d bfloat16 TF tensor has no NumPy form; float32 holds it exactly
        from keras import ops

        return ctx.backend.as_float64(ops.cast(values, "float32"))


def _tensor(x, dtype):
    from keras import ops

    return ops.convert_to_tensor(np.asarray(x), dtype=dtype)


def per_sample_values(ctx: Context, y_true, y_pred) -> np.ndarray:
    """The loss per sample as Keras computes it (reduction None)."""
    return f64(ctx, ctx.subject.loss_object(None)(y_true, y_pred))


def one_by_one(ctx: Context, y_true, y_pred) -> np.ndarray:
    """Each sample's loss from a batch of one: what a per-sample loss is, whatever the loss returns."""
    loss = ctx.subject.loss_object("sum_over_batch_size")
    return np.array([float(f64(ctx, loss(y_true[i : i + 1], y_pred[i : i + 1]))) for i in range(len(y_pred))])


def worst(a: np.ndarray, b: np.ndarray) -> tuple[tuple[int, ...], float]:
    """Index and size of the largest difference between two arrays of one shape."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return tuple(int(i) for i in index), float(diff[index]) if diff.size else 0.0


def close(a, b, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


# ------------------------------------------------------------------------------------------- checks
def check_per_sample(ctx: Context) -> Result:
    case = ctx.sample()
    values = ctx.subject.loss_object(None)(case.y_true, case.y_pred)
    got = shape_of(values)
    batch = len(case.y_pred)
    if got != (batch,):
        hint = (
            " (it reduces over the batch: reduce over the last axis only, e.g. mean(..., axis=-1))" if got == () else ""
        )
        return failed("per_sample", f"returns shape {got} for a batch of {batch}; expected ({batch},){hint}")
    array = f64(ctx, values)
    if not np.all(np.isfinite(array)):
        return failed(
            "per_sample",
            f"{int(np.sum(~np.isfinite(array)))} of {batch} values are not finite on moderate inputs: {array.tolist()}",
        )
    return passed("per_sample", f"shape ({batch},) for a batch of {batch}")


def check_sample_weight(ctx: Context) -> Result:
    case = ctx.sample()
    batch = len(case.y_pred)
    per = per_sample_values(ctx, case.y_true, case.y_pred)
    source = "reduction=None"
    if per.shape != (batch,):
        per, source = one_by_one(ctx, case.y_true, case.y_pred), "batches of one"
    weights = np.linspace(0.0, 2.0, batch)
    loss = ctx.subject.loss_object("sum_over_batch_size")
    got = float(f64(ctx, loss(case.y_true, case.y_pred, sample_weight=weights)))
    expected = float(np.sum(weights * per) / batch)
    if not close(got, expected, 1e-4, 1e-6):
        return failed(
            "sample_weight",
            f"with weights 0..2 the loss is {fmt(got)}; expected {fmt(expected)} "
            f"(sum of weight x per-sample loss / {batch}, per-sample losses from {source})",
        )
    if ctx.couples_batch:  # the sample is still the others' positive or negative
        return passed(
            "sample_weight",
            f"weights 0..2 give {fmt(got)} = sum(weight x loss)/{batch} (a zero-weight sample still shapes "
            "the others' losses in a batch-coupled loss, so its gradient is not checked)",
        )
    # a zero-weight sample contributes no gradient
    y_true = _tensor(case.y_true, "float32")
    _, gradient = ctx.backend.values_and_gradient(
        lambda y_pred: loss(y_true, y_pred, sample_weight=weights), case.y_pred.astype("float32")
    )
    row = f64(ctx, gradient)[0]
    if not np.all(row == 0.0):
        return failed(
            "sample_weight",
            f"sample 0 has weight 0 but its gradient is {fmt(float(np.max(np.abs(row))))} "
            "(the weights do not reach each sample's loss)",
        )
    return passed(
        "sample_weight", f"weights 0..2 give {fmt(got)} = sum(weight x loss)/{batch}; zero weight, zero gradient"
    )


def check_label_rank(ctx: Context) -> Result:
    if ctx.task in ("categorical", "multi_output", "boxes", "segmentation"):
        return skipped("label_rank", f"labels have the prediction's shape for task {ctx.task}")
    case = ctx.sample()
    batch = len(case.y_pred)
    # sparse labels and a Gaussian's one target meet the whole prediction; others one column of it
    y_pred = case.y_pred if ctx.task in ("sparse_categorical", "gaussian", "embedding") else case.y_pred[:, :1]
    column = case.y_true.reshape(batch, -1)[:, :1]  # sparse labels come as (batch,)
    flat = column[:, 0]
    loss = ctx.subject.loss_object(None)
    reference = f64(ctx, loss(column, y_pred))
    try:
        values = loss(flat, y_pred)
    except Exception as exc:
        return failed("label_rank", f"y_true of shape ({batch},) with y_pred {y_pred.shape} raises: {last_line(exc)}")
    got = f64(ctx, values)
    if got.shape != reference.shape:
        return failed(
            "label_rank",
            f"y_true of shape ({batch},) with y_pred {y_pred.shape} gives shape {got.shape}; "
            f"({batch}, 1) labels give {reference.shape}: align y_true's rank to y_pred's",
        )
    if got.ndim == 0 and not close(got, reference, 1e-5, 1e-7):
        return failed(
            "label_rank",
            f"y_true of shape ({batch},) gives {fmt(float(got))}, ({batch}, 1) gives "
            f"{fmt(float(reference))} with y_pred {y_pred.shape}: y_true broadcasts to "
            f"({batch}, {batch}) inside the loss; align y_true's rank to y_pred's",
        )
    if not close(got, reference, 1e-5, 1e-7):
        index, size = worst(got, reference)
        return failed(
            "label_rank",
            f"y_true of shape ({batch},) and ({batch}, 1) give different values (by {fmt(size)} "
            f"at sample {index[0] if index else 0}) with y_pred {y_pred.shape}: y_true "
            f"broadcasts to ({batch}, {batch}) inside the loss; align y_true's rank to y_pred's",
        )
    return passed("label_rank", f"({batch},) and ({batch}, 1) labels give the same {reference.shape} values")


def check_batch_independent(ctx: Context) -> Result:
    if ctx.task == "metric":
        return skipped("batch_independent", "pairs of a metric loss may use the whole batch (--task metric)")
    if ctx.task == "embedding":
        return skipped("batch_independent", "an embedding loss compares the samples of a batch (--task embedding)")
    if ctx.batch_coupled:
        return skipped("batch_independent", "--batch-coupled: the loss is declared to use the whole batch")
    case, other = ctx.sample(), ctx.sample(seed=SEED + 1)
    batch = len(case.y_pred)
    half = batch // 2
    first = per_sample_values(ctx, case.y_true, case.y_pred)
    if first.shape != (batch,):
        return skipped("batch_independent", f"needs one value per sample (shape {first.shape}; see per_sample)")
    y_true = np.concatenate([case.y_true[:half], other.y_true[half:]])
    y_pred = np.concatenate([case.y_pred[:half], other.y_pred[half:]])
    second = per_sample_values(ctx, y_true, y_pred)
    if not close(second[:half], first[:half], 1e-5, 1e-7):
        index, _ = worst(second[:half], first[:half])
        i = index[0]
        return failed(
            "batch_independent",
            f"sample {i}'s loss changes from {fmt(first[i])} to {fmt(second[i])} "
            f"when samples {half}..{batch - 1} change (pass --batch-coupled if meant)",
        )
    return passed(
        "batch_independent", f"samples 0..{half - 1} keep their values when samples {half}..{batch - 1} change"
    )


def check_gradient(ctx: Context) -> Result:
    case = ctx.sample()
    y_true = _tensor(case.y_true, "float64")
    y_pred = case.y_pred.astype("float64")
    try:
        values, autodiff = ctx.backend.values_and_gradient(lambda p: ctx.subject.raw(y_true, p), y_pred)
    except Exception as exc:
        return failed("gradient", f"fails on float64 inputs: {last_line(exc)}")
    import keras

    dtype = keras.backend.standardize_dtype(values.dtype)
    exact = bool(ctx.backend.FLOAT64_IS_EXACT) and dtype == "float64"
    # float32 precision (a loss that casts, or JAX/torch computing some float64 ops in float32, see
    # tests/backend.py): larger steps and tolerances
    step, rtol, atol = (1e-6, 1e-5, 1e-6) if exact else (1e-3, 1e-2, 1e-3)
    autodiff = f64(ctx, autodiff)
    if autodiff.shape != y_pred.shape:
        return failed("gradient", f"autodiff gives shape {autodiff.shape} for y_pred {y_pred.shape}")
    if not np.all(np.isfinite(autodiff)):
        return failed(
            "gradient",
            f"{int(np.sum(~np.isfinite(autodiff)))} autodiff gradient entries are not finite on moderate inputs",
        )

    def total(p):
        return float(np.sum(f64(ctx, ctx.subject.raw(y_true, _tensor(p, "float64")))))

    numeric = np.zeros_like(y_pred)
    for index in np.ndindex(y_pred.shape):
        shift = np.zeros_like(y_pred)
        shift[index] = step
        numeric[index] = (total(y_pred + shift) - total(y_pred - shift)) / (2 * step)
    precision = (
        ""
        if exact
        else (
            f" (float32 precision: the loss returns {dtype} for float64 inputs)"
            if dtype != "float64"
            else f" (float32 precision on {ctx.backend_name})"
        )
    )
    if not close(autodiff, numeric, rtol, atol):
        index, size = worst(autodiff, numeric)
        return failed(
            "gradient",
            f"autodiff and central differences differ by {fmt(size)} at y_pred{list(index)}: "
            f"{fmt(autodiff[index])} vs {fmt(numeric[index])}{precision}",
        )
    return passed(
        "gradient",
        f"{autodiff.size} partial derivatives match central differences (rtol {rtol:g}, step {step:g}){precision}",
    )


def _half_precision(ctx: Context, check_id: str) -> Result:
    dtype = check_id
    cases = [*ctx.extremes(), ctx.sample()]
    for case in cases:
        y_true = _tensor(case.y_true, dtype)
        try:
            values, gradient = ctx.backend.values_and_gradient(
                lambda p, y_true=y_true: ctx.subject.raw(y_true, p), _tensor(case.y_pred, dtype)
            )
        except Exception as exc:
            return failed(check_id, f"{case.name} inputs in {dtype} raise: {last_line(exc)}")
        values, gradient = f64(ctx, values), f64(ctx, gradient)
        where = f"at {case.name} inputs (|y_pred| up to {fmt(float(np.max(np.abs(case.y_pred))))})"
        bad = ~np.isfinite(values)
        if np.any(bad):
            shown = sorted({str(v) for v in values[bad].ravel().tolist()})
            return failed(
                check_id,
                f"{int(np.sum(bad))} of {values.size} values are {'/'.join(shown)} when called on "
                f"{dtype} tensors {where}: compute in float32 (cast the inputs) or use a stable "
                "form (softplus, log_sigmoid)",
            )
        # float16 cannot hold numbers above 65504: a large true gradient may overflow to inf, NaN never
        bad = np.isnan(gradient) if dtype == "float16" else ~np.isfinite(gradient)
        if np.any(bad):
            return failed(
                check_id,
                f"{int(np.sum(bad))} of {gradient.size} gradient entries are "
                f"{'NaN' if dtype == 'float16' else 'not finite'} in {dtype} {where}",
            )
    names = ", ".join(case.name for case in cases)
    return passed(check_id, f"finite values and gradients in {dtype} at {names}")


def check_float16(ctx: Context) -> Result:
    return _half_precision(ctx, "float16")


def check_bfloat16(ctx: Context) -> Result:
    return _half_precision(ctx, "bfloat16")


def head_layers(keras, shape: tuple[int, ...], activation: str, dtype: str | None = None) -> list:
    """Output layers giving predictions of `shape` (one sample's): a Dense layer, reshaped when the
    task predicts more than one axis (a segmentation mask's pixels and classes)."""
    dtype_kw = {"dtype": dtype} if dtype else {}
    if len(shape) == 1:
        return [keras.layers.Dense(shape[0], activation=activation, **dtype_kw)]
    return [
        keras.layers.Dense(int(np.prod(shape)), **dtype_kw),
        keras.layers.Reshape(shape),
        keras.layers.Activation(activation, **dtype_kw),
    ]


def _model(ctx: Context, shape: tuple[int, ...], dtype: str | None = None, seed: int = 1):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), *head_layers(keras, shape, ctx.head, dtype)])


def _training_data(ctx: Context, seed: int = 2):
    case = ctx.sample(seed=seed, batch=16)
    inputs = np.random.default_rng(seed).normal(size=(len(case.y_pred), 4)).astype("float32")
    return inputs, case


def check_mixed_precision(ctx: Context) -> Result:
    inputs, case = _training_data(ctx)
    model = _model(ctx, case.y_pred.shape[1:], dtype="mixed_float16")
    model.compile(optimizer="adam", loss=ctx.subject.for_compile())
    history = model.fit(inputs, case.y_true, epochs=3, batch_size=8, verbose=0).history["loss"]
    if not np.all(np.isfinite(history)):
        return failed("mixed_precision", f"training on float16 model outputs gives losses {history}")
    return passed("mixed_precision", f"3 epochs on float16 outputs, losses {', '.join(fmt(v) for v in history)}")


def check_config(ctx: Context) -> Result:
    from scaffold.audit import config as config_check

    return config_check.run(ctx)


def check_save_reload(ctx: Context) -> Result:
    inputs, case = _training_data(ctx)
    model = _model(ctx, case.y_pred.shape[1:])
    model.compile(optimizer="sgd", loss=ctx.subject.for_compile())
    model.fit(inputs, case.y_true, epochs=1, batch_size=8, verbose=0)
    expected = float(model.evaluate(inputs, case.y_true, verbose=0, batch_size=len(inputs)))
    with tempfile.TemporaryDirectory(prefix="lossgen-audit-") as tmp:
        path = Path(tmp) / "model.keras"
        data = Path(tmp) / "data.npz"
        try:
            model.save(path)
        except Exception as exc:
            return failed("save_reload", f"model.save() fails: {last_line(exc)}")
        np.savez(data, inputs=inputs, y_true=case.y_true)
        answer = child(ctx, ["reload", str(path), str(data)])
    if "error" in answer:
        hint = ""
        if "locate" in answer["error"] and "register_keras_serializable" not in answer["error"]:
            hint = " (decorate the loss with @keras.saving.register_keras_serializable())"
        return failed("save_reload", f"a fresh process cannot load the saved model: {answer['error']}{hint}")
    got = float(answer["loss"])
    if not close(got, expected, 1e-5, 1e-7):
        return failed(
            "save_reload",
            f"the reloaded model's loss is {fmt(got)}; before saving it was {fmt(expected)} "
            f"(the reloaded loss is {answer.get('loss_repr', '?')})",
        )
    return passed("save_reload", f"reloaded in a fresh process, same loss {fmt(got)}")


def check_jit(ctx: Context) -> Result:
    import keras

    if ctx.backend_name == "torch":
        return skipped("jit", "jit_compile on torch means torch.compile (dynamo), which this audit does not run")
    inputs, case = _training_data(ctx)
    weights = []
    for jit in (False, True):
        model = _model(ctx, case.y_pred.shape[1:], seed=3)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1), loss=ctx.subject.for_compile(), jit_compile=jit, run_eagerly=not jit
        )
        model.fit(inputs, case.y_true, epochs=1, batch_size=8, verbose=0, shuffle=False)
        weights.append(np.concatenate([np.ravel(w) for w in model.get_weights()]))
    if not close(weights[1], weights[0], 1e-4, 1e-6):
        size = worst(weights[1], weights[0])[1]
        return failed("jit", f"after 2 SGD steps the jit_compile=True weights differ from eager ones by {fmt(size)}")
    return passed("jit", f"2 SGD steps: jit_compile=True and eager weights agree ({weights[0].size} weights)")


def check_reference(ctx: Context) -> Result:
    if ctx.against is None:
        return skipped("reference", "no --against given")
    return ctx.against.check(ctx)


def check_backends(ctx: Context) -> Result:
    import importlib.util

    others = [b for b in ("tensorflow", "jax", "torch") if b != ctx.backend_name]
    installed = [b for b in others if importlib.util.find_spec(b) is not None]
    if not installed:
        return skipped("backends", f"no other Keras backend installed ({', '.join(others)})")
    case = ctx.sample()
    mine = f64(ctx, ctx.subject.loss_object(None)(case.y_true, case.y_pred))
    compared = []
    with tempfile.TemporaryDirectory(prefix="lossgen-audit-") as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, y_true=case.y_true, y_pred=case.y_pred)
        for backend in installed:
            answer = child(ctx, ["values", str(data)], backend=backend)
            if "error" in answer:
                return failed("backends", f"on {backend}: {answer['error']}")
            theirs = np.asarray(answer["values"], dtype=np.float64)
            if not close(theirs, mine, 1e-4, 1e-6):
                size = worst(theirs, mine)[1] if theirs.shape == mine.shape else math.inf
                return failed(
                    "backends",
                    f"{backend} gives {theirs.shape} values differing from {ctx.backend_name}'s by {fmt(size)}",
                )
            compared.append(backend)
    missing = [b for b in others if b not in installed]
    note = f" ({', '.join(missing)} not installed)" if missing else ""
    return passed("backends", f"{ctx.backend_name} and {', '.join(compared)} agree within rtol 1e-4{note}")


def check_distributed(ctx: Context) -> Result:
    if ctx.backend_name != "tensorflow":
        return skipped("distributed", f"MirroredStrategy is TensorFlow's; not checked on {ctx.backend_name}")
    if ctx.couples_batch:
        return skipped(
            "distributed",
            "a batch-coupled loss sees only its replica's part of the batch under a strategy (mining is per "
            "replica), so its weights differ from one device's by design",
        )
    answer = child(ctx, ["distributed"], backend="tensorflow", timeout=300)
    if "error" in answer:
        return failed("distributed", answer["error"])
    size = float(answer["difference"])
    if size > 1e-5:
        return failed(
            "distributed",
            f"after 3 SGD steps on 2 replicas the weights differ from one device's by "
            f"{fmt(size)} (a loss that reduces over the batch is scaled wrong under a strategy)",
        )
    return passed("distributed", f"3 SGD steps on 2 replicas match one device (max difference {fmt(size)})")


CHECKS: dict[str, Callable[[Context], Result]] = {
    "per_sample": check_per_sample,
    "sample_weight": check_sample_weight,
    "label_rank": check_label_rank,
    "batch_independent": check_batch_independent,
    "gradient": check_gradient,
    "float16": check_float16,
    "bfloat16": check_bfloat16,
    "mixed_precision": check_mixed_precision,
    "config": check_config,
    "save_reload": check_save_reload,
    "jit": check_jit,
    "reference": check_reference,
    "backends": check_backends,
    "distributed": check_distributed,
}


# ----------------------------------------------------------------------------- the fresh process
def child(ctx: Context, args: list[str], backend: str | None = None, timeout: float = 180) -> dict:
    """Run scaffold.audit.child in a fresh interpreter (same target, task and params); its JSON answer."""
    import scaffold

    root = str(Path(scaffold.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend or ctx.backend_name
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = os.pathsep.join([root, os.getcwd(), *filter(None, [env.get("PYTHONPATH")])])
    spec = {
        "target": ctx.subject.ref.text,
        "task": ctx.task,
        "params": ctx.subject.params,
        "from_logits": ctx.from_logits,
    }
    command = [sys.executable, "-m", "scaffold.audit.child", json.dumps(spec), *args]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the fresh process took more than {timeout:g} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"error": f"the fresh process ended with status {done.returncode}: {lines[-1] if lines else 'no output'}"}
