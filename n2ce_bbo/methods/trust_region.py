"""A distance trust region around the best training designs: proposals may move at most a set distance from them.

A surrogate is trusted near the data it was fitted on and less the farther a design lies from it; a search that
climbs the surrogate's prediction without a limit ends where the prediction extrapolates most (the latent EBM's
batches on development tasks scored high by its own value head and lower by the oracle than batches closer to the
data: ``benchmarks/grad_gap_probe.py``). The region is read from the training data alone:

* **anchors**: the ``n_anchors`` training designs with the best measured scores;
* **distance**: token designs, the number of positions in which a design differs from its nearest anchor (Hamming);
  continuous designs, the Euclidean distance to the nearest anchor with every coordinate divided by the training
  designs' standard deviation of that coordinate (so a radius of 1 is one standard deviation along one axis);
* a design is **inside** when that distance is at most ``radius``.

The radius can be read from the data too (:func:`data_radius`, ``propose.trust_radius: auto``): hide the best
``top_fraction`` of the rows, anchor on the best of the rest, and take a quantile of the hidden rows' distances to
their nearest anchor: how far the data's own better designs lie from the best of the others. Proposals then move as
far from the best known designs as the data's improvements did, and no farther.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from n2ce_bbo.config import require
from n2ce_bbo.methods.selection import top_indices
from n2ce_bbo.tasks.base import OfflineData

#: Candidate rows compared with the anchors at once (bounds the ``[rows, anchors, dim]`` comparison's memory).
_CHUNK_CELLS = 1 << 24


@dataclass(frozen=True)
class TrustRegion:
    """Designs within ``radius`` of the nearest anchor (see the module docstring).

    Attributes:
        anchors: ``[k, L]`` int64 token designs or ``[k, d]`` float64 continuous designs divided by ``scale``.
        radius: the largest distance allowed (Hamming positions, or standard deviations).
        scale: ``[d]`` the training designs' per-coordinate standard deviation (continuous), ``None`` for tokens.
    """

    anchors: np.ndarray
    radius: float
    scale: np.ndarray | None = None

    def distances(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` float64 distance of each design of ``x [n, L | d]`` to its nearest anchor."""
        n = x.shape[0]
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        k, dim = self.anchors.shape
        rows = max(1, _CHUNK_CELLS // max(1, k * dim))
        for start in range(0, n, rows):
            part = x[start:start + rows]
            if self.scale is None:
                out[start:start + rows] = (part[:, None, :] != self.anchors[None, :, :]).sum(axis=2).min(axis=1)
            else:
                z = part.astype(np.float64) / self.scale
                sq = (z * z).sum(1)[:, None] - 2.0 * z @ self.anchors.T + (self.anchors ** 2).sum(1)[None, :]
                out[start:start + rows] = np.sqrt(np.maximum(sq.min(axis=1), 0.0))
        return out

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` bool: designs of ``x`` inside the region."""
        return self.distances(x) <= self.radius + 1e-9


def fit_trust_region(data: OfflineData, radius: float, n_anchors: int, rows: np.ndarray | None = None,
                     ) -> TrustRegion:
    """The trust region of ``data``: the ``n_anchors`` best training designs by measured score, ``radius`` around
    them (module docstring). ``rows``: anchor on these row indices only (distances stay in units of every row's
    standard deviation)."""
    require(above=0, radius=radius)
    require(at_least=1, n_anchors=n_anchors)
    pool = np.arange(data.n) if rows is None else np.asarray(rows)
    best = pool[top_indices(data.y.reshape(-1)[pool].astype(np.float64), min(n_anchors, pool.size))]
    if data.is_discrete:
        return TrustRegion(anchors=np.asarray(data.x[best], dtype=np.int64), radius=float(radius))
    x = np.asarray(data.x, dtype=np.float64).reshape(data.n, -1)
    scale = np.maximum(x.std(axis=0), 1e-12)
    return TrustRegion(anchors=x[best] / scale, radius=float(radius), scale=scale)


def data_radius(data: OfflineData, n_anchors: int, top_fraction: float, quantile: float,
                max_hidden: int = 2000) -> float:
    """A radius read from the training data alone (module docstring): the ``quantile`` of the distances of the best
    ``top_fraction`` of the rows (at most ``max_hidden`` of them, evenly spaced in rank) to the nearest of the
    ``n_anchors`` best other rows. Never below the smallest step (one position, or 1e-3 standard deviations)."""
    require(above=0, at_most=1, top_fraction=top_fraction, quantile=quantile)
    y = data.y.reshape(-1).astype(np.float64)
    order = np.argsort(-y, kind="stable")
    n_top = max(1, min(data.n - 1, int(round(top_fraction * data.n))))
    hidden, rest = order[:n_top], order[n_top:]
    hidden = hidden[np.linspace(0, n_top - 1, min(n_top, max_hidden)).astype(np.int64)]
    region = fit_trust_region(data, 1.0, n_anchors, rows=rest)
    x = np.asarray(data.x[hidden])
    distance = float(np.quantile(region.distances(x), quantile))
    return max(distance, 1.0 if data.is_discrete else 1e-3)
