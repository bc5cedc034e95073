"""Density-ratio losses: Noisier NCE (N²CE), NCE, NWJ, telescoping (multi-stage) estimation.

All functions are pure torch and differentiable. A *log-ratio* ``f = log r`` estimates
``log q*(v) / q0(v)`` (target over noise). Every loss here is a scalar **to minimise**.

N²CE (arXiv 2405.16730 v2) maximises, for ``M >= 1``,

    L_M = E_{q*}[ log r/(M + r) ] + M · E_{q0}[ log M/(M + r) ],

computed stably as ``log r/(M+r) = -softplus(log M - f)`` and
``M · log M/(M+r) = -M · softplus(f - log M)``. M = 1 is NCE (logistic loss on logits ``f``);
``L_M + log M -> E_{q*}[f] - E_{q0}[e^f]`` (NWJ) as M -> inf, and the gradient of ``L_M`` tends to
the maximum-likelihood gradient ``E_{q*}∇f - E_{p_α}∇f`` with a deviation O(1/M).

Sample-count convention: the empirical N²CE loss takes the mean over the target samples and the
mean over the noise samples (any two sample counts); the factor M multiplies the noise *mean*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from n2ce_bbo.errors import ConfigError, InvalidDataError

__all__ = [
    "n2ce_loss",
    "nce_loss",
    "nwj_loss",
    "ratio_regularizer",
    "waymark_schedule",
    "make_waymarks",
    "stage_losses",
    "telescoping_loss",
    "mle_gradient_surrogate",
    "NWJ_EXP_CAP",
    "TELESCOPING_OBJECTIVES",
    "objective_loss",
]

#: Above this log-ratio the NWJ loss replaces ``e^f`` by its tangent line ``e^c (1 + f - c)``.
NWJ_EXP_CAP: float = 80.0
#: The density-ratio objectives of telescoping estimation (:func:`objective_loss`, :func:`telescoping_loss`).
TELESCOPING_OBJECTIVES: tuple[str, ...] = ("n2ce", "nce", "nwj")


def _check_M(M: float) -> float:
    try:
        m = float(M)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"M must be a real number >= 1, got {M!r}") from exc
    if not math.isfinite(m) or m < 1.0:
        raise ConfigError(f"M must be finite and >= 1, got {M!r}")
    return m


def _check_nonempty(f_target: Tensor, f_noise: Tensor) -> None:
    if f_target.numel() == 0 or f_noise.numel() == 0:
        raise InvalidDataError(
            f"need at least one target and one noise value, got {f_target.numel()} and {f_noise.numel()}"
        )


def ratio_regularizer(f_target: Tensor, f_noise: Tensor) -> Tensor:
    """Ratio regulariser ``E[f²]``, the mean of ``f²`` over the concatenation of both sample sets.

    Args:
        f_target: log-ratio values at target samples, shape ``[n]`` (any shape; flattened).
        f_noise: log-ratio values at noise samples, shape ``[m]`` (any shape; flattened).

    Returns:
        Scalar tensor ``[]``; the caller multiplies it by the weight λ.
    """
    _check_nonempty(f_target, f_noise)
    f = torch.cat([f_target.reshape(-1), f_noise.reshape(-1)])
    return f.square().mean()


def n2ce_loss(f_target: Tensor, f_noise: Tensor, M: float, reg: float = 0.0) -> Tensor:
    """N²CE loss ``-L_M`` (+ ``reg · E[f²]``), to minimise.

    ``-L_M = mean_t softplus(log M - f_t) + M · mean_n softplus(f_n - log M)``.

    Finite values and gradients (float32) for ``|f| <= 80`` and ``1 <= M <= 1e6``: the value is
    at most about ``M · (80 + |log M|)`` and the gradient per noise value at most ``M / m``.

    Args:
        f_target: log-ratio ``f = log q*/q0`` at target samples ``v ~ q*``, shape ``[n]``.
        f_noise: log-ratio at noise samples ``v ~ q0``, shape ``[m]`` (``m`` may differ from ``n``).
        M: noise weight, finite and ``>= 1`` (M = 1 is NCE).
        reg: weight λ of :func:`ratio_regularizer` (0 disables it).

    Returns:
        Scalar tensor ``[]``.

    Raises:
        ConfigError (a ValueError): M < 1, M not finite, or reg < 0 / not finite.
    """
    m = _check_M(M)
    _check_nonempty(f_target, f_noise)
    log_m = math.log(m)
    loss = F.softplus(log_m - f_target).mean() + m * F.softplus(f_noise - log_m).mean()
    return _add_reg(loss, f_target, f_noise, reg)


def nce_loss(f_target: Tensor, f_noise: Tensor, reg: float = 0.0) -> Tensor:
    """NCE (logistic) loss: :func:`n2ce_loss` with M = 1.

    Equals ``BCE(f_t, 1).mean() + BCE(f_n, 0).mean()`` with BCE on logits. Shapes as in
    :func:`n2ce_loss`; returns a scalar ``[]``.
    """
    return n2ce_loss(f_target, f_noise, 1.0, reg=reg)


def nwj_loss(f_target: Tensor, f_noise: Tensor, reg: float = 0.0) -> Tensor:
    """NWJ loss ``-(mean_t f - mean_n e^f)``, the M -> inf limit of ``-(L_M + log M)``.

    Stable form: ``e^f`` is evaluated in float64, and above ``c = NWJ_EXP_CAP`` (= 80) it is
    replaced by its tangent ``e^c (1 + f - c)`` (continuous with a continuous derivative, still
    convex, and its gradient ``e^c`` keeps pushing large ``f`` down). The result is cast back to
    the dtype of ``f_target``; for ``f <= 80`` it is exact.

    Args:
        f_target: log-ratio at target samples, shape ``[n]``.
        f_noise: log-ratio at noise samples, shape ``[m]``.
        reg: weight λ of :func:`ratio_regularizer`.

    Returns:
        Scalar tensor ``[]``.
    """
    _check_nonempty(f_target, f_noise)
    fn = f_noise.to(torch.float64)
    capped = fn.clamp(max=NWJ_EXP_CAP)
    exp_f = torch.where(fn > NWJ_EXP_CAP, math.exp(NWJ_EXP_CAP) * (1.0 + fn - NWJ_EXP_CAP), capped.exp())
    loss = (exp_f.mean() - f_target.to(torch.float64).mean()).to(f_target.dtype)
    return _add_reg(loss, f_target, f_noise, reg)


def _add_reg(loss: Tensor, f_target: Tensor, f_noise: Tensor, reg: float) -> Tensor:
    r = float(reg)
    if not math.isfinite(r) or r < 0.0:
        raise ConfigError(f"reg must be finite and >= 0, got {reg!r}")
    if r == 0.0:
        return loss
    return loss + r * ratio_regularizer(f_target, f_noise)


def mle_gradient_surrogate(f_target: Tensor, f_model: Tensor) -> Tensor:
    """Surrogate whose gradient is minus the maximum-likelihood gradient of an EBM ``q0·e^f/Z``.

    ``-(mean_t f - mean_model f)``: its gradient is ``-(E_{q*}∇f - E_{p_α}∇f)``. ``f_model`` must be
    ``f`` evaluated at samples from the model ``p_α`` that were **detached** from the graph (e.g.
    after short-run Langevin), so only ``f`` itself is differentiated.

    Args:
        f_target: log-ratio at data samples ``v ~ q*``, shape ``[n]``.
        f_model: log-ratio at model samples ``v ~ p_α``, shape ``[m]``.

    Returns:
        Scalar tensor ``[]`` (its value is not a likelihood; only its gradient is meaningful).
    """
    _check_nonempty(f_target, f_model)
    return f_model.mean() - f_target.mean()


def waymark_schedule(K: int, kind: str = "linear", dtype: torch.dtype | None = None) -> Tensor:
    """Mixing coefficients ``0 = a_0 < a_1 < ... < a_K = 1`` for K telescoping stages.

    Kinds (``t_k = k / K``):

    - ``"linear"``: ``a_k = t_k``;
    - ``"sqrt"``: ``a_k = sqrt(t_k)``, so the target's share of the variance ``a_k²`` is linear;
    - ``"cosine"``: ``a_k = sin(π t_k / 2)``, i.e. ``(sqrt(1 - a_k²), a_k) = (cos θ_k, sin θ_k)``
      with the angle ``θ_k`` evenly spaced (a rotation from noise to target).

    Args:
        K: number of stages, ``>= 1``.
        kind: ``"linear"``, ``"sqrt"`` or ``"cosine"``.
        dtype: floating dtype of the result (default: torch's default dtype).

    Returns:
        Tensor ``[K+1]`` with exact endpoints 0 and 1.
    """
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        raise ConfigError(f"K must be an integer >= 1, got {K!r}")
    t = torch.arange(K + 1, dtype=torch.float64) / K
    if kind == "linear":
        a = t
    elif kind == "sqrt":
        a = t.sqrt()
    elif kind == "cosine":
        a = torch.sin(0.5 * math.pi * t)
    else:
        raise ConfigError(f"unknown waymark schedule kind {kind!r}; choose 'linear', 'sqrt' or 'cosine'")
    a[0], a[-1] = 0.0, 1.0
    return a.to(dtype or torch.get_default_dtype())


def make_waymarks(noise: Tensor, target: Tensor, a: Tensor) -> list[Tensor]:
    """Waymark samples ``v_k = sqrt(1 - a_k²)·ε + a_k·v*`` from paired noise and target samples.

    Args:
        noise: ``ε ~ q0``, shape ``[n, d]``.
        target: ``v* ~ q*``, shape ``[n, d]`` (row i is paired with row i of ``noise``).
        a: schedule ``[K+1]``, strictly increasing from exactly 0 to exactly 1.

    Returns:
        List of K+1 tensors ``[n, d]``; entry 0 is ``noise`` and entry K is ``target`` (exact).
    """
    if noise.shape != target.shape:
        raise InvalidDataError(f"noise and target must have the same shape, got {tuple(noise.shape)} and "
                               f"{tuple(target.shape)}")
    coef = [float(x) for x in torch.as_tensor(a).reshape(-1)]
    if len(coef) < 2 or coef[0] != 0.0 or coef[-1] != 1.0 or any(b <= c for c, b in zip(coef, coef[1:], strict=False)):
        raise ConfigError(f"waymark schedule must increase strictly from 0 to 1, got {coef}")
    out = []
    for ak in coef:
        if ak == 0.0:
            out.append(noise)
        elif ak == 1.0:
            out.append(target)
        else:
            out.append(math.sqrt(1.0 - ak * ak) * noise + ak * target)
    return out


def objective_loss(f_target: Tensor, f_noise: Tensor, objective: str, M: float = 1.0, reg: float = 0.0) -> Tensor:
    """The loss of one density-ratio ``objective`` (the one place that maps a name to its loss).

    Args:
        f_target: log-ratio at target samples, shape ``[n]``.
        f_noise: log-ratio at noise samples, shape ``[m]``.
        objective: ``"n2ce"`` (:func:`n2ce_loss` with ``M``), ``"nce"`` (:func:`nce_loss`; ``M`` ignored) or
            ``"nwj"`` (:func:`nwj_loss`; ``M`` ignored).
        M: N²CE noise weight.
        reg: weight λ of :func:`ratio_regularizer`.

    Returns:
        Scalar tensor ``[]``.

    Raises:
        ConfigError: unknown objective.
    """
    if objective == "n2ce":
        return n2ce_loss(f_target, f_noise, M, reg=reg)
    if objective == "nce":
        return nce_loss(f_target, f_noise, reg=reg)
    if objective == "nwj":
        return nwj_loss(f_target, f_noise, reg=reg)
    raise ConfigError(f"unknown objective {objective!r}; choose one of {TELESCOPING_OBJECTIVES}")


def stage_losses(
    stage_logits: Sequence[Callable[[Tensor], Tensor]],
    waymarks: Sequence[Tensor],
    M: float,
    reg: float = 0.0,
    objective: str = "n2ce",
) -> list[Tensor]:
    """Per-stage losses of telescoping estimation.

    Stage k (``0 <= k < K``) estimates ``log p_{k+1}/p_k`` with target ``waymarks[k+1]`` and noise
    ``waymarks[k]``; the total log-ratio is ``f = Σ_k stage_logits[k]``.

    Args:
        stage_logits: K callables mapping ``[n, d] -> [n]`` (or ``[n, 1]``) log-ratio values.
        waymarks: K+1 tensors ``[n, d]`` (see :func:`make_waymarks`).
        M: N²CE noise weight (used by ``objective="n2ce"`` only).
        reg: weight λ of the ratio regulariser, applied per stage.
        objective: ``"n2ce"``, ``"nce"`` or ``"nwj"``.

    Returns:
        List of K scalar tensors ``[]``.
    """
    if objective not in TELESCOPING_OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}; choose one of {TELESCOPING_OBJECTIVES}")
    if len(waymarks) != len(stage_logits) + 1 or len(stage_logits) == 0:
        raise ConfigError(f"need K >= 1 stages and K+1 waymarks, got {len(stage_logits)} stages and "
                          f"{len(waymarks)} waymarks")
    return [
        objective_loss(fk(waymarks[k + 1]), fk(waymarks[k]), objective, M, reg)
        for k, fk in enumerate(stage_logits)
    ]


def telescoping_loss(
    stage_logits: Sequence[Callable[[Tensor], Tensor]],
    waymarks: Sequence[Tensor],
    M: float,
    reg: float = 0.0,
    objective: str = "n2ce",
) -> Tensor:
    """Sum over the K stages of :func:`stage_losses` (same arguments); returns a scalar ``[]``."""
    return torch.stack(stage_losses(stage_logits, waymarks, M=M, reg=reg, objective=objective)).sum()
