"""The `config` check: a Loss built with non-default parameters survives get_config/from_config
(and the config is JSON, as a .keras file stores it). The generated projects' test_config_round_trip
checks the same on their own classes."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np

from scaffold.audit.checks import (
    Context,
    Result,
    close,
    f64,
    failed,
    fmt,
    passed,
    skipped,
    worst,
)
from scaffold.audit.target import last_line, shallow_copy

KERAS_OWN = {"self", "name", "reduction", "dtype"}
_MISSING = object()


def _defaults(cls) -> dict[str, Any]:
    """The constructor's own parameters with simple defaults (float, int, bool)."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    found = {}
    for name, p in signature.parameters.items():
        if name in KERAS_OWN or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
            continue
        if isinstance(p.default, (bool, int, float)):
            found[name] = p.default
    return found


def _candidates(default: Any) -> list[Any]:
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [default + 1, default + 2, max(default - 1, 0)]
    return [v for v in (2.5 * default, 0.5 * default, default + 1.5, 0.3, 2.5) if v != default]


def varied_params(cls, given: dict[str, Any]) -> dict[str, Any]:
    """The given values, and for every other simple parameter (or one given at its default) a
    non-default value the constructor accepts, found one parameter at a time."""
    defaults = _defaults(cls)
    chosen: dict[str, Any] = {k: v for k, v in given.items() if k not in defaults or not _same(v, defaults[k])}
    for name, default in defaults.items():
        if name in chosen:
            continue
        for value in _candidates(default):
            try:
                cls(**chosen, **{name: value})
            except Exception:  # noqa: S112 - the user's validation refuses it: try the next value
                continue
            chosen[name] = value
            break
    return chosen


def stored(loss: Any, name: str) -> Any:
    """Where a Loss keeps a parameter: an attribute of that name (or with a leading underscore)."""
    attributes = vars(loss)
    for key in (name, "_" + name):
        if key in attributes:
            return attributes[key]
    fn_kwargs = attributes.get("_fn_kwargs")
    if isinstance(fn_kwargs, dict) and name in fn_kwargs:
        return fn_kwargs[name]
    return _MISSING


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b)))
    except Exception:
        return a == b


def run(ctx: Context) -> Result:
    subject = ctx.subject
    if subject.kind == "function":
        if subject.is_r:
            return skipped("config", "an R function has no get_config (its parameters live in its closure)")
        return skipped("config", "a plain function has no get_config (save_reload checks that it reloads)")
    cls = subject.obj if subject.kind == "class" else type(subject.built)
    values = varied_params(cls, dict(subject.params))
    try:
        original = cls(**values) if (values or subject.kind == "class") else subject.built
    except Exception as exc:
        return failed("config", f"{cls.__name__}({_show(values)}) raises: {last_line(exc)}")
    try:
        config = original.get_config()
    except Exception as exc:
        return failed("config", f"get_config() raises: {last_line(exc)}")
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        return failed("config", f"get_config() is not JSON-serializable, as a .keras file needs: {last_line(exc)}")
    try:
        restored = cls.from_config(config)
    except Exception as exc:
        return failed(
            "config",
            f"{cls.__name__}.from_config(get_config()) raises: {last_line(exc)} "
            "(get_config must return exactly the constructor's arguments)",
        )
    for name, value in values.items():
        before, after = stored(original, name), stored(restored, name)
        if before is not _MISSING and after is not _MISSING and not _same(before, after):
            missing = f" (get_config() has no {name!r})" if name not in config else ""
            return failed("config", f"{name}={value!r} reloads as {after!r}{missing}: add it to get_config()")
    case = ctx.sample()
    y_true = case.y_true.astype("float32")
    y_pred = case.y_pred.astype("float32")
    a = f64(ctx, _unreduced(original)(y_true, y_pred))
    b = f64(ctx, _unreduced(restored)(y_true, y_pred))
    if not close(b, a, 1e-6, 1e-8):
        lost = [n for n in values if n not in config]
        why = f"; get_config() has no {', '.join(repr(n) for n in lost)}" if lost else ""
        size = worst(b, a)[1] if a.shape == b.shape else float("inf")
        return failed("config", f"with {_show(values)} the reloaded loss gives values off by {fmt(size)}{why}")
    if not values:
        return passed(
            "config",
            "from_config(get_config()) gives the same values (no float, int or bool constructor parameter to vary)",
        )
    return passed("config", f"{_show(values)} round-trip through get_config/from_config (JSON), same values")


def _unreduced(loss):
    loss = shallow_copy(loss)
    loss.reduction = None
    return loss


def _show(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "defaults"
