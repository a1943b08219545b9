"""Forward + backward time of the generated loss against the Keras built-in, on each Keras backend.

    python benchmarks/bench_loss.py [--backends tensorflow,jax,torch] [--elements 1000000] [--repeat 15]

For huber, binary_crossentropy, binary_focal, categorical_crossentropy and
sparse_categorical_crossentropy: the mean loss over ~1M prediction elements and its gradient with
respect to y_pred, compiled where the backend compiles (tf.function, jax.jit; torch runs eagerly),
each timed in paired runs (generated, then built-in, alternating) after a warm-up. Prints the median
time of each and the median of the paired ratios (goal: <= 1.05). Each backend runs in a process of
its own (KERAS_BACKEND is read once, at import). A benchmark, not a test: figures depend on the
machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["huber", "binary_crossentropy", "binary_focal", "categorical_crossentropy", "sparse_categorical_crossentropy"]


def inputs(task: str, elements: int, rng):
    import numpy as np

    if task == "regression":
        y_true = rng.normal(size=(elements // 8, 8)).astype("float32")
        return y_true, (y_true + rng.normal(size=y_true.shape)).astype("float32")
    if task == "binary":
        shape = (elements // 8, 8)
        return rng.integers(0, 2, size=shape).astype("float32"), rng.uniform(0.05, 0.95, size=shape).astype("float32")
    classes = 10
    scores = rng.uniform(-2.0, 2.0, size=(elements // classes, classes))
    probs = (np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)).astype("float32")
    labels = rng.integers(0, classes, size=len(probs))
    if task == "sparse_categorical":
        return labels.astype("int32"), probs
    return np.eye(classes, dtype="float32")[labels], probs


def loss_and_gradient(backend: str, loss):
    """A compiled function (y_true, y_pred) -> (mean loss, its gradient w.r.t. y_pred), returning
    after the values are computed (block_until_ready / numpy)."""
    from keras import ops

    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=False)
        def step(y_true, y_pred):
            with tf.GradientTape() as tape:
                tape.watch(y_pred)
                value = ops.mean(loss(y_true, y_pred))
            return value, tape.gradient(value, y_pred)

        return lambda y_true, y_pred: [t.numpy() for t in step(y_true, y_pred)]
    if backend == "jax":
        import jax

        step = jax.jit(jax.value_and_grad(lambda y_pred, y_true: ops.mean(loss(y_true, y_pred))))
        return lambda y_true, y_pred: jax.block_until_ready(step(y_pred, y_true))
    import torch

    def step(y_true, y_pred):
        y_pred = y_pred.detach().requires_grad_()
        value = ops.mean(loss(y_true, y_pred))
        (gradient,) = torch.autograd.grad(value, y_pred)
        return value.item(), gradient

    return step


def run_backend(backend: str, elements: int, repeat: int) -> list[dict]:
    """In this process (KERAS_BACKEND already set): time every case."""
    import keras
    import numpy as np
    from keras import ops

    from scaffold.catalog import load_catalog
    from scaffold.validate import load_python_loss

    catalog = load_catalog()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            spec = catalog.get(kind)
            generated = load_python_loss(spec, Path(tmp))
            params = spec.bind()
            # The Keras built-in the spec names, as the generated tests build it.
            reference = getattr(keras.losses, spec.reference.cls)(**spec.reference.bind(params), reduction=None)
            y_true, y_pred = (ops.convert_to_tensor(a) for a in inputs(spec.task, elements, np.random.default_rng(0)))
            ours = loss_and_gradient(
                backend, lambda t, p, generated=generated, params=params: generated(t, p, **params)
            )
            theirs = loss_and_gradient(backend, reference)
            for fn in (ours, theirs):  # warm-up: compilation
                fn(y_true, y_pred)
                fn(y_true, y_pred)
            times = {"generated": [], "builtin": []}
            for _ in range(repeat):
                for name, fn in (("generated", ours), ("builtin", theirs)):
                    start = time.perf_counter()
                    fn(y_true, y_pred)
                    times[name].append(time.perf_counter() - start)
            ratios = [g / b for g, b in zip(times["generated"], times["builtin"])]
            rows.append(
                {
                    "backend": backend,
                    "kind": kind,
                    "elements": int(np.prod(y_pred.shape)),
                    "generated_ms": 1e3 * statistics.median(times["generated"]),
                    "builtin_ms": 1e3 * statistics.median(times["builtin"]),
                    "ratio": statistics.median(ratios),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_backend(args.one, args.elements, args.repeat)))
        return
    rows = []
    for backend in args.backends.split(","):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                backend,
                "--elements",
                str(args.elements),
                "--repeat",
                str(args.repeat),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(f"{backend}: failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        rows += json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{'backend':<11} {'kind':<32} {'elements':>9} {'generated ms':>13} {'built-in ms':>12} {'ratio':>6}")
    for row in rows:
        print(
            f"{row['backend']:<11} {row['kind']:<32} {row['elements']:>9} {row['generated_ms']:>13.2f} "
            f"{row['builtin_ms']:>12.2f} {row['ratio']:>6.2f}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
