"""Development tasks: where defaults are chosen, never on the reported tasks or seeds.

Defaults are decided on tasks that share no oracle and no data with the reported tasks (TFBind8, TFBind10,
Superconductor, Branin, Ehrlich), and on seeds that never report (100 and up; see ``docs/protocol.md``), so that
no reported number has been used to pick the settings that produced it. This module builds those tasks;
:func:`make_dev_task` is the entry point and refuses seeds below :data:`MIN_DEV_SEED`. Each synthetic task is
drawn from the run seed, so seed 100 and seed 101 are different functions as well as different runs:

* ``EhrlichDev-V-L``: an Ehrlich function (:func:`n2ce_bbo.tasks.ehrlich.make_ehrlich`) with ``V`` states and
  length ``L`` whose generator seed is the run seed (the reported Ehrlich task's is fixed); 30,000 sampled rows
  (20,000 when ``V <= 8``), those at or below the 80th percentile given. It stands in for feasibility: banned
  transitions make most sequences score 0. (The built :class:`~n2ce_bbo.tasks.base.Task` keeps the name
  ``make_ehrlich`` gives it, ``"Ehrlich-Exact-v0"``.)
* ``PairFieldDev-C-L`` (:func:`make_pair_field`): a random field over ``C`` tokens and length ``L`` with site
  and neighbour terms; 20,000 uniform rows, the bottom half by score given. Its maximum, the normalised score 1,
  is exact (dynamic programming, :func:`chain_maximum`). A DNA-like field where a surrogate can extrapolate.
* ``EpistasisDev-C-L`` (:func:`make_epistasis`): site, neighbour and ``L`` random long-range pair terms under a
  saturating ``tanh``; noisy training labels, the rows below the observed 80th percentile given. A task where
  the best training rows are already good, so a batch can lose to them.
* a registered task name (:func:`n2ce_bbo.tasks.make`): the reported tasks themselves, on runs that never
  report (development seeds only); TFBind10 takes its own 10,000-row subset drawn with that seed.

The three synthetic tasks' designs are int64 tokens ``[n, L]`` in ``0..C-1``; training scores and oracle values are float32 ``[n, 1]``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import ConfigError, InvalidDataError, UnknownTaskError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.ehrlich import make_ehrlich
from n2ce_bbo.tasks.registry import make

__all__ = [
    "MIN_DEV_SEED", "DEV_TASK_PATTERNS", "PairFieldOracle", "EpistasisOracle", "site_and_neighbour", "chain_maximum",
    "make_pair_field", "make_epistasis", "make_dev_task",
]

MIN_DEV_SEED = 100
"""The smallest seed a development task accepts; lower seeds are kept for reported evaluations."""

DEV_TASK_PATTERNS = ("EhrlichDev-V-L", "PairFieldDev-C-L", "EpistasisDev-C-L")
"""The development task names :func:`make_dev_task` parses, besides registered task names."""

_DEV_NAME = re.compile(r"(EhrlichDev|PairFieldDev|EpistasisDev)-(\d+)-(\d+)")
_DEV_PREFIXES = ("EhrlichDev", "PairFieldDev", "EpistasisDev")


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


def _check_sizes(task: str, length: int, num_classes: int, n_rows: int) -> None:
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
        seed: draws the field and the rows (no check on its range here; see :func:`make_dev_task`).
        n_rows: rows drawn before the bottom half is kept.

    Returns:
        A task named ``PairFieldDev-C-L`` with about ``n_rows / 2`` int64 designs ``[n, L]`` and float32 scores
        ``[n, 1]`` (rows tying the median are kept), and a :class:`PairFieldOracle`.
    """
    _check_sizes("PairFieldDev", length, num_classes, n_rows)
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
            range here; see :func:`make_dev_task`).
        n_rows: rows drawn before the top 20% by noisy label are hidden.

    Returns:
        A task named ``EpistasisDev-C-L`` with about ``0.8 * n_rows`` int64 designs ``[n, L]`` and noisy float32
        scores ``[n, 1]``, and an :class:`EpistasisOracle`.
    """
    _check_sizes("EpistasisDev", length, num_classes, n_rows)
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


def make_dev_task(name: str, seed: int, data_dir: str | Path | None) -> Task:
    """A development task at a development seed.

    Args:
        name: ``EhrlichDev-V-L``, ``PairFieldDev-C-L`` or ``EpistasisDev-C-L`` (integers, seeded by ``seed``; see
            the module docstring), or a registered task name (TFBind10 tasks take a 10,000-row subset drawn with
            ``seed``; other registered tasks ignore it).
        seed: the run seed, ``>= MIN_DEV_SEED`` (100).
        data_dir: Design-Bench data folder for registered tasks that need one (else ``$N2CE_BBO_DATA_DIR``).

    Raises:
        ConfigError: ``seed`` below 100 (those seeds are kept for reported evaluations) or not an integer.
        UnknownTaskError: a malformed development task name, or a name that is neither one nor registered.
        InvalidDataError: sizes a development task cannot be built with (for example ``PairFieldDev-1-50``).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"must be an integer, got {seed!r}.", key="seed")
    if seed < MIN_DEV_SEED:
        raise ConfigError(
            f"must be >= {MIN_DEV_SEED} for a development task, got {seed}: seeds below {MIN_DEV_SEED} are kept "
            "for reported evaluations, and defaults are never chosen on them.", key="seed",
        )
    if name.startswith(_DEV_PREFIXES):
        match = _DEV_NAME.fullmatch(name)
        if match is None:
            raise UnknownTaskError(
                f"Malformed development task name {name!r}: expected one of {list(DEV_TASK_PATTERNS)} with integer "
                "V or C (tokens) and L (length), for example 'PairFieldDev-4-50'."
            )
        kind, classes, length = match[1], int(match[2]), int(match[3])
        if kind == "PairFieldDev":
            return make_pair_field(length, classes, seed)
        if kind == "EpistasisDev":
            return make_epistasis(length, classes, seed)
        return make_ehrlich(num_states=classes, length=length, n_samples=30_000 if classes > 8 else 20_000,
                            seed=seed)
    kwargs: dict[str, Any] = {"max_samples": 10_000, "seed": seed} if name.startswith("TFBind10") else {}
    try:
        return make(name, data_dir=data_dir, **kwargs)
    except UnknownTaskError as e:
        raise UnknownTaskError(f"{e} Development tasks: {', '.join(DEV_TASK_PATTERNS)}.") from e
