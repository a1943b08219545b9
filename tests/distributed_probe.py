"""Run by tests/test_embedding_distributed.py in a child process (TensorFlow with two logical CPUs
must be configured before anything else starts it): the per-anchor values of an embedding loss
computed under tf.distribute.MirroredStrategy, each replica holding half of the global batch.
Prints one JSON object per kind: the values, each half's values alone, and the whole batch's."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(kinds: list[str]) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from scaffold.catalog import load_catalog
    from scaffold.validate import load_python_loss

    rng = np.random.default_rng(0)
    # two samples of each of two classes in each half: every replica can mine
    labels = np.array([0, 0, 1, 1, 0, 1, 1, 0], dtype=np.float64)[:, None]
    embeddings = rng.normal(size=(8, 4))  # even: npairs packs an anchor and a positive per row
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    dataset = tf.data.Dataset.from_tensor_slices((labels, embeddings)).batch(8)
    y_true, y_pred = next(iter(strategy.experimental_distribute_dataset(dataset)))
    catalog = load_catalog()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            loss = load_python_loss(catalog.get(kind), Path(tmp))
            per_replica = strategy.run(tf.function(lambda t, p, loss=loss: loss(t, p)), args=(y_true, y_pred))
            replicated = np.asarray(strategy.gather(per_replica, axis=0))
            halves = np.concatenate([np.asarray(loss(labels[h], embeddings[h])) for h in (slice(0, 4), slice(4, 8))])
            whole = np.asarray(loss(labels, embeddings))
            results[kind] = {"replicas": replicated.tolist(), "halves": halves.tolist(), "whole": whole.tolist()}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
