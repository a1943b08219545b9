"""Every name a project and its losses get, derived once and checked once."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from scaffold.errors import UsageError

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
MAX_NAME_LENGTH = 60
# Files of the generated test tree beside the per-loss test packages (tests/<module>/): a loss module
# of that name would shadow them.
RESERVED_MODULES = {"backend", "conftest", "test_train"}
R_KEYWORDS = {"function", "repeat", "next"}  # R's lowercase reserved words that Python's keywords lack


def _words(name: str) -> list[str]:
    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"invalid name {name!r}: use letters, digits, '-' and '_', starting with a letter "
            f"(at most {MAX_NAME_LENGTH} characters)"
        )
    return [w for w in re.split(r"[-_]+", name.lower()) if w]


@dataclass(frozen=True)
class Names:
    """The project's names, from --name: a package that holds one loss or many."""

    slug: str  # project directory and distribution name: huber-loss, teamlosses
    package: str  # Python import name: huber_loss, teamlosses
    r_package: str  # R package name (no underscores): huberloss, teamlosses

    @classmethod
    def derive(cls, name: str) -> Names:
        words = _words(name)
        if not words[-1].endswith(("loss", "losses")):
            words.append("loss")
        return cls(slug="-".join(words), package="_".join(words), r_package="".join(words))

    def directory(self, target: str) -> str:
        from scaffold.targets import TARGETS_BY_NAME

        return TARGETS_BY_NAME[target].directory(self)


@dataclass(frozen=True)
class LossNames:
    """One loss's names inside the package, from its name (the kind, or --name for a one-loss project)."""

    module: str  # Python module of the package and test package: huber (huber_loss/huber.py)
    class_name: str  # HuberLoss
    function_name: str  # huber_loss
    r_function: str  # huber_loss: keras3 names its losses loss_*, so a *_loss name never collides

    @classmethod
    def derive(cls, name: str) -> LossNames:
        words = _words(name)
        if words[-1] != "loss":
            words.append("loss")
        base = words[:-1] or ["custom"]
        return cls(
            module="_".join(base),
            class_name="".join(w.capitalize() for w in words),
            function_name="_".join(words),
            r_function="_".join([*base, "loss"]),
        )


def check_unique(named: list[tuple[str, LossNames]]) -> None:
    """Two losses of one package may not share a module, class, function or R function name, and a
    module may not take the name of another loss's function or class (all are attributes of the package)."""
    losses = [loss for loss, _ in named]
    twice = sorted({loss for loss in losses if losses.count(loss) > 1})
    if twice:
        raise UsageError(f"loss '{twice[0]}' is given twice: a package holds each loss once")
    seen: dict[str, str] = {}
    for loss, names in named:
        if keyword.iskeyword(names.module) or names.module in R_KEYWORDS:
            raise UsageError(
                f"loss '{loss}' would get the module name '{names.module}', a Python or R keyword: give it another name"
            )
        if names.module in RESERVED_MODULES:
            raise UsageError(
                f"loss '{loss}' would get the module name '{names.module}', which the generated "
                f"tests use ({', '.join(sorted(RESERVED_MODULES))} are taken): give it another name"
            )
        for what, value in (
            ("module", names.module),
            ("class", names.class_name),
            ("function", names.function_name),
            ("R function", names.r_function),
        ):
            key = value if what != "R function" else "R:" + value
            if key in seen:
                raise UsageError(
                    f"losses '{seen[key]}' and '{loss}' would both be named {value!r} ({what} "
                    "name): a package holds each loss under names of its own; drop one or "
                    "rename it"
                )
            seen[key] = loss
