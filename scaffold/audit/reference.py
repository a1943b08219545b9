"""`--against`: the loss compared with a built-in kind (its float64 NumPy reference, the one the
generated tests check against) or with a Keras loss class (`keras.losses.Huber`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaffold.errors import UsageError

RTOL, ATOL = 1e-4, 1e-6  # the loss runs in float32 as compile() runs it; the reference in float64


def literal(text: str) -> Any:
    """A --param / --against option value: a Python literal (2.5, [1, 2], 'x'), true/false, or text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_params(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """--param NAME=VALUE items as a dict."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        values[name] = literal(value)
    return values


def option_args(args: list[str]) -> dict[str, str | bool]:
    """`--delta 2 --from-logits --no-x` (the options after --against) as {name: text or bool}."""
    found: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise UsageError(f"unexpected argument {arg!r} (parameters of --against are --NAME VALUE)")
        flag, eq, inline = arg[2:].partition("=")
        name = flag.replace("-", "_")
        if eq:
            found[name] = inline
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            found[name] = args[i + 1]
            i += 2
        else:
            found[name.removeprefix("no_")] = not name.startswith("no_")
            i += 1
    return found


@dataclass
class Against:
    text: str
    spec: Any = None  # a LossSpec for a kind
    keras_name: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.text}({shown})" if shown else self.text

    def check(self, ctx) -> Any:
        from scaffold.audit.checks import failed, passed, skipped

        fmt, worst = ctx.battery.fmt, ctx.battery.worst

        if self.spec is not None and self.spec.formula is None:
            return skipped("reference", f"{self.spec.name} is hand-written code: no NumPy reference to compare with")
        case = ctx.sample(seed=7)
        if self.spec is not None:
            from scaffold import domains
            from scaffold.emit import numpy as numpy_emit

            case = domains.sample(self.spec, self.values, np.random.default_rng(7), batch=8)
            expected = numpy_emit.evaluate(self.spec, case.y_true, case.y_pred, self.values)
        else:
            import keras

            builtin = getattr(keras.losses, self.keras_name)(reduction=None, **self.values)
            expected = ctx.battery.as_float64(builtin(case.y_true, case.y_pred))
        y_true, y_pred = case.y_true.astype("float32"), case.y_pred.astype("float32")
        got = ctx.battery.as_float64(ctx.subject.loss_object(None)(y_true, y_pred))
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            return failed("reference", f"values of shape {got.shape}; {self.describe()} gives {expected.shape}")
        if not np.all(np.abs(got - expected) <= ATOL + RTOL * np.abs(expected)):
            index, size = worst(got, expected)
            return failed(
                "reference",
                f"differs from {self.describe()} by {fmt(size)} at sample {index[0]}: "
                f"{fmt(got[index])} vs {fmt(expected[index])}",
            )
        return passed("reference", f"{len(got)} values within rtol {RTOL:g} of {self.describe()}")


def resolve(text: str, args: list[str], catalog_dirs: tuple[str, ...] = ()) -> Against:
    """--against KIND or keras.losses.NAME, with its parameters (`--delta 2`); UsageError if unknown."""
    given = option_args(args)
    if text.startswith("keras.losses."):
        name = text[len("keras.losses.") :]
        if not name.isidentifier() or not name[:1].isupper():
            raise UsageError(f"--against {text}: expected a Keras loss class such as keras.losses.Huber")
        return Against(
            text, keras_name=name, values={k: literal(v) if isinstance(v, str) else v for k, v in given.items()}
        )
    from scaffold.catalog import load_catalog
    from scaffold.errors import LossgenError

    try:
        spec = load_catalog(tuple(catalog_dirs)).get(text)
    except LossgenError as exc:
        raise UsageError(f"--against: {exc}") from None
    values: dict[str, Any] = {}
    for name, raw in given.items():
        if name not in spec.params:
            valid = ", ".join("--" + p.replace("_", "-") for p in spec.params) or "none"
            raise UsageError(
                f"no such option --{name.replace('_', '-')} for kind '{spec.name}' (its parameters: {valid})"
            )
        try:
            values[name] = raw if isinstance(raw, bool) else spec.params[name].parse(raw)
        except ValueError as exc:
            raise UsageError(f"--{name.replace('_', '-')}: {exc}") from None
    try:
        values = spec.bind(values)
    except ValueError as exc:
        raise UsageError(f"--against {text}: {exc}") from None
    return Against(text, spec=spec, values=values)


def check_keras_name(against: Against) -> None:
    """After Keras is imported: the named class exists."""
    if against.keras_name is None:
        return
    import keras

    cls = getattr(keras.losses, against.keras_name, None)
    if not isinstance(cls, type) or not issubclass(cls, keras.losses.Loss):
        raise UsageError(f"--against {against.text}: keras.losses has no loss class {against.keras_name}")
