{%- set loss = cookiecutter._loss -%}
{%- set task = cookiecutter.task -%}
"""Train a small model with {{ cookiecutter.class_name }} on synthetic {{ task }} data.

    python train.py --epochs 10 [--seed 0] [--plot loss.png]

Prints the training loss per epoch; it should fall. --plot needs matplotlib.
"""

import argparse

import keras
import numpy as np
{%- if task == "metric" %}
from keras import ops
{%- endif %}

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}

PARAMS = {{ loss.params_python }}
FEATURES = 8
OUTPUTS = {{ loss.width }}


def make_data(samples=512, seed=0):
    """Inputs and targets with a learnable relation between them."""
    rng = np.random.default_rng(seed)
{%- if task == "metric" %}
    # Pairs of points; label 1 when both come from the same cluster.
    centers = rng.normal(scale=3.0, size=(4, FEATURES))
    left, right = rng.integers(0, 4, samples), rng.integers(0, 4, samples)
    right = np.where(rng.random(samples) < 0.5, left, right)
    noise = rng.normal(scale=0.5, size=(2, samples, FEATURES))
    x = np.concatenate([centers[left] + noise[0], centers[right] + noise[1]], axis=-1)
    y = (left == right).astype("float32")[:, None]
{%- else %}
    x = rng.normal(size=(samples, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, OUTPUTS))
    scores = x @ weights
{%- if task in ("regression", "multi_output") %}
    y = (scores + rng.normal(scale=0.1, size=scores.shape)).astype("float32")
{%- elif task == "positive_regression" %}
    y = rng.poisson(np.exp(0.3 * scores)).astype("float32")
{%- elif task == "binary" %}
    y = (scores > 0).astype("float32")
{%- elif task == "categorical" %}
    y = np.eye(OUTPUTS, dtype="float32")[scores.argmax(axis=-1)]
{%- elif task == "sparse_categorical" %}
    y = scores.argmax(axis=-1).astype("int32")
{%- endif %}
{%- endif %}
    return x, y
{% if task == "metric" %}

class PairDistance(keras.layers.Layer):
    """Euclidean distance between the embeddings of the two halves of each input row."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.embed = keras.layers.Dense(units)

    def call(self, pairs):
        left, right = ops.split(pairs, 2, axis=-1)
        difference = self.embed(left) - self.embed(right)
        return ops.sqrt(ops.sum(ops.square(difference), axis=-1, keepdims=True) + 1e-9)
{% endif %}

def build_model():
{%- if task == "metric" %}
    return keras.Sequential([keras.Input((2 * FEATURES,)), PairDistance()])
{%- else %}
    return keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(OUTPUTS, activation="{{ loss.head_activation }}"),
        ]
    )
{%- endif %}


def train(epochs=10, seed=0, verbose=0):
    """Fit the model and return the training loss of each epoch."""
    keras.utils.set_random_seed(seed)
    x, y = make_data(seed=seed)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss={{ cookiecutter.class_name }}(**PARAMS))
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


def plot(losses, path, plt):
    figure, axes = plt.subplots()
    axes.plot(range(1, len(losses) + 1), losses, marker="o")
    axes.set(xlabel="epoch", ylabel="training loss", title="{{ cookiecutter.class_name }}")
    figure.savefig(path)
    print(f"saved {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", help="save a plot of the loss curve")
    args = parser.parse_args(argv)
    plt = pyplot() if args.plot else None  # before training: a missing extra should not cost a run
    losses = train(args.epochs, args.seed)
    for epoch, value in enumerate(losses, start=1):
        print(f"epoch {epoch:3d}  loss {value:.6f}")
    if args.plot:
        plot(losses, args.plot, plt)


if __name__ == "__main__":
    main()
