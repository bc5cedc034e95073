"""What a fitted model says about designs (:class:`Prediction`: predicted score, its std, how data-like), and the
``propose.*`` settings (and the design-space ascent's) a proposal from a fitted model may change
(:func:`with_propose_overrides`), the acquisition it ranks candidates by among them (:func:`acquisition_overrides`).

Units: predicted scores and their std are in the target's units (the surrogate's standardised predictions times
the training scores' std, plus their mean for the score); the in-distribution percentile is 0-100; the
log-density is in nats (unnormalised).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from n2ce_bbo.config import deep_merge, from_dict, to_dict
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.base import Method
from n2ce_bbo.methods.latent_ebm.uncertainty import ACQUISITIONS, predictive


@dataclass(frozen=True)
class Prediction:
    """A fitted model's prediction of ``n`` designs (each array ``[n]`` float64).

    Attributes:
        predicted: predicted score, target units (the mean of the value heads).
        predicted_std: its predictive std, target units: ``y_std · sqrt(var_k h_k + σ_y²)`` (the spread of the
            value heads plus the value head's noise; ``y_std · σ_y`` everywhere with one head).
        in_distribution: percentile (0-100) of the design's prior log-density among the training designs.
        log_density: the unnormalised latent prior log-density at the design's encoding (nats).
    """

    predicted: np.ndarray
    predicted_std: np.ndarray
    in_distribution: np.ndarray
    log_density: np.ndarray


def predict_raw(surrogate: Any, x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(predicted [n], std [n], log_p [n])`` float64 of designs ``x [n, ...]``, score and std in target units
    (the predicted score equals the one the value head alone gives: the heads' mean, computed as always)."""
    if not x.shape[0]:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    mean, std, logp = predictive(surrogate, x, batch)
    return surrogate.unstandardize_y(mean), std * float(surrogate.y_std), logp


def acquisition_overrides(method_name: str, is_latent_ebm: bool, config: Mapping[str, Any] | None,
                          acquisition: str | None, ucb_beta: float | None) -> dict[str, Any] | None:
    """``config`` (``propose.*`` overrides) with ``acquisition`` / ``ucb_beta`` set in its ``propose`` section;
    ``None`` and ``None`` leave it as it is (the method's configured acquisition, ``"mean"`` by default).

    Raises:
        ConfigError: an unknown acquisition, a negative ``ucb_beta``, or ``"ucb"`` / ``"ei"`` (or ``ucb_beta``) for
            a method without a predictive std (only the latent-EBM methods have one).
    """
    if acquisition is None and ucb_beta is None:
        return dict(config) if config else None
    if acquisition is not None and acquisition not in ACQUISITIONS:
        raise ConfigError(f"must be one of {', '.join(ACQUISITIONS)}, got {acquisition!r}.", key="acquisition")
    if not is_latent_ebm:
        if acquisition in (None, "mean") and ucb_beta is None:
            return dict(config) if config else None
        raise ConfigError(f"acquisition {acquisition or 'ucb'!r} needs a predictive std, which only the latent-EBM "
                          f"methods (n2ce, nce, mle, gaussian) have; {method_name!r} ranks by its prediction alone: "
                          "use acquisition 'mean'.")
    extra: dict[str, Any] = {}
    if acquisition is not None:
        extra["acquisition"] = acquisition
    if ucb_beta is not None:
        extra["ucb_beta"] = float(ucb_beta)
    return deep_merge(dict(config or {}), {"propose": extra})


#: The sections a fitted model may change when proposing, with the keys it may change (``None``: every key): the
#: ``propose`` section, and the design-space ascent's size, length and step, which act only when proposing.
#: Turning the ascent on needs a model fitted with it on (its design model); the proposal says so with
#: :class:`~n2ce_bbo.errors.IncompatibleModelError`.
PROPOSE_TIME_KEYS: dict[str, frozenset[str] | None] = {
    "propose": None,
    "design_model": frozenset({"ascent_starts", "ascent_steps", "ascent_lr", "ascent_share"}),
}


def with_propose_overrides(method: Method, config: Mapping[str, Any]) -> Any:
    """A copy of ``method.config`` with only the settings of :data:`PROPOSE_TIME_KEYS` changed.

    Raises:
        ConfigError: the overrides touch another setting, name a section the method lacks, or are invalid.
    """
    other = sorted(k for k in config if k not in PROPOSE_TIME_KEYS)
    for section, keys in PROPOSE_TIME_KEYS.items():
        given = config.get(section)
        if keys is None or given is None:
            continue
        if not isinstance(given, Mapping):
            raise ConfigError(f"{section} must be a mapping of settings; got {given!r}.")
        other += sorted(f"{section}.{k}" for k in given if k not in keys)
    if other:
        allowed = ", ".join(f"{sec}.{k}" for sec, keys in PROPOSE_TIME_KEYS.items() if keys for k in sorted(keys))
        raise ConfigError(f"only propose.* settings (and {allowed}) can change after fitting; got {other} "
                          "(refit to change them).")
    cfg = copy.copy(method.config)
    for section in PROPOSE_TIME_KEYS:
        if section not in config:
            continue
        if not hasattr(cfg, section):
            raise ConfigError(f"{type(method).__name__} has no {section} section.")
        if config[section]:
            current = getattr(cfg, section)
            merged = deep_merge(to_dict(current), dict(config[section]))
            setattr(cfg, section, from_dict(type(current), merged, path=section))
    return cfg
