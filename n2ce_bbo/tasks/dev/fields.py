"""Token fields of site, neighbour and pair terms: ``PairFieldDev-C-L`` and ``EpistasisDev-C-L``.

Both draw ``n_rows`` uniform int64 sequences ``[n, L]`` over ``C`` tokens; see :mod:`n2ce_bbo.tasks.dev` for what
each task stands in for. The random streams are pinned by tests (``tests/tasks/test_dev.py``): recorded development
results were made with them, so a change here must keep every draw byte-identical.
"""

from __future__ import annotations

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task

__all__ = ["PairFieldOracle", "EpistasisOracle", "site_and_neighbour", "chain_maximum", "check_sizes",
           "make_pair_field", "make_epistasis"]


class PairFieldOracle:
    """``f(x) = Σ_i θ_i[x_i] + Σ_i φ_i[x_i, x_{i+1}]``: int ``[m, L]`` -> float32 ``[m, 1]``.

    Args:
        theta: float64 ``[L, C]`` site terms.
        phi: float64 ``[L - 1, C, C]`` neighbour terms (``phi[i, a, b]`` for ``x_i = a, x_{i+1} = b``).
    """

    def __init__(self, theta: np.ndarray, phi: np.ndarray) -> None:
        self.theta, self.phi = theta, phi

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of int designs ``[m, L]``: float32 ``[m, 1]``."""
        return site_and_neighbour(self.theta, self.phi, x).astype(np.float32).reshape(-1, 1)


def site_and_neighbour(theta: np.ndarray, phi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``Σ_i θ_i[x_i] + Σ_i φ_i[x_i, x_{i+1}]`` of int designs ``[m, L]`` -> float64 ``[m]``.

    Args:
        theta: float64 ``[L, C]`` site terms.
        phi: float64 ``[L - 1, C, C]`` neighbour terms.
        x: int designs ``[m, L]`` with tokens in ``0..C-1``.
    """
    x = np.asarray(x, dtype=np.int64)
    pos = np.arange(x.shape[1])
    out: np.ndarray = theta[pos, x].sum(axis=1) + phi[pos[:-1], x[:, :-1], x[:, 1:]].sum(axis=1)
    return out


def chain_maximum(theta: np.ndarray, phi: np.ndarray) -> float:
    """The exact maximum over all designs of :func:`site_and_neighbour` (float64 ``theta [L, C]``, ``phi
    [L - 1, C, C]``), by dynamic programming over the chain (Viterbi): ``value[c]`` is the best prefix ending in
    token ``c``. ``L * C**2`` operations instead of ``C**L``."""
    value = theta[0].copy()
    for i in range(1, theta.shape[0]):
        value = (value[:, None] + phi[i - 1]).max(axis=0) + theta[i]
    return float(value.max())


def check_sizes(task: str, length: int, num_classes: int, n_rows: int) -> None:
    """Refuse a token development task too small to have neighbours, a choice or a data set.

    Raises:
        InvalidDataError: ``length``, ``num_classes`` or ``n_rows`` below 2 (the message names the task).
    """
    if length < 2 or num_classes < 2 or n_rows < 2:
        raise InvalidDataError(
            f"{task} needs length >= 2, num_classes >= 2 and n_rows >= 2; "
            f"got length={length}, num_classes={num_classes}, n_rows={n_rows}."
        )


def make_pair_field(length: int, num_classes: int, seed: int, n_rows: int = 20_000) -> Task:
    """``PairFieldDev-C-L``: a random field with site and neighbour terms (seeded), ``n_rows`` uniformly drawn
    sequences of which the bottom half by score are the training rows (like a length-50 DNA task).

    Site terms ``θ`` are standard normal, neighbour terms ``φ`` normal with scale 0.7 (both drawn from
    ``default_rng([seed, 7])``). Training labels are the oracle's own, without noise. The normalisation's minimum
    is the lowest of the ``n_rows`` drawn rows, its maximum the field's exact maximum (:func:`chain_maximum`).

    Args:
        length: sequence length ``L``.
        num_classes: tokens ``C``.
        seed: draws the field and the rows (no check on its range here; see
            :func:`~n2ce_bbo.tasks.dev.make_dev_task`).
        n_rows: rows drawn before the bottom half is kept.

    Returns:
        A task named ``PairFieldDev-C-L`` with about ``n_rows / 2`` int64 designs ``[n, L]`` and float32 scores
        ``[n, 1]`` (rows tying the median are kept), and a :class:`PairFieldOracle`.
    """
    check_sizes("PairFieldDev", length, num_classes, n_rows)
    rng = np.random.default_rng([seed, 7])
    theta = rng.normal(size=(length, num_classes))
    phi = rng.normal(scale=0.7, size=(length - 1, num_classes, num_classes))
    oracle = PairFieldOracle(theta, phi)
    x = rng.integers(0, num_classes, size=(n_rows, length))
    y = oracle(x)
    keep = y.reshape(-1) <= np.median(y)
    return Task(f"PairFieldDev-{num_classes}-{length}", x[keep], y[keep], oracle=oracle, num_classes=num_classes,
                y_full_min=float(y.min()), y_full_max=chain_maximum(theta, phi))


class EpistasisOracle:
    """Site, neighbour and long-range pair terms, squashed: int ``[m, L]`` -> float32 ``[m, 1]``.

    ``f(x) = tanh((Σ_i θ_i[x_i] + Σ_i φ_i[x_i, x_{i+1}] + Σ_p ψ_p[x_{a_p}, x_{b_p}]) / 12)``.

    Args:
        theta: float64 ``[L, C]`` site terms.
        phi: float64 ``[L - 1, C, C]`` neighbour terms.
        pairs: int ``[P, 2]`` positions ``(a_p, b_p)`` of the long-range pairs (``a_p != b_p``).
        psi: float64 ``[P, C, C]`` long-range pair terms.
    """

    def __init__(self, theta: np.ndarray, phi: np.ndarray, pairs: np.ndarray, psi: np.ndarray) -> None:
        self.theta, self.phi, self.pairs, self.psi = theta, phi, pairs, psi

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of int designs ``[m, L]``: float32 ``[m, 1]`` in ``(-1, 1)``."""
        x = np.asarray(x, dtype=np.int64)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        f = site_and_neighbour(self.theta, self.phi, x) + self.psi[np.arange(len(i)), x[:, i], x[:, j]].sum(axis=1)
        return np.tanh(f / 12.0).astype(np.float32).reshape(-1, 1)


def make_epistasis(length: int, num_classes: int, seed: int, n_rows: int = 20_000) -> Task:
    """``EpistasisDev-C-L``: built to resemble the held-out DNA-like task where a batch can lose to the top
    training rows: site, neighbour and ``L`` random long-range pair terms under a saturating ``tanh``, training
    labels with noise (0.3 of the score's std), and the training rows are everything below the observed 80th
    percentile (so the best rows are good already). The oracle is noiseless; the normalisation's maximum is the
    best of the full sample (as Design-Bench normalises over the full data).

    Args:
        length: sequence length ``L`` (also the number of long-range pairs).
        num_classes: tokens ``C``.
        seed: draws the function, the rows and the label noise (``default_rng([seed, 11])``; no check on its
            range here; see :func:`~n2ce_bbo.tasks.dev.make_dev_task`).
        n_rows: rows drawn before the top 20% by noisy label are hidden.

    Returns:
        A task named ``EpistasisDev-C-L`` with about ``0.8 * n_rows`` int64 designs ``[n, L]`` and noisy float32
        scores ``[n, 1]``, and an :class:`EpistasisOracle`.
    """
    check_sizes("EpistasisDev", length, num_classes, n_rows)
    rng = np.random.default_rng([seed, 11])
    theta = rng.normal(size=(length, num_classes))
    phi = rng.normal(scale=0.7, size=(length - 1, num_classes, num_classes))
    pairs = np.stack([rng.choice(length, size=2, replace=False) for _ in range(length)])
    psi = rng.normal(scale=0.7, size=(length, num_classes, num_classes))
    oracle = EpistasisOracle(theta, phi, pairs, psi)
    x = rng.integers(0, num_classes, size=(n_rows, length))
    y = oracle(x)
    y_obs = y + rng.normal(scale=0.3 * float(y.std()), size=y.shape).astype(np.float32)
    keep = y_obs.reshape(-1) <= np.quantile(y_obs, 0.8)
    return Task(f"EpistasisDev-{num_classes}-{length}", x[keep], y_obs[keep], oracle=oracle,
                num_classes=num_classes, y_full_min=float(y.min()), y_full_max=float(y.max()))
