"""Ehrlich functions: closed-form test functions for biological sequence design with a known optimum of 1.0.

Implemented from the definition in Stanton et al. (2024), "Closed-Form Test Functions for Biophysical Sequence
Design Benchmarking" (arXiv:2407.00236):

* a discrete Markov process (DMP) over ``v`` states with a transition matrix ``A`` [v, v] in which some
  transitions are banned (``A[i, j] = 0``); a sequence is **feasible** when none of its consecutive pairs is banned;
* ``c`` motifs ``a^(i)`` of ``k`` states, each with spacings ``s^(i)`` (``s_1 = 0 < s_2 < ... < s_k``);
* the quantised presence of motif ``i``: ``h_q(x) = floor(q * max_l (1/k) sum_j [x_{l + s_j} = a_j]) / q``;
* ``f(x) = prod_i h_q(x, a^(i), s^(i))`` for feasible ``x`` and ``0`` for infeasible ``x``; the maximum is 1.

Construction used here (seeded, chosen so that an optimum provably exists and can be written down):
self-transitions are never banned, a random cycle through all states keeps the chain ergodic, and the ``c * k``
motif states are one self-avoiding walk of allowed transitions cut into ``c`` motifs (so motif states are all
distinct, and each motif's last state may be followed by the next motif's first). Spacings of each motif fit in
``L // c`` positions. :meth:`EhrlichFunction.optimal_solution` places motif ``i`` in block ``i`` and fills the gaps by
repeating the previous state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.design_bench import percentile_mask


@dataclass(frozen=True)
class EhrlichFunction:
    """An Ehrlich function.

    Attributes:
        transition: float64 ``[v, v]`` row-stochastic DMP transition matrix; zeros are banned transitions.
        motifs: int64 ``[c, k]`` motif states.
        spacings: int64 ``[c, k]`` offsets of each motif element (first is 0).
        length: sequence length ``L``.
        quantization: ``q`` in ``[1, k]``.
    """

    transition: np.ndarray
    motifs: np.ndarray
    spacings: np.ndarray
    length: int
    quantization: int

    @property
    def num_states(self) -> int:
        """Vocabulary size v (states of the transition matrix)."""
        return int(self.transition.shape[0])

    @property
    def num_motifs(self) -> int:
        """Number of motifs c."""
        return int(self.motifs.shape[0])

    @property
    def motif_length(self) -> int:
        """Length k of each motif."""
        return int(self.motifs.shape[1])

    @property
    def banned(self) -> np.ndarray:
        """bool ``[v, v]``: ``banned[i, j]`` when ``j`` may not follow ``i``."""
        return self.transition <= 0.0

    @classmethod
    def build(
        cls,
        num_states: int = 20,
        length: int = 32,
        num_motifs: int = 2,
        motif_length: int = 4,
        quantization: int | None = None,
        seed: int = 0,
        banned_fraction: float = 0.25,
    ) -> EhrlichFunction:
        """A seeded random Ehrlich function.

        Args:
            num_states: vocabulary size ``v``.
            length: sequence length ``L``; needs ``L // num_motifs >= motif_length``.
            num_motifs: ``c``; needs ``c * k <= v``.
            motif_length: ``k``.
            quantization: ``q`` (default ``k``).
            seed: seed of the construction.
            banned_fraction: share of each state's other successors that are banned.
        """
        v, L, c, k = int(num_states), int(length), int(num_motifs), int(motif_length)
        q = k if quantization is None else int(quantization)
        if v < 2 or c < 1 or k < 1 or c * k > v:
            raise InvalidDataError(f"Ehrlich needs v >= 2 and num_motifs * motif_length <= v; got v={v}, c={c}, k={k}.")
        if L // c < k:
            raise InvalidDataError(f"Ehrlich needs length // num_motifs >= motif_length; got L={L}, c={c}, k={k}.")
        if not 1 <= q <= k:
            raise InvalidDataError(f"quantization must be in [1, motif_length={k}], got {q}.")
        rng = np.random.default_rng(seed)
        order = rng.permutation(v)
        nxt = np.empty(v, dtype=np.int64)
        nxt[order] = np.roll(order, -1)
        allowed = np.ones((v, v), dtype=bool)
        n_ban = int(round(banned_fraction * max(v - 2, 0)))
        for i in range(v):
            others = np.setdiff1d(np.arange(v), [i, nxt[i]])
            allowed[i, rng.choice(others, size=min(n_ban, others.size), replace=False)] = False
        walk = _self_avoiding_walk(allowed, c * k, rng)
        weights = rng.uniform(0.5, 1.5, size=(v, v)) * allowed
        transition = weights / weights.sum(axis=1, keepdims=True)
        w = L // c
        spacings = np.stack([np.concatenate([[0], np.sort(rng.choice(np.arange(1, w), size=k - 1, replace=False))])
                             for _ in range(c)]).astype(np.int64)
        return cls(transition, walk.reshape(c, k), spacings, L, q)

    def is_feasible(self, x: np.ndarray) -> np.ndarray:
        """bool ``[m]``: no banned consecutive pair in each sequence of ``x`` int ``[m, L]``."""
        x = np.asarray(x, dtype=np.int64)
        return ~self.banned[x[:, :-1], x[:, 1:]].any(axis=1)

    def motif_presence(self, x: np.ndarray) -> np.ndarray:
        """Quantised presence ``h_q`` of each motif: int ``[m, L]`` -> float64 ``[m, c]`` in ``{0, 1/q, ..., 1}``."""
        x = np.asarray(x, dtype=np.int64)
        out = np.empty((x.shape[0], self.num_motifs), dtype=np.float64)
        k, q = self.motif_length, self.quantization
        for i in range(self.num_motifs):
            s = self.spacings[i]
            starts = np.arange(self.length - int(s[-1]))
            windows = x[:, starts[:, None] + s[None, :]]  # [m, P, k]
            matches = (windows == self.motifs[i]).sum(axis=2).max(axis=1)  # [m]
            out[:, i] = np.floor(matches * q / k + 1e-9) / q
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``f(x)``: int ``[m, L]`` -> float64 ``[m]``, 0 for infeasible sequences."""
        x = np.asarray(x, dtype=np.int64)
        return np.where(self.is_feasible(x), self.motif_presence(x).prod(axis=1), 0.0)

    def optimal_solution(self) -> np.ndarray:
        """A feasible sequence with ``f = 1``: int64 ``[L]``."""
        seq = np.full(self.length, -1, dtype=np.int64)
        w = self.length // self.num_motifs
        for i in range(self.num_motifs):
            seq[i * w + self.spacings[i]] = self.motifs[i]
        first = int(np.flatnonzero(seq >= 0)[0])
        seq[:first] = seq[first]
        for t in range(1, self.length):  # gaps repeat the previous state (self-transitions are allowed)
            if seq[t] < 0:
                seq[t] = seq[t - 1]
        return seq

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` feasible sequences from the DMP (uniform first state): int64 ``[n, L]``."""
        cum = np.cumsum(self.transition, axis=1)
        cum[:, -1] = 1.0
        x = np.empty((n, self.length), dtype=np.int64)
        x[:, 0] = rng.integers(0, self.num_states, size=n)
        for t in range(1, self.length):
            u = rng.random(n)
            x[:, t] = (cum[x[:, t - 1]] < u[:, None]).sum(axis=1)
        return x


def _self_avoiding_walk(allowed: np.ndarray, n: int, rng: np.random.Generator, tries: int = 1000) -> np.ndarray:
    """``n`` distinct states, each an allowed successor of the previous one."""
    v = allowed.shape[0]
    for _ in range(tries):
        walk = [int(rng.integers(v))]
        while len(walk) < n:
            cand = [j for j in np.flatnonzero(allowed[walk[-1]]) if j not in walk]
            if not cand:
                break
            walk.append(int(rng.choice(cand)))
        if len(walk) == n:
            return np.asarray(walk, dtype=np.int64)
    raise InvalidDataError(f"could not find {n} distinct motif states linked by allowed transitions; ban fewer.")


@dataclass(frozen=True)
class EhrlichOracle:
    """Oracle wrapper: int ``[m, L]`` -> float32 ``[m, 1]``."""

    function: EhrlichFunction

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.function(x).astype(np.float32).reshape(-1, 1)

    def is_feasible(self, x: np.ndarray) -> np.ndarray:
        """Whether each design avoids every banned transition: int ``[m, L]`` -> bool ``[m]`` (evaluation only)."""
        return self.function.is_feasible(x)


EHRLICH_DEFAULTS = dict(num_states=20, length=32, num_motifs=2, motif_length=4, quantization=4)


def make_ehrlich(
    data_dir: str | Path | None = None,
    *,
    num_states: int = 20,
    length: int = 32,
    num_motifs: int = 2,
    motif_length: int = 4,
    quantization: int = 4,
    n_samples: int = 5_000,
    max_percentile: float = 80.0,
    seed: int = 0,
) -> Task:
    """``Ehrlich-Exact-v0``: an Ehrlich function (v=20, L=32, c=2, k=4, q=4) with known optimum 1.0.

    The offline data are ``n_samples`` sequences drawn from the function's DMP (all feasible); rows at or below
    the ``max_percentile``-th percentile of their scores are kept. Scores take few values, so ties at the
    threshold are kept too: with the defaults, 4,683 of 5,000 rows (scores 0, 1/16, 1/8) are kept and the rest
    (up to 0.5625) hidden. ``seed`` fixes both the function and the draw. ``data_dir`` is ignored.
    """
    fn = EhrlichFunction.build(num_states, length, num_motifs, motif_length, quantization, seed=seed)
    rng = np.random.default_rng([seed, 1])
    x = fn.sample(int(n_samples), rng)
    y = fn(x).astype(np.float32)
    mask = percentile_mask(y, max_percentile)
    y_min, y_max = float(y.min()), max(float(y.max()), float(y.min()) + 1e-6)
    return Task(
        "Ehrlich-Exact-v0", x[mask], y[mask], oracle=EhrlichOracle(fn), num_classes=fn.num_states,
        y_full_min=y_min, y_full_max=y_max, optimum=1.0,
        description=(f"Ehrlich function (v={num_states}, L={length}, c={num_motifs}, k={motif_length}, "
                     f"q={quantization}); infeasible sequences score 0, optimum 1"),
        oracle_note="exact (closed form, Stanton et al. 2024)",
    )
