"""TARGET of `lossgen audit`: `package.module:name` or `path/to/file.py:name`, loaded and classified.

Loading a target runs its module's code (that is what auditing it means); everything that goes
wrong while importing becomes a UsageError carrying the error's last line, never a traceback.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.errors import UsageError


@dataclass(frozen=True)
class TargetRef:
    text: str  # as given
    module: str | None  # importable module name, or None for a file
    path: Path | None  # the file, or None for a module
    name: str  # attribute inside the module

    @property
    def is_r(self) -> bool:
        return self.path is not None and self.path.suffix.lower() == ".r"


def parse(text: str) -> TargetRef:
    location, sep, name = text.rpartition(":")
    if not sep or not location or not name:
        raise UsageError(f"target {text!r}: expected package.module:name, path/to/file.py:name or path/to/file.R:name")
    if not name.isidentifier() and not all(part.isidentifier() for part in name.split(".")):
        raise UsageError(f"target {text!r}: {name!r} is not a name")
    looks_like_file = location.endswith((".py", ".R", ".r")) or "/" in location or "\\" in location
    if looks_like_file:
        path = Path(location)
        if not path.is_file():
            raise UsageError(f"target {text!r}: no such file {location}")
        if path.suffix not in (".py", ".R", ".r"):
            raise UsageError(f"target {text!r}: a file target is a .py or .R file")
        return TargetRef(text, None, path.resolve(), name)
    if not all(part.isidentifier() for part in location.split(".")):
        raise UsageError(f"target {text!r}: {location!r} is neither a module name nor a .py/.R file")
    return TargetRef(text, location, None, name)


def file_module_name(path: Path) -> str:
    """A stable module name for a file target, the same in every process (save_reload's fresh one too)."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"_lossgen_audit_{stem}_{digest}"


def import_module(ref: TargetRef):
    """The target's module, imported; a UsageError with the error's last line if that fails."""
    try:
        if ref.module is not None:
            return importlib.import_module(ref.module)
        assert ref.path is not None
        name = file_module_name(ref.path)
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, ref.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        # the file's own directory first, so its sibling modules import as they would for the user
        sys.path.insert(0, str(ref.path.parent))
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            try:
                sys.path.remove(str(ref.path.parent))
            except ValueError:
                pass
        return module
    except (Exception, SystemExit) as exc:
        raise UsageError(f"target {ref.text!r} does not import: {last_line(exc)}") from None


def last_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line: `Type: message`, Keras' config dumps and advice cut."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    line = " ".join((text[-1] if text else type(exc).__name__).split())
    for cut in (" Full object config", " If they are already decorated", " If they are,"):
        if cut in line:
            line = line[: line.index(cut)]
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class Subject:
    """The loss under audit, in the three forms the checks need.

    - `raw(y_true, y_pred)`: the loss's own computation, no Keras casting or rank alignment (the
      function itself, or the built Loss's `call`): per-sample values in the inputs' dtype.
    - `loss_object(reduction)`: what Keras' `compile()` makes of it (a function is wrapped in
      `LossFunctionWrapper`, as compile does), with the reduction set.
    - `for_compile()`: what a user passes to `compile(loss=...)`.
    """

    ref: TargetRef
    kind: str  # "function", "class" or "instance"
    obj: Any
    params: dict[str, Any] = field(default_factory=dict)
    built: Any = None  # the Loss instance for "class" and "instance"
    # "" for Python; for an R target, what R made of it ("R function", "R loss factory
    # huber_loss(delta = 2)", "R"): the checks run in the Python that R embeds (see r_bridge)
    r_origin: str = ""

    @property
    def label(self) -> str:
        label = {"function": "function", "class": "Loss subclass", "instance": "Loss instance"}[self.kind]
        if not self.r_origin:
            return label
        return self.r_origin if self.kind == "function" else f"{label} from R"

    @property
    def is_r(self) -> bool:
        return bool(self.r_origin)

    def raw(self, y_true, y_pred):
        if self.kind == "function":
            return self.obj(y_true, y_pred, **self.params)
        return self.built.call(y_true, y_pred)

    def loss_object(self, reduction: str | None = "sum_over_batch_size"):
        if self.kind == "function":
            return _wrapper()(self.obj, reduction=reduction, **self.params)
        from scaffold.audit.runner import generated_tests

        return generated_tests("battery").with_reduction(self.built, reduction)

    def for_compile(self):
        if self.kind == "function":
            return self.obj if not self.params else _wrapper()(self.obj, **self.params)
        return self.built


def _wrapper():
    """The Loss that compile() wraps a plain loss function in (not exported by Keras)."""
    from keras.src.losses.losses import LossFunctionWrapper

    return LossFunctionWrapper


def load(ref: TargetRef, params: dict[str, Any]) -> Subject:
    """The subject: the module imported, the name looked up and classified (Keras is imported here)."""
    module = import_module(ref)
    obj: Any = module
    for part in ref.name.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"target {ref.text!r}: {getattr(module, '__name__', ref.name)} has no {part!r}")
        obj = getattr(obj, part)
    return classify(ref, obj, params)


def classify(ref: TargetRef, obj: Any, params: dict[str, Any], r_origin: str = "") -> Subject:
    """A function, a Loss subclass (built here with `params`) or a Loss instance, as a Subject."""
    import keras

    if inspect.isclass(obj):
        if not issubclass(obj, keras.losses.Loss):
            raise UsageError(f"target {ref.text!r}: {obj.__name__} is a class but not a keras.losses.Loss subclass")
        try:
            built = obj(**params)
        except Exception as exc:
            given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "no parameters"
            raise UsageError(f"target {ref.text!r}: {obj.__name__}({given}) fails: {last_line(exc)}") from None
        return Subject(ref, "class", obj, dict(params), built, r_origin)
    if isinstance(obj, keras.losses.Loss):
        if params:
            raise UsageError(f"target {ref.text!r} is a Loss instance: --param applies to a class or a function")
        return Subject(ref, "instance", obj, {}, obj, r_origin)
    if callable(obj):
        try:
            inspect.signature(obj).bind(None, None, **params)
        except TypeError as exc:
            raise UsageError(
                f"target {ref.text!r}: {getattr(obj, '__name__', ref.name)}(y_true, y_pred"
                f"{''.join(f', {k}={v!r}' for k, v in params.items())}) does not fit its signature: "
                f"{exc}"
            ) from None
        except ValueError:  # no signature to read (a builtin): the checks will tell
            pass
        return Subject(ref, "function", obj, dict(params), r_origin=r_origin)
    raise UsageError(
        f"target {ref.text!r}: {type(obj).__name__} is not a loss (a function, a Loss subclass or a Loss instance)"
    )
