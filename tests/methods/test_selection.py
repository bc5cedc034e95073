"""Candidate selection: distinct rows, ranking, diversity, training designs last (methods/selection.py)."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods import select_top as exported_select_top
from n2ce_bbo.methods.selection import (
    RowSet,
    clip_to_bounds,
    first_occurrences,
    select_tiered,
    select_top,
    top_indices,
)


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


def test_select_top_is_exported_from_methods() -> None:
    assert exported_select_top is select_top


def test_training_rows_come_after_every_new_design_even_skipped_ones() -> None:
    # [0,0,1] is skipped for diversity (one position from [0,0,0]) but is new: it must beat the training row
    x = np.array([[0, 0, 0], [0, 0, 1], [2, 2, 2]])
    top, sc = select_top(x, np.array([5.0, 4.0, 1.0]), 2, exclude=np.array([[2, 2, 2]]), min_hamming=2)
    assert top.tolist() == [[0, 0, 0], [0, 0, 1]]
    assert sc.tolist() == [5.0, 4.0]
    top, _ = select_top(x, np.array([5.0, 4.0, 1.0]), 3, exclude=np.array([[2, 2, 2]]), min_hamming=2)
    assert top.tolist() == [[0, 0, 0], [0, 0, 1], [2, 2, 2]]  # the training row only once the new ones ran out


def test_excluded_rows_as_a_row_set_or_an_array_agree() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(40, 4))
    s = rng.normal(size=40)
    train = x[::3].astype(np.int32)  # another dtype than the candidates: compared as the same designs
    a = select_top(x, s, 20, exclude=train, min_hamming=2)
    b = select_top(x, s, 20, exclude=RowSet(train, dtype=x.dtype), min_hamming=2)
    np.testing.assert_array_equal(a[0], b[0])
    n_new = len(RowSet(x).new_rows(x)) - RowSet(train, dtype=x.dtype).count(RowSet(x).new_rows(x))
    assert not RowSet(train, dtype=x.dtype).mask(a[0][:n_new]).any()


def test_row_set_membership_and_new_rows() -> None:
    rows = RowSet(np.array([[1, 2], [3, 4]], dtype=np.int64))
    assert np.array([1, 2]) in rows and np.array([2, 1]) not in rows
    assert np.array([3, 4], dtype=np.int32) in rows  # cast to the set's dtype
    assert rows.mask(np.array([[3, 4], [5, 6], [1, 2]])).tolist() == [True, False, True]
    assert rows.count(np.zeros((0, 2), dtype=np.int64)) == 0
    fresh = rows.new_rows(np.array([[5, 6], [1, 2], [5, 6], [7, 8]]))
    assert fresh.tolist() == [[5, 6], [7, 8]]  # distinct, unseen, first-occurrence order
    assert len(rows) == 2  # new_rows does not add
    rows.add(np.array([5, 6]))
    rows.update(np.array([[7, 8]]))
    assert len(rows) == 4
    with pytest.raises(InvalidDataError):
        RowSet()


def test_small_helpers() -> None:
    assert first_occurrences(np.array([[1], [0], [1], [2], [0]])).tolist() == [0, 1, 3]
    assert top_indices(np.array([1.0, 3.0, 3.0, 2.0]), 3).tolist() == [1, 2, 3]  # ties by row order
    assert top_indices(np.array([1.0]), 5).tolist() == [0]
    box = np.array([[0.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    clipped = clip_to_bounds(np.array([[-1.0, 0.5], [2.0, 1.0]]), box)
    assert clipped.dtype == np.float32 and clipped.tolist() == [[0.0, 0.5], [1.0, 1.0]]
    assert clip_to_bounds(np.array([[5.0]]), None).tolist() == [[5.0]]


def test_select_tiered_prefers_first_tier_and_skips_excluded() -> None:
    t0 = (np.array([[1], [2], [1]]), np.array([0.1, 0.5, 0.1]))
    t1 = (np.array([[3], [4], [2]]), np.array([9.0, 8.0, 7.0]))
    x, s = select_tiered([t0, t1], 3, exclude=np.array([[2]]))
    assert x[:, 0].tolist() == [1, 3, 4]
    np.testing.assert_allclose(s, [0.1, 9.0, 8.0])
    # too few new designs: excluded ones come last
    x, _ = select_tiered([t0], 3, exclude=np.array([[2]]))
    assert x[:, 0].tolist() == [1, 2]
    with pytest.raises(InvalidDataError):
        select_tiered([(np.zeros((0, 1)), np.zeros(0))], 3)


def test_flat_rows_and_first_occurrences_accept_an_empty_pool() -> None:
    from n2ce_bbo.methods.selection import first_occurrences, flat_rows

    empty = np.zeros((0, 5), dtype=np.int64)
    assert flat_rows(empty).shape == (0, 5)
    assert first_occurrences(empty).shape == (0,)


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
    with pytest.raises(InvalidDataError, match="min_distance"):
        select_top(x, np.arange(5.0), 2, min_distance=-1.0)


def test_taken_designs_are_never_returned_and_count_for_the_spacing() -> None:
    taken = np.array([[0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3]])
    # Best first: a taken design itself, two near copies of taken ones (1 and 2 positions off), two far designs.
    x = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [3, 3, 3, 3, 2, 2], [0, 0, 0, 1, 1, 1],
                  [1, 1, 1, 2, 2, 2]])
    scores = np.array([9.0, 8.0, 7.0, 6.0, 5.0])
    top, s = select_top(x, scores, 2, taken=taken, min_hamming=3)
    assert top.tolist() == [[0, 0, 0, 1, 1, 1], [1, 1, 1, 2, 2, 2]] and s.tolist() == [6.0, 5.0]
    # Too few far designs: the near ones fill up in rank order; the taken design never returns.
    top, _ = select_top(x, scores, 4, taken=taken, min_hamming=3)
    assert top.tolist() == [[0, 0, 0, 1, 1, 1], [1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 1], [3, 3, 3, 3, 2, 2]]
    # No taken designs: the plain diverse batch.
    top, _ = select_top(x, scores, 2, taken=taken[:0], min_hamming=3)
    assert top.tolist() == [[0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 2, 2]]
    pts = np.array([[0.0, 0.0], [0.05, 0.0], [1.0, 1.0]], dtype=np.float32)
    top, _ = select_top(pts, np.array([3.0, 2.0, 1.0]), 1, taken=pts[:1], min_distance=0.1)
    assert top.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("n, k", [(10, 3), (200_000, 0), (200_000, 1), (200_000, 64), (200_000, 512),
                                  (300_000, 100_000)])
def test_top_indices_equals_a_stable_sort_with_ties(n: int, k: int) -> None:
    rng = np.random.default_rng(n + k)
    tied = rng.integers(0, 50, size=n).astype(np.float64)  # many ties at every cut
    tied[rng.integers(0, n, size=5)] = -np.inf
    smooth = rng.normal(size=n)
    for y in (tied, smooth):
        np.testing.assert_array_equal(top_indices(y, k), np.argsort(-y, kind="stable")[:k])


def test_strict_spacing_returns_only_spaced_new_designs() -> None:
    from n2ce_bbo.methods.selection import select_top_indices

    x = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1], [1, 1, 1, 0], [2, 2, 2, 2]])
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    soft = select_top_indices(x, scores, 4, min_hamming=3, exclude=x[4:])
    assert soft.tolist() == [0, 2, 1, 3]  # the skipped near-copies complete the batch
    strict = select_top_indices(x, scores, 4, min_hamming=3, exclude=x[4:], strict=True)
    assert strict.tolist() == [0, 2]  # neither near-copies nor the excluded design
    assert select_top_indices(x, scores, 4, min_hamming=3, taken=x[:1], strict=True).tolist() == [2, 4]
    box = np.array([[0.0], [0.001], [0.5], [0.5005]])
    assert select_top_indices(box, np.arange(4.0)[::-1], 4, min_distance=0.01, strict=True).tolist() == [0, 2]
