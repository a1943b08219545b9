"""TOML someone else wrote (a project's record, a pyproject.toml found above it), read within bounds.

tomllib recurses once per level of nesting, so a file nested 900 deep either exhausts the recursion
limit or, where a library raised that limit (TensorFlow and JAX do), parses: both end here as the
same refusal, whatever the interpreter's state.
"""

from __future__ import annotations

import tomllib
from typing import Any


class TooDeep(ValueError):
    """Tables and arrays nest deeper than the reader allows."""


def loads(text: str, max_depth: int) -> dict[str, Any]:
    """tomllib.loads, refusing nesting deeper than `max_depth` (TooDeep); TOMLDecodeError as tomllib."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise TooDeep(f"nested too deeply (at most {max_depth} levels)") from None
    if depth(data, max_depth) > max_depth:
        raise TooDeep(f"nested too deeply (at most {max_depth} levels)")
    return data


def depth(value: Any, stop: int) -> int:
    """How deeply tables and arrays nest, counted without recursion, up to just past `stop`."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > stop:
            break
        if isinstance(item, dict):
            stack += [(v, level + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, level + 1) for v in item]
    return deepest
