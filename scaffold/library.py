"""A package's losses: each spec with its answers and the name its module, class and functions take.

A project is a package of one loss or many; `new`, `add`, `remove` and `update` all end in a list of
members, checked here once for names two losses would share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scaffold.names import LossNames, check_unique

if TYPE_CHECKING:
    from scaffold.spec import LossSpec


@dataclass(frozen=True)
class Member:
    spec: LossSpec
    values: dict[str, Any] = field(hash=False)
    name: str  # the loss's names derive from it: the kind, or --name for a one-loss project
    given: frozenset[str] = frozenset()  # parameters the user chose; the others follow the spec's default

    @property
    def names(self) -> LossNames:
        return LossNames.derive(self.name)


def checked(members: list[Member]) -> list[Member]:
    """The members, once no two of them would take the same name in the package (else UsageError)."""
    check_unique([(m.name, m.names) for m in members])
    return members
