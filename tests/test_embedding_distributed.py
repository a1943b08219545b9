"""Metric-learning losses under tf.distribute.MirroredStrategy: mining is per replica. With the
global batch split over two replicas, each anchor's value is the one its replica's half of the
batch gives alone, not the one the whole batch gives (as the specs and docs/spec-format.md say).
One child process for every embedding kind (tests/distributed_probe.py)."""

from __future__ import annotations

import numpy as np
import pytest

from scaffold.catalog import load_catalog
from tests.helpers import probe

pytestmark = pytest.mark.e2e
CATALOG = load_catalog()
KINDS = [name for name in CATALOG.names() if CATALOG.get(name).task == "embedding"]


@pytest.fixture(scope="module")
def measured():
    return probe("distributed_probe.py", *KINDS)


def test_every_embedding_kind_is_probed():
    assert len(KINDS) >= 7


@pytest.mark.parametrize("kind", KINDS)
def test_each_replica_mines_its_own_half_of_the_batch(kind, measured):
    result = {key: np.asarray(value) for key, value in measured[kind].items()}
    np.testing.assert_allclose(result["replicas"], result["halves"], rtol=1e-6, atol=1e-9)
    # and that differs from mining the whole batch: the documented behaviour is observable
    assert np.max(np.abs(result["halves"] - result["whole"])) > 1e-3
