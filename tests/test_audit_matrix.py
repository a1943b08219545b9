"""Every built-in kind, imported from a library lossgen generated, passes `lossgen audit` on
TensorFlow, JAX and PyTorch: every check, --against its own kind. One child process per backend
audits all kinds (tests/audit_matrix_probe.py, scaffold.audit.runner.run_many), so Keras starts
once per backend and the fresh-process checks start a few processes, not one per kind.

A skip is allowed only where the check does not apply, for the reason this file names; a check
that skipped for any other reason would fail here."""

from __future__ import annotations

import pytest

from scaffold.audit import CHECK_IDS
from scaffold.catalog import load_catalog
from scaffold.tasks import LABELS_SHAPED_AS_PREDICTIONS
from tests.helpers import generate, probe

pytestmark = pytest.mark.e2e
BACKENDS = ("tensorflow", "jax", "torch")
CATALOG = load_catalog()
KINDS = CATALOG.names()


def expected_skips(task: str, backend: str) -> set[str]:
    """The checks that do not apply to a built-in kind of `task` on `backend`."""
    skips = set()
    if task in LABELS_SHAPED_AS_PREDICTIONS:
        skips.add("label_rank")  # labels have the prediction's shape
    if task in ("metric", "embedding"):
        skips.add("batch_independent")  # pairs and anchors may use the whole batch
    if backend == "torch":
        skips.add("jit")  # torch.compile is not run
    if backend != "tensorflow" or task == "embedding":
        skips.add("distributed")  # MirroredStrategy is TensorFlow's; mining is per replica
    return skips


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    out = tmp_path_factory.mktemp("matrix")
    generate(out, "--all", "--name", "every", "--no-format")
    library = out / "every-loss"
    return {
        backend: probe("audit_matrix_probe.py", backend, "every_loss", path=(library,), timeout=1800)
        for backend in BACKENDS
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_built_in_kind_passes_audit(kind, backend, audited):
    results = audited[backend][kind]
    assert list(results) == list(CHECK_IDS), results
    failures = {check: detail for check, (status, detail) in results.items() if status == "fail"}
    assert not failures, failures
    skips = {check for check, (status, _) in results.items() if status == "skip"}
    assert skips == expected_skips(CATALOG.get(kind).task, backend), {c: results[c][1] for c in skips}


def test_batch_coupled_kinds_say_why_a_zero_weight_keeps_its_gradient(audited):
    status, detail = audited["tensorflow"]["triplet_semihard"]["sample_weight"]
    assert status == "pass" and "still shapes the others' losses" in detail
