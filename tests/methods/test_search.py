"""Tests of exhaustive token-space search (n2ce_bbo.methods.search)."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.search import (
    iter_token_space,
    token_space_size,
    top_designs,
)
from n2ce_bbo.tasks.design_bench import codes_to_tokens, tokens_to_codes


def test_codes_round_trip_and_space_size() -> None:
    x = codes_to_tokens(np.arange(3**4), 4, 3, np.int64)
    assert x.shape == (81, 4) and token_space_size(4, 3) == 81
    assert np.array_equal(tokens_to_codes(x, 3), np.arange(81))
    assert np.unique(x, axis=0).shape[0] == 81
    assert x[1].tolist() == [0, 0, 0, 1]  # the last position is the least significant


def test_iter_covers_space_once_in_chunks() -> None:
    seen = np.concatenate([codes for codes, _ in iter_token_space(5, 2, chunk=7)])
    assert np.array_equal(seen, np.arange(32))


def test_top_designs_matches_brute_force_and_respects_exclude_and_allowed() -> None:
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(6, 3))

    def score(x: np.ndarray) -> np.ndarray:
        return weights[np.arange(6), x].sum(axis=1)

    allx = codes_to_tokens(np.arange(3**6), 6, 3, np.int64)
    exclude = allx[np.argsort(-score(allx))[:5]]  # the 5 best designs are "training rows"
    x, s, n = top_designs(score, 6, 3, 10, exclude=exclude, allowed=lambda d: d[:, 0] != 2, chunk=50)
    mask = (allx[:, 0] != 2) & ~np.isin(tokens_to_codes(allx, 3), tokens_to_codes(exclude, 3))
    ref = allx[mask][np.argsort(-score(allx[mask]), kind="stable")[:10]]
    assert n == int(mask.sum())
    assert np.array_equal(x, ref)
    assert np.all(np.diff(s) <= 0) and np.allclose(s, score(x))
    assert not (x[:, 0] == 2).any()


def test_top_designs_is_chunk_independent_on_ties() -> None:
    def flat(x: np.ndarray) -> np.ndarray:
        return np.zeros(x.shape[0])

    a = top_designs(flat, 4, 4, 9, chunk=5)[0]
    b = top_designs(flat, 4, 4, 9, chunk=256)[0]
    assert np.array_equal(a, b) and np.array_equal(tokens_to_codes(a, 4), np.arange(9))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidDataError, match="num_classes"):
        token_space_size(4, 1)
    with pytest.raises(InvalidDataError, match="keep"):
        top_designs(lambda x: np.zeros(len(x)), 2, 2, 0)
