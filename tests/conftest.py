"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_test_data_dir() -> Path | None:
    """The Design-Bench data folder for tests: ``$N2CE_BBO_DATA_DIR`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("N2CE_BBO_DATA_DIR", "")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


NO_CUDA_REASON = (
    "needs a CUDA GPU: torch.cuda.is_available() is False here (benchmarks/gpu_check.sh runs these on a GPU machine)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test marked ``cuda`` when torch sees no CUDA device, with the reason."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=NO_CUDA_REASON)
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Path of the real Design-Bench data folder; skips the test when it is absent."""
    path = find_test_data_dir()
    if path is None:
        pytest.skip(
            "real Design-Bench data not found: set N2CE_BBO_DATA_DIR or place it at <repo>/../shared/data"
        )
    return path


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch intra-op thread for a test: tiny models run faster on one thread, and on a shared 2-core
    machine multi-threaded tiny ops can stall for milliseconds. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
