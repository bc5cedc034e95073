"""``MotifNetDev-C-L``: a fixed random network over motif features, a folding threshold, and a measured-library
sample of noisy rows. Built to be hard the way measured biological data are hard.

The oracle (every weight drawn from the run seed with NumPy, nothing trained) scores int designs ``x [m, L]``:

* **Activity** ``u(x)``: four motifs of length 5-8, each a position weight matrix (log-odds against uniform,
  peaked Dirichlet columns with a pseudocount), three activating and one repressing. A motif's occupancy at
  position ``p`` is ``sigmoid((s_p - (S - 1.5)) / 0.5)``, ``s_p`` the PWM score of the window and ``S`` the
  consensus score (so a mismatch at a loose column is tolerated, one at a strict column is not). Features:
  each motif's presence (the best occupancy), its saturating count ``1 - exp(-Σ_p occ / 2)``, three motif-pair
  co-occupancies at a preferred spacing (two cooperative pairs, one antagonistic), and a composition term (the
  fraction of a seeded half of the tokens near a seeded target, like GC content). ``u`` is a fixed linear read
  of the features, plus a random one-hidden-layer tanh network of them (16 units: interactions nobody chose),
  plus weak site terms (scale 0.05 per position).
* **Folding** ``φ(x) = sigmoid((ΔG(x) - t) / 1.5)``: ``ΔG`` sums a family profile's log-odds over the positions
  (about 45% of positions conserved, the rest tolerant); ``t`` is the median ``ΔG`` of random 6-mutants of the
  parents, so a parent's first mutations are buffered and a few more cross the threshold (global epistasis: the
  same mutation is neutral in one background and fatal in another).
* **Score** ``y = φ(x) · softplus(u(x))``: non-negative, zero for unfolded designs.

The data are a measured library, not a uniform sample: six parents, the most stable of twelve drawn from the
family profile, each carrying one or two planted motifs; ``n_rows`` (20,000) distinct mutants of them (parents weighted unevenly; depth 1-3,
4-10 or 11-``L/2`` substitutions with probabilities 0.35 / 0.40 / 0.25), so rows cluster around the parents and
many deep mutants are dead. Labels carry Gaussian noise of 0.15 of the clean scores' std; the rows whose noisy
label is at or below the 80th percentile are given. Normalisation: the clean scores' minimum and maximum over the
library (as Design-Bench normalises over its full data); the oracle's optimum is unknown, and designs better than
the whole library score above 1.

What it stands in for: the best training rows are already good (mutants of good parents); uniform random designs
are unfolded and score about 0; gains need several coordinated substitutions (a motif, a spacing) while every
substitution spends folding margin, so a surrogate that extrapolates along its gradient walks out of the folded
region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task

__all__ = ["MotifNetOracle", "MotifLibrary", "draw_motifnet", "make_motifnet", "MIN_MOTIF_LENGTH"]

MIN_MOTIF_LENGTH = 32
"""The shortest design a ``MotifNetDev`` task accepts (two motifs of up to 8 and their spacing must fit)."""

_SIGNS = np.array([1.0, 1.0, 1.0, -1.0])  # three activating motifs, one repressing
_PAIRS = np.array([(0, 1), (1, 2), (2, 0)])  # co-occupancy pairs: cooperative, cooperative, antagonistic
_BATCH = 65_536  # rows scored at once (bounds the memory of the window scores)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free
    return out


@dataclass(frozen=True)
class MotifNetOracle:
    """``y = φ(x) · softplus(u(x))`` (see the module docstring): int ``[m, L]`` -> float32 ``[m, 1]``, ``>= 0``.

    Attributes:
        pwms: per motif ``k``, float64 log-odds ``[m_k, C]``.
        alpha, beta: float64 ``[K]`` weights of presence and saturating count.
        gaps: int ``[3]`` preferred gap (tokens) between the two motifs of each pair of ``_PAIRS``.
        gamma: float64 ``[3]`` weights of the pairs' co-occupancies.
        comp_tokens: int ``[C // 2]`` tokens whose fraction the composition term reads; ``comp_target``: its best.
        w1: float64 ``[F, H]``, b1 ``[H]``, w2 ``[H]``: the random network over the ``F = 2K + 4`` features.
        theta: float64 ``[L, C]`` weak site terms of the activity.
        profile: float64 ``[L, C]`` the family's log-odds (``ΔG`` is their sum along the design).
        fold_threshold: ``t`` of ``φ``.
    """

    pwms: tuple[np.ndarray, ...]
    alpha: np.ndarray
    beta: np.ndarray
    gaps: np.ndarray
    gamma: np.ndarray
    comp_tokens: np.ndarray
    comp_target: float
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    theta: np.ndarray
    profile: np.ndarray
    fold_threshold: float

    def occupancy(self, x: np.ndarray, k: int) -> np.ndarray:
        """Motif ``k``'s occupancy of each window of int designs ``[m, L]``: float64 ``[m, L - m_k + 1]``."""
        w = self.pwms[k]
        n_win = x.shape[1] - w.shape[0] + 1
        score = np.zeros((x.shape[0], n_win))
        for j in range(w.shape[0]):
            score += w[j][x[:, j:j + n_win]]
        return _sigmoid((score - (w.max(axis=1).sum() - 1.5)) / 0.5)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Presence ``[K]``, saturating count ``[K]``, pair co-occupancy ``[3]``, composition ``[1]`` of int
        designs ``[m, L]``: float64 ``[m, 2K + 4]``."""
        occ = [self.occupancy(x, k) for k in range(len(self.pwms))]
        pairs = []
        for (k, l), gap in zip(_PAIRS, self.gaps, strict=True):
            best = np.zeros(x.shape[0])
            for d, weight in ((-1, 0.5), (0, 1.0), (1, 0.5)):  # the preferred spacing, or one off at half weight
                shift = self.pwms[k].shape[0] + int(gap) + d
                n = min(occ[k].shape[1], occ[l].shape[1] - shift)
                best = np.maximum(best, weight * (occ[k][:, :n] * occ[l][:, shift:shift + n]).max(axis=1))
            pairs.append(best)
        composition = -(((np.isin(x, self.comp_tokens).mean(axis=1) - self.comp_target) / 0.15) ** 2)
        return np.column_stack([np.stack([a.max(axis=1) for a in occ], axis=1),
                                np.stack([1.0 - np.exp(-a.sum(axis=1) / 2.0) for a in occ], axis=1),
                                np.stack(pairs, axis=1), composition])

    def activity(self, x: np.ndarray) -> np.ndarray:
        """``u(x)`` of int designs ``[m, L]``: float64 ``[m]``."""
        f = self.features(x)
        k = len(self.pwms)
        linear = f[:, :k] @ self.alpha + f[:, k:2 * k] @ self.beta + f[:, 2 * k:2 * k + 3] @ self.gamma
        net = np.tanh(f @ self.w1 + self.b1) @ self.w2
        out: np.ndarray = linear + 0.3 * f[:, -1] + net + self.theta[np.arange(x.shape[1]), x].sum(axis=1)
        return out

    def stability(self, x: np.ndarray) -> np.ndarray:
        """``ΔG(x)``, the profile's log-odds summed along int designs ``[m, L]``: float64 ``[m]``."""
        out: np.ndarray = self.profile[np.arange(x.shape[1]), x].sum(axis=1)
        return out

    def folded(self, x: np.ndarray) -> np.ndarray:
        """``φ(x)`` in ``(0, 1)`` of int designs ``[m, L]``: float64 ``[m]``."""
        return _sigmoid((self.stability(x) - self.fold_threshold) / 1.5)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of int designs ``[m, L]``: float32 ``[m, 1]`` (scored in batches of 65,536 rows)."""
        x = np.asarray(x, dtype=np.int64)
        parts = [self.folded(b) * np.logaddexp(0.0, self.activity(b)) for b in np.split(x, range(_BATCH, len(x), _BATCH))]
        return np.concatenate(parts).astype(np.float32).reshape(-1, 1)


@dataclass(frozen=True)
class MotifLibrary:
    """A ``MotifNetDev`` draw before the top slice is hidden.

    Attributes:
        x: int64 ``[n, L]`` distinct library rows (mutants of ``parents``).
        y: float32 ``[n, 1]`` clean scores; ``y_obs``: float32 ``[n, 1]`` the noisy labels.
        parents: int64 ``[6, L]``; ``depth``: int64 ``[n]`` substitutions of each row from its parent.
        oracle: the :class:`MotifNetOracle`.
    """

    x: np.ndarray
    y: np.ndarray
    y_obs: np.ndarray
    parents: np.ndarray
    depth: np.ndarray
    oracle: MotifNetOracle


def _peaked_columns(rng: np.random.Generator, concentration: np.ndarray, num_classes: int) -> np.ndarray:
    """Log-odds against uniform of Dirichlet columns with a 0.02 pseudocount: float64 ``[len(concentration), C]``."""
    p = np.stack([rng.dirichlet(np.full(num_classes, c)) for c in concentration])
    out: np.ndarray = np.log(num_classes * (p + 0.02) / (1.0 + 0.02 * num_classes))
    return out


def _sample_columns(rng: np.random.Generator, log_odds: np.ndarray) -> np.ndarray:
    """One token per column drawn from ``softmax(log_odds)``: int64 ``[rows]``."""
    p = np.exp(log_odds - log_odds.max(axis=1, keepdims=True))
    u = rng.random(len(p))[:, None]
    return np.minimum((np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1) < u).sum(axis=1), p.shape[1] - 1)


def _mutate(rng: np.random.Generator, x: np.ndarray, depth: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows of ``x [m, L]`` with ``depth [m]`` distinct positions each changed to another token."""
    ranks = rng.random(x.shape).argsort(axis=1).argsort(axis=1)
    other = (x + rng.integers(1, num_classes, size=x.shape)) % num_classes
    return np.where(ranks < depth[:, None], other, x)


def draw_motifnet(length: int, num_classes: int, seed: int, n_rows: int = 20_000,
                  noise: float = 0.15) -> MotifLibrary:
    """Draw the oracle, the parents, the library and the noisy labels (``default_rng([seed, 17])``).

    Args:
        length: ``L >= MIN_MOTIF_LENGTH``; num_classes: ``C >= 2``.
        seed: draws everything (no check on its range here; see :func:`~n2ce_bbo.tasks.dev.make_dev_task`).
        n_rows: distinct library rows.
        noise: label noise as a fraction of the clean scores' std.

    Raises:
        InvalidDataError: sizes the task cannot have.
    """
    if length < MIN_MOTIF_LENGTH or num_classes < 2 or n_rows < 10 or not noise >= 0.0:
        raise InvalidDataError(f"MotifNetDev needs L >= {MIN_MOTIF_LENGTH}, C >= 2, n_rows >= 10 and noise >= 0; got "
                               f"L={length}, C={num_classes}, n_rows={n_rows}, noise={noise}.")
    rng = np.random.default_rng([seed, 17])
    lens = rng.integers(5, 9, size=len(_SIGNS))
    pwms = tuple(_peaked_columns(rng, np.full(m, 0.25), num_classes) for m in lens)
    n_features = 2 * len(_SIGNS) + 4
    alpha = _SIGNS * np.append(rng.uniform(1.0, 2.0, 3), rng.uniform(1.5, 2.5))
    beta = _SIGNS * np.append(rng.uniform(0.3, 0.8, 3), 0.5)
    gaps, gamma = rng.integers(0, 9, size=len(_PAIRS)), np.array([1.0, 1.0, -1.0]) * rng.uniform(1.0, 2.0, size=3)
    comp_tokens, comp_target = np.sort(rng.permutation(num_classes)[: num_classes // 2]), float(rng.uniform(0.35, 0.65))
    w1 = rng.normal(scale=1.5 / np.sqrt(n_features), size=(n_features, 16))
    b1, w2 = rng.normal(scale=0.5, size=16), rng.normal(scale=0.15, size=16)
    theta = rng.normal(scale=0.05, size=(length, num_classes))
    profile = _peaked_columns(rng, np.where(rng.random(length) < 0.45, 0.15, 3.0), num_classes)
    candidates = np.stack([_sample_columns(rng, profile) for _ in range(12)])
    for parent in candidates:  # one or two planted motifs (sampled from their PWMs) per candidate parent
        for k in rng.integers(0, len(pwms), size=rng.integers(1, 3)):
            start = rng.integers(0, length - len(pwms[k]) + 1)
            parent[start:start + len(pwms[k])] = _sample_columns(rng, pwms[k])
    # the six most stable candidates: measured libraries start from functional (folded) wild types
    parents = candidates[np.sort(np.argsort(-profile[np.arange(length), candidates].sum(axis=1))[:6])]
    six = _mutate(rng, parents[rng.integers(0, 6, size=4_000)], np.full(4_000, 6), num_classes)
    threshold = float(np.median(profile[np.arange(length), six].sum(axis=1)))
    oracle = MotifNetOracle(pwms, alpha, beta, gaps, gamma, comp_tokens, comp_target, w1, b1, w2, theta, profile,
                            threshold)
    share = rng.dirichlet(np.full(6, 2.0))
    x, depth = np.empty((0, length), dtype=np.int64), np.empty(0, dtype=np.int64)
    while len(x) < n_rows:  # draw, keep the distinct rows in draw order, until there are enough
        m = int(1.3 * n_rows)
        band = rng.choice(3, size=m, p=[0.35, 0.40, 0.25])
        d = rng.integers(np.array([1, 4, 11])[band], np.array([3, 10, max(11, length // 2)])[band] + 1)
        x = np.concatenate([x, _mutate(rng, parents[rng.choice(6, size=m, p=share)], d, num_classes)])
        depth = np.concatenate([depth, d])
        _, first = np.unique(x, axis=0, return_index=True)
        x, depth = x[np.sort(first)], depth[np.sort(first)]
    x, depth = x[:n_rows], depth[:n_rows]
    y = oracle(x)
    y_obs = y + rng.normal(scale=noise * float(y.std()), size=y.shape).astype(np.float32)
    return MotifLibrary(x=x, y=y, y_obs=y_obs, parents=parents, depth=depth, oracle=oracle)


def make_motifnet(length: int, num_classes: int, seed: int, n_rows: int = 20_000, noise: float = 0.15,
                  max_percentile: float = 80.0) -> Task:
    """``MotifNetDev-C-L``: :func:`draw_motifnet`, then the rows whose noisy label is at or below the
    ``max_percentile``-th percentile given.

    Returns:
        A task named ``MotifNetDev-C-L`` with about ``n_rows * max_percentile / 100`` int64 designs ``[n, L]``, noisy
        float32 scores ``[n, 1]`` and a :class:`MotifNetOracle` (noiseless), normalised over the library's clean
        scores.
    """
    if not 0.0 < max_percentile < 100.0:
        raise InvalidDataError(f"max_percentile must be in (0, 100) for a development task, got {max_percentile}.")
    lib = draw_motifnet(length, num_classes, seed, n_rows, noise)
    keep = lib.y_obs.reshape(-1) <= np.percentile(lib.y_obs, max_percentile)
    return Task(
        f"MotifNetDev-{num_classes}-{length}", lib.x[keep], lib.y_obs[keep], oracle=lib.oracle,
        num_classes=num_classes, y_full_min=float(lib.y.min()), y_full_max=float(lib.y.max()),
        description=(f"motif network with a folding threshold (C={num_classes}, L={length}); {n_rows:,} mutants of "
                     f"6 parents, noisy labels, the top {100 - max_percentile:g}% hidden"),
        oracle_note="exact (seeded random network; optimum unknown)",
    )
