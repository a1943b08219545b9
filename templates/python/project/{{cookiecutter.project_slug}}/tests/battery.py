"""The checks behind this package's tests, one function per check, each returning a Finding.

lossgen's `audit` command runs this same file (lossgen's template of it, copied here unchanged)
on losses lossgen did not write, so a test here and an audit check cannot drift apart. A Finding
says whether the check passed and why, in numbers; the tests assert on it:

    finding = battery.per_sample(values, batch=8)
    assert finding, finding.detail
"""

import inspect
import json
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from .backend import as_float64, values_and_gradient


@dataclass(frozen=True)
class Finding:
    status: str  # "pass", "fail" or "skip"
    detail: str

    def __bool__(self):
        return self.status != "fail"


def passed(detail):
    return Finding("pass", detail)


def failed(detail):
    return Finding("fail", detail)


def skipped(detail):
    return Finding("skip", detail)


def fmt(x):
    return f"{x:.6g}"


def close(a, b, rtol, atol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def worst(a, b):
    """Index and size of the largest difference between two arrays of one shape."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    if not diff.size:
        return (), 0.0
    index = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return tuple(int(i) for i in index), float(diff[index])


def shape_of(values):
    return tuple(int(d) for d in values.shape)


# --------------------------------------------------------------------------- per_sample
def per_sample(values, batch):
    """`values` (the loss with reduction=None on a batch) hold one finite value per sample: a
    loss that reduces over the batch itself leaves Keras nothing to weight."""
    shape = shape_of(values)
    if shape != (batch,):
        hint = ""
        if shape == ():
            hint = " (it reduces over the batch: reduce over the last axis only, e.g. mean(..., axis=-1))"
        return failed(
            f"returns shape {shape} for a batch of {batch}; expected ({batch},){hint}"
        )
    array = as_float64(values)
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        return failed(
            f"{bad} of {batch} values are not finite on moderate inputs: {array.tolist()}"
        )
    return passed(f"shape ({batch},) for a batch of {batch}")


# ------------------------------------------------------------------------ sample_weight
def sample_weight(
    loss, y_true, y_pred, per_sample_values, source="reduction=None", zero_gradient=True
):
    """`loss` (reduction sum_over_batch_size) weights each sample's loss as Keras promises:
    weights 0..2 give sum(weight x loss) / batch, a scalar weight scales the loss, and (with
    `zero_gradient`) a zero-weight sample gets no gradient."""
    batch = len(y_pred)
    weights = np.linspace(0.0, 2.0, batch)
    got = float(as_float64(loss(y_true, y_pred, sample_weight=weights)))
    expected = float(
        np.sum(weights * np.asarray(per_sample_values, dtype=np.float64)) / batch
    )
    if not close(got, expected, 1e-5, 1e-7):
        return failed(
            f"with weights 0..2 the loss is {fmt(got)}; expected {fmt(expected)} "
            f"(sum of weight x per-sample loss / {batch}, per-sample losses from {source})"
        )
    plain = float(as_float64(loss(y_true, y_pred)))
    scaled = float(as_float64(loss(y_true, y_pred, sample_weight=2.5)))
    if not close(scaled, 2.5 * plain, 1e-5, 1e-7):
        return failed(
            f"sample_weight=2.5 gives {fmt(scaled)}; expected 2.5 x {fmt(plain)}"
        )
    done = f"weights 0..2 give {fmt(got)} = sum(weight x loss)/{batch}, a scalar weight scales it"
    if not zero_gradient:
        return passed(
            f"{done} (a zero-weight sample still shapes the others' losses in a batch-coupled loss, "
            "so its gradient is not checked)"
        )
    y_true = ops.convert_to_tensor(np.asarray(y_true), dtype="float32")
    _, gradient = values_and_gradient(
        lambda p: loss(y_true, p, sample_weight=weights),
        np.asarray(y_pred, dtype="float32"),
    )
    row = as_float64(gradient)[0]
    if not np.all(row == 0.0):
        return failed(
            f"sample 0 has weight 0 but its gradient is {fmt(float(np.max(np.abs(row))))} "
            "(the weights do not reach each sample's loss)"
        )
    return passed(f"{done}; zero weight, zero gradient")


# --------------------------------------------------------------------------- label_rank
def label_rank_inputs(task, y_true, y_pred):
    """(batch, 1) labels and the predictions they meet: sparse labels, embeddings' labels and a
    Gaussian's one target meet the whole prediction, others one column of it."""
    whole = task in ("sparse_categorical", "gaussian", "embedding")
    column = np.asarray(y_true).reshape(len(y_pred), -1)[:, :1]
    return column, (y_pred if whole else y_pred[:, :1])


def label_rank(loss, column, y_pred):
    """`loss` (reduction=None) gives the same values for (batch,) and (batch, 1) labels: the
    (batch,) ones must not broadcast to (batch, batch) against (batch, 1) predictions.
    """
    batch = len(y_pred)
    flat = column[:, 0]
    shape = tuple(np.shape(y_pred))
    reference = as_float64(loss(column, y_pred))
    values, error = attempt(lambda: loss(flat, y_pred))
    if error:
        return failed(f"y_true of shape ({batch},) with y_pred {shape} raises: {error}")
    got = as_float64(values)
    advice = f"y_true broadcasts to ({batch}, {batch}) inside the loss; align y_true's rank to y_pred's"
    if got.shape != reference.shape:
        return failed(
            f"y_true of shape ({batch},) with y_pred {shape} gives shape {got.shape}; "
            f"({batch}, 1) labels give {reference.shape}: align y_true's rank to y_pred's"
        )
    if not close(got, reference, 1e-5, 1e-7):
        if got.ndim == 0:
            return failed(
                f"y_true of shape ({batch},) gives {fmt(float(got))}, ({batch}, 1) gives "
                f"{fmt(float(reference))} with y_pred {shape}: {advice}"
            )
        index, size = worst(got, reference)
        return failed(
            f"y_true of shape ({batch},) and ({batch}, 1) give different values (by {fmt(size)} "
            f"at sample {index[0] if index else 0}) with y_pred {shape}: {advice}"
        )
    return passed(
        f"({batch},) and ({batch}, 1) labels give the same {reference.shape} values"
    )


# -------------------------------------------------------------------- batch_independent
def batch_independent(loss, y_true, y_pred, other_y_true, other_y_pred):
    """`loss` (reduction=None) gives samples 0..half-1 the same values when the other half of
    the batch is replaced by the other arrays' rows."""
    batch = len(y_pred)
    half = batch // 2
    first = as_float64(loss(y_true, y_pred))
    if first.shape != (batch,):
        return skipped(
            f"needs one value per sample (shape {first.shape}; see per_sample)"
        )
    mixed_true = np.concatenate([y_true[:half], other_y_true[half:]])
    mixed_pred = np.concatenate([y_pred[:half], other_y_pred[half:]])
    second = as_float64(loss(mixed_true, mixed_pred))
    if not close(second[:half], first[:half], 1e-5, 1e-7):
        i = worst(second[:half], first[:half])[0][0]
        return failed(
            f"sample {i}'s loss changes from {fmt(first[i])} to {fmt(second[i])} "
            f"when samples {half}..{batch - 1} change (pass --batch-coupled if meant)"
        )
    return passed(
        f"samples 0..{half - 1} keep their values when samples {half}..{batch - 1} change"
    )


# ----------------------------------------------------------------------------- gradient
def gradient(function, y_pred, step=1e-6, rtol=1e-5, atol=1e-6, total=None, note=""):
    """The backend's autodiff of `function` (per-sample values of y_pred) equals central
    differences of `total` (the sum of its values unless given) at the float64 point y_pred.
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    computed, error = attempt(lambda: values_and_gradient(function, y_pred))
    if error:
        return failed(f"fails on float64 inputs: {error}")
    autodiff = computed[1]
    autodiff = as_float64(autodiff)
    if autodiff.shape != y_pred.shape:
        return failed(
            f"autodiff gives shape {autodiff.shape} for y_pred {y_pred.shape}"
        )
    if not np.all(np.isfinite(autodiff)):
        bad = int(np.sum(~np.isfinite(autodiff)))
        return failed(
            f"{bad} autodiff gradient entries are not finite on moderate inputs"
        )
    if total is None:

        def total(p):
            return float(np.sum(as_float64(function(ops.convert_to_tensor(p)))))

    numeric = np.zeros_like(y_pred)
    for index in np.ndindex(y_pred.shape):
        shift = np.zeros_like(y_pred)
        shift[index] = step
        numeric[index] = (total(y_pred + shift) - total(y_pred - shift)) / (2 * step)
    if not close(autodiff, numeric, rtol, atol):
        index, size = worst(autodiff, numeric)
        return failed(
            f"autodiff and central differences differ by {fmt(size)} at y_pred{list(index)}: "
            f"{fmt(autodiff[index])} vs {fmt(numeric[index])}{note}"
        )
    return passed(
        f"{autodiff.size} partial derivatives match central differences "
        f"(rtol {rtol:g}, step {step:g}){note}"
    )


# ------------------------------------------------------------------- float16 / bfloat16
def finite(function, y_true, y_pred, dtype, name):
    """`function` (per-sample values) called on `dtype` tensors of one case gives finite values
    and gradients. float16 cannot hold numbers above 65504, so a large true gradient may
    overflow to inf there (loss scaling handles that); a NaN is always a bug."""
    y_true = ops.convert_to_tensor(np.asarray(y_true), dtype=dtype)
    y_pred_tensor = ops.convert_to_tensor(np.asarray(y_pred), dtype=dtype)
    computed, error = attempt(
        lambda: values_and_gradient(lambda p: function(y_true, p), y_pred_tensor)
    )
    if error:
        return failed(f"{name} inputs in {dtype} raise: {error}")
    values, grad = (as_float64(t) for t in computed)
    where = f"at {name} inputs (|y_pred| up to {fmt(float(np.max(np.abs(y_pred))))})"
    bad = ~np.isfinite(values)
    if np.any(bad):
        shown = "/".join(sorted({str(v) for v in values[bad].ravel().tolist()}))
        return failed(
            f"{int(np.sum(bad))} of {values.size} values are {shown} when called on {dtype} "
            f"tensors {where}: compute in float32 (cast the inputs) or use a stable form "
            "(softplus, log_sigmoid)"
        )
    bad = np.isnan(grad) if dtype == "float16" else ~np.isfinite(grad)
    if np.any(bad):
        what = "NaN" if dtype == "float16" else "not finite"
        return failed(
            f"{int(np.sum(bad))} of {grad.size} gradient entries are {what} in {dtype} {where}"
        )
    return passed(f"finite values and gradients in {dtype} at {name} inputs")


# ------------------------------------------------------------------------ the toy model
def head_layers(shape, activation, dtype=None):
    """Output layers giving predictions of `shape` (one sample's): a Dense layer, reshaped when
    the task predicts more than one axis (a segmentation mask's pixels and classes)."""
    dtype_kw = {"dtype": dtype} if dtype else {}
    shape = tuple(int(d) for d in shape)
    if len(shape) == 1:
        return [keras.layers.Dense(shape[0], activation=activation, **dtype_kw)]
    return [
        keras.layers.Dense(int(np.prod(shape)), **dtype_kw),
        keras.layers.Reshape(shape),
        keras.layers.Activation(activation, **dtype_kw),
    ]


def toy_model(shape, activation, dtype=None, seed=1):
    """A linear model of 4 inputs with the task's head, the same weights for a given seed."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), *head_layers(shape, activation, dtype)])


def toy_inputs(batch, seed=2):
    return np.random.default_rng(seed).normal(size=(batch, 4)).astype("float32")


# ---------------------------------------------------------------------- mixed_precision
def mixed_precision(loss, y_true, activation, y_pred_shape):
    """3 epochs of a model with mixed_float16 outputs, compiled with `loss`, give finite losses:
    the loss gets float16 predictions and must compute in float32."""
    model = toy_model(y_pred_shape[1:], activation, dtype="mixed_float16")
    inputs = toy_inputs(len(y_true))
    dtype = keras.backend.standardize_dtype(model(inputs[:1]).dtype)
    if dtype != "float16":
        return failed(f"the mixed_float16 model's outputs are {dtype}, not float16")
    model.compile(optimizer="adam", loss=loss)
    history = model.fit(inputs, y_true, epochs=3, batch_size=8, verbose=0).history[
        "loss"
    ]
    if not np.all(np.isfinite(history)):
        return failed(f"training on float16 model outputs gives losses {history}")
    return passed(
        f"3 epochs on float16 outputs, losses {', '.join(fmt(v) for v in history)}"
    )


# ------------------------------------------------------------------------------- config
KERAS_OWN = ("self", "name", "reduction", "dtype")
_MISSING = object()


def _defaults(cls):
    """The constructor's own parameters with simple defaults (float, int, bool)."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    found = {}
    for name, p in signature.parameters.items():
        if name in KERAS_OWN or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not p.empty and isinstance(p.default, (bool, int, float)):
            found[name] = p.default
    return found


def _candidates(default):
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [default + 1, default + 2, max(default - 1, 0)]
    return [
        v
        for v in (2.5 * default, 0.5 * default, default + 1.5, 0.3, 2.5)
        if v != default
    ]


def _same(a, b):
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b)))
    except (TypeError, ValueError):  # shapes that do not compare
        return a == b


def varied_params(cls, given, y_true, y_pred):
    """The given values, and for every other simple parameter (or one given at its default) a
    non-default value the constructor accepts and computes finite values with on these inputs
    (an index may not leave the prediction's width), found one parameter at a time: a get_config
    that drops a parameter only shows when the parameter is not at its default."""
    defaults = _defaults(cls)
    chosen = {
        k: v for k, v in given.items() if k not in defaults or not _same(v, defaults[k])
    }

    def computes(values):
        finite = np.isfinite(as_float64(with_reduction(cls(**values))(y_true, y_pred)))
        return bool(np.all(finite))

    for name, default in defaults.items():
        if name in chosen:
            continue
        for value in _candidates(default):
            candidate = {**chosen, name: value}
            fits, refused = attempt(lambda candidate=candidate: computes(candidate))
            if fits and not refused:
                chosen[name] = value
                break
    return chosen


def stored(loss, name):
    """Where a Loss keeps a parameter: an attribute of that name (or with a leading underscore)."""
    attributes = vars(loss)
    for key in (name, "_" + name):
        if key in attributes:
            return attributes[key]
    fn_kwargs = attributes.get("_fn_kwargs")
    if isinstance(fn_kwargs, dict) and name in fn_kwargs:
        return fn_kwargs[name]
    return _MISSING


def with_reduction(loss, reduction=None):
    """A copy of a Loss with another reduction, sharing its attributes (copy.copy would serialize
    and deserialize it: that fails for an unregistered class, and hides config bugs)."""
    new = object.__new__(type(loss))
    new.__dict__.update(vars(loss))
    new.reduction = reduction
    return new


def show(values):
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "defaults"


def config(cls, values, y_true, y_pred, original=None):
    """A `cls` built with `values` (or `original`) survives get_config, JSON and from_config:
    every parameter comes back, and the restored loss gives the same values."""
    name = cls.__name__
    if original is None:
        original, error = attempt(lambda: cls(**values))
        if error:
            return failed(f"{name}({show(values)}) raises: {error}")
    saved, error = attempt(original.get_config)
    if error:
        return failed(f"get_config() raises: {error}")
    text, error = attempt(lambda: json.dumps(saved, sort_keys=True))
    if error:
        return failed(
            f"get_config() is not JSON-serializable, as a .keras file needs: {error}"
        )
    restored, error = attempt(lambda: cls.from_config(json.loads(text)))
    if error:
        return failed(
            f"{name}.from_config(get_config()) raises: {error} "
            "(get_config must return exactly the constructor's arguments)"
        )
    for key, value in values.items():
        before, after = stored(original, key), stored(restored, key)
        missing = key not in saved
        if (
            before is not _MISSING
            and after is not _MISSING
            and not _same(before, after)
        ):
            why = (
                f"get_config() has no {key!r}"
                if missing
                else "get_config() must return it as given"
            )
            return failed(f"{key}={value!r} reloads as {after!r} ({why})")
        if missing:
            return failed(
                f"{key}={value!r} is not in get_config(), so it reloads as its default: add it"
            )
    a = as_float64(with_reduction(original)(y_true, y_pred))
    b = as_float64(with_reduction(restored)(y_true, y_pred))
    if not close(b, a, 1e-6, 1e-8):
        size = worst(b, a)[1] if a.shape == b.shape else float("inf")
        return failed(
            f"with {show(values)} the reloaded loss gives values off by {fmt(size)}"
        )
    again, error = attempt(lambda: json.dumps(restored.get_config(), sort_keys=True))
    if error:
        return failed(f"the restored loss's get_config() raises: {error}")
    if again != text:
        return failed(
            f"from_config(get_config()).get_config() differs: {again} vs {text}"
        )
    if not values:
        return passed(
            "from_config(get_config()) gives the same values "
            "(no float, int or bool constructor parameter to vary)"
        )
    return passed(
        f"{show(values)} round-trip through get_config/from_config (JSON), same values"
    )


# -------------------------------------------------------------------------- save_reload
def trained_model(loss, y_true, activation, y_pred_shape):
    """The toy model compiled with `loss` after one epoch of SGD, and its inputs."""
    inputs = toy_inputs(len(y_true))
    model = toy_model(y_pred_shape[1:], activation)
    model.compile(optimizer="sgd", loss=loss)
    model.fit(inputs, y_true, epochs=1, batch_size=8, verbose=0)
    return model, inputs


def evaluate(model, inputs, y_true):
    return float(model.evaluate(inputs, y_true, verbose=0, batch_size=len(inputs)))


def save_reload(before, after, reloaded_loss="?"):
    """The reloaded model's loss on the same data equals the saved model's."""
    if not close(after, before, 1e-5, 1e-7):
        return failed(
            f"the reloaded model's loss is {fmt(after)}; before saving it was {fmt(before)} "
            f"(the reloaded loss is {reloaded_loss})"
        )
    return passed(f"same loss {fmt(after)} after reloading")


def attempt(call):
    """`call()`'s result and no error, or None and the error as one line (`Type: message`): a
    loss that raises is what a check reports, never a crash of the check."""
    try:
        return call(), ""
    # whatever the user's code raises is the finding
    except Exception as exc:  # noqa: BLE001
        line = " ".join(f"{type(exc).__name__}: {exc}".split())
        return None, line if len(line) <= 300 else line[:299] + "…"
