"""select_top: deduplication, ranking, and training designs ranked last."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.base import select_top


def test_dedup_and_order() -> None:
    x = np.array([[0, 1], [2, 3], [0, 1], [4, 5]])
    s = np.array([1.0, 3.0, 5.0, 2.0])
    top, scores = select_top(x, s, 2)
    assert top.tolist() == [[2, 3], [4, 5]]  # the first copy of [0, 1] keeps its own score 1.0
    assert scores.tolist() == [3.0, 2.0]


def test_excluded_designs_rank_last_but_fill_when_needed() -> None:
    x = np.array([[0, 1], [2, 3], [4, 5]])
    s = np.array([9.0, 1.0, 2.0])
    top, _ = select_top(x, s, 3, exclude=np.array([[0, 1]]))
    assert top.tolist() == [[4, 5], [2, 3], [0, 1]]


def test_nan_scores_rank_last_and_bad_budget() -> None:
    x = np.arange(6).reshape(3, 2)
    top, _ = select_top(x, np.array([np.nan, 0.0, 1.0]), 3)
    assert top[-1].tolist() == [0, 1]
    with pytest.raises(InvalidDataError):
        select_top(x, np.zeros(3), 0)
    with pytest.raises(InvalidDataError):
        select_top(x, np.zeros(2), 1)


def test_min_hamming_keeps_a_diverse_batch_and_fills_up() -> None:
    x = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [0, 1, 1], [2, 2, 2]])
    s = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    top, sc = select_top(x, s, 3, min_hamming=2)
    # [0,0,1] is one position from [0,0,0]; [0,1,1] one from [1,1,1]: both skipped for [2,2,2]
    assert top.tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    assert sc.tolist() == [5.0, 3.0, 1.0]
    top, _ = select_top(x, s, 5, min_hamming=3)  # too few qualify: the best skipped ones complete the batch
    assert top.tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 0, 1], [0, 1, 1]]
    with pytest.raises(InvalidDataError):
        select_top(x, s, 3, min_hamming=0)


def test_min_distance_spaces_continuous_designs() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.001, size=(50, 2)), rng.uniform(-1, 1, size=(50, 2))]).astype(np.float32)
    scores = np.concatenate([np.full(50, 10.0) + rng.normal(0, 0.01, 50), rng.normal(0, 1, 50)])
    top, _ = select_top(x, scores, 20, min_distance=0.05, distance_scale=2.0)
    assert len(top) == 20
    d = np.sqrt(((top[:, None] - top[None]) ** 2).sum(-1)) + np.eye(20) * 9
    # every design is at least 0.05 * 2 = 0.1 from every other (there are enough spread candidates)
    assert d.min() >= 0.1 - 1e-6
    assert np.abs(top[0]).max() < 0.01  # the best cluster keeps its best design, once
    plain, _ = select_top(x, scores, 20)
    assert (np.abs(plain) < 0.01).all()  # without spacing the batch is one cluster


def test_min_distance_fills_with_the_skipped_when_too_few_are_far() -> None:
    x = np.zeros((5, 2), dtype=np.float32) + np.arange(5)[:, None] * 1e-4
    top, _ = select_top(x, np.arange(5.0)[::-1], 4, min_distance=0.1)
    assert len(top) == 4 and np.allclose(top[0], x[0])
