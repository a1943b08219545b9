"""The toy training script runs and the loss falls."""

import importlib.util
import math
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "train.py"


def load_train_script():
    spec = importlib.util.spec_from_file_location("{{ cookiecutter.package }}_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loss_falls_on_a_quick_run():
    losses = load_train_script().train(epochs=4, seed=0)
    assert len(losses) == 4
    assert all(math.isfinite(value) for value in losses), losses
    assert losses[-1] < losses[0], losses
