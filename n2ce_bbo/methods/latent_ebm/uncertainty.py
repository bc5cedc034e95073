"""Predictive uncertainty of the latent surrogate, the acquisitions that use it, and how well it is calibrated.

The surrogate's prediction of a design ``x`` is the equal mixture of its value heads' ``N(h_k(μ(x)), σ_y²)``: mean
``h = mean_k h_k`` and variance ``var_k h_k + σ_y²`` (standardised score units;
:meth:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate.predictive_std`). With one value head (the default) the
spread term is 0 and the std is ``σ_y`` everywhere; several heads (``model.value_heads``) make it vary by design.

Acquisitions (``propose.acquisition``), all in standardised score units, replace ``h`` in the candidate score:

* ``mean``: ``h`` (exploitation; the candidate score as it always was);
* ``ucb``: ``h + β · std``;
* ``ei``: the expected improvement over the best measured training score ``y⁺``,
  ``(h - y⁺) Φ(u) + std · φ(u)`` with ``u = (h - y⁺) / std`` (0 when it underflows, about 37 std below ``y⁺``).

:func:`interval_coverage` measures calibration: the share of held-out rows whose true score lies in the 68 % and
95 % intervals ``mean ± 1 std`` and ``mean ± 1.96 std``. :func:`recalibration_scale` widens the std so the 95 %
interval covers rows the model did not see (split conformal, on the rehearsal's hidden rows: training rows only),
and :func:`crossfit_scales` gives every such row a scale chosen without it, so the recorded coverage of the
widened std is measured on rows that did not choose it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import ConfigError, InvalidDataError

#: The acquisitions ``propose.acquisition`` accepts.
ACQUISITIONS = ("mean", "ucb", "ei")
#: Half-widths of the intervals whose coverage is measured, in predictive standard deviations.
INTERVALS = {"coverage_68": 1.0, "coverage_95": 1.96}


def predictive(surrogate: Any, x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean [n], std [n], log_p [n])`` float64 of the designs ``x [n, ...]``: the predicted value and its
    predictive std (standardised score units) and the prior log-density ``log p_α(μ(x))`` (nats)."""
    members, lp = surrogate.heads_and_log_density(x, batch_size=batch)
    mean = surrogate.head_mean(members)
    std = surrogate.predictive_std(members)
    return (mean.double().cpu().numpy(), std.double().cpu().numpy(), lp.double().cpu().numpy())


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Closed-form expected improvement ``E[max(Y - best, 0)]`` of ``Y ~ N(mean, std²)``, ``[n]`` float64 (the units
    of ``mean``); ``std`` must be positive. Increasing in ``mean`` for a fixed ``std``."""
    m = torch.as_tensor(np.asarray(mean, dtype=np.float64))
    s = torch.as_tensor(np.asarray(std, dtype=np.float64))
    if bool((s <= 0).any()):
        raise InvalidDataError("expected_improvement needs a positive std for every design.")
    u = (m - float(best)) / s
    pdf = torch.exp(-0.5 * u.square()) / math.sqrt(2.0 * math.pi)
    # EI = std · (u Φ(u) + φ(u)). Below the incumbent the two terms cancel; there Φ(u) = φ(u) · sqrt(π/2) ·
    # erfcx(-u / sqrt(2)) gives the stable form φ(u) · (1 + u · sqrt(π/2) · erfcx(-u / sqrt(2))).
    above = u * torch.special.ndtr(u) + pdf
    below = pdf * (1.0 + u * math.sqrt(math.pi / 2.0) * torch.special.erfcx(-u.clamp_max(0.0) / math.sqrt(2.0)))
    ei = s * torch.where(u >= 0, above, below)
    return ei.clamp_min(0.0).numpy()


def acquisition(kind: str, mean: np.ndarray, std: np.ndarray, *, best: float, beta: float = 1.0) -> np.ndarray:
    """The acquisition ``kind`` (:data:`ACQUISITIONS`) of predictions ``mean [n]``, ``std [n]``, ``[n]`` float64.

    Args:
        kind: ``"mean"``, ``"ucb"`` or ``"ei"``.
        mean: predicted values (standardised score units).
        std: their predictive std (same units, positive).
        best: ``y⁺`` of ``ei``, the best measured training value (same units).
        beta: ``β`` of ``ucb`` (``>= 0``).

    Raises:
        ConfigError: an unknown ``kind``.
    """
    mean = np.asarray(mean, dtype=np.float64)
    if kind == "mean":
        return mean
    if kind == "ucb":
        return mean + float(beta) * np.asarray(std, dtype=np.float64)
    if kind == "ei":
        return expected_improvement(mean, std, best)
    raise ConfigError(f"must be one of {', '.join(ACQUISITIONS)}, got {kind!r}.", key="acquisition")


def interval_coverage(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict[str, Any]:
    """How often the true values ``y [n]`` fall in ``mean ± 1 std`` and ``mean ± 1.96 std`` (any one unit for
    all three): ``{"coverage_68": share, "coverage_95": share, "n_rows": n}`` (shares in [0, 1]; ``None`` for
    ``n = 0``). A calibrated predictor covers about 0.68 and 0.95; less means its std is too small."""
    y, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (y, mean, std))
    if not y.shape == mean.shape == std.shape:
        raise InvalidDataError(f"interval_coverage needs equal lengths, got {y.shape}, {mean.shape}, {std.shape}.")
    out: dict[str, Any] = {name: (float(np.mean(np.abs(y - mean) <= z * std)) if y.size else None)
                           for name, z in INTERVALS.items()}
    out["n_rows"] = int(y.size)
    return out


def recalibration_scale(y: np.ndarray, mean: np.ndarray, std: np.ndarray, level: float = 0.95) -> float:
    """The factor ``s >= 1`` by which ``std`` is multiplied so that ``mean ± 1.96 · s · std`` covers at least
    ``level`` of the rows ``(y [m], mean [m], std [m])`` (any one unit for all three), by split conformal
    prediction: ``s = q / 1.96`` with ``q`` the ``ceil((m + 1) · level)``-th smallest ``|y - mean| / std`` (the
    largest when that rank exceeds ``m``), so a new row exchangeable with these is covered with probability at
    least ``level``.

    ``s`` is never below 1: the rows are scored by the rehearsal's surrogate, fitted on fewer rows than the final
    one, so their evidence only ever widens the model's own std. No rows: 1.

    Raises:
        InvalidDataError: unequal lengths, a non-positive ``std``, or ``level`` outside (0, 1).
    """
    y, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (y, mean, std))
    if not y.shape == mean.shape == std.shape:
        raise InvalidDataError(f"recalibration_scale needs equal lengths, got {y.shape}, {mean.shape}, {std.shape}.")
    if not 0.0 < level < 1.0:
        raise InvalidDataError(f"level must lie in (0, 1), got {level}.")
    if bool((std <= 0).any()):
        raise InvalidDataError("recalibration_scale needs a positive std for every row.")
    if not y.size:
        return 1.0
    ratio = np.sort(np.abs(y - mean) / std)
    rank = min(math.ceil((y.size + 1) * level), y.size)
    return max(1.0, float(ratio[rank - 1]) / INTERVALS["coverage_95"])


def crossfit_scales(y: np.ndarray, mean: np.ndarray, std: np.ndarray, level: float = 0.95) -> np.ndarray:
    """``[m]`` float64: row ``i``'s :func:`recalibration_scale` chosen on the other half of the rows (rows at even
    positions use the odd ones' scale and the other way round), so ``std · scales`` can be checked on rows that did
    not choose its width. Fewer than 2 rows: ones."""
    y, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (y, mean, std))
    out = np.ones(y.shape[0], dtype=np.float64)
    if y.shape[0] < 2:
        return out
    even = np.arange(y.shape[0]) % 2 == 0
    for chosen, used in ((even, ~even), (~even, even)):
        out[used] = recalibration_scale(y[chosen], mean[chosen], std[chosen], level)
    return out


def not_measured(reason: str) -> dict[str, Any]:
    """The calibration record when it could not be measured: coverages ``None``, ``n_rows`` 0 and the reason."""
    return {"coverage_68": None, "coverage_95": None, "n_rows": 0, "not_measured": reason}


def calibration_line(calibration: dict[str, Any] | None) -> str:
    """One line for people: the coverages on the held-out rows, or why they were not measured."""
    if not calibration:
        return "calibration: not measured (no record)"
    if calibration.get("coverage_68") is None:
        return f"calibration: not measured ({calibration.get('not_measured', 'no held-out rows')})"
    return (f"calibration on {calibration['n_rows']} held-out rows: the 68% interval (predicted ± 1 std) covers "
            f"{100 * calibration['coverage_68']:.0f}% of their true scores, the 95% interval (± 1.96 std) "
            f"{100 * calibration['coverage_95']:.0f}%")
