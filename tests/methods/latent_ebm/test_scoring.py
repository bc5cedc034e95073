"""The candidate score and the filters of what may be proposed (n2ce_bbo.methods.latent_ebm.scoring)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.latent_ebm.scoring import CandidateScorer, density_stats, value_and_density


class LinearSurrogate:
    """A stand-in surrogate: value = sum of the design, log-density = minus its squared norm."""

    def value_and_log_density(self, x: np.ndarray, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        return t.sum(dim=1), -(t**2).sum(dim=1)


class OnlyEven:
    """A stand-in for user constraints: designs whose first value is even; projection sets the last to 0."""

    def allowed(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, 0] % 2 == 0

    def project(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, copy=True)
        out[:, -1] = 0
        return out


X = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])


def test_density_stats_and_standardised_density() -> None:
    mean, std = density_stats(LinearSurrogate(), X, batch=2)
    lp = -(X**2).sum(1)
    assert mean == pytest.approx(lp.mean()) and std == pytest.approx(lp.std())
    value, z = value_and_density(LinearSurrogate(), X, (mean, std), batch=2)
    np.testing.assert_allclose(value, X.sum(1))
    np.testing.assert_allclose(z, (lp - mean) / std)
    assert value.dtype == z.dtype == np.float64


def test_score_is_value_plus_weighted_density_plus_trust() -> None:
    stats = (-2.0, 1.0)
    plain = CandidateScorer(LinearSurrogate(), stats, ProposeConfig(), weight=0.5)
    value, z = value_and_density(LinearSurrogate(), X, stats, 4096)
    np.testing.assert_allclose(plain.score(X), value + 0.5 * z)
    trusted = CandidateScorer(LinearSurrogate(), stats, ProposeConfig(trust_weight=2.0, trust_margin=0.5), weight=0.0)
    np.testing.assert_allclose(trusted.score(X), value + 2.0 * np.minimum(0.0, z + 0.5))


def test_filters_apply_constraints_and_projection() -> None:
    free = CandidateScorer(LinearSurrogate(), (0.0, 1.0), ProposeConfig(), weight=0.0)
    assert not free.filters and free.allowed(X).all() and free.project(X) is X
    np.testing.assert_array_equal(free.keep_allowed(X), X)
    held = CandidateScorer(LinearSurrogate(), (0.0, 1.0), ProposeConfig(), weight=0.0, constraints=OnlyEven())
    assert held.filters
    np.testing.assert_array_equal(held.allowed(X), [True, False, True, True])
    np.testing.assert_array_equal(held.keep_allowed(X), X[[0, 2, 3]])
    assert (held.project(X)[:, -1] == 0).all()
