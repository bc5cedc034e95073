"""Tests of the neighbouring-pair support check (n2ce_bbo.methods.support)."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.support import fit_pair_support
from n2ce_bbo.tasks.ehrlich import EhrlichFunction


def test_banned_transitions_of_an_ehrlich_function_are_found_from_its_data() -> None:
    fn = EhrlichFunction.build(8, 16, 2, 4, 4, seed=5)
    x = fn.sample(3000, np.random.default_rng(0))
    sup = fit_pair_support(x, 8)
    true_banned = fn.transition == 0
    assert true_banned.any()
    assert not (sup.banned & ~true_banned).any()  # every banned pair is truly banned
    assert sup.n_banned >= 0.8 * int(true_banned.sum())  # and most true bans are found
    assert sup.allowed(x).all()  # the data respect their own support
    rng = np.random.default_rng(0)
    mutants = x[:2000].astype(np.int64).copy()
    mutants[np.arange(2000), rng.integers(0, 16, 2000)] = rng.integers(0, 8, 2000)
    ok = sup.allowed(mutants)
    assert not ok.all()
    assert (fn(mutants[~ok]) == 0).all()  # every rejected mutant is infeasible (scores 0)


def test_small_or_complete_data_ban_nothing() -> None:
    x = np.array([[0, 1, 2], [2, 1, 0]])
    sup = fit_pair_support(x, 3)
    assert sup.n_banned == 0 and sup.allowed(np.array([[0, 0, 0], [2, 2, 2]])).all()
    full = np.random.default_rng(0).integers(0, 4, size=(5000, 8))
    assert fit_pair_support(full, 4).n_banned == 0


def test_a_never_seen_frequent_pair_is_banned() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=(3000, 10))
    for _ in range(3):  # remove every 0 -> 2 transition
        bad = (x[:, :-1] == 0) & (x[:, 1:] == 2)
        x[:, 1:][bad] = 1
    sup = fit_pair_support(x, 3)
    assert sup.banned.tolist() == [[False, False, True], [False, False, False], [False, False, False]]
    assert sup.allowed(np.array([[0, 2, 1], [0, 1, 2]])).tolist() == [False, True]


def test_bad_input_is_named() -> None:
    with pytest.raises(InvalidDataError, match="token ids"):
        fit_pair_support(np.array([[0, 5]]), 3)
    with pytest.raises(InvalidDataError, match=r"\[n, L\]"):
        fit_pair_support(np.zeros(3), 3)
    with pytest.raises(InvalidDataError, match="min_expected"):
        fit_pair_support(np.zeros((2, 2)), 3, min_expected=0)
