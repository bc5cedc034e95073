"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_test_data_dir() -> Path | None:
    """The Design-Bench data folder for tests: ``$N2CE_BBO_DATA_DIR`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("N2CE_BBO_DATA_DIR", "")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Path of the real Design-Bench data folder; skips the test when it is absent."""
    path = find_test_data_dir()
    if path is None:
        pytest.skip(
            "real Design-Bench data not found: set N2CE_BBO_DATA_DIR or place it at <repo>/../shared/data"
        )
    return path
