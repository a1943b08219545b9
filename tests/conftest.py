"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import os

import pytest

from scaffold import check


@pytest.fixture(scope="session")
def r_available():
    """R with reticulate and testthat; skips with what to install, unless LOSSGEN_REQUIRE_R=1 (CI)."""
    missing = check.r_missing()
    if missing and not os.environ.get("LOSSGEN_REQUIRE_R"):
        pytest.skip(f"R tests cannot run here: {missing} (set LOSSGEN_REQUIRE_R=1 to fail instead)")
    assert not missing, missing


@pytest.fixture
def isolated_cwd(tmp_path, monkeypatch):
    """An empty working directory, and no team catalogs or debug switch from the environment."""
    monkeypatch.delenv("LOSSGEN_PATH", raising=False)
    monkeypatch.delenv("LOSSGEN_DEBUG", raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work
