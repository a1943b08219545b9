"""The fresh process of `lossgen audit`: `python -m scaffold.audit.child SPEC MODE ...`.

A user who reloads a model imports their losses' module, then calls load_model; this does the same
(the target's module imported, nothing else of the audit's state carried over) and prints one JSON
line: the answer, or {"error": the error's last line}.

Modes: `reload MODEL DATA` (save_reload), `values DATA` (backends), `distributed` (distributed).
"""

from __future__ import annotations

import json
import os
import sys


def reload(spec: dict, model_path: str, data_path: str) -> dict:
    import keras
    import numpy as np

    from scaffold.audit.target import import_module, parse

    import_module(parse(spec["target"]))  # registers whatever the module registers, as for a user
    data = np.load(data_path)
    model = keras.models.load_model(model_path)
    loss = model.evaluate(data["inputs"], data["y_true"], verbose=0, batch_size=len(data["inputs"]))
    return {"loss": float(loss), "loss_repr": repr(model.loss)[:200]}


def values(spec: dict, data_path: str) -> dict:
    import numpy as np
    from keras import ops

    from scaffold.audit.target import load, parse

    subject = load(parse(spec["target"]), spec["params"])
    data = np.load(data_path)
    result = subject.loss_object(None)(data["y_true"], data["y_pred"])
    return {"values": np.asarray(ops.convert_to_numpy(result)).astype("float64").tolist()}


def distributed(spec: dict) -> dict:
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np

    from scaffold import domains
    from scaffold.audit.checks import HEADS, _Domain, head_layers
    from scaffold.audit.target import load, parse

    subject = load(parse(spec["target"]), spec["params"])
    case = domains.sample(
        _Domain(spec["task"]), {"from_logits": True} if spec["from_logits"] else {}, np.random.default_rng(5), batch=16
    )
    inputs = np.random.default_rng(6).normal(size=(16, 4)).astype("float32")
    head = "linear" if spec["from_logits"] else HEADS[spec["task"]]

    def train(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(7)
            model = keras.Sequential([keras.Input((4,)), *head_layers(keras, case.y_pred.shape[1:], head)])
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss=subject.for_compile())
        model.fit(inputs, case.y_true, epochs=3, batch_size=16, verbose=0, shuffle=False)
        return np.concatenate([np.ravel(w) for w in model.get_weights()])

    one = train(tf.distribute.get_strategy())
    two = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    return {"difference": float(np.max(np.abs(one - two)))}


MODES = {"reload": reload, "values": values, "distributed": distributed}


def main(argv: list[str]) -> int:
    spec, mode, rest = json.loads(argv[0]), argv[1], argv[2:]
    try:
        if os.environ.get("KERAS_BACKEND") == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
        answer = MODES[mode](spec, *rest)
    except BaseException as exc:
        from scaffold.audit.target import last_line

        answer = {"error": last_line(exc)}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
