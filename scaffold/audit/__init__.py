"""`lossgen audit`: the checks lossgen's generated tests make, run against a loss someone already has.

Importing this package is cheap (no Keras): the CLI imports it at start-up for the check ids;
`run()` imports Keras, and only after the backend is chosen.
"""

from __future__ import annotations

# Stable ids, in the order they run: the first ones catch the commonest bugs; the last three start
# fresh processes (scaffold.audit.fresh), batched when many losses are audited at once.
CHECK_IDS = (
    "per_sample",
    "sample_weight",
    "label_rank",
    "batch_independent",
    "gradient",
    "float16",
    "bfloat16",
    "mixed_precision",
    "config",
    "jit",
    "reference",
    "save_reload",
    "backends",
    "distributed",
)


def ids(text: str | None) -> list[str] | None:
    """--only / --skip: comma-separated check ids (checked by the runner)."""
    return [i.strip() for i in text.split(",") if i.strip()] if text else None


def run(*args, **kwargs):
    """See scaffold.audit.runner.run (imported here lazily: it imports Keras)."""
    from scaffold.audit.runner import run as _run

    return _run(*args, **kwargs)
