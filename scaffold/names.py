"""Every name a project gets, derived from its name once and checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scaffold.errors import UsageError

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Names:
    """Every name derived from the project name, validated once here."""

    slug: str  # project directory and distribution name: huber-loss
    package: str  # Python import name: huber_loss
    class_name: str  # HuberLoss
    function_name: str  # huber_loss
    r_package: str  # R package name (no underscores): huberloss
    r_function: str  # huber_loss: keras3 names its losses loss_*, so a *_loss name never collides

    @classmethod
    def derive(cls, name: str) -> Names:
        if not NAME_RE.fullmatch(name) or len(name) > 60:
            raise UsageError(f"invalid name {name!r}: use letters, digits, '-' and '_', starting with a letter "
                             "(at most 60 characters)")
        words = [w for w in re.split(r"[-_]+", name.lower()) if w]
        if words[-1] != "loss":
            words.append("loss")
        base = [w for w in words[:-1]] or ["custom"]
        return cls(
            slug="-".join(words),
            package="_".join(words),
            class_name="".join(w.capitalize() for w in words),
            function_name="_".join(words),
            r_package="".join(words),
            r_function="_".join([*base, "loss"]),
        )

    def directory(self, target: str) -> str:
        return self.r_package if target == "r" else self.slug
