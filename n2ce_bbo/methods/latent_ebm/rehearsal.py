"""The oracle-free rehearsal: choose a data-dependent setting from the training rows alone.

A user never has an oracle, so a setting that depends on the data set (here: how much the learned prior's
in-distribution score weighs in the candidate score, and the design-space value model's share of its value term)
is chosen by a rehearsal on the training rows:

1. :func:`holdout_split` hides the **top slice** of the training rows by score (designs better than anything the
   rehearsal model sees, as the designs we hope to propose are) and a **random slice** of the rest (typical
   designs), and fits on what remains;
2. every candidate setting ranks the hidden rows (the *pool*, whose scores are known);
3. :func:`recovery` measures how good the ``k`` designs each setting ranks first really are (mean standardised
   score), and :func:`choose` keeps the best setting (ties: the first listed, so list the simplest first).

The chosen setting is then used with a surrogate refitted on every row. The same hidden rows measure, at no
extra fit, how well the rehearsal surrogate's predictive std is calibrated, and choose the factor that widens the
final surrogate's std so its 95 % interval covers unseen rows (:func:`rehearsal_calibration`).
:func:`holdout_split`, :func:`recovery` and :func:`choose` are pure functions of arrays; :func:`rehearse_score_weight` runs the rehearsal for the
latent-EBM method (settings: :class:`~n2ce_bbo.methods.latent_ebm.config.RehearsalConfig`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.latent_ebm.config import LatentEBMMethodConfig
from n2ce_bbo.methods.latent_ebm.design_model import design_value, fit_design_model, mixed_value
from n2ce_bbo.methods.latent_ebm.scoring import density_stats, value_and_density
from n2ce_bbo.methods.latent_ebm.uncertainty import (
    crossfit_scales,
    interval_coverage,
    not_measured,
    predictive,
    recalibration_scale,
)
from n2ce_bbo.methods.support import fit_pair_support
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.trainer import train_surrogate
from n2ce_bbo.utils import derive_seed


@dataclass(frozen=True)
class HoldoutSplit:
    """Row indices of a rehearsal split (disjoint, together every row once).

    Attributes:
        fit: rows the rehearsal surrogate is trained on ``[n_fit]``.
        top: the hidden top slice by score ``[n_top]``.
        random: the hidden random slice of the other rows ``[n_random]``.
    """

    fit: np.ndarray
    top: np.ndarray
    random: np.ndarray

    @property
    def pool(self) -> np.ndarray:
        """The hidden rows, top slice first ``[n_top + n_random]``."""
        return np.concatenate([self.top, self.random])


def holdout_split(y: np.ndarray, top_fraction: float, random_fraction: float, seed: int) -> HoldoutSplit:
    """Hide the best ``top_fraction`` of the rows and a random ``random_fraction`` of the others.

    Args:
        y: training scores ``[n]`` or ``[n, 1]`` (raw units, higher is better).
        top_fraction: share of rows in the hidden top slice, in (0, 0.5].
        random_fraction: share of all rows hidden at random from the rest, in [0, 0.5].
        seed: seed of the random slice (ties in ``y`` are broken by row order, not by the seed).

    Raises:
        InvalidDataError: fractions out of range, or too few rows to leave at least 2 hidden top rows and
            10 rows to fit.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if not 0 < top_fraction <= 0.5 or not 0 <= random_fraction <= 0.5:
        raise InvalidDataError(
            f"holdout fractions must satisfy 0 < top <= 0.5 and 0 <= random <= 0.5, got {top_fraction}, {random_fraction}."
        )
    n = y.shape[0]
    n_top = int(round(top_fraction * n))
    n_random = int(round(random_fraction * n))
    if n_top < 2 or n - n_top - n_random < 10:
        raise InvalidDataError(f"{n} rows are too few for a rehearsal split (top {n_top}, random {n_random}).")
    order = np.argsort(-y, kind="stable")
    top, rest = order[:n_top], order[n_top:]
    rng = np.random.default_rng(seed)
    random = np.sort(rng.choice(rest, size=n_random, replace=False)) if n_random else np.zeros(0, dtype=np.int64)
    fit = np.setdiff1d(rest, random)
    return HoldoutSplit(fit=fit.astype(np.int64), top=np.sort(top).astype(np.int64), random=random.astype(np.int64))


def recovery(scores: np.ndarray, y: np.ndarray, k: int) -> float:
    """Mean of ``y`` over the ``k`` rows that ``scores`` ranks first (higher is better; ties by row order).

    Args:
        scores: a setting's scores of the pool ``[m]`` (non-finite ranks last).
        y: the pool's true scores ``[m]`` (any units: only compared between settings).
        k: how many top-ranked rows count, ``1 <= k``; capped at ``m``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if scores.shape != y.shape or not scores.size:
        raise InvalidDataError(f"recovery needs as many scores as values, got {scores.shape} and {y.shape}.")
    if k < 1:
        raise InvalidDataError(f"k must be >= 1, got {k}.")
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    top = np.argsort(-scores, kind="stable")[: min(k, scores.shape[0])]
    return float(y[top].mean())


def choose(candidates: Mapping[str, np.ndarray] | Sequence[tuple[str, np.ndarray]], y: np.ndarray,
           k: int) -> tuple[str, dict[str, float]]:
    """The candidate setting whose pool ranking recovers the best designs.

    Args:
        candidates: setting name -> its scores of the pool ``[m]``, in order of preference (simplest first).
        y: the pool's true scores ``[m]``.
        k: see :func:`recovery`.

    Returns:
        ``(best_name, {name: recovery})``; the first listed wins ties.
    """
    items = list(candidates.items()) if isinstance(candidates, Mapping) else list(candidates)
    if not items:
        raise InvalidDataError("choose needs at least one candidate setting.")
    table = {name: recovery(s, y, k) for name, s in items}
    best = max(table, key=lambda name: (table[name], -[n for n, _ in items].index(name)))
    return best, table


def _candidate_weights(config: LatentEBMMethodConfig, data: OfflineData) -> list[float]:
    """``rehearsal.weights``, less ``w = 0`` when token designs are decoded by the chain decoder and the training
    designs show structural zeros (neighbouring pairs never seen although expected, :func:`fit_pair_support`).

    Why: the chain decoder's in-distribution score then carries which neighbour pairs the data never show, a job
    the hidden rows (all from the data) cannot reward, so ``w = 0`` would win ties and switch it off (on Ehrlich
    development tasks it did, and most proposals broke a banned pair). Without structural zeros the rehearsal
    chooses freely: where the data are the poor designs, "like the data" costs score (PairField development
    task). benchmarks/results/dev/chain_decoder_2026-12-04.md has the numbers.
    """
    weights = list(config.rehearsal.weights)
    chain = data.is_discrete and config.surrogate.model.decoder == "chain"
    if chain and fit_pair_support(data.x, int(data.num_classes or 2)).n_banned > 0:  # the default expected count, 10
        return [w for w in weights if w > 0] or weights
    return weights


def rehearse_score_weight(data: OfflineData, config: LatentEBMMethodConfig, *, seed: int, device: torch.device,
                          verbose: bool = False, show_progress: bool = False) -> dict[str, Any]:
    """Pick the weight ``w`` of the in-distribution score, and the design model's share ``β`` of the value term
    (``design_model.weights``, :mod:`.design_model`), from the training rows alone.

    Every pair ``(β, w)`` ranks the hidden rows by ``(1 - β) · h + β · m + w · z``, ``β`` outer and each list in
    its own order (so the simplest pair wins ties); with one ``β`` the recovery table is keyed by ``w`` alone, as
    before the design model existed. The design model of the rehearsal is fitted on the same rows as its
    surrogate, only when some ``β > 0`` is listed.

    Returns:
        ``{"enabled", "weight", "design_weight", "std_scale", "calibration", ...}``: with a rehearsal also its
        ``recovery`` table (setting -> mean score of the ``k`` hidden rows it ranks first), ``k``, the split's sizes
        and its ``seconds``; without one, the configured weight, the first listed ``β`` (and why it was
        ``skipped``) and ``std_scale`` 1. ``std_scale`` is the predictive std's recalibration factor
        (:func:`rehearsal_calibration`).
    """
    sel = config.rehearsal
    configured = config.propose.score_weight(data.is_discrete)
    betas = [float(b) for b in config.design_model.weights]
    if not sel.enabled:
        return {"enabled": False, "weight": configured, "design_weight": betas[0], "std_scale": 1.0,
                "calibration": not_measured("rehearsal.enabled is false: the calibration is measured on the rows the "
                                            "rehearsal hides")}
    if data.n < sel.min_rows:
        skipped = f"{data.n} training rows < rehearsal.min_rows ({sel.min_rows})"
        return {"enabled": False, "weight": configured, "design_weight": betas[0], "skipped": skipped,
                "std_scale": 1.0, "calibration": not_measured(f"no rehearsal: {skipped}")}
    t0 = time.perf_counter()
    rseed = derive_seed(seed, "rehearsal")
    split = holdout_split(data.y, sel.top_fraction, sel.random_fraction, rseed)
    fit_rows = dataclasses.replace(data, x=data.x[split.fit], y=data.y[split.fit])
    surrogate, _ = train_surrogate(fit_rows, config.surrogate, seed=rseed, device=device, verbose=verbose,
                                   show_progress=show_progress,
                                   progress_desc="rehearsal training (chooses the score weight)")
    stats = density_stats(surrogate, fit_rows.x, config.propose.score_batch)
    pool_x = data.x[split.pool]
    value, density = value_and_density(surrogate, pool_x, stats, config.propose.score_batch)
    design = np.zeros_like(value)
    if config.design_model.enabled:
        model = fit_design_model(fit_rows, config.design_model, rseed, device)
        design = design_value(model, surrogate, pool_x, config.propose.score_batch)
    settings: dict[str, tuple[float, float]] = {}
    scores = []
    for beta in betas:
        for w in _candidate_weights(config, data):
            name = f"{w:g}" if len(betas) == 1 else f"w={w:g},beta={beta:g}"
            settings[name] = (w, beta)
            scores.append((name, mixed_value(value, design, beta) + w * density))
    k = min(sel.k, split.top.size)
    best, table = choose(scores, data.y[split.pool].reshape(-1), k)
    calibration = rehearsal_calibration(surrogate, pool_x, data.y[split.pool], int(split.top.size),
                                        config.propose.score_batch, recalibrate=sel.recalibrate)
    return {"enabled": True, "weight": settings[best][0], "design_weight": settings[best][1],
            "std_scale": calibration["std_scale"], "recovery": table, "k": k, "n_fit": int(split.fit.size),
            "n_top": int(split.top.size), "n_random": int(split.random.size), "calibration": calibration,
            "seconds": round(time.perf_counter() - t0, 3)}


def rehearsal_calibration(surrogate: Any, x: np.ndarray, y: np.ndarray, n_top: int, batch: int,
                          recalibrate: str = "all") -> dict[str, Any]:
    """Interval coverage (:func:`~.uncertainty.interval_coverage`) of the rehearsal surrogate on its hidden rows, and
    the recalibration factor of the predictive std chosen on them (:func:`~.uncertainty.recalibration_scale`).

    Args:
        surrogate: the rehearsal surrogate (fitted without these rows).
        x: the hidden rows' designs ``[m, ...]``, top slice first (:attr:`HoldoutSplit.pool`).
        y: their true scores ``[m]`` or ``[m, 1]`` (raw units).
        n_top: how many of them are the top slice.
        batch: rows per surrogate call.
        recalibrate: the rows that choose the factor: ``"all"`` hidden rows, the ``"random"`` slice only, or
            ``"none"`` (factor 1).

    Returns:
        ``{"coverage_68", "coverage_95", "n_rows", "rows", "by_slice": {"top": ..., "random": ...}, "std_scale",
        "recalibrate", "uncalibrated": {...}}``: the coverages of the recalibrated std, each hidden row judged with
        the factor chosen on the other half of the rows (:func:`~.uncertainty.crossfit_scales`), over every hidden
        row and per slice (the top slice lies beyond the fitted rows' scores, so expect less coverage there);
        ``uncalibrated`` the same coverages of the std as trained; ``std_scale`` the factor chosen on all the
        ``recalibrate`` rows, which the final surrogate's std is multiplied by.
    """
    mean, std, _ = predictive(surrogate, x, batch)
    truth = surrogate.standardize_y(np.asarray(y, dtype=np.float64).reshape(-1))
    chosen = {"all": np.ones(truth.shape[0], dtype=bool), "random": np.arange(truth.shape[0]) >= n_top,
              "none": np.zeros(truth.shape[0], dtype=bool)}[recalibrate]
    scale = recalibration_scale(truth[chosen], mean[chosen], std[chosen]) if chosen.any() else 1.0
    crossed = np.ones_like(std)
    if chosen.any() and chosen.all():
        crossed = crossfit_scales(truth, mean, std)
    elif chosen.any():  # rows outside the choosing slice are judged with its whole factor
        crossed[chosen] = crossfit_scales(truth[chosen], mean[chosen], std[chosen])
        crossed[~chosen] = scale

    def coverages(s: np.ndarray) -> dict[str, Any]:
        out = interval_coverage(truth, mean, s)
        out["by_slice"] = {"top": interval_coverage(truth[:n_top], mean[:n_top], s[:n_top]),
                           "random": interval_coverage(truth[n_top:], mean[n_top:], s[n_top:])}
        return out

    record = coverages(std * crossed)
    record["rows"] = ("the rehearsal's hidden rows (its top slice and random slice), scored by the rehearsal "
                      "surrogate; each row's std recalibrated by the factor chosen on the other half of the rows")
    record.update(std_scale=scale, recalibrate=recalibrate, uncalibrated=coverages(std))
    return record
