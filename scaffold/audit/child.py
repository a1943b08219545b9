"""The fresh process of `lossgen audit`: `python -m scaffold.audit.child REQUESTS.json`.

A user who reloads a model imports their losses' module, then calls load_model; this does the same
(the target's module imported, nothing else of the audit's state carried over). REQUESTS.json is a
list of jobs of one backend (scaffold.audit.fresh); this prints one JSON line, a list with each
job's answer or {"error": the error's last line}.

Modes: `reload` (save_reload), `values` (backends), `distributed` (distributed).
"""

from __future__ import annotations

import json
import os
import sys


def reload(job: dict) -> dict:
    import keras
    import numpy as np

    from scaffold.audit.target import import_module, parse

    import_module(parse(job["target"]))  # registers whatever the module registers, as for a user
    data = np.load(job["data"])
    model = keras.models.load_model(job["model"])
    loss = model.evaluate(data["inputs"], data["y_true"], verbose=0, batch_size=len(data["inputs"]))
    return {"loss": float(loss), "loss_repr": repr(model.loss)[:200]}


def values(job: dict) -> dict:
    import numpy as np
    from keras import ops

    from scaffold.audit.target import load, parse

    subject = load(parse(job["target"]), job["params"])
    data = np.load(job["data"])
    result = subject.loss_object(None)(data["y_true"], data["y_pred"])
    return {"values": np.asarray(ops.convert_to_numpy(result)).astype("float64").tolist()}


_MIRRORED: list = []  # one MirroredStrategy per process: a second one's collectives fail in TensorFlow


def two_logical_cpus() -> None:
    """Before TensorFlow starts its runtime: MirroredStrategy's two replicas on one machine."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    _MIRRORED.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))


def distributed(job: dict) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from scaffold import domains
    from scaffold.audit.checks import HEADS, _Domain
    from scaffold.audit.runner import generated_tests
    from scaffold.audit.target import load, parse

    battery = generated_tests("battery")
    subject = load(parse(job["target"]), job["params"])
    case = domains.sample(
        _Domain(job["task"]), {"from_logits": True} if job["from_logits"] else {}, np.random.default_rng(5), batch=16
    )
    inputs = battery.toy_inputs(16, seed=6)
    head = "linear" if job["from_logits"] else HEADS[job["task"]]

    def train(strategy):
        with strategy.scope():
            model = battery.toy_model(case.y_pred.shape[1:], head, seed=7)
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss=subject.for_compile())
        model.fit(inputs, case.y_true, epochs=3, batch_size=16, verbose=0, shuffle=False)
        return np.concatenate([np.ravel(w) for w in model.get_weights()])

    one = train(tf.distribute.get_strategy())
    two = train(_MIRRORED[0])
    return {"difference": float(np.max(np.abs(one - two)))}


MODES = {"reload": reload, "values": values, "distributed": distributed}


def main(argv: list[str]) -> int:
    with open(argv[0]) as file:
        jobs = json.load(file)
    if os.environ.get("KERAS_BACKEND") == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    if any(job["mode"] == "distributed" for job in jobs):
        two_logical_cpus()
    answers = []
    for job in jobs:
        try:
            answers.append(MODES[job["mode"]](job))
        except BaseException as exc:
            from scaffold.audit.target import last_line

            answers.append({"error": last_line(exc)})
    sys.stdout.write("\n" + json.dumps(answers) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
