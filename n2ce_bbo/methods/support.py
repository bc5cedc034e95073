"""The data's support over neighbouring tokens: which adjacent pairs the training designs never contain although
they would be expected many times if neighbours were independent.

Sequence data often have structural zeros: transitions that never occur because they cannot (a banned
transition of a Markov process, a chemically impossible neighbour). A design that contains one is outside the
data's support and its surrogate score is an extrapolation the data cannot back. The latent model does not
capture such pairwise zeros (its decoder is independent per position given ``z``; measured on Ehrlich dev
functions, the in-distribution scores of the latent model separate feasible from infeasible designs no better
than chance), so they are checked directly on the data.

A pair ``(a, b)`` is **banned** when it is never seen as neighbours but its expected count under independence of
neighbours, ``N · p_left(a) · p_right(b)``, is at least ``min_expected``: seeing none then has probability at most
``exp(-min_expected)`` by chance. Small data sets ban nothing (nothing is expected often enough), so the check
only acts when the data speak clearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from n2ce_bbo.errors import InvalidDataError


@dataclass(frozen=True)
class PairSupport:
    """Neighbouring-token statistics of a set of token designs.

    Attributes:
        counts: int64 ``[C, C]``: how often token ``a`` is directly followed by token ``b`` (all positions).
        banned: bool ``[C, C]``: pairs never seen although expected at least ``min_expected`` times.
        min_expected: the expected-count threshold used.
    """

    counts: np.ndarray
    banned: np.ndarray
    min_expected: float

    @property
    def n_banned(self) -> int:
        """Number of banned pairs."""
        return int(self.banned.sum())

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """Bool ``[n]``: which int designs ``x [n, L]`` contain no banned neighbouring pair."""
        x = np.asarray(x, dtype=np.int64)
        if x.ndim != 2:
            raise InvalidDataError(f"token designs must be [n, L], got shape {x.shape}.")
        if x.shape[1] < 2 or not self.banned.any():
            return np.ones(x.shape[0], dtype=bool)
        return ~self.banned[x[:, :-1], x[:, 1:]].any(axis=1)


def fit_pair_support(x: np.ndarray, num_classes: int, min_expected: float = 10.0) -> PairSupport:
    """Count neighbouring pairs in int designs ``x [n, L]`` (tokens ``0..C-1``) and find the banned ones.

    Raises:
        InvalidDataError: wrong rank, tokens out of range, or ``min_expected <= 0``.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise InvalidDataError(f"token designs must be [n, L], got shape {x.shape}.")
    if not min_expected > 0:
        raise InvalidDataError(f"min_expected must be > 0, got {min_expected}.")
    c = int(num_classes)
    x = x.astype(np.int64)
    if x.size and (x.min() < 0 or x.max() >= c):
        raise InvalidDataError(f"token ids must lie in 0..{c - 1}.")
    counts = np.zeros((c, c), dtype=np.int64)
    if x.shape[1] >= 2:
        np.add.at(counts, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1)
    total = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / max(total, 1)
    banned = (counts == 0) & (expected >= min_expected)
    return PairSupport(counts=counts, banned=banned, min_expected=float(min_expected))
