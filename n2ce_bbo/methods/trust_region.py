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


def fit_trust_region(data: OfflineData, radius: float, n_anchors: int) -> TrustRegion:
    """The trust region of ``data``: the ``n_anchors`` best training designs by measured score, ``radius`` around
    them (module docstring)."""
    require(above=0, radius=radius)
    require(at_least=1, n_anchors=n_anchors)
    best = top_indices(data.y.reshape(-1).astype(np.float64), min(n_anchors, data.n))
    if data.is_discrete:
        return TrustRegion(anchors=np.asarray(data.x[best], dtype=np.int64), radius=float(radius))
    x = np.asarray(data.x, dtype=np.float64).reshape(data.n, -1)
    scale = np.maximum(x.std(axis=0), 1e-12)
    return TrustRegion(anchors=x[best] / scale, radius=float(radius), scale=scale)
