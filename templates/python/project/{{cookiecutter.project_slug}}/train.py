{%- set project = cookiecutter._project -%}
{%- set losses = project.losses -%}
{%- set tasks = losses | map(attribute="task") | unique | list -%}
"""Train a small model with one of this package's losses on synthetic data of its task.

    python train.py [--loss {{ losses[0].module }}] [--epochs 10] [--seed 0] [--plot loss.png]

Prints the training loss per epoch; it should fall. --plot needs matplotlib.
Losses: {{ losses | map(attribute="module") | join(", ") }}.
"""

# Keras (and its backend) is imported only when a model is built, so --help answers at once.
import argparse
import importlib

import numpy as np

# Each loss (its class in {{ cookiecutter.package }}) with the parameters the package was generated with,
# its task, and the model head it trains.
LOSSES = {
{%- for loss in losses %}
    "{{ loss.module }}": {
        "loss": "{{ loss.class_name }}",
        "params": {{ loss.params_python }},
        "task": "{{ loss.task }}",
        "outputs": {{ loss.width }},
        "activation": "{{ loss.head_activation }}",
    },
{%- endfor %}
}
FEATURES = 8
{%- if "segmentation" in tasks %}
PIXELS = 4  # a segmentation sample's mask
{%- endif %}


def make_data(task, outputs, samples=512, seed=0):
    """Inputs and targets of the task, with a learnable relation between them."""
    rng = np.random.default_rng(seed)
{%- if "metric" in tasks %}
    if task == "metric":
        # Pairs of points; label 1 when both come from the same cluster.
        centers = rng.normal(scale=3.0, size=(4, FEATURES))
        left, right = rng.integers(0, 4, samples), rng.integers(0, 4, samples)
        right = np.where(rng.random(samples) < 0.5, left, right)
        noise = rng.normal(scale=0.5, size=(2, samples, FEATURES))
        x = np.concatenate([centers[left] + noise[0], centers[right] + noise[1]], axis=-1)
        return x, (left == right).astype("float32")[:, None]
{%- endif %}
{%- if "embedding" in tasks %}
    if task == "embedding":
        # Points around 4 cluster centres; the label is the cluster.
        centers = rng.normal(scale=3.0, size=(4, FEATURES))
        labels = rng.integers(0, 4, samples)
        x = centers[labels] + rng.normal(size=(samples, FEATURES))
        return x.astype("float32"), labels.astype("int32")
{%- endif %}
{%- if project.data_tasks %}
    x = rng.normal(size=(samples, FEATURES)).astype("float32")
    scores = x @ rng.normal(size=(FEATURES, outputs))
{%- for task in project.data_tasks %}
    {{ "if" if loop.first else "elif" }} {{ 'task in ("regression", "multi_output")' if task == "regression" else 'task == "' ~ task ~ '"' }}:
{%- if task == "regression" %}
        y = (scores + rng.normal(scale=0.1, size=scores.shape)).astype("float32")
{%- elif task == "positive_regression" %}
        y = rng.poisson(np.exp(0.3 * scores)).astype("float32")
{%- elif task == "binary" %}
        y = (scores > 0).astype("float32")
{%- elif task == "categorical" %}
        y = np.eye(outputs, dtype="float32")[scores.argmax(axis=-1)]
{%- elif task == "sparse_categorical" %}
        y = scores.argmax(axis=-1).astype("int32")
{%- elif task == "segmentation" %}
        # One-hot masks: each pixel of the class its own scores favour.
        pixel_scores = (x @ rng.normal(size=(FEATURES, PIXELS * outputs))).reshape(samples, PIXELS, outputs)
        y = np.eye(outputs, dtype="float32")[pixel_scores.argmax(axis=-1)]
{%- elif task == "boxes" %}
        # A box around the origin in every box_format: two small negative numbers, then two near 2
        # (corners, or a corner or centre and a width and height).
        y = np.concatenate([-0.1 - 0.4 / (1 + np.exp(-scores[:, :2])), 1.5 + 1 / (1 + np.exp(-scores[:, 2:]))], axis=-1)
        y = y.astype("float32")
{%- elif task == "gaussian" %}
        # One target per sample with noise the model can learn the variance of.
        y = (scores[:, :1] + rng.normal(scale=0.3, size=(samples, 1))).astype("float32")
{%- endif %}
{%- endfor %}
    else:
        raise ValueError(f"no synthetic data for the {task!r} task")
    return x, y
{%- endif %}
{% if "metric" in tasks %}

def pair_distance(units=8):
    """A layer: the Euclidean distance between the embeddings of the two halves of each input row."""
    import keras
    from keras import ops

    class PairDistance(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.embed = keras.layers.Dense(units)

        def call(self, pairs):
            left, right = ops.split(pairs, 2, axis=-1)
            difference = self.embed(left) - self.embed(right)
            return ops.sqrt(ops.sum(ops.square(difference), axis=-1, keepdims=True) + 1e-9)

    return PairDistance(units)
{% endif %}

def loss_class(loss):
    """The named loss's class; importing the package registers its losses with Keras."""
    return getattr(importlib.import_module("{{ cookiecutter.package }}"), LOSSES[loss]["loss"])


def build_model(task, outputs, activation):
    import keras
{% if "metric" in tasks %}
    if task == "metric":
        return keras.Sequential([keras.Input((2 * FEATURES,)), pair_distance()])
{%- endif %}
{%- if "segmentation" in tasks %}
    if task == "segmentation":  # a mask of PIXELS pixels, the activation over each pixel's classes
        return keras.Sequential(
            [
                keras.Input((FEATURES,)),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(PIXELS * outputs),
                keras.layers.Reshape((PIXELS, outputs)),
                keras.layers.Activation(activation),
            ]
        )
{%- endif %}
    return keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(outputs, activation=activation),
        ]
    )


def train(loss="{{ losses[0].module }}", epochs=10, seed=0, verbose=0):
    """Fit the model with the named loss and return the training loss of each epoch."""
    import keras

    entry = LOSSES[loss]
    keras.utils.set_random_seed(seed)
    x, y = make_data(entry["task"], entry["outputs"], seed=seed)
    model = build_model(entry["task"], entry["outputs"], entry["activation"])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=loss_class(loss)(**entry["params"]))
    history = model.fit(x, y, epochs=epochs, batch_size=64, verbose=verbose)
    return history.history["loss"]


def pyplot():
    """matplotlib's pyplot, or a clear exit naming the extra that installs it."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit('--plot needs matplotlib: pip install -e ".[plot]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(losses, path, title, plt):
    figure, axes = plt.subplots()
    axes.plot(range(1, len(losses) + 1), losses, marker="o")
    axes.set(xlabel="epoch", ylabel="training loss", title=title)
    figure.savefig(path)
    print(f"saved {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loss", choices=sorted(LOSSES), default="{{ losses[0].module }}")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", help="save a plot of the loss curve")
    args = parser.parse_args(argv)
    plt = pyplot() if args.plot else None  # before training: a missing extra should not cost a run
    losses = train(args.loss, args.epochs, args.seed)
    for epoch, value in enumerate(losses, start=1):
        print(f"epoch {epoch:3d}  loss {value:.6f}")
    if args.plot:
        plot(losses, args.plot, LOSSES[args.loss]["loss"], plt)


if __name__ == "__main__":
    main()
