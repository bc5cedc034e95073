"""``TableDev-D``: a property table of mixed-scale columns (compositions and an annealing temperature in °C), as
a user's own CSV would hold it, with noisy measurements and the best rows hidden.

A design is ``D`` numbers: ``K = D - 1`` fractions of a composition (``frac_0`` ... ``frac_{K-1}``, meant to sum to
1) and an annealing temperature ``anneal_c`` in °C (300 to 900), the layout of ``examples/alloys.csv``. The oracle
(all constants drawn from the run seed) first renormalises the fractions (negative ones clipped to 0, then divided
by their sum; a design whose fractions are all 0 is read as the even mix), as a lab would weigh out a recipe, and
scores a hardness-like property in its own units:

``y = Σ_i e_i f_i + Σ_{i<j} Ω_ij f_i f_j - 15 ((T - T*(f)) / 150)^2 + h exp(-|f - f_b|^2 / 0.02) σ((T - T_b) / 30)``

with ``e_i ~ U(150, 300)`` the pure components, ``Ω_ij ~ N(0, 150)`` the mixing terms (a regular-solution model),
``T*(f) = 500 + 300 a·f`` (``a_i ~ U(0, 1)``) a composition-dependent best temperature, and a narrow precipitate
peak (width 0.1) of height ``h ~ U(60, 120)`` at a seeded composition ``f_b ~ Dirichlet(3)`` that forms only above
``T_b ~ U(450, 650)`` °C: a smooth bulk, a coupling of the two scales, and a narrow region the data barely sample.

The data: ``n_rows`` (2,500) rows like a campaign's: 70% vary a seeded known recipe ``m ~ Dirichlet(2)``
(fractions from ``Dirichlet(6 K m + 0.5)``), 30% explore (``Dirichlet(1.5)``); fractions rounded to 4 decimals,
temperatures uniform rounded to 0.1 °C, labels with Gaussian noise of 0.1 of the clean scores' std rounded to 0.01
(the precision of :func:`write_dev_table`'s CSV, so the file reads back to the very same rows). The rows whose
noisy label is at or below the 80th percentile are given (about 2,000). Normalisation: the clean scores' minimum
and maximum over all drawn rows; the optimum is not known in closed form (designs better than every drawn row
score above 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task

__all__ = ["TableOracle", "draw_table", "make_table", "table_columns", "write_dev_table", "MIN_TABLE_DIM",
           "MAX_TABLE_DIM"]

MIN_TABLE_DIM, MAX_TABLE_DIM = 3, 12
"""Columns a ``TableDev`` task accepts: at least two fractions and the temperature."""

T_LOW, T_HIGH = 300.0, 900.0
"""The annealing temperature's range, °C."""


@dataclass(frozen=True)
class TableOracle:
    """The hardness-like property of the module docstring: float ``[m, D]`` -> float32 ``[m, 1]``.

    Attributes:
        energy: float64 ``[K]`` pure-component terms ``e``; omega: float64 ``[K, K]`` mixing terms (upper triangle).
        t_weights: float64 ``[K]`` ``a`` of ``T*(f) = 500 + 300 a·f``.
        bump_centre: float64 ``[K]`` ``f_b``; bump_height: ``h``; bump_onset: ``T_b`` (°C).
    """

    energy: np.ndarray
    omega: np.ndarray
    t_weights: np.ndarray
    bump_centre: np.ndarray
    bump_height: float
    bump_onset: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of designs ``[m, D]`` (fractions ``[:, :-1]``, temperature °C ``[:, -1]``): float32 ``[m, 1]``."""
        x = np.asarray(x, dtype=np.float64)
        frac, temp = np.clip(x[:, :-1], 0.0, None), x[:, -1]
        total = frac.sum(axis=1, keepdims=True)
        frac = np.where(total > 0, frac / np.where(total > 0, total, 1.0), 1.0 / frac.shape[1])
        bulk = frac @ self.energy + np.einsum("mi,ij,mj->m", frac, self.omega, frac)
        best_t = 500.0 + 300.0 * frac @ self.t_weights
        onset = 0.5 * (1.0 + np.tanh(0.5 * (temp - self.bump_onset) / 30.0))
        peak = self.bump_height * np.exp(-((frac - self.bump_centre) ** 2).sum(axis=1) / 0.02) * onset
        return (bulk - 15.0 * ((temp - best_t) / 150.0) ** 2 + peak).astype(np.float32).reshape(-1, 1)


def table_columns(dim: int) -> list[str]:
    """The column names of a ``TableDev-D`` design: ``frac_0`` ... ``frac_{D-2}``, ``anneal_c``."""
    return [f"frac_{i}" for i in range(dim - 1)] + ["anneal_c"]


def draw_table(dim: int, seed: int, n_rows: int = 2_500,
               noise: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray, TableOracle]:
    """The full draw of ``TableDev-D`` before the top slice is hidden (``default_rng([seed, 29, D])``).

    Args:
        dim: columns ``D`` (``MIN_TABLE_DIM`` to ``MAX_TABLE_DIM``).
        seed: draws the oracle, the rows and the noise (no check on its range here).
        n_rows: rows drawn.
        noise: label noise as a fraction of the clean scores' std.

    Returns:
        ``(x, y, y_obs, oracle)``: float32 designs ``[n_rows, D]``, clean float32 scores ``[n_rows, 1]``, the noisy
        labels float32 ``[n_rows, 1]`` (rounded to 0.01) and the :class:`TableOracle`.
    """
    if not MIN_TABLE_DIM <= dim <= MAX_TABLE_DIM or n_rows < 10 or not noise >= 0.0:
        raise InvalidDataError(f"TableDev needs {MIN_TABLE_DIM} <= D <= {MAX_TABLE_DIM}, n_rows >= 10 and noise >= 0; "
                               f"got D={dim}, n_rows={n_rows}, noise={noise}.")
    k = dim - 1
    rng = np.random.default_rng([seed, 29, dim])
    oracle = TableOracle(
        energy=rng.uniform(150.0, 300.0, size=k), omega=np.triu(rng.normal(scale=150.0, size=(k, k)), 1),
        t_weights=rng.uniform(size=k), bump_centre=rng.dirichlet(np.full(k, 3.0)),
        bump_height=float(rng.uniform(60.0, 120.0)), bump_onset=float(rng.uniform(450.0, 650.0)),
    )
    recipe = rng.dirichlet(np.full(k, 2.0))  # the known recipe most experiments vary around
    broad = rng.random(n_rows) < 0.3
    frac = np.where(broad[:, None], rng.dirichlet(np.full(k, 1.5), size=n_rows),
                    rng.dirichlet(6.0 * k * recipe + 0.5, size=n_rows))
    frac = np.round(frac, 4)
    temp = np.round(rng.uniform(T_LOW, T_HIGH, size=n_rows), 1)
    x = np.column_stack([frac, temp]).astype(np.float32)
    y = oracle(x)
    y_obs = np.round(y + rng.normal(scale=noise * float(y.std()), size=y.shape), 2).astype(np.float32)
    return x, y, y_obs, oracle


def make_table(dim: int, seed: int, n_rows: int = 2_500, noise: float = 0.1, max_percentile: float = 80.0) -> Task:
    """``TableDev-D``: :func:`draw_table`, the rows whose noisy label is at or below the ``max_percentile``-th
    percentile given.

    Returns:
        A task named ``TableDev-D`` with about ``n_rows * max_percentile / 100`` float32 designs ``[n, D]``, noisy
        float32 labels ``[n, 1]``, bounds ``[0, 1]`` per fraction and ``[300, 900]`` °C, and a
        :class:`TableOracle` (noiseless).
    """
    if not 0.0 < max_percentile < 100.0:
        raise InvalidDataError(f"max_percentile must be in (0, 100) for a development task, got {max_percentile}.")
    x, y, y_obs, oracle = draw_table(dim, seed, n_rows, noise)
    keep = y_obs.reshape(-1) <= np.percentile(y_obs, max_percentile)
    bounds = np.array([[0.0] * (dim - 1) + [T_LOW], [1.0] * (dim - 1) + [T_HIGH]], dtype=np.float32)
    return Task(
        f"TableDev-{dim}", x[keep], y_obs[keep], oracle=oracle, bounds=bounds,
        y_full_min=float(y.min()), y_full_max=float(y.max()),
        description=(f"composition ({dim - 1} fractions) and annealing temperature -> hardness-like property; "
                     f"{n_rows:,} rows, noisy labels, the top {100 - max_percentile:g}% hidden"),
        oracle_note="exact (seeded closed form; optimum unknown)",
    )


def write_dev_table(task: Task, path: str | Path, bounds_path: str | Path | None = None,
                    target: str = "hardness") -> list[str]:
    """Write a ``TableDev`` task's training rows as a CSV, for the user path
    (``n2ce-bbo optimize --data PATH --target hardness --bounds BOUNDS_PATH``).

    Columns: :func:`table_columns` then ``target``; fractions with 4 decimals, temperatures with 1, labels with 2:
    the precision the rows were drawn at, so reading the file back gives the task's rows exactly.

    Args:
        task: a task made by :func:`make_table` (``make_dev_task("TableDev-D", seed, None)``).
        path: the CSV to write (parent folders are made).
        bounds_path: also write the box as ``feature,lower,upper`` rows (the ``--bounds`` file), when given.
        target: the label column's name.

    Returns:
        The design column names.

    Raises:
        InvalidDataError: ``task`` is not a ``TableDev`` task.
    """
    if not task.name.startswith("TableDev-") or task.bounds is None or task.is_discrete:
        raise InvalidDataError(f"write_dev_table writes TableDev tasks, got {task.name!r}.")
    columns = table_columns(task.input_shape[0])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join([*columns, target])]
    for row, label in zip(task.x.astype(np.float64), task.y[:, 0].astype(np.float64), strict=True):
        lines.append(",".join([*(f"{v:.4f}" for v in row[:-1]), f"{row[-1]:.1f}", f"{label:.2f}"]))
    path.write_text("\n".join(lines) + "\n")
    if bounds_path is not None:
        bounds_path = Path(bounds_path)
        bounds_path.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{c},{lo:g},{hi:g}" for c, lo, hi in zip(columns, task.bounds[0], task.bounds[1], strict=True)]
        bounds_path.write_text("\n".join(["feature,lower,upper", *rows]) + "\n")
    return columns
