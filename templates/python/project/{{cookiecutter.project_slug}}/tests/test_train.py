{%- set losses = cookiecutter._project.losses -%}
"""The toy training script runs and the loss falls, for each loss of the package."""

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "train.py"


def load_train_script():
    spec = importlib.util.spec_from_file_location("{{ cookiecutter.package }}_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.integration
@pytest.mark.parametrize("loss", [{% for loss in losses %}"{{ loss.module }}"{{ ", " if not loop.last }}{% endfor %}])
def test_loss_falls_on_a_quick_run(loss):
    losses = load_train_script().train(loss, epochs=4, seed=0)
    assert len(losses) == 4
    assert all(math.isfinite(value) for value in losses), losses
    assert losses[-1] < losses[0], losses


def test_train_script_knows_every_loss():
    assert sorted(load_train_script().LOSSES) == [{% for loss in losses | sort(attribute="module") %}"{{ loss.module }}"{{ ", " if not loop.last }}{% endfor %}]
