"""End to end: `lossgen new` for every built-in kind, then every generated test suite on each Keras
backend (TensorFlow, JAX, PyTorch), each backend in ONE pytest process for all of them (it starts
once), then `black --check` on the output."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scaffold import check
from scaffold.catalog import load_catalog
from scaffold.cli import cli

pytestmark = pytest.mark.e2e
KINDS = load_catalog().names()
BACKENDS = ("tensorflow", "jax", "torch")
# Non-default values: examples must still use spec defaults, logits paths must be exercised.
VARIANTS = {
    "weighted_cce --class-weights 1,2,5 --from-logits": ["--class-weights", "1,2,5", "--from-logits"],
    "sparse_focal --gamma 1.5 --from-logits": ["--gamma", "1.5", "--from-logits"],
    "binary_focal --alpha 0.6 --from-logits": ["--alpha", "0.6", "--from-logits"],
    "output_mse --output-index 2": ["--output-index", "2"],
    "quantile --tau 0.9": ["--tau", "0.9"],
}


def generate(output_dir: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["new", *args, "--no-input", "--no-test", "--output-dir", str(output_dir)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("python-projects")
    made = {}
    for kind in KINDS:
        generate(root, "--kind", kind)
        made[kind] = root / f"{kind.replace('_', '-')}-loss"
    generate(root, "--kind", "huber", "--delta", "2", "--name", "huber-delta-2")
    made["huber --delta 2"] = root / "huber-delta-2-loss"
    for number, (label, options) in enumerate(VARIANTS.items()):
        kind = label.split()[0]
        generate(root, "--kind", kind, *options, "--name", f"variant-{number}")
        made[label] = root / f"variant-{number}-loss"
    return made


@pytest.fixture(scope="module")
def backend_reports(projects):
    """backend -> {kind: report}; each backend's run covers every project, and runs once."""
    runs: dict[str, dict[str, check.TestReport]] = {}

    def reports_on(backend: str) -> dict[str, check.TestReport]:
        if backend not in runs:
            runs[backend] = dict(zip(projects, check.run_python_tests(list(projects.values()), backend=backend)))
        return runs[backend]

    return reports_on


@pytest.fixture(scope="module")
def reports(backend_reports) -> dict[str, check.TestReport]:
    return backend_reports("tensorflow")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS + list(VARIANTS))
def test_generated_project_tests_pass(kind, backend, backend_reports):
    report = backend_reports(backend)[kind]
    assert report.ok, f"{kind} on {backend}: {report.summary()}\n" + "\n".join(report.output[-60:])
    assert report.skipped == 0, f"{kind} on {backend}: generated tests must not skip checks"


def test_huber_delta_2_matches_keras_and_reloads(projects, reports):
    project = projects["huber --delta 2"]
    assert reports["huber --delta 2"].ok
    cases = (project / "tests" / "huber_delta_2" / "cases.py").read_text()
    assert 'PARAMS = {"delta": 2.0}' in cases
    values_tests = (project / "tests" / "huber_delta_2" / "test_values.py").read_text()
    # The passing suite compared against Keras' own Huber with delta=2 on random data ...
    assert 'keras.losses.Huber(delta=2.0, reduction=None, dtype="float64")' in values_tests
    # ... and saved and reloaded a compiled model without custom_objects.
    assert "keras.models.load_model(path)" in (project / "tests" / "huber_delta_2" / "test_keras.py").read_text()


def test_generated_code_is_black_clean(projects):
    import black

    unformatted = []
    for project in projects.values():
        for path in project.rglob("*.py"):
            source = path.read_text()
            try:
                black.format_file_contents(source, fast=False, mode=black.Mode())
            except black.NothingChanged:
                continue
            unformatted.append(str(path))
    assert unformatted == []


def test_generated_projects_record_their_answers(projects):
    import tomllib

    record = tomllib.loads((projects["huber --delta 2"] / ".lossgen.toml").read_text())
    (loss,) = record["losses"]
    assert loss["kind"] == "huber" and record["target"] == "python"
    assert loss["params"] == {"delta": 2.0}
