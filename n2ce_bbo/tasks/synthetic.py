"""Embedded continuous tasks: offline versions of BoTorch's synthetic test functions (maximisation).

Built the way Design-Bench builds a task: a seeded dataset drawn uniformly in the function's box, the top part
hidden from the optimiser (rows above a percentile of the drawn full set are removed), the exact function as the
oracle, and normalisation over the drawn full set. No data folder is needed.

| task | function (negated) | d | n_samples | rows kept |
|---|---|---|---|---|
| ``Branin-Exact-v0`` | Branin | 2 | 5,000 | y <= 90th percentile (top 10% hidden, as the N²CE paper) |
| ``Ackley-Exact-v0`` | Ackley | 6 | 5,000 | y <= 80th percentile |
| ``Hartmann6-Exact-v0`` | Hartmann | 6 | 5,000 | y <= 80th percentile |
| ``Rosenbrock-Exact-v0`` | Rosenbrock | 4 | 5,000 | y <= 80th percentile |
| ``Ackley50-Exact-v0`` | Ackley | 50 | 10,000 | y <= 80th percentile |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.builtin import SYNTHETIC_SPECS, SyntheticSpec
from n2ce_bbo.tasks.design_bench import percentile_mask


def botorch_function(function: str, dim: int) -> Any:
    """A negated (maximisation) BoTorch synthetic test function, float64."""
    from botorch.test_functions import synthetic

    cls = getattr(synthetic, function)
    if function == "Branin":
        return cls(negate=True)
    return cls(dim=dim, negate=True)


@dataclass(frozen=True)
class BotorchOracle:
    """Exact oracle: float ``[m, d]`` -> float32 ``[m, 1]``, evaluated in float64 without noise."""

    function: str
    dim: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        f = botorch_function(self.function, self.dim)
        with torch.no_grad():
            out = f.forward(torch.as_tensor(np.asarray(x, dtype=np.float64)), noise=False)
        return out.numpy().astype(np.float32).reshape(-1, 1)


def make_synthetic(
    spec: SyntheticSpec,
    *,
    n_samples: int | None = None,
    seed: int = 0,
    max_percentile: float | None = None,
) -> Task:
    """Build the task of ``spec``.

    Args:
        spec: which function and defaults.
        n_samples: size of the drawn full set (default ``spec.n_samples``).
        seed: seed of the draw.
        max_percentile: keep rows at or below this percentile of the full set (default ``spec.max_percentile``).
    """
    n = spec.n_samples if n_samples is None else int(n_samples)
    pct = spec.max_percentile if max_percentile is None else float(max_percentile)
    if n < 2:
        raise InvalidDataError(f"n_samples must be at least 2, got {n}.")
    if not 0.0 < pct <= 100.0:
        raise InvalidDataError(f"max_percentile must be in (0, 100], got {pct}.")
    f = botorch_function(spec.function, spec.dim)
    bounds = f.bounds.numpy().astype(np.float32)  # [2, d]
    rng = np.random.default_rng(seed)
    # draw, round to float32 (the stored precision), then score exactly those points
    x = rng.uniform(bounds[0], bounds[1], size=(n, spec.dim)).astype(np.float32)
    oracle = BotorchOracle(spec.function, spec.dim)
    y = oracle(x)
    mask = percentile_mask(y, pct)
    return Task(
        spec.name, x[mask], y[mask], oracle=oracle, y_full_min=float(y.min()), y_full_max=float(y.max()),
        bounds=bounds, optimum=float(f.optimal_value),
        description=f"{spec.function} (d={spec.dim}, negated) on {n:,} uniform draws, top {100 - pct:g}% hidden",
        oracle_note="exact (closed form, BoTorch)",
    )


def make_named(
    name: str, data_dir: str | Path | None = None, n_samples: int | None = None, seed: int = 0,
    max_percentile: float | None = None,
) -> Task:
    """The embedded task called ``name`` (see :data:`~n2ce_bbo.tasks.builtin.SYNTHETIC_SPECS` and
    :func:`make_synthetic`; ``data_dir`` is ignored).

    Raises:
        InvalidDataError: ``name`` is not an embedded synthetic task.
    """
    spec = next((sp for sp in SYNTHETIC_SPECS if sp.name == name), None)
    if spec is None:
        raise InvalidDataError(f"{name!r} is not one of the synthetic tasks {[sp.name for sp in SYNTHETIC_SPECS]}.")
    return make_synthetic(spec, n_samples=n_samples, seed=seed, max_percentile=max_percentile)
