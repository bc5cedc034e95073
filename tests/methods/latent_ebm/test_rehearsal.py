"""Tests of the oracle-free rehearsal (n2ce_bbo.methods.latent_ebm.rehearsal)."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.latent_ebm.rehearsal import choose, holdout_split, recovery


def test_holdout_split_partitions_rows_and_hides_the_top() -> None:
    y = np.random.default_rng(0).normal(size=200)
    s = holdout_split(y, 0.1, 0.2, seed=3)
    allidx = np.concatenate([s.fit, s.top, s.random])
    assert np.array_equal(np.sort(allidx), np.arange(200))
    assert s.top.size == 20 and s.random.size == 40
    assert y[s.top].min() >= y[s.fit].max()  # every hidden top row beats every fitted row
    assert np.array_equal(s.pool[:20], s.top)
    again = holdout_split(y, 0.1, 0.2, seed=3)
    other = holdout_split(y, 0.1, 0.2, seed=4)
    assert np.array_equal(again.random, s.random) and not np.array_equal(other.random, s.random)


def test_holdout_split_rejects_bad_fractions_and_tiny_data() -> None:
    with pytest.raises(InvalidDataError, match="fractions"):
        holdout_split(np.arange(100.0), 0.0, 0.1, 0)
    with pytest.raises(InvalidDataError, match="too few"):
        holdout_split(np.arange(12.0), 0.1, 0.1, 0)


def test_recovery_and_choose() -> None:
    y = np.array([5.0, 4.0, 0.0, -1.0])
    good = np.array([0.9, 0.8, 0.1, 0.0])
    bad = -good
    assert recovery(good, y, 2) == 4.5 and recovery(bad, y, 2) == -0.5
    assert recovery(np.array([np.nan, 1.0, 0.0, 0.0]), y, 1) == 4.0  # NaN ranks last
    best, table = choose({"w=0": bad, "w=1": good}, y, 2)
    assert best == "w=1" and table == {"w=0": -0.5, "w=1": 4.5}
    tie, _ = choose([("simple", good), ("fancy", good.copy())], y, 2)
    assert tie == "simple"
    with pytest.raises(InvalidDataError):
        choose({}, y, 2)
