"""Tiny offline problems shared by the method tests (continuous and token designs)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from n2ce_bbo.tasks.base import OfflineData

OPT = np.array([0.5, -0.3])


def _quadratic(x: np.ndarray) -> np.ndarray:
    return -np.sum((np.asarray(x, dtype=np.float64) - OPT) ** 2, axis=1)


def _count2(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x) == 2).sum(axis=1).astype(np.float64)


@pytest.fixture(scope="session")
def quadratic() -> Callable[[np.ndarray], np.ndarray]:
    """The objective of ``cont_data``: a 2-D concave quadratic, maximum 0 at (0.5, -0.3); ``[n, 2] -> [n]``."""
    return _quadratic


@pytest.fixture(scope="session")
def count2() -> Callable[[np.ndarray], np.ndarray]:
    """The objective of ``tok_data``: how many tokens equal 2; ``[n, L] -> [n]``."""
    return _count2


@pytest.fixture(scope="session")
def cont_data() -> OfflineData:
    """300 rows of the ``quadratic`` objective on [-2, 2]^2 with the disc of radius 0.8 around the optimum hidden."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(2000, 2)).astype(np.float32)
    x = x[_quadratic(x) < -0.64][:300]
    bounds = np.array([[-2, -2], [2, 2]], dtype=np.float32)
    return OfflineData(x=x, y=_quadratic(x).astype(np.float32)[:, None], is_discrete=False, bounds=bounds, name="quad")


@pytest.fixture(scope="session")
def tok_data() -> OfflineData:
    """300 distinct sequences (L=6, C=4) with at most 3 tokens equal to 2; y = the ``count2`` objective."""
    rng = np.random.default_rng(1)
    x = np.unique(rng.integers(0, 4, size=(3000, 6)), axis=0)
    x = x[_count2(x) <= 3]
    x = x[rng.permutation(len(x))[:300]]
    return OfflineData(x=x, y=_count2(x).astype(np.float32)[:, None], is_discrete=True, num_classes=4, name="count2")
