"""Local search in design space on the candidate score, and the portfolio batch it ends in.

After sampling, the distinct decoded designs form a :class:`CandidatePool`. :func:`refine` adds, round after round,
the neighbours (:func:`neighbours`) of the best candidates (a shallow search); :func:`fill` adds neighbours when too
few candidates are new designs; :func:`select_portfolio` takes the best of the shallow search and a share from a
deeper search continued from the same candidates, spaced from each other
(:func:`~n2ce_bbo.methods.selection.select_top`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from n2ce_bbo.methods.filters import DataFilters
from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.selection import (
    RowSet,
    first_occurrences,
    select_top,
    top_indices,
)
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import derive_seed


def neighbours(top: np.ndarray, data: OfflineData, scale: float, need: int, seed: int) -> np.ndarray:
    """Designs next to the candidates ``top`` ``[k, ...]`` (a local search step, or a fill for a short batch).

    Tokens: every single-position mutant of each candidate (``k·L·(C-1)`` rows, int64). Continuous:
    ``max(need, 1)`` Gaussian perturbations per candidate with std ``scale`` × the bounds' width (the data's
    range when the task has no box), clipped to that box (float32).
    """
    if data.is_discrete:
        c = int(data.num_classes or 2)
        k, L = top.shape
        mut = np.repeat(top[:, None, None, :], L, axis=1).repeat(c - 1, axis=2)  # [k, L, C-1, L]
        pos = np.arange(L)
        shift = np.arange(1, c)
        vals = (top[:, :, None] + shift[None, None, :]) % c  # [k, L, C-1]
        mut[:, pos, :, pos] = np.moveaxis(vals, 1, 0)
        return mut.reshape(-1, L).astype(np.int64)
    rng = np.random.default_rng(seed)
    lo, hi = (data.bounds[0], data.bounds[1]) if data.bounds is not None else (data.x.min(0), data.x.max(0))
    width = np.maximum(hi - lo, 1e-6)
    reps = max(need, 1)
    out = np.repeat(top, reps, axis=0) + rng.normal(size=(top.shape[0] * reps, top.shape[1])) * scale * width
    return np.clip(out, lo, hi).astype(np.float32)


class CandidatePool:
    """Distinct candidate designs and their scores; refinement and fill add designs not seen before.

    Args:
        x: ``[n, ...]`` decoded designs (duplicates allowed: the first occurrence of each is kept).
        score: ``designs [m, ...] -> [m]`` candidate scores (float64).
        keep: ``designs [m, ...] -> designs [m', ...]``, the ones that may be proposed (applied to added designs).
        project: ``designs [m, ...] -> designs [m, ...]`` moved onto the user's constraints before anything else
            (applied to added designs; default: unchanged).
    """

    def __init__(self, x: np.ndarray, score: Callable[[np.ndarray], np.ndarray],
                 keep: Callable[[np.ndarray], np.ndarray],
                 project: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self._score = score
        self._keep = keep
        self._project = project or (lambda found: found)
        self.x = x[first_occurrences(x)]
        self.scores = score(self.x)
        self.rows = RowSet(self.x)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def best(self, k: int) -> np.ndarray:
        """The ``k`` best-scored candidates ``[<= k, ...]``, best first."""
        return self.x[top_indices(self.scores, k)]

    def add(self, found: np.ndarray) -> int:
        """Score and keep the designs of ``found`` that are not candidates yet; returns how many were kept."""
        extra = self._keep(self.rows.new_rows(self._project(found)))
        if len(extra):
            self.x = np.concatenate([self.x, extra])
            self.scores = np.concatenate([self.scores, self._score(extra)])
            self.rows.update(extra)
        return int(extra.shape[0])


def refine(pool: CandidatePool, data: OfflineData, cfg: ProposeConfig, *, rounds: int, top: int, seed: int,
           stream: str) -> int:
    """Local search on the candidate score: each round adds the neighbours of the ``top`` best candidates so far,
    for at most ``rounds`` rounds, until a round leaves them unchanged (``stream`` names the rounds' random
    streams). Returns the designs added."""
    n_added = 0
    for r in range(rounds):
        if not len(pool):
            break
        sources = pool.best(top)
        added = pool.add(neighbours(sources, data, cfg.fill_scale, cfg.refine_samples, derive_seed(seed, stream, r)))
        n_added += added
        if not added or np.array_equal(pool.best(top), sources):
            break  # converged: no new design entered the best ``top``
    return n_added


def fill(pool: CandidatePool, data: OfflineData, cfg: ProposeConfig, *, budget: int, train_rows: RowSet,
         seed: int) -> int:
    """When fewer than ``budget`` candidates are new designs, add neighbours of the best ones (about four times
    the missing number). Returns the number of designs added."""
    n_new = len(pool) - train_rows.count(pool.x)
    if not cfg.fill or n_new >= budget:
        return 0
    need = budget - n_new
    per = data.dim * (int(data.num_classes or 2) - 1) if data.is_discrete else need
    n_src = min(budget, -(-4 * need // per) + 1)  # enough sources for ~4x the missing designs
    return pool.add(neighbours(pool.best(n_src), data, cfg.fill_scale, need, derive_seed(seed, "fill")))


def select_portfolio(pool: CandidatePool, data: OfflineData, cfg: ProposeConfig, *, budget: int, train_rows: RowSet,
                     seed: int, filters: DataFilters,
                     taken: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The batch: the best of the shallow search, then (``explore_fraction`` of it) the best of a deeper search
    continued from the same candidates, spaced from the shallow picks (the spacing of ``filters``). ``taken``
    ``[T, ...]``: designs already in the batch (another ranking's picks), never returned and spaced from.

    Returns:
        ``(x [<= budget, ...], scores, designs the deep search added, designs taken from it)``.
    """
    exclude = train_rows if cfg.exclude_training else None
    already = taken if taken is not None and len(taken) else None

    def best(n: int, taken: np.ndarray | None = already) -> tuple[np.ndarray, np.ndarray]:
        return select_top(pool.x, pool.scores, n, exclude=exclude, taken=taken,
                          min_hamming=filters.min_hamming, min_distance=filters.min_distance,
                          distance_scale=filters.distance_scale,
                          distinct=True)  # the pool holds each design once

    n_explore = min(budget, int(round(cfg.explore_fraction * budget)))
    x_main, s_main = best(budget - n_explore) if budget > n_explore else (pool.x[:0], pool.scores[:0])
    if not n_explore:
        return x_main, s_main, 0, 0
    n_explored = refine(pool, data, cfg, rounds=cfg.explore_rounds, top=cfg.explore_top, seed=seed, stream="explore")
    x_deep, s_deep = best(n_explore, taken=x_main if already is None else np.concatenate([already, x_main]))
    x = np.concatenate([x_main, x_deep])
    scores = np.concatenate([s_main, s_deep])
    in_data = exclude.mask(x) if exclude is not None else np.zeros(x.shape[0], dtype=bool)
    order = np.lexsort((-scores, in_data))  # one batch: new designs best first, then any training designs
    return x[order], scores[order], n_explored, int(x_deep.shape[0])
