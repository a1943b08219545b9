"""A rendering in memory, as render.py makes it and plan.py reads it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tree:
    """A rendering in memory: POSIX path -> bytes, and which loss's own templates wrote each file.

    `partial` names the losses that were rendered when not all were (`update --loss huber` renders
    the package's shared files and huber's own; the others are unchanged by construction)."""

    files: dict[str, bytes]
    owners: dict[str, str] = field(default_factory=dict)
    partial: frozenset[str] | None = None

    def owned(self) -> dict[str, list[str]]:
        """Each loss's files, as the record keeps them."""
        out: dict[str, list[str]] = {}
        for path, owner in sorted(self.owners.items()):
            out.setdefault(owner, []).append(path)
        return out
