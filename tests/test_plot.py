"""A picture of the loss: `show --plot`, docs/loss.png in generated projects, and life without matplotlib."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scaffold import cli as cli_module
from scaffold import plot
from scaffold.catalog import load_catalog
from scaffold.spec import TASKS

CATALOG = load_catalog()
ONE_PER_TASK = [CATALOG.names(task)[0] for task in TASKS if CATALOG.names(task)]
WIDTH, HEIGHT = int(plot.SIZE[0] * plot.DPI), int(plot.SIZE[1] * plot.DPI)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("kind", ONE_PER_TASK)
def test_every_task_draws_finite_curves_of_the_stated_size(tmp_path, kind):
    spec = CATALOG.get(kind)
    values = spec.bind()
    _, sweeps = plot.sweeps(spec, values)
    for sweep in sweeps:
        loss, gradient = plot.curve(spec, values, sweep)
        inner = slice(5, -5)  # the ends may saturate (log of a probability near 0)
        assert loss.shape == sweep.x.shape and plot.np.all(plot.np.isfinite(loss[inner])), kind
        assert plot.np.all(plot.np.isfinite(gradient[inner])), kind
    path = plot.draw(spec, values, tmp_path / "loss.png", with_keras=False)
    assert png_size(path) == (WIDTH, HEIGHT)


def test_the_gradient_is_the_derivative_of_the_loss():
    spec = CATALOG.get("huber")
    _, (sweep,) = plot.sweeps(spec, spec.bind({"delta": 1.0}))
    loss, gradient = plot.curve(spec, spec.bind({"delta": 1.0}), sweep)
    # huber: e for |e| <= delta, delta * sign(e) beyond
    expected = plot.np.clip(sweep.x, -1.0, 1.0)
    assert plot.np.allclose(gradient, expected, atol=1e-4)
    assert plot.np.allclose(loss[sweep.x == 0], 0.0)


def test_show_plot_writes_the_picture_with_the_keras_builtin(tmp_path, capsys):
    path = tmp_path / "huber.png"
    assert cli_module.main(["show", "huber", "--delta", "2", "--plot", str(path)]) == 0
    assert f"Wrote {path}" in capsys.readouterr().out
    assert png_size(path) == (WIDTH, HEIGHT)


def test_new_puts_the_picture_in_the_project_and_its_readme(tmp_path):
    assert cli_module.main(["new", "--kind", "contrastive", "--no-input", "--no-test", "-o", str(tmp_path)]) == 0
    project = tmp_path / "contrastive-loss"
    assert png_size(project / "docs" / "contrastive.png") == (WIDTH, HEIGHT)
    assert "](docs/contrastive.png)" in (project / "README.md").read_text()
    assert "docs/contrastive.png" in (project / ".lossgen.toml").read_text()


def test_without_matplotlib_nothing_is_written_rather_than_a_project_without_pictures(tmp_path, capsys, monkeypatch):
    """The files lossgen writes are a function of the record: a machine without matplotlib (a
    dependency) does not make a project without pictures that `check` would then call outdated."""
    monkeypatch.setattr(
        plot, "plot_missing", lambda: "matplotlib is not installed (lossgen needs it): pip install matplotlib"
    )
    assert cli_module.main(["show", "huber", "--plot", str(tmp_path / "x.png")]) == 2
    assert "pip install matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    assert cli_module.main(["new", "--kind", "huber", "--no-input", "--no-test", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install matplotlib" in err and err.count("\n") == 1
    assert not (tmp_path / "huber-loss").exists()
