"""Every registered method's proposals pass the same data-derived filters on the run path
(n2ce_bbo/workflow/proposing.py): on a token task with a banned neighbouring pair no proposal holds it, the batch
is spaced, the filters off give the method's own batch, and the latent EBM's batch is the one it gives alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.constraints import Constraints
from n2ce_bbo.errors import DataWarning
from n2ce_bbo.methods import list_methods, make_method
from n2ce_bbo.methods.base import Method, Proposal
from n2ce_bbo.methods.filters import NO_FILTERS, ProposalFilters
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.workflow.proposing import OVERSAMPLE, ranking_length, run_proposer

pytestmark = pytest.mark.usefixtures("one_thread")

Q = 8
_LATENT: dict[str, Any] = {
    "model": {"latent_dim": 2, "hidden": 16, "depth": 1, "prior_hidden": 16, "prior_depth": 1},
    "prior": {"K": 2, "mle_langevin_steps": 5}, "train": {"epochs": 1, "batch_size": 100},
    "rehearsal": {"enabled": False},
    # the sampler path (3^8 designs would be searched whole): chains, refinement and the spaced portfolio
    "propose": {"n_chains": 64, "chain_chunk": 32, "sampler": {"n_steps": 5}, "refine_rounds": 1, "refine_top": 8,
                "enumerate_limit": 0},
}
_REGRESSOR = {"hidden_sizes": [16], "epochs": 2, "batch_size": 100}
TINY: dict[str, dict[str, Any]] = {
    "n2ce": _LATENT, "nce": _LATENT, "mle": _LATENT, "gaussian": _LATENT,
    "grad": {"regressor": _REGRESSOR, "n_steps": 30, "lr": 0.2},
    "grad-ensemble": {"regressor": _REGRESSOR, "n_steps": 30, "lr": 0.2, "n_members": 2},
    "cmaes": {"regressor": _REGRESSOR, "n_restarts": 2, "max_iters": 6},
    "bo-qei": {"n_train": 40, "q": 4, "mc_samples": 8, "num_restarts": 1, "raw_samples": 8, "maxiter": 3,
               "fit_maxiter": 10, "pool_size": 256, "pool_parents": 8, "acq_pool": 16},
}


def banned_pair_data() -> OfflineData:
    """600 rows of 8 tokens in 0..2 where token 0 is never followed by token 2 (expected ~500 times by chance);
    the score counts 2s, so a surrogate is drawn towards designs that put a 2 after a 0."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(600, 8))
    for _ in range(4):
        bad = (x[:, :-1] == 0) & (x[:, 1:] == 2)
        x[:, 1:][bad] = 1
    return OfflineData(x=x.astype(np.int64), y=(x == 2).sum(1, keepdims=True).astype(np.float32), is_discrete=True,
                       num_classes=3, name="banned02")


def has_banned(x: np.ndarray) -> np.ndarray:
    return ((x[:, :-1] == 0) & (x[:, 1:] == 2)).any(axis=1)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Method]:
    data = banned_pair_data()
    out = {}
    for name in list_methods():
        assert name in TINY, f"method {name!r} has no tiny settings in this test: add a row to TINY"
        m = make_method(name, TINY[name], seed=1, device="cpu")
        m.fit(data)
        out[name] = m
    return out


def _with_filters(m: Method, filters: ProposalFilters) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    saved, m.filters = m.filters, filters
    try:
        return run_proposer(m, Q, Constraints())
    finally:
        m.filters = saved


@pytest.mark.parametrize("name", list_methods())
def test_every_method_passes_the_filters_by_default(name: str, fitted: dict[str, Method]) -> None:
    m = fitted[name]
    x, scores, info = run_proposer(m, Q, Constraints())
    assert x.shape == (Q, 8) and np.unique(x, axis=0).shape[0] == Q and scores.shape == (Q,)
    assert not has_banned(x).any(), "a proposal holds the banned pair 0 -> 2"
    facts = info["filters"]
    assert facts["n_banned_pairs"] >= 1 and facts["shortfall"] == 0
    assert facts["applied_by"] == ("method" if m.applies_filters else "run path")
    # spacing: new designs 3 positions apart come first, in the ranking's order; designs closer than that only fill
    # a batch the ranking cannot fill with spaced ones (as many spaced as a greedy walk of the ranking finds)
    train = RowSet(m._require_fit().x)
    new = x[~train.mask(x)]
    gaps = [int((new[:i] != new[i]).sum(axis=1).min()) for i in range(1, len(new))]
    n_spaced = 1 + next((i for i, g in enumerate(gaps) if g < 3), len(gaps))
    assert all(g < 3 for g in gaps[n_spaced - 1:]), f"a spaced design after a filler: {gaps}"
    if m.applies_filters:
        assert n_spaced == len(new), f"the batch is not spaced by 3 positions: {gaps}"
    else:
        ranking = m.propose_ranked(Q, ranking_length(m, Q)).x
        assert n_spaced == min(greedy_spaced(ranking[~has_banned(ranking) & ~train.mask(ranking)], 3), Q)


def greedy_spaced(ranking: np.ndarray, min_hamming: int) -> int:
    """How many designs a greedy walk of ``ranking`` keeps at least ``min_hamming`` positions from every kept one."""
    kept: list[np.ndarray] = []
    for row in ranking[np.sort(np.unique(ranking, axis=0, return_index=True)[1])]:
        if all(int((row != k).sum()) >= min_hamming for k in kept):
            kept.append(row)
    return len(kept)


@pytest.mark.parametrize("name", list_methods())
def test_filters_off_give_the_methods_own_batch(name: str, fitted: dict[str, Method]) -> None:
    m = fitted[name]
    x, scores, info = _with_filters(m, NO_FILTERS)
    saved, m.filters = m.filters, NO_FILTERS
    try:
        own = m.propose(Q)  # what the method proposed before the filters were the run path's
    finally:
        m.filters = saved
    np.testing.assert_array_equal(x, own.x)
    np.testing.assert_array_equal(scores, own.scores)
    assert info["filters"]["n_ruled_out"] == 0


def test_the_filters_are_not_vacuous_here(fitted: dict[str, Method]) -> None:
    # without the pair filter some method does propose the banned pair on this task, so the tests above can fail
    found = {name: bool(has_banned(_with_filters(m, NO_FILTERS)[0]).any()) for name, m in fitted.items()}
    assert any(found.values()), found


@pytest.mark.parametrize("name", ["n2ce", "gaussian"])
def test_the_latent_ebm_batch_is_the_one_it_gives_alone(name: str, fitted: dict[str, Method]) -> None:
    # the latent EBM applies the same filters while it searches: the run path only checks its batch
    m = fitted[name]
    x, scores, _ = run_proposer(m, Q, Constraints())
    own = m.propose(Q)
    np.testing.assert_array_equal(x, own.x)
    np.testing.assert_array_equal(scores, own.scores)


def test_fitted_model_filters_per_call_and_recorded() -> None:
    data = banned_pair_data()
    model = n2ce_bbo.fit((data.x, data.y.reshape(-1)), num_classes=3, method="grad", config=TINY["grad"], seed=1)
    on = model.propose(Q, seed=1)
    assert not has_banned(on.x).any() and on.config["filters"]["pair_support"] is True
    assert on.info["filters"]["applied_by"] == "run path"
    off = model.propose(Q, seed=1, filters={"pair_support": False, "min_hamming": 1})
    assert off.config["filters"]["pair_support"] is False and off.info["filters"]["applied_by"].startswith("none")
    same = model.propose(Q, seed=1, config={"filters": {"pair_support": False, "min_hamming": 1}})
    np.testing.assert_array_equal(same.x, off.x)
    assert model.method.filters == ProposalFilters()  # a per-call setting, not kept
    # the batch report measures the spacing the filters aimed at
    assert on.batch["diversity"]["min_distance"] == 3.0


@dataclass
class _NoSettings:
    pass


class _MostlyBanned(Method):
    """A method whose ranking holds the banned pair 0 -> 2 in all but three designs (only ``propose``: asked for
    OVERSAMPLE times the budget)."""

    Config = _NoSettings

    def fit(self, data: OfflineData) -> None:
        self.data = data

    def propose(self, budget: int) -> Proposal:
        rng = np.random.default_rng(self.seed)
        x = rng.integers(0, 3, size=(budget, 8))
        x[3:, :2] = [0, 2]  # every design but the first three holds the banned pair
        x[:3] = [[1, 1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 1, 1, 1, 1], [1, 1, 1, 1, 2, 2, 2, 2]]
        return Proposal(x=x, scores=-np.arange(budget, dtype=np.float64))


def test_a_ranking_short_of_supported_designs_is_completed_and_said() -> None:
    data = banned_pair_data()
    model = n2ce_bbo.fit((data.x, data.y.reshape(-1)), num_classes=3, method="grad", config=TINY["grad"], seed=1)
    model.method = _MostlyBanned(seed=1)
    model.method.fit(model.offline)
    with pytest.warns(DataWarning, match="never contain"):
        r = model.propose(Q, seed=1)
    facts = r.info["filters"]
    assert facts["n_ranked"] == OVERSAMPLE * Q and facts["n_ruled_out"] >= OVERSAMPLE * Q - 3 - 1
    assert r.n_unique == Q and facts["n_unsupported_in_batch"] == Q - 3 and facts["shortfall"] == 0
    assert not has_banned(r.x[:3]).any() and has_banned(r.x[3:]).all()  # supported designs first
    # fill_unsupported off: a short batch of supported designs, said so
    with pytest.warns(DataWarning, match="data-derived filters"):
        short = model.propose(Q, seed=1, filters={"fill_unsupported": False})
    assert len(short.x) == 3 and short.shortfall == short.info["filters"]["shortfall"] == Q - 3
    assert not has_banned(short.x).any()
