"""End to end, Python: every built-in kind generated, and the generated tests run on each Keras backend
(TensorFlow, JAX, PyTorch), each backend in ONE pytest process (it starts once), then `black --check`.

The generated suites mark their tests: formula tests (values against the NumPy reference and Keras,
gradient check, float32/float16/bfloat16 stability) and `integration` tests (sample weights and
reductions, fit, save and reload of class and function, mixed precision, train.py), which prove the
template rather than the formula. Each backend's process runs:

- a library of every built-in kind (`new --all`): every kind's formula tests; on PyTorch (the
  cheapest backend to train on) its whole suite, so a library of all kinds also trains, saves and
  reloads every loss once;
- one one-loss project per task, chosen to carry the most parameters: its whole suite, so the
  template's integration tests run once per task and backend;
- the projects with non-default parameters (`huber --delta 2`, logits paths, list parameters): their
  formula tests.

A one-loss project of a kind holds the very code the library holds for it (the test below compares
them byte for byte, package name aside), so its formula tests are the library's. With
LOSSGEN_FULL_MATRIX=1 every kind is also generated as a one-loss project, and every project runs its
whole suite on every backend (the exhaustive matrix, for a release).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from scaffold import check
from scaffold.catalog import load_catalog
from scaffold.names import Names
from scaffold.pytest_group import RESULT_MARKER
from tests.helpers import FORMULA_ONLY, FULL_MATRIX, generate

pytestmark = pytest.mark.e2e
CATALOG = load_catalog()
KINDS = CATALOG.names()
BACKENDS = ("tensorflow", "jax", "torch")
LIBRARY = "alllosses"
LIBRARY_WHOLE_SUITE_ON = "torch"


def representative(task: str) -> str:
    """The kind that stands for its task: the most parameters, then a Keras reference, then the name."""
    return min(
        CATALOG.names(task), key=lambda kind: (-len(CATALOG.get(kind).params), not CATALOG.get(kind).reference, kind)
    )


TASKS = sorted({CATALOG.get(kind).task for kind in KINDS})
REPRESENTATIVES = {representative(task): task for task in TASKS}
# Non-default values: examples must still use spec defaults, logits paths must be exercised.
VARIANTS = {
    "huber --delta 2": ["--kind", "huber", "--delta", "2"],
    "weighted_cce --class-weights 1,2,5 --from-logits": [
        "--kind",
        "weighted_cce",
        "--class-weights",
        "1,2,5",
        "--from-logits",
    ],
    "sparse_focal --gamma 1.5 --from-logits": ["--kind", "sparse_focal", "--gamma", "1.5", "--from-logits"],
    "binary_focal --alpha 0.6 --from-logits": ["--kind", "binary_focal", "--alpha", "0.6", "--from-logits"],
    "output_mse --output-index 2": ["--kind", "output_mse", "--output-index", "2"],
    "quantile --tau 0.9": ["--kind", "quantile", "--tau", "0.9"],
}
ONE_LOSS_KINDS = KINDS if FULL_MATRIX else sorted(REPRESENTATIVES)


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """label -> project: the library, one-loss projects (by kind), and the variants (by label)."""
    root = tmp_path_factory.mktemp("python-projects")
    generate(root, "--all", "--name", LIBRARY)
    made = {LIBRARY: root / LIBRARY}
    for kind in ONE_LOSS_KINDS:
        generate(root, "--kind", kind)
        made[kind] = root / Names.derive(kind).directory("python")
    for number, (label, options) in enumerate(VARIANTS.items()):
        name = "huber-delta-2" if label == "huber --delta 2" else f"variant-{number}"
        generate(root, *options, "--name", name)
        made[label] = root / f"{name}-loss"
    return made


def counts(report: check.TestReport) -> dict:
    """The counts scaffold.pytest_group reported for the report's project (deselected tests included)."""
    for line in report.output:
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            if Path(data["project"]) == Path(report.project).resolve():
                return data
    raise AssertionError(f"no result for {report.project}")


def selection(label: str, backend: str) -> str:
    """The pytest -m expression the project's suite runs with on `backend` ("": the whole suite)."""
    if FULL_MATRIX or label in REPRESENTATIVES or (label == LIBRARY and backend == LIBRARY_WHOLE_SUITE_ON):
        return ""
    return FORMULA_ONLY


@pytest.fixture(scope="module")
def backend_reports(projects):
    """backend -> {label: report}; each backend's run covers every project, and runs once."""
    runs: dict[str, dict[str, check.TestReport]] = {}

    def reports_on(backend: str) -> dict[str, check.TestReport]:
        if backend not in runs:
            markers = {path: selection(label, backend) for label, path in projects.items()}
            reports = check.run_python_tests(list(projects.values()), backend=backend, markers=markers)
            runs[backend] = dict(zip(projects, reports))
        return runs[backend]

    return reports_on


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", [LIBRARY, *ONE_LOSS_KINDS, *VARIANTS])
def test_generated_project_tests_pass(label, backend, backend_reports):
    report = backend_reports(backend)[label]
    assert report.ok, f"{label} on {backend}: {report.summary()}\n" + "\n".join(report.output[-60:])
    assert report.skipped == 0, f"{label} on {backend}: generated tests must not skip checks"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_library_ran_every_kinds_tests(backend, backend_reports, projects):
    """Per kind: 20-odd formula tests (examples, reference, dtypes, shapes, gradient, 3 dtypes x extremes,
    config); the whole suite adds 11 integration tests and a run of train.py."""
    per_kind = 30 if selection(LIBRARY, backend) == "" else 20
    report = backend_reports(backend)[LIBRARY]
    assert report.passed >= per_kind * len(KINDS), report.summary()
    assert sorted(p.name for p in (projects[LIBRARY] / "tests").iterdir() if (p / "test_values.py").is_file()) == KINDS


def test_integration_tests_ran_once_per_task_and_backend_and_only_there(backend_reports, projects):
    assert set(REPRESENTATIVES.values()) == set(TASKS)
    for backend in BACKENDS:
        for label, report in backend_reports(backend).items():
            deselected = counts(report)["deselected"]
            if selection(label, backend) == "":
                assert deselected == 0, (label, backend)
            else:  # 8 in test_keras.py and train.py's run, per loss
                losses = len(KINDS) if label == LIBRARY else 1
                assert deselected == 9 * losses, (label, backend, deselected)


def test_one_loss_projects_hold_the_librarys_code_for_their_kind(projects):
    """So the library's run of a kind's formula tests is that of its one-loss project (package name aside)."""
    library = projects[LIBRARY]
    for kind in ONE_LOSS_KINDS:
        names = Names.derive(kind)
        project, package = projects[kind], names.package
        pairs = [(project / package / f"{kind}.py", library / LIBRARY / f"{kind}.py")]
        pairs += [
            (path, library / "tests" / kind / path.name)
            for path in (project / "tests" / kind).iterdir()
            if path.is_file()
        ]
        assert len(pairs) >= 7, pairs
        for one, other in pairs:
            assert other.read_text().replace(LIBRARY, package) == one.read_text(), (one, other)


def test_huber_delta_2_matches_keras_and_reloads(projects, backend_reports):
    project = projects["huber --delta 2"]
    assert backend_reports("tensorflow")["huber --delta 2"].ok
    module = project / "tests" / "huber_delta_2"
    assert 'PARAMS = {"delta": 2.0}' in (module / "cases.py").read_text()
    # The passing suite compared against Keras' own Huber with delta=2 on random data ...
    assert 'keras.losses.Huber(delta=2.0, reduction=None, dtype="float64")' in (module / "test_values.py").read_text()
    # ... and its template saves and reloads a compiled model without custom_objects.
    assert "keras.models.load_model(path)" in (module / "test_keras.py").read_text()


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
    record = tomllib.loads((projects["huber --delta 2"] / ".lossgen.toml").read_text())
    (loss,) = record["losses"]
    assert loss["kind"] == "huber" and record["target"] == "python"
    assert loss["params"] == {"delta": 2.0}
