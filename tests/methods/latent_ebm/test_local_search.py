"""The neighbours of designs, the candidate pool, refinement, fill and the portfolio batch
(n2ce_bbo.methods.latent_ebm.local_search)."""

from __future__ import annotations

import numpy as np

from n2ce_bbo.methods.filters import ProposalFilters
from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.latent_ebm.local_search import CandidatePool, fill, neighbours, refine, select_portfolio
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData

L, C = 6, 3


def ones(x: np.ndarray) -> np.ndarray:
    """Score of token designs: how many positions hold token 1 (float64 ``[n]``)."""
    return (np.asarray(x) == 1).sum(axis=1).astype(np.float64)


def keep_all(x: np.ndarray) -> np.ndarray:
    return x


def tokens(n: int = 20, seed: int = 0) -> OfflineData:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, C, size=(n, L)).astype(np.int64)
    return OfflineData(x=x, y=ones(x).astype(np.float32).reshape(-1, 1), is_discrete=True, num_classes=C)


def test_pool_keeps_distinct_designs_and_scores_added_ones() -> None:
    x = np.array([[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    pool = CandidatePool(x, ones, keep_all)
    assert len(pool) == 2 and pool.scores.tolist() == [0.0, 1.0]
    assert pool.add(np.array([[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]])) == 1  # only the new design
    np.testing.assert_array_equal(pool.best(1), [[1, 1, 0, 0, 0, 0]])
    refuse = CandidatePool(x, ones, lambda found: found[:0])
    assert refuse.add(np.array([[2, 2, 2, 2, 2, 2]])) == 0


def test_refine_climbs_the_score_and_stops_when_converged() -> None:
    data = tokens()
    pool = CandidatePool(np.zeros((1, L), dtype=np.int64), ones, keep_all)
    added = refine(pool, data, ProposeConfig(), rounds=50, top=1, seed=0, stream="refine")
    assert added > 0 and ones(pool.best(1))[0] == L  # single-site mutants reach the all-ones design
    assert refine(pool, data, ProposeConfig(), rounds=0, top=1, seed=0, stream="refine") == 0


def test_fill_adds_neighbours_only_when_too_few_new_designs() -> None:
    data = tokens()
    train = RowSet(data.x)
    pool = CandidatePool(data.x[:2], ones, keep_all)  # only training designs: nothing new
    assert fill(pool, data, ProposeConfig(), budget=8, train_rows=train, seed=0) >= 8
    assert fill(pool, data, ProposeConfig(), budget=8, train_rows=train, seed=0) == 0  # enough now
    assert fill(CandidatePool(data.x[:2], ones, keep_all), data, ProposeConfig(fill=False), budget=8,
                train_rows=train, seed=0) == 0


def test_portfolio_is_spaced_new_designs_first_and_deterministic() -> None:
    data = tokens()
    cfg = ProposeConfig(explore_fraction=0.5, explore_rounds=3, explore_top=4, fill_scale=0.05)
    spacing = ProposalFilters(min_hamming=2).fit(data)

    def batch() -> tuple[np.ndarray, np.ndarray, int, int]:
        pool = CandidatePool(data.x[:4], ones, keep_all)
        refine(pool, data, cfg, rounds=2, top=4, seed=1, stream="refine")
        return select_portfolio(pool, data, cfg, budget=6, train_rows=RowSet(data.x), seed=1, filters=spacing)

    x, scores, n_explored, n_deep = batch()
    assert x.shape == (6, L) and n_deep <= 3 and n_explored >= 0
    assert not RowSet(data.x).mask(x).any()  # enough new designs: no training design in the batch
    for i in range(1, len(x)):
        assert ((x[:i] != x[i]).sum(axis=1) >= 1).all()
    x2, s2, _, _ = batch()
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(scores, s2)


def test_neighbours_of_tokens_and_continuous_designs() -> None:
    rng = np.random.default_rng(1)
    tok = OfflineData(x=rng.integers(0, 4, size=(10, 6)), y=np.zeros((10, 1)), is_discrete=True, num_classes=4)
    top = np.array([[0, 1, 2, 3, 0, 1]])
    mut = neighbours(top, tok, 0.02, 5, 0)
    assert mut.shape == (6 * 3, 6) and mut.dtype == np.int64
    assert np.all((mut != top).sum(1) == 1)  # single-position mutants
    assert np.unique(mut, axis=0).shape[0] == 18
    box = np.array([[-2.0, -2.0], [2.0, 2.0]], dtype=np.float32)
    cont = OfflineData(x=rng.uniform(-2, 2, size=(10, 2)).astype(np.float32), y=np.zeros((10, 1)), is_discrete=False,
                       bounds=box)
    pts = neighbours(np.zeros((2, 2), np.float32), cont, 0.02, 7, 0)
    assert pts.shape == (14, 2) and pts.dtype == np.float32 and np.all(np.abs(pts) < 0.5)
    np.testing.assert_array_equal(pts, neighbours(np.zeros((2, 2), np.float32), cont, 0.02, 7, 0))  # seeded
