"""The data-derived proposal filters (n2ce_bbo.methods.filters) and how a method holds them (methods/base.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.config import to_dict
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods import make_method
from n2ce_bbo.methods.filters import NO_FILTERS, ProposalFilters, filters_from, moved_filter_keys
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData

pytestmark = pytest.mark.usefixtures("one_thread")

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_REGRESSOR = {"hidden_sizes": [16], "epochs": 2, "batch_size": 100}
#: tiny baseline settings (those of tests/methods/test_method_contract.py)
TINY = {
    "grad": {"regressor": _REGRESSOR, "n_steps": 30, "lr": 0.2},  # the contract's 10 steps never leave the starts
    "cmaes": {"regressor": _REGRESSOR, "n_restarts": 2, "max_iters": 4},
    "bo-qei": {"n_train": 40, "q": 4, "mc_samples": 8, "num_restarts": 1, "raw_samples": 8, "maxiter": 3,
               "fit_maxiter": 10, "pool_size": 64, "pool_parents": 8, "acq_pool": 16},
}


def banned_pair_data(n: int = 600, length: int = 8, seed: int = 2) -> OfflineData:
    """Tokens 0..2 where token 0 is never followed by token 2 (a banned pair: expected ~0.1·n·L times)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(n, length))
    for _ in range(4):
        bad = (x[:, :-1] == 0) & (x[:, 1:] == 2)
        x[:, 1:][bad] = 1
    return OfflineData(x=x.astype(np.int64), y=(x == 2).sum(1, keepdims=True).astype(np.float32), is_discrete=True,
                       num_classes=3, name="banned02")


def has_banned(x: np.ndarray) -> np.ndarray:
    return ((x[:, :-1] == 0) & (x[:, 1:] == 2)).any(axis=1)


def test_defaults_validation_and_spacing_rule() -> None:
    f = ProposalFilters()
    assert (f.pair_support, f.pair_support_min_expected, f.min_hamming, f.min_distance, f.fill_unsupported) == (
        True, 10.0, 3, 0.01, True)
    assert f.min_spacing(True) == 3.0 and f.min_spacing(False) == 0.01
    assert filters_from(None) == f and filters_from({"min_hamming": 2}).min_hamming == 2
    with pytest.raises(ConfigError, match=r"filters\.min_haming.*min_hamming"):
        filters_from({"min_haming": 2})
    for bad in ({"min_hamming": 0}, {"min_distance": -1.0}, {"pair_support_min_expected": 0.0},
                {"fill_unsupported": "yes"}):
        with pytest.raises(ConfigError):
            filters_from(bad)


def test_old_propose_keys_move_to_filters_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"propose\.min_hamming"):
        out = moved_filter_keys({"propose": {"min_hamming": 2, "n_chains": 8}, "filters": {"min_distance": 0.0}})
    assert out == {"propose": {"n_chains": 8}, "filters": {"min_distance": 0.0, "min_hamming": 2}}
    with pytest.raises(ConfigError, match="once"):
        moved_filter_keys({"propose": {"pair_support": False}, "filters": {"pair_support": True}})
    assert moved_filter_keys({"propose": {"n_chains": 8}}) == {"propose": {"n_chains": 8}}
    with pytest.warns(DeprecationWarning):
        m = make_method("n2ce", {"propose": {"pair_support": False}})
    assert m.filters.pair_support is False


def test_every_method_holds_its_filters_and_records_them() -> None:
    for name in ("n2ce", "grad", "cmaes", "bo-qei"):
        m = make_method(name, {"filters": {"min_hamming": 2}})
        assert m.filters == ProposalFilters(min_hamming=2)
        assert m.config_dict()["filters"] == to_dict(ProposalFilters(min_hamming=2))
        assert make_method(name).filters == ProposalFilters()
    with pytest.raises(ConfigError, match=r"GradientAscent\.filters\.pair_suport"):
        make_method("grad", {"filters": {"pair_suport": False}})
    # the resolved config builds the same method again (a saved model folder, a benchmark cell)
    again = make_method("grad", make_method("grad", {"filters": {"pair_support": False}}).config_dict())
    assert again.filters.pair_support is False


def test_select_drops_unsupported_spaces_in_order_and_fills() -> None:
    data = banned_pair_data()
    df = ProposalFilters().fit(data)
    assert df.support is not None and df.support.banned[0, 2] and df.rules_out and df.active
    x = np.array([[0, 2, 1, 1, 1, 1, 1, 1],    # banned pair: after every supported design
                  [1, 1, 1, 1, 1, 1, 1, 1],    # kept first (the method's order, not the score)
                  [1, 1, 1, 1, 1, 1, 1, 2],    # 1 position from the first: skipped, fills after the spaced ones
                  [2, 2, 2, 1, 1, 1, 1, 1],    # 3 positions: kept
                  [1, 1, 1, 1, 1, 1, 1, 1],    # a repeat: never twice
                  [0, 2, 1, 1, 1, 1, 1, 1]])   # a repeat of an unsupported one
    scores = np.array([9.0, 1.0, 5.0, 2.0, 1.0, 9.0])
    bx, bs, facts = df.select(x, scores, 3)
    np.testing.assert_array_equal(bx, x[[1, 3, 2]])
    np.testing.assert_array_equal(bs, scores[[1, 3, 2]])
    assert facts["n_ruled_out"] == 2 and facts["n_unsupported_in_batch"] == 0 and facts["spacing"] == 3.0
    # too few supported designs: the unsupported ones complete the batch, in order, once each, and are counted
    bx, bs, facts = df.select(x, scores, 5)
    np.testing.assert_array_equal(bx, x[[1, 3, 2, 0]])
    assert facts["n_unsupported_in_batch"] == 1 and facts["shortfall"] == 1
    # fill_unsupported off: they never enter, the batch is short
    strict = ProposalFilters(fill_unsupported=False).fit(data)
    bx, _, facts = strict.select(x, scores, 5)
    np.testing.assert_array_equal(bx, x[[1, 3, 2]])
    assert facts["n_unsupported_in_batch"] == 0 and facts["shortfall"] == 2
    # training rows the method ranks last come after the skipped new designs
    last = RowSet(x[3:4])
    bx, _, _ = df.select(x, scores, 3, last=last)
    np.testing.assert_array_equal(bx, x[[1, 2, 3]])
    # every filter off: the ranking's distinct head, as given
    off = NO_FILTERS.fit(data)
    assert not off.active
    bx, _, facts = off.select(x, scores, 5)
    np.testing.assert_array_equal(bx, x[[0, 1, 2, 3]])
    assert facts["n_ruled_out"] == 0 and facts["n_banned_pairs"] is None


def test_continuous_spacing_is_in_box_diagonals(cont_data: OfflineData) -> None:
    df = ProposalFilters(min_distance=0.1).fit(cont_data)
    assert df.support is None and df.min_hamming == 1
    assert df.distance_scale == pytest.approx(np.sqrt(32.0))  # the [-2, 2]^2 box
    x = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    bx, _, _ = df.select(x, np.zeros(4), 3)
    np.testing.assert_array_equal(bx, x[[0, 2, 3]])  # 0.1 < 0.1 * 5.66: skipped


@pytest.mark.parametrize("name", ["grad", "cmaes", "bo-qei"])
def test_a_ranking_starts_with_the_methods_own_batch(name: str, tok_data: OfflineData) -> None:
    m = make_method(name, TINY[name], seed=3, device="cpu")
    m.fit(tok_data)
    batch = m.propose(8)
    ranked = m.propose_ranked(8, 32)
    assert len(ranked.x) > 8
    np.testing.assert_array_equal(ranked.x[:8], batch.x)
    np.testing.assert_array_equal(ranked.scores[:8], batch.scores)


def test_the_filters_keys_are_documented_with_their_defaults() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `filters\.([a-z_]+)` \| [^|]+ \| `([^`]*)` \|", text, flags=re.M))
    assert {k: str(v).lower() for k, v in to_dict(ProposalFilters()).items()} == rows
