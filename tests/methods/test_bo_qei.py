"""The BO-qEI baseline (methods/bo_qei.py): GP subset, mutant pool, analytic-EI shortlist, new designs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods import make_method
from n2ce_bbo.methods.bo_qei import gp_subset, mutant_pool, shortlist
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL: dict[str, Any] = {"n_train": 150, "q": 4, "raw_samples": 32, "num_restarts": 2, "maxiter": 15,
                         "pool_size": 200, "mc_samples": 32}
Fn = Callable[[np.ndarray], np.ndarray]


def _fit(data: OfflineData) -> Any:
    method = make_method("bo-qei", SMALL, seed=0, device="cpu")
    method.fit(data)
    return method


def test_proposals_are_new_designs(cont_data: OfflineData, tok_data: OfflineData, count2: Fn) -> None:
    cont = _fit(cont_data).propose(12)
    assert not RowSet(cont_data.x).mask(cont.x).any()
    assert cont.info["n_gp_rows"] == 150 and cont.info["n_rounds"] == 3
    tok = _fit(tok_data).propose(12)
    assert not RowSet(tok_data.x, dtype=np.int64).mask(tok.x).any()
    assert count2(tok.x).max() >= 3


def test_shortlist_ranks_by_analytic_expected_improvement(tok_data: OfflineData) -> None:
    method = _fit(tok_data)
    feats = method._features(tok_data.x[:64])
    best_f = method.best_f
    top = shortlist(method.gp, feats, best_f, 10, chunk=16)  # chunks must not change the ranking
    with torch.no_grad():
        post = method.gp.posterior(feats)
    mean, sd = post.mean.reshape(-1), post.variance.reshape(-1).clamp_min(1e-12).sqrt()
    u = (mean - best_f) / sd
    normal = torch.distributions.Normal(torch.zeros((), dtype=u.dtype), torch.ones((), dtype=u.dtype))
    ei = sd * (u * normal.cdf(u) + normal.log_prob(u).exp())  # the closed form, E[max(f - best_f, 0)]
    assert top.tolist() == torch.argsort(ei, descending=True, stable=True)[:10].tolist()


def test_mutant_pool_and_gp_subset() -> None:
    rng = np.random.default_rng(0)
    parents = rng.integers(0, 4, size=(5, 6))
    exclude = rng.integers(0, 4, size=(50, 6))
    pool = mutant_pool(parents, 4, 100, 2, np.random.default_rng(1), exclude=exclude)
    assert pool.shape == (100, 6) and np.unique(pool, axis=0).shape[0] == 100
    assert not RowSet(parents).mask(pool).any() and not RowSet(exclude).mask(pool).any()
    changed = (pool[:, None, :] != parents[None]).sum(-1).min(axis=1)
    assert changed.min() >= 1 and changed.max() <= 2
    y = np.arange(20.0)
    idx = gp_subset(y, 10, 0.5, np.random.default_rng(0))
    assert len(idx) == 10 and set(range(15, 20)) <= set(idx.tolist())  # the 5 best, then random others
    assert gp_subset(y, 50, 0.5, np.random.default_rng(0)).tolist() == list(range(20))


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=r"BOqEI\.q must be"):
        make_method("bo-qei", {"q": 0})
    with pytest.raises(ConfigError, match="top_fraction"):
        make_method("bo-qei", {"top_fraction": 1.5})
