"""The candidate score and the filters of what may be proposed (n2ce_bbo.methods.latent_ebm.scoring)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.config import from_dict
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.latent_ebm.scoring import CandidateScorer, density_stats, value_and_density
from n2ce_bbo.methods.latent_ebm.uncertainty import expected_improvement, predictive
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate


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


def _surrogate(heads: int) -> LatentEBMSurrogate:
    torch.manual_seed(0)
    s = LatentEBMSurrogate(4, is_discrete=True, num_classes=3, latent_dim=3, hidden=8, value_heads=heads,
                           prior_stages=1, prior_hidden=8)
    s.set_data_stats(None, np.arange(10.0))
    return s


TOKENS = np.array(np.meshgrid(*[range(3)] * 4)).reshape(4, -1).T  # every design of the 3^4 space


@pytest.mark.parametrize("heads", [1, 3])
def test_mean_acquisition_scores_exactly_as_before(heads: int) -> None:
    s = _surrogate(heads)
    stats = density_stats(s, TOKENS, batch=16)
    cfg = ProposeConfig(trust_weight=0.5, score_batch=16)
    value, z = value_and_density(s, TOKENS, stats, 16)
    before = value + 0.1 * z + 0.5 * np.minimum(0.0, z + cfg.trust_margin)  # the candidate score's formula
    np.testing.assert_array_equal(CandidateScorer(s, stats, cfg, weight=0.1).score(TOKENS), before)
    ucb0 = CandidateScorer(s, stats, ProposeConfig(trust_weight=0.5, score_batch=16, acquisition="ucb", ucb_beta=0.0),
                           weight=0.1)
    np.testing.assert_array_equal(ucb0.score(TOKENS), before)  # beta 0: the mean, bit for bit


def test_ucb_and_ei_rank_by_the_acquisition() -> None:
    s = _surrogate(3)
    stats = density_stats(s, TOKENS, batch=64)
    mean, std, _ = predictive(s, TOKENS)
    _, z = value_and_density(s, TOKENS, stats, 64)
    ucb = CandidateScorer(s, stats, ProposeConfig(acquisition="ucb", ucb_beta=2.0), weight=0.3).score(TOKENS)
    np.testing.assert_allclose(ucb, mean + 2.0 * std + 0.3 * z)
    ei = CandidateScorer(s, stats, ProposeConfig(acquisition="ei"), weight=0.0).score(TOKENS)
    np.testing.assert_allclose(ei, expected_improvement(mean, std, s.y_max_standardized))
    assert (ei >= 0).all()


def test_acquisition_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="ucb_beta"):
        ProposeConfig(ucb_beta=-1.0)
    with pytest.raises(ConfigError, match="acquisition"):
        from_dict(ProposeConfig, {"acquisition": "thompson"})
