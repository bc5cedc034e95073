"""What a person wants to know about a batch of proposals besides their scores: how different they are from
each other (diversity), from the training data (novelty), and how data-like the model finds them.

Distances: token designs use the Hamming distance (positions that differ); continuous designs the Euclidean
distance divided by the diagonal of the design box (so 0.01 is 1 % of the box's diagonal).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from n2ce_bbo.methods.selection import box_diagonal

#: Novelty against more training rows than this uses a seeded random sample of this many.
MAX_NOVELTY_ROWS = 200_000


def nearest_distances(x: np.ndarray, ref: np.ndarray, *, discrete: bool, scale: float = 1.0,
                      chunk: int = 4096) -> np.ndarray:
    """Distance from each row of ``x [n, D]`` to its nearest row of ``ref [m, D]``: float64 ``[n]``
    (Hamming counts for tokens; Euclidean / ``scale`` for continuous designs). ``inf`` when ``ref`` is empty."""
    x = np.asarray(x)
    ref = np.asarray(ref)
    out = np.full(x.shape[0], np.inf)
    if not ref.shape[0] or not x.shape[0]:
        return out
    if discrete:
        for s in range(0, ref.shape[0], chunk):
            r = ref[s : s + chunk]
            d = (x[:, None, :] != r[None, :, :]).sum(axis=2)
            np.minimum(out, d.min(axis=1), out=out)
        return out
    xf = x.astype(np.float64)
    x2 = (xf**2).sum(axis=1)
    for s in range(0, ref.shape[0], chunk):
        r = ref[s : s + chunk].astype(np.float64)
        d2 = x2[:, None] + (r**2).sum(axis=1)[None, :] - 2.0 * xf @ r.T
        np.minimum(out, np.sqrt(np.maximum(d2, 0.0)).min(axis=1), out=out)
    return out / scale


def spread_prefix(x: np.ndarray, *, discrete: bool, scale: float = 1.0) -> np.ndarray:
    """For each design of a ranked batch ``x [n, D]`` (best first): its distance to the nearest better-ranked
    design, float64 ``[n]`` (``inf`` for the first)."""
    x = np.asarray(x)
    out = np.full(x.shape[0], np.inf)
    for i in range(1, x.shape[0]):
        out[i] = nearest_distances(x[i : i + 1], x[:i], discrete=discrete, scale=scale)[0]
    return out


def novelty(x: np.ndarray, train_x: np.ndarray, *, discrete: bool, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """Distance of each proposal to the nearest training design (see the module docstring); against a seeded
    sample of :data:`MAX_NOVELTY_ROWS` rows when the training data is larger."""
    ref = np.asarray(train_x)
    if ref.shape[0] > MAX_NOVELTY_ROWS:
        idx = np.random.default_rng(seed).choice(ref.shape[0], MAX_NOVELTY_ROWS, replace=False)
        ref = ref[np.sort(idx)]
    return nearest_distances(x, ref, discrete=discrete, scale=scale)


def batch_report(
    x: np.ndarray, train_x: np.ndarray, *, discrete: bool, bounds: np.ndarray | None = None,
    min_distance: float | None = None, seed: int = 0,
) -> tuple[dict[str, Any], np.ndarray]:
    """Diversity and novelty of a ranked batch, JSON-ready, and the per-design novelty ``[n]``.

    Args:
        x: ``[n, D]`` proposals, best first.
        train_x: ``[m, D]`` training designs.
        discrete: token designs (Hamming) or continuous (Euclidean in box diagonals).
        bounds: ``[2, d]`` design box of continuous designs (default: the training data's range).
        min_distance: the spacing the proposer aimed at (Hamming positions, or box diagonals); the report counts
            designs at least this far from every better-ranked one.
        seed: seed of the novelty sample for huge training sets.

    Returns:
        ``(report, novelty)``; ``report`` holds ``unit``, ``n``, ``n_distinct``, ``diversity`` (``min`` / ``mean``
        distance between designs, and ``n_spread``: designs at least ``min_distance`` from every better-ranked one)
        and ``novelty`` (``min`` / ``median`` / ``max`` distance to the nearest training design, ``n_in_training``).
    """
    x = np.asarray(x)
    scale = 1.0 if discrete else box_diagonal(bounds, train_x)
    unit = "positions (Hamming)" if discrete else "box diagonals (Euclidean)"
    n = int(x.shape[0])
    report: dict[str, Any] = {"unit": unit, "n": n,
                              "n_distinct": int(np.unique(x.reshape(n, -1), axis=0).shape[0]) if n else 0}
    nov = novelty(x, train_x, discrete=discrete, scale=scale, seed=seed)
    if n:
        spread = spread_prefix(x, discrete=discrete, scale=scale)
        pair = spread[1:] if n > 1 else np.zeros(0)
        div: dict[str, Any] = {
            "min_to_better_ranked": _round(float(pair.min())) if pair.size else None,
            "mean_to_nearest_better_ranked": _round(float(pair.mean())) if pair.size else None,
        }
        if min_distance is not None:
            div["min_distance"] = min_distance
            div["n_spread"] = int((spread >= min_distance - 1e-12).sum())
        report["diversity"] = div
        report["novelty"] = {
            "min": _round(float(nov.min())), "median": _round(float(np.median(nov))), "max": _round(float(nov.max())),
            "n_in_training": int((nov == 0).sum()),
        }
    return report, nov


def _round(v: float) -> float:
    return float(f"{v:.4g}")


def percentile_of(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each value, the percentage (0-100) of ``reference`` values at or below it: float64 ``[n]``."""
    ref = np.sort(np.asarray(reference, dtype=np.float64).reshape(-1))
    if not ref.size:
        return np.full(np.asarray(values).shape[0], np.nan)
    return 100.0 * np.searchsorted(ref, np.asarray(values, dtype=np.float64), side="right") / ref.size
