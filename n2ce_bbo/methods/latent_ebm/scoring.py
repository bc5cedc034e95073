"""Candidate scoring with the surrogate and its prior: what every latent-EBM proposal path ranks designs by.

A design's candidate score is ``v(x) + w · z(x) + trust_weight · min(0, z(x) + trust_margin)``: the value ``v``,
plus ``w`` times its in-distribution score ``z(x)`` (the prior log-density ``log p_α(μ(x))`` standardised over the
training designs), plus an optional trust penalty. The value is the value head at the encoded design, ``h(μ(x))``,
or with a design-space value model ``m`` (:mod:`.design_model`) and its weight ``β > 0``,
``(1 - β) · h(μ(x)) + β · m(x)``. Designs that break the data's
neighbouring-pair support or the user's constraints, or lie outside the distance trust region
(``propose.trust_radius``, :mod:`n2ce_bbo.methods.trust_region`), are never candidates.

With ``propose.acquisition`` ``"ucb"`` or ``"ei"`` the acquisition of the prediction (:mod:`.uncertainty`) takes the
place of ``h``; ``"mean"`` (the default) computes the score exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.latent_ebm.design_model import design_value, mixed_value
from n2ce_bbo.methods.latent_ebm.uncertainty import acquisition, predictive
from n2ce_bbo.methods.support import PairSupport
from n2ce_bbo.methods.trust_region import TrustRegion


def density_stats(surrogate: Any, x: np.ndarray, batch: int, max_rows: int = 20_000) -> tuple[float, float]:
    """Mean and std (nats) of ``log p_α(μ(x))`` over (an evenly spaced subset of at most ``max_rows`` of) the
    designs ``x [n, ...]``."""
    step = max(1, -(-x.shape[0] // max_rows))
    _, lp = surrogate.value_and_log_density(x[::step], batch_size=batch)
    lp = lp.double().cpu().numpy()
    return float(lp.mean()), float(max(lp.std(), 1e-6))


def value_and_density(surrogate: Any, x: np.ndarray, stats: tuple[float, float], batch: int,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(h [n], z [n])`` float64: predicted standardised value and in-distribution score (standardised by
    ``stats``) of the designs ``x [n, ...]``."""
    value, lp = surrogate.value_and_log_density(x, batch_size=batch)
    density = (lp.double().cpu().numpy() - stats[0]) / stats[1]
    return value.double().cpu().numpy(), density


def acquisition_and_density(surrogate: Any, x: np.ndarray, stats: tuple[float, float], config: ProposeConfig,
                            ) -> tuple[np.ndarray, np.ndarray]:
    """``(a [n], z [n])`` float64: the acquisition ``config.acquisition`` of the prediction (standardised score
    units; ``ei`` over the best standardised training score) and the in-distribution score, of designs ``x``."""
    mean, std, lp = predictive(surrogate, x, config.score_batch)
    value = acquisition(config.acquisition, mean, std, best=float(surrogate.y_max_standardized),
                        beta=config.ucb_beta)
    return value, (lp - stats[0]) / stats[1]


@dataclass
class CandidateScorer:
    """Scores candidates and says which may be proposed.

    Attributes:
        surrogate: the trained :class:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate`.
        stats: ``(mean, std)`` of the training designs' prior log-density (:func:`density_stats`).
        config: the ``propose`` settings (score batch, trust penalty).
        weight: ``w``, the weight of the in-distribution score.
        support: the data's neighbouring-pair support (token designs), or ``None``.
        constraints: the user's :class:`~n2ce_bbo.constraints.Constraints`, or ``None``.
        trust_region: the distance trust region around the best training designs, or ``None``.
        design_model: the design-space value model ``m`` (:mod:`.design_model`), or ``None``.
        design_weight: ``β``, its share of the value term (0: ``h`` alone; needs ``design_model`` when positive).
    """

    surrogate: Any
    stats: tuple[float, float]
    config: ProposeConfig
    weight: float
    support: PairSupport | None = None
    constraints: Any = None
    trust_region: TrustRegion | None = None
    design_model: Any = None
    design_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.design_weight > 0 and self.design_model is None:
            raise ValueError(f"design_weight {self.design_weight} needs a design model.")

    def score(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` float64 candidate scores of the designs ``x [n, ...]``."""
        cfg = self.config
        if cfg.acquisition == "mean":  # the predicted value itself, computed as it always was
            value, density = value_and_density(self.surrogate, x, self.stats, cfg.score_batch)
        else:
            value, density = acquisition_and_density(self.surrogate, x, self.stats, cfg)
        if self.design_weight > 0:  # the design model is only asked when it has a share
            value = mixed_value(value, design_value(self.design_model, self.surrogate, x, cfg.score_batch),
                                self.design_weight)
        return value + self.weight * density + cfg.trust_weight * np.minimum(0.0, density + cfg.trust_margin)

    @property
    def filters(self) -> bool:
        """Whether any design can be refused (a pair support, constraints or a trust region are held)."""
        return self.support is not None or self.constraints is not None or self.trust_region is not None

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` bool: rows of ``x`` that respect the pair support and the user's constraints and lie in the trust
        region."""
        ok = np.ones(x.shape[0], dtype=bool)
        if self.support is not None and len(x):
            ok &= self.support.allowed(x)
        if self.constraints is not None and len(x):
            ok &= self.constraints.allowed(x)
        if self.trust_region is not None and len(x):
            ok[ok] = self.trust_region.allowed(x[ok])  # the costlier check, on the rows still allowed
        return ok

    def keep_allowed(self, x: np.ndarray) -> np.ndarray:
        """The rows of ``x`` that may be proposed."""
        return x if not len(x) else x[self.allowed(x)]

    def project(self, x: np.ndarray) -> np.ndarray:
        """Candidates moved onto the user's fixed positions / into the user's bounds (unchanged without them)."""
        return x if self.constraints is None or not len(x) else self.constraints.project(x)
