"""Candidate selection shared by every method: distinct rows, ranking, diversity, training rows last.

Every method ends the same way: a pool of candidate designs with scores becomes a batch of ``budget``
distinct designs, best first, with designs already in the training data used only when nothing new is left.
This module is the one place that does it:

* :class:`RowSet`: designs as a set of their bytes (rows of one dtype), the membership test used everywhere;
* :func:`first_occurrences`: indices of the distinct rows of an array;
* :func:`select_top`: the ``budget`` best distinct designs of one pool (optionally a diverse batch);
* :func:`select_tiered`: the same over pools in order of preference;
* :func:`top_indices`, :func:`clip_to_bounds`: the small helpers the proposers share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.validation import check_budget


def flat_rows(x: np.ndarray) -> np.ndarray:
    """``[N, ...]`` designs as a C-contiguous ``[N, prod(...)]`` array (one row per design)."""
    x = np.asarray(x)
    # An explicit width, not -1: an empty pool ([0, L]) must reshape too.
    return np.ascontiguousarray(x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64))))


class RowSet:
    """A set of designs (rows), compared by their bytes in one dtype.

    Rows added or looked up are first cast to the set's ``dtype`` (that of the candidates it is checked
    against), so ``int32`` training rows and ``int64`` candidates compare as the same designs.

    Args:
        rows: optional ``[M, ...]`` designs to start with.
        dtype: the dtype rows are compared in (default: that of ``rows``; required when ``rows`` is ``None``).
    """

    def __init__(self, rows: np.ndarray | None = None, dtype: np.dtype | type | None = None) -> None:
        if dtype is None:
            if rows is None:
                raise InvalidDataError("RowSet needs rows or a dtype.")
            dtype = np.asarray(rows).dtype
        self.dtype = np.dtype(dtype)
        self._keys: set[bytes] = set()
        if rows is not None:
            self.update(rows)

    def _keys_of(self, rows: np.ndarray) -> Iterable[bytes]:
        arr = np.asarray(rows)
        if arr.shape[0] == 0:
            return ()
        return (r.tobytes() for r in flat_rows(arr.astype(self.dtype, copy=False)))

    def update(self, rows: np.ndarray) -> None:
        """Add the ``[M, ...]`` designs ``rows``."""
        self._keys.update(self._keys_of(rows))

    def _key(self, row: np.ndarray) -> bytes:
        return np.ascontiguousarray(row, dtype=self.dtype).tobytes()

    def add(self, row: np.ndarray) -> None:
        """Add one design ``[...]``."""
        self._keys.add(self._key(row))

    def __contains__(self, row: object) -> bool:
        """Whether one design ``[...]`` is in the set."""
        return self._key(np.asarray(row)) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def mask(self, rows: np.ndarray) -> np.ndarray:
        """``[N]`` bool: which of the ``[N, ...]`` designs are in the set."""
        return np.fromiter((k in self._keys for k in self._keys_of(rows)), dtype=bool, count=len(rows))

    def count(self, rows: np.ndarray) -> int:
        """How many of the ``[N, ...]`` designs are in the set."""
        return int(self.mask(rows).sum())

    def new_rows(self, rows: np.ndarray) -> np.ndarray:
        """The distinct designs of ``rows`` not in the set, in order of first occurrence (the set is unchanged)."""
        taken: set[bytes] = set()
        keep: list[int] = []
        for i, k in enumerate(self._keys_of(rows)):
            if k not in self._keys and k not in taken:
                taken.add(k)
                keep.append(i)
        return np.asarray(rows)[keep]


def _as_row_set(exclude: np.ndarray | RowSet | None, dtype: np.dtype) -> RowSet | None:
    if exclude is None or isinstance(exclude, RowSet):
        return exclude
    if not len(exclude):
        return None
    return RowSet(exclude, dtype=dtype)


def first_occurrences(x: np.ndarray) -> np.ndarray:
    """Sorted indices of the first occurrence of every distinct row of ``x`` ``[N, ...]``."""
    _, first = np.unique(flat_rows(x), axis=0, return_index=True)
    return np.sort(first)


#: Below this many scores :func:`top_indices` sorts them all; above, it partitions first (same result, faster).
PARTITION_ABOVE = 65_536


def top_indices(y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores of ``y`` ``[N]``, best first (ties by row order, so deterministic).

    The result is that of a stable sort of ``-y`` cut at ``k``; for a large ``N`` and a small ``k`` it is found by
    partitioning first, which costs ``O(N)`` instead of ``O(N log N)`` (a candidate pool can hold millions).
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n, k = y.shape[0], max(min(int(k), y.shape[0]), 0)
    neg = -y
    if n <= PARTITION_ABOVE or k >= n // 2 or np.isnan(neg).any():
        return np.argsort(neg, kind="stable")[:k]
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    kth = neg[np.argpartition(neg, k - 1)[k - 1]]  # the k-th smallest value of -y
    strict = np.flatnonzero(neg < kth)
    ties = np.flatnonzero(neg == kth)[: k - strict.shape[0]]  # the earliest rows among the tied, as a stable sort
    chosen = np.concatenate([strict, ties])
    return chosen[np.argsort(neg[chosen], kind="stable")]


def clip_to_bounds(x: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
    """Continuous ``[n, d]`` designs clipped to the ``[2, d]`` box (row 0 lower, row 1 upper), as float32."""
    x = np.asarray(x, dtype=np.float32)
    if bounds is None:
        return x
    return np.clip(x, bounds[0], bounds[1]).astype(np.float32)


def select_top(
    x: np.ndarray,
    scores: np.ndarray,
    budget: int,
    *,
    exclude: np.ndarray | RowSet | None = None,
    taken: np.ndarray | None = None,
    min_hamming: int = 1,
    min_distance: float = 0.0,
    distance_scale: float = 1.0,
    distinct: bool = False,
    strict: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(x[i], scores[i])`` for the indices ``i`` of :func:`select_top_indices` (same arguments)."""
    x = np.asarray(x)
    chosen = select_top_indices(x, scores, budget, exclude=exclude, taken=taken, min_hamming=min_hamming,
                                min_distance=min_distance, distance_scale=distance_scale, distinct=distinct,
                                strict=strict)
    finite = np.asarray(scores, dtype=np.float64).reshape(-1)[chosen]
    return x[chosen], np.where(np.isfinite(finite), finite, -np.inf)


def select_top_indices(
    x: np.ndarray,
    scores: np.ndarray,
    budget: int,
    *,
    exclude: np.ndarray | RowSet | None = None,
    taken: np.ndarray | None = None,
    min_hamming: int = 1,
    min_distance: float = 0.0,
    distance_scale: float = 1.0,
    distinct: bool = False,
    strict: bool = False,
) -> np.ndarray:
    """Deduplicate candidates and keep the ``budget`` best by score: the indices of the kept rows of ``x``.

    Args:
        x: ``[N, ...]`` candidate designs.
        scores: ``[N]`` their scores (higher is better); non-finite scores rank last.
        budget: how many to keep.
        exclude: optional ``[M, ...]`` designs (or a :class:`RowSet` of them) that rank after every new design
            (for example the training rows: re-proposing them wastes budget). They are still used, best
            first, when the new designs run out.
        taken: optional ``[T, ...]`` designs already in the batch (for example its first part, chosen by another
            search): they are never returned, and the spacing rules below count them as kept from the start.
        min_hamming: token designs: walk the ranking of the new designs and keep one only when it differs in at
            least this many positions from every design kept so far (a diverse batch: near-copies of one design
            are skipped); when fewer than ``budget`` qualify, the skipped ones fill the rest in rank order, and
            only then the excluded designs. 1: plain top-``budget``.
        min_distance: continuous designs: the same with the Euclidean distance divided by ``distance_scale`` (for
            example 0.01 with the design box's diagonal as the scale: designs at least 1 % of the diagonal apart).
            0: no spacing. Use it or ``min_hamming``, not both.
        distance_scale: the unit of ``min_distance``.
        distinct: the caller guarantees that the rows of ``x`` are distinct (a candidate pool), so the
            deduplication, the costliest step on a pool of millions, is skipped; the result is the same.
        strict: keep only new designs that meet the spacing rule, possibly fewer than ``budget`` (no skipped or
            excluded design completes the batch): a part of a batch that another ranking completes.

    Returns:
        int64 ``[<= budget]`` indices of distinct designs, in the order they were kept (best first when there is
        no spacing rule).

    Raises:
        InvalidDataError: ``budget`` or ``min_hamming`` below 1, ``min_distance`` below 0, or as many scores as
            candidates not given.
    """
    budget = check_budget(budget)
    if min_hamming < 1:
        raise InvalidDataError(f"min_hamming must be >= 1, got {min_hamming}.")
    if min_distance < 0 or not distance_scale > 0:
        raise InvalidDataError(f"min_distance must be >= 0 and distance_scale > 0, got {min_distance}, {distance_scale}.")
    x = np.asarray(x)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if x.shape[0] != scores.shape[0]:
        raise InvalidDataError(f"{x.shape[0]} candidates but {scores.shape[0]} scores.")
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    flat = flat_rows(x)
    keep = np.arange(flat.shape[0]) if distinct else first_occurrences(flat)
    taken_flat = flat_rows(np.asarray(taken)).astype(flat.dtype) if taken is not None else flat[:0]
    if len(taken_flat):
        keep = keep[~RowSet(taken_flat).mask(flat[keep])]
    seen = _as_row_set(exclude, flat.dtype)
    excluded = seen.mask(flat[keep]) if seen is not None else np.zeros(keep.shape[0], dtype=bool)
    new, old = keep[~excluded], keep[excluded]
    new = new[np.argsort(-scores[new], kind="stable")]
    old = old[np.argsort(-scores[old], kind="stable")]
    if min_distance > 0:
        limit = (min_distance * distance_scale) ** 2
        chosen, skipped = _greedy_spaced(flat.astype(np.float64), new, budget, taken_flat.astype(np.float64),
                                         lambda kept, row: float(((kept - row) ** 2).sum(axis=1).min()) < limit)
    elif min_hamming > 1:
        chosen, skipped = _greedy_spaced(flat, new, budget, taken_flat,
                                         lambda kept, row: int((kept != row).sum(axis=1).min()) < min_hamming)
    else:
        chosen, skipped = new[:budget], new[:0]
    if not strict:
        # Too few spaced new designs: the best skipped ones, then training designs, complete the batch.
        chosen = np.concatenate([chosen, skipped, old])[:budget]
    return chosen.astype(np.int64)


def _greedy_spaced(flat: np.ndarray, ranked: np.ndarray, budget: int, taken: np.ndarray,
                   too_close: Callable[[np.ndarray, np.ndarray], bool]) -> tuple[np.ndarray, np.ndarray]:
    """Greedy spacing over the ``ranked`` row indices of ``flat`` ``[N, D]``: a row is kept when it is not
    ``too_close(kept [K, D], row [D])`` to the rows kept so far (the ``taken [T, D]`` ones first), until ``budget``
    are kept. Returns int64 ``(kept, skipped)`` indices, each in rank order (see :func:`select_top_indices`)."""
    picked: list[int] = []
    skipped: list[int] = []
    t = taken.shape[0]
    kept = np.empty((t + budget, flat.shape[1]), dtype=flat.dtype)
    kept[:t] = taken
    for i in ranked:
        if len(picked) == budget:
            break
        n_kept = t + len(picked)
        if n_kept and too_close(kept[:n_kept], flat[i]):
            skipped.append(int(i))
            continue
        kept[n_kept] = flat[i]
        picked.append(int(i))
    return np.asarray(picked, dtype=np.int64), np.asarray(skipped, dtype=np.int64)


def select_tiered(
    tiers: Sequence[tuple[np.ndarray, np.ndarray]],
    budget: int,
    *,
    exclude: np.ndarray | RowSet | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct top designs, taking every new design of tier 0 before tier 1, and so on.

    Args:
        tiers: ``(x [N_i, ...], scores [N_i])`` candidate groups in order of preference (for example the
            final iterates, then earlier iterates of the same runs).
        budget: how many designs to return.
        exclude: ``[M, ...]`` designs (the training rows), or a :class:`RowSet` of them, to use only when the
            tiers hold too few new ones.

    Returns:
        ``(x [<= budget, ...], scores)``, best tier first, best score first within a tier.

    Raises:
        InvalidDataError: every tier is empty.
    """
    tiers = [(np.asarray(x), np.asarray(s, dtype=np.float64).reshape(-1)) for x, s in tiers if len(x)]
    if not tiers:
        raise InvalidDataError("select_tiered needs at least one non-empty tier of candidates.")
    dtype = tiers[0][0].dtype
    excluded = _as_row_set(exclude, dtype)
    taken = RowSet(dtype=dtype)
    taken_x: list[np.ndarray] = []
    taken_s: list[np.ndarray] = []
    for x, s in tiers:
        if len(taken) >= budget:
            break
        fresh = ~taken.mask(x)
        if excluded is not None:
            fresh &= ~excluded.mask(x)
        if not fresh.any():
            continue
        xt, st = select_top(x[fresh], s[fresh], budget - len(taken))
        taken.update(xt)
        taken_x.append(xt)
        taken_s.append(st)
    if len(taken) < budget and excluded is not None:
        # Too few new designs: fall back on excluded ones (training rows) found among the candidates.
        all_x = np.concatenate([x for x, _ in tiers])
        all_s = np.concatenate([s for _, s in tiers])
        rest = ~taken.mask(all_x)
        if rest.any():
            xt, st = select_top(all_x[rest], all_s[rest], budget - len(taken))
            taken_x.append(xt)
            taken_s.append(st)
    if not taken_x:
        return tiers[0][0][:0], np.zeros(0)
    return np.concatenate(taken_x)[:budget], np.concatenate(taken_s)[:budget]


def distinct_batch(x: np.ndarray, scores: np.ndarray, budget: int, method: str) -> tuple[np.ndarray, np.ndarray, int]:
    """A method's proposal as a batch of distinct designs: the first (best-ranked) copy of each design is kept.

    Args:
        x: ``[n, ...]`` validated designs, best first.
        scores: ``[n]`` the method's scores of them.
        budget: Q, the most designs a method may return.
        method: the method's name, for messages.

    Returns:
        ``(x [m, ...], scores [m] float64, n)``: the ``m <= n`` distinct designs with their scores, and ``n``.

    Raises:
        InvalidDataError: more than ``budget`` designs, or not one score per design.
    """
    n = int(x.shape[0])
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != n:
        raise InvalidDataError(f"method {method!r} returned {n} designs but {scores.shape[0]} scores.")
    if n > budget:
        raise InvalidDataError(f"method {method!r} returned {n} designs for a budget of {budget}.")
    keep = first_occurrences(x) if n else np.zeros(0, dtype=np.int64)
    return x[keep], scores[keep], n


def box_diagonal(bounds: np.ndarray | None, x: np.ndarray) -> float:
    """Length of the diagonal of the ``[2, d]`` box ``bounds`` (or of the designs ``x``'s bounding box); at least
    1e-12 (the unit of distance between continuous designs)."""
    if bounds is not None:
        lo, hi = np.asarray(bounds, dtype=np.float64)
    else:
        xf = np.asarray(x, dtype=np.float64)
        lo, hi = xf.min(axis=0), xf.max(axis=0)
    return max(float(np.linalg.norm(hi - lo)), 1e-12)
