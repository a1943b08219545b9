"""The audit's checks: each takes the Context of one run and returns a Result (pass, fail or skip,
with the reason in numbers).

The checks a generated project's tests also make (per_sample, sample_weight, label_rank,
batch_independent, gradient, float16, bfloat16, mixed_precision, config, save_reload) are one
implementation: the generated projects' tests/battery.py, which the audit loads from lossgen's
template (Context.battery) and the generated tests import from their copy of it. Here they only get
the task's inputs and the subject's forms. jit, reference, backends and distributed are the audit's
own: a generated project's CI runs every backend instead.

Keras is imported by the runner before any check runs; the checks import it at call time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from scaffold import domains
from scaffold.audit.target import Subject
from scaffold.targets.python import HEADS  # the toy model's head, as generated train.py has it
from scaffold.tasks import LABELS_SHAPED_AS_PREDICTIONS

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
    backend: ModuleType  # the generated projects' tests/backend.py (autodiff, FLOAT64_IS_EXACT)
    battery: ModuleType  # the generated projects' tests/battery.py (the shared checks)
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
def _tensor(x, dtype):
    from keras import ops

    return ops.convert_to_tensor(np.asarray(x), dtype=dtype)


def per_sample_values(ctx: Context, y_true, y_pred) -> np.ndarray:
    """The loss per sample as Keras computes it (reduction None)."""
    return ctx.battery.as_float64(ctx.subject.loss_object(None)(y_true, y_pred))


def one_by_one(ctx: Context, y_true, y_pred) -> np.ndarray:
    """Each sample's loss from a batch of one: what a per-sample loss is, whatever the loss returns."""
    loss = ctx.subject.loss_object("sum_over_batch_size")
    as_float64 = ctx.battery.as_float64
    return np.array([float(as_float64(loss(y_true[i : i + 1], y_pred[i : i + 1]))) for i in range(len(y_pred))])


# ------------------------------------------------------------------------------------------- checks
def from_finding(check_id: str, finding) -> Result:
    """A battery Finding as this check's Result."""
    return Result(check_id, finding.status, finding.detail)


def check_per_sample(ctx: Context) -> Result:
    case = ctx.sample()
    values = ctx.subject.loss_object(None)(case.y_true, case.y_pred)
    return from_finding("per_sample", ctx.battery.per_sample(values, len(case.y_pred)))


def check_sample_weight(ctx: Context) -> Result:
    case = ctx.sample()
    per = per_sample_values(ctx, case.y_true, case.y_pred)
    source = "reduction=None"
    if per.shape != (len(case.y_pred),):
        per, source = one_by_one(ctx, case.y_true, case.y_pred), "batches of one"
    finding = ctx.battery.sample_weight(
        ctx.subject.loss_object("sum_over_batch_size"),
        case.y_true,
        case.y_pred,
        per,
        source=source,
        zero_gradient=not ctx.couples_batch,  # in a batch-coupled loss the sample is still the others' pair
    )
    return from_finding("sample_weight", finding)


def check_label_rank(ctx: Context) -> Result:
    if ctx.task in LABELS_SHAPED_AS_PREDICTIONS:
        return skipped("label_rank", f"labels have the prediction's shape for task {ctx.task}")
    case = ctx.sample()
    column, y_pred = ctx.battery.label_rank_inputs(ctx.task, case.y_true, case.y_pred)
    return from_finding("label_rank", ctx.battery.label_rank(ctx.subject.loss_object(None), column, y_pred))


def check_batch_independent(ctx: Context) -> Result:
    if ctx.task == "metric":
        return skipped("batch_independent", "pairs of a metric loss may use the whole batch (--task metric)")
    if ctx.task == "embedding":
        return skipped("batch_independent", "an embedding loss compares the samples of a batch (--task embedding)")
    if ctx.batch_coupled:
        return skipped("batch_independent", "--batch-coupled: the loss is declared to use the whole batch")
    case, other = ctx.sample(), ctx.sample(seed=SEED + 1)
    finding = ctx.battery.batch_independent(
        ctx.subject.loss_object(None), case.y_true, case.y_pred, other.y_true, other.y_pred
    )
    return from_finding("batch_independent", finding)


def check_gradient(ctx: Context) -> Result:
    import keras

    case = ctx.sample()
    y_true = _tensor(case.y_true, "float64")
    try:
        dtype = keras.backend.standardize_dtype(ctx.subject.raw(y_true, _tensor(case.y_pred, "float64")).dtype)
    except Exception:  # the battery's gradient check calls it again and says how it fails
        dtype = "float64"
    exact = bool(ctx.backend.FLOAT64_IS_EXACT) and dtype == "float64"
    # float32 precision (a loss that casts, or JAX/torch computing some float64 ops in float32, see
    # tests/backend.py): larger steps and tolerances
    if exact:
        step, rtol, atol, note = 1e-6, 1e-5, 1e-6, ""
    elif dtype != "float64":
        step, rtol, atol, note = 1e-3, 1e-2, 1e-3, f" (float32 precision: the loss returns {dtype} for float64 inputs)"
    else:
        step, rtol, atol, note = 1e-3, 1e-2, 1e-3, f" (float32 precision on {ctx.backend_name})"
    finding = ctx.battery.gradient(
        lambda p: ctx.subject.raw(y_true, p), case.y_pred, step=step, rtol=rtol, atol=atol, note=note
    )
    return from_finding("gradient", finding)


def _half_precision(ctx: Context, dtype: str) -> Result:
    cases = [*ctx.extremes(), ctx.sample()]
    for case in cases:
        finding = ctx.battery.finite(ctx.subject.raw, case.y_true, case.y_pred, dtype, case.name)
        if not finding:
            return from_finding(dtype, finding)
    return passed(dtype, f"finite values and gradients in {dtype} at {', '.join(case.name for case in cases)}")


def check_float16(ctx: Context) -> Result:
    return _half_precision(ctx, "float16")


def check_bfloat16(ctx: Context) -> Result:
    return _half_precision(ctx, "bfloat16")


def check_mixed_precision(ctx: Context) -> Result:
    case = ctx.sample(seed=2, batch=16)
    finding = ctx.battery.mixed_precision(ctx.subject.for_compile(), case.y_true, ctx.head, case.y_pred.shape)
    return from_finding("mixed_precision", finding)


def check_config(ctx: Context) -> Result:
    subject = ctx.subject
    if subject.kind == "function":
        if subject.is_r:
            return skipped("config", "an R function has no get_config (its parameters live in its closure)")
        return skipped("config", "a plain function has no get_config (save_reload checks that it reloads)")
    cls = subject.obj if subject.kind == "class" else type(subject.built)
    case = ctx.sample()
    y_true, y_pred = case.y_true.astype("float32"), case.y_pred.astype("float32")
    values = ctx.battery.varied_params(cls, dict(subject.params), y_true, y_pred)
    original = None if (values or subject.kind == "class") else subject.built
    finding = ctx.battery.config(cls, values, y_true, y_pred, original)
    return from_finding("config", finding)


def check_jit(ctx: Context) -> Result:
    import keras

    if ctx.backend_name == "torch":
        return skipped("jit", "jit_compile on torch means torch.compile (dynamo), which this audit does not run")
    case = ctx.sample(seed=2, batch=16)
    inputs = ctx.battery.toy_inputs(len(case.y_true))
    weights = []
    for jit in (False, True):
        model = ctx.battery.toy_model(case.y_pred.shape[1:], ctx.head, seed=3)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1), loss=ctx.subject.for_compile(), jit_compile=jit, run_eagerly=not jit
        )
        model.fit(inputs, case.y_true, epochs=1, batch_size=8, verbose=0, shuffle=False)
        weights.append(np.concatenate([np.ravel(w) for w in model.get_weights()]))
    if not ctx.battery.close(weights[1], weights[0], 1e-4, 1e-6):
        size = ctx.battery.worst(weights[1], weights[0])[1]
        return failed(
            "jit", f"after 2 SGD steps the jit_compile=True weights differ from eager ones by {ctx.battery.fmt(size)}"
        )
    return passed("jit", f"2 SGD steps: jit_compile=True and eager weights agree ({weights[0].size} weights)")


def check_reference(ctx: Context) -> Result:
    if ctx.against is None:
        return skipped("reference", "no --against given")
    return ctx.against.check(ctx)


# The checks run in this process; scaffold.audit.fresh has those that need a fresh one.
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
    "jit": check_jit,
    "reference": check_reference,
}
