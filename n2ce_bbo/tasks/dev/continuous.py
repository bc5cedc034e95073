"""Continuous development tasks from BoTorch's test functions: ``AckleyDev-D``, ``LevyDev-D``, ``RosenbrockDev-D``,
``StyblinskiTangDev-D`` (maximising the negated function).

Each seed is a different function: the design box is BoTorch's box of the function, and a design ``x`` is scored
as ``g(R (x - a) + c)``, where ``g`` is the negated BoTorch function, ``c`` its optimiser, ``R`` a seeded random
rotation (Haar, from the QR of a Gaussian matrix) and ``a`` a seeded point drawn uniformly in the middle 60% of
the box on every axis. The maximum is BoTorch's optimal value (every one of these functions takes its global
optimum over all of ``R^D`` at ``c``), reached at ``x = a``, inside the box; the rotation removes the axis
alignment (Styblinski-Tang is no longer separable, Rosenbrock's valley runs along no axis). Points of the box
map beyond ``g``'s own box, where these functions keep growing, so the low tail is longer than on the plain
function.

The data: ``n_rows`` (4,000) points by Latin hypercube in the box, rows at or below the 60th percentile of the
exact scores given (the top 40% hidden). Normalisation: ``y_full_min`` is the lowest drawn score and
``y_full_max`` the known optimum, so the optimum normalises to 1; ``Task.optimum`` holds it in raw units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.design_bench import percentile_mask
from n2ce_bbo.tasks.synthetic import botorch_function

__all__ = ["CONTINUOUS_FUNCTIONS", "MIN_DIM", "MAX_DIM", "RotatedOracle", "draw_continuous", "make_continuous_dev"]

CONTINUOUS_FUNCTIONS = {"AckleyDev": "Ackley", "LevyDev": "Levy", "RosenbrockDev": "Rosenbrock",
                        "StyblinskiTangDev": "StyblinskiTang"}
"""Development task prefix -> BoTorch test function (``botorch.test_functions.synthetic``)."""

MIN_DIM, MAX_DIM = 2, 16
"""Dimensions a continuous development task accepts (the suite uses 4 to 8)."""

_STREAM = {"Ackley": 1, "Levy": 2, "Rosenbrock": 3, "StyblinskiTang": 4}  # one random stream per function


@dataclass(frozen=True)
class RotatedOracle:
    """``x -> g(R (x - argmax) + centre)``: float ``[m, D]`` -> float32 ``[m, 1]``, evaluated in float64.

    Attributes:
        function: BoTorch function name (``"Ackley"``, ...); ``g`` is its negation.
        rotation: float64 ``[D, D]`` orthogonal matrix ``R``.
        argmax: float64 ``[D]`` the design that scores the optimum (exactly representable in float32).
        centre: float64 ``[D]`` BoTorch's optimiser of the function.
    """

    function: str
    rotation: np.ndarray
    argmax: np.ndarray
    centre: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of designs ``[m, D]`` (float32 or float64): float32 ``[m, 1]``."""
        from botorch.test_functions import synthetic

        z = (np.asarray(x, dtype=np.float64) - self.argmax) @ self.rotation.T + self.centre
        # BoTorch refuses points outside the function's box; these functions are defined on all of R^D, so the box
        # given is one that holds every z (and the optimiser), which leaves the values unchanged
        lo = np.minimum(z.min(axis=0, initial=np.inf), self.centre) - 1.0
        hi = np.maximum(z.max(axis=0, initial=-np.inf), self.centre) + 1.0
        f = getattr(synthetic, self.function)(dim=len(self.centre), negate=True, bounds=list(zip(lo, hi, strict=True)))
        with torch.no_grad():
            out = f.forward(torch.as_tensor(z), noise=False)
        return out.numpy().astype(np.float32).reshape(-1, 1)


def _latin_hypercube(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """``n`` points in ``[0, 1)^dim``, one in each of the ``n`` equal slices of every axis: float64 ``[n, dim]``."""
    cells = np.stack([rng.permutation(n) for _ in range(dim)], axis=1)
    out: np.ndarray = (cells + rng.uniform(size=(n, dim))) / n
    return out


def draw_continuous(prefix: str, dim: int, seed: int, n_rows: int = 4_000) -> tuple[np.ndarray, np.ndarray,
                                                                                      RotatedOracle, np.ndarray]:
    """The full draw of a continuous development task, before the top slice is hidden.

    Args:
        prefix: a key of :data:`CONTINUOUS_FUNCTIONS` (``"AckleyDev"``, ...).
        dim: dimension ``D`` (``MIN_DIM`` to ``MAX_DIM``).
        seed: draws the rotation, the optimiser's place and the rows (``default_rng([seed, 13, stream, D])``).
        n_rows: Latin-hypercube rows.

    Returns:
        ``(x, y, oracle, bounds)``: float32 designs ``[n_rows, D]``, their exact float32 scores ``[n_rows, 1]``,
        the :class:`RotatedOracle` and the float32 box ``[2, D]``.

    Raises:
        InvalidDataError: an unknown prefix, ``dim`` out of range or ``n_rows < 2``.
    """
    if prefix not in CONTINUOUS_FUNCTIONS:
        raise InvalidDataError(f"{prefix!r} is not a continuous development task: {sorted(CONTINUOUS_FUNCTIONS)}.")
    if not MIN_DIM <= dim <= MAX_DIM or n_rows < 2:
        raise InvalidDataError(f"{prefix} needs {MIN_DIM} <= D <= {MAX_DIM} and n_rows >= 2; got D={dim}, "
                               f"n_rows={n_rows}.")
    function = CONTINUOUS_FUNCTIONS[prefix]
    f = botorch_function(function, dim)
    bounds = f.bounds.numpy().astype(np.float64)  # [2, D]
    lo, width = bounds[0], bounds[1] - bounds[0]
    rng = np.random.default_rng([seed, 13, _STREAM[function], dim])
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    rotation = q * np.sign(np.diag(r))  # the sign fix makes the rotation Haar-distributed
    argmax = (lo + (0.2 + 0.6 * rng.uniform(size=dim)) * width).astype(np.float32).astype(np.float64)
    oracle = RotatedOracle(function, rotation, argmax, f.optimizers[0].numpy().astype(np.float64))
    # draw, round to float32 (the stored precision), then score exactly those points
    x = (lo + _latin_hypercube(rng, n_rows, dim) * width).astype(np.float32)
    return x, oracle(x), oracle, bounds.astype(np.float32)


def make_continuous_dev(prefix: str, dim: int, seed: int, n_rows: int = 4_000, max_percentile: float = 60.0) -> Task:
    """``<prefix>-D`` (for example ``AckleyDev-6``): see the module docstring.

    Args:
        prefix: a key of :data:`CONTINUOUS_FUNCTIONS`.
        dim: dimension ``D``.
        seed: the run seed (no check on its range here; see :func:`~n2ce_bbo.tasks.dev.make_dev_task`).
        n_rows: Latin-hypercube rows drawn before the top slice is hidden.
        max_percentile: rows with exact scores at or below this percentile are given (60: the top 40% hidden).

    Returns:
        A task named ``<prefix>-D`` with about ``n_rows * max_percentile / 100`` float32 designs ``[n, D]`` and
        their exact float32 scores ``[n, 1]``, the box as ``bounds``, the known optimum as ``optimum`` and
        ``y_full_max``, and a :class:`RotatedOracle` (whose ``argmax`` is the optimiser).
    """
    if not 0.0 < max_percentile < 100.0:
        raise InvalidDataError(f"max_percentile must be in (0, 100) for a development task, got {max_percentile}.")
    x, y, oracle, bounds = draw_continuous(prefix, dim, seed, n_rows)
    optimum = float(botorch_function(oracle.function, dim).optimal_value)
    keep = percentile_mask(y, max_percentile)
    return Task(
        f"{prefix}-{dim}", x[keep], y[keep], oracle=oracle, bounds=bounds, optimum=optimum,
        y_full_min=float(y.min()), y_full_max=optimum,
        description=(f"{oracle.function} (D={dim}, negated), seeded rotation and optimiser; {n_rows:,} Latin-"
                     f"hypercube rows, the top {100 - max_percentile:g}% hidden"),
        oracle_note="exact (closed form, BoTorch, rotated and shifted)",
    )
