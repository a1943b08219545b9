"""`lossgen new --backend`: the Keras backend the generated Python tests run on. The suites
themselves run on every backend in test_e2e_python.py; here, what happens around them."""

from __future__ import annotations

import importlib.util

import pytest

from scaffold import check
from scaffold.cli import main


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.chdir(tmp_path)


def without(module_name, monkeypatch):
    """Make `module_name` look uninstalled to lossgen's probe."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == module_name else find_spec(name, *args)
    )


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_missing_backend_keeps_the_project_and_names_the_extra(backend, tmp_path, monkeypatch, capsys):
    without(backend, monkeypatch)
    code = main(["new", "--kind", "mse", "--no-input", "--backend", backend, "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 3, out
    assert (tmp_path / "mse-loss" / "mse_loss" / "mse.py").is_file()
    assert f'pip install "lossgen[{backend}]"' in out
    assert f"the Keras {backend} backend is not installed" in out


def test_unknown_backend_is_a_usage_error(tmp_path, capsys):
    code = main(["new", "--kind", "mse", "--no-input", "--backend", "theano", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "theano" in err and "tensorflow" in err
    assert not (tmp_path / "mse-loss").exists()


def test_probe_names_the_extra_of_a_missing_backend():
    assert check.backend_missing("tensorflow") == ""
    assert "lossgen[no_such_backend]" in check.backend_missing("no_such_backend")


def test_python_tests_run_on_the_chosen_backend(tmp_path, monkeypatch):
    seen = {}

    def fake_stream(command, env, echo):
        seen.update(env)
        return 0, []

    monkeypatch.setattr(check, "_stream", fake_stream)
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # lossgen's choice wins over the caller's environment
    check.run_python_tests([tmp_path], backend="torch")
    assert seen["KERAS_BACKEND"] == "torch"
    check.run_tests("python", [tmp_path])
    assert seen["KERAS_BACKEND"] == "tensorflow"
