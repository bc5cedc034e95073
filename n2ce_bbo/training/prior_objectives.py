"""Objectives that fit the EBM prior ``f_α = Σ_k f_k`` to the aggregate posterior (step 2 of training).

Target ``q*``: latent samples of the current batch, ``z ~ q_φ(z | x)`` (detached). Noise ``q0 = N(0, I)``.

* ``n2ce`` / ``nce`` / ``nwj``: telescoping density-ratio estimation. Waymarks
  ``v_k = sqrt(1 - a_k²)·ε + a_k·z*`` (``losses.make_waymarks``); stage ``f_k`` separates ``v_{k+1}``
  (target) from ``v_k`` (noise) by ``losses.n2ce_loss`` (M), ``nce_loss`` (M = 1) or ``nwj_loss``. All K
  stages are evaluated in one batched call (:meth:`EBMPrior.waymark_outputs`); with equal sample counts per
  stage, ``Σ_k loss(f_k(v_{k+1}), f_k(v_k)) = K · loss(all targets, all noise)`` exactly (every loss here
  is a mean over each sample set), which :func:`telescoping_prior_loss` uses. It equals
  ``losses.telescoping_loss`` (tested).
* ``mle``: ``losses.mle_gradient_surrogate(f(z*), f(z~p_α))`` with ``p_α`` sampled by short-run Langevin
  from N(0, I) (:func:`short_run_langevin`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from n2ce_bbo.losses import (
    TELESCOPING_OBJECTIVES,
    make_waymarks,
    mle_gradient_surrogate,
    objective_loss,
    waymark_schedule,
)
from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.samplers.langevin import langevin
from n2ce_bbo.training.settings import PriorConfig


def telescoping_prior_loss(
    prior: EBMPrior,
    z_target: Tensor,
    noise: Tensor,
    schedule: Tensor,
    objective: str = "n2ce",
    M: float = 100.0,
    reg: float = 0.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Telescoping density-ratio loss of the K-stage prior (scalar, to minimise).

    Args:
        prior: the K-stage prior.
        z_target: ``z* ~ q*`` ``[n, d_z]`` (detached).
        noise: ``ε ~ N(0, I)`` ``[n, d_z]``, paired row by row with ``z_target``.
        schedule: waymark coefficients ``[K+1]`` from 0 to 1.
        objective: ``"n2ce"``, ``"nce"`` (M = 1) or ``"nwj"``.
        M: N²CE noise weight (``n2ce`` only).
        reg: ratio-regulariser weight λ per stage.

    Returns:
        ``(loss, stats)`` with detached stats ``f_target_mean`` / ``f_noise_mean`` (means over stages and
        samples of ``f_k`` at each stage's target / noise samples).
    """
    wm = make_waymarks(noise, z_target, schedule)
    K, n = prior.num_stages, z_target.shape[0]
    if len(wm) != K + 1:
        raise ValueError(f"{len(wm)} waymarks for a prior of K = {K} stages (need K + 1)")
    out = prior.waymark_outputs(torch.stack(wm))  # [K, 2n]: stage k on [wm[k+1]; wm[k]]
    f_t, f_n = out[:, :n].reshape(-1), out[:, n:].reshape(-1)
    return K * objective_loss(f_t, f_n, objective, M, reg), {"f_target_mean": f_t.detach().mean(), "f_noise_mean": f_n.detach().mean()}


def short_run_langevin(
    prior: EBMPrior,
    n: int,
    steps: int,
    step_size: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Samples of ``p_α(z) ∝ N(z; 0, I) e^{f_α(z)}`` by ``steps`` unadjusted Langevin steps from N(0, I)
    (:func:`~n2ce_bbo.samplers.langevin.langevin` with unit noise). Gradients go to ``z`` only (α is untouched).

    Returns:
        Detached ``[n, d_z]`` samples.
    """
    dev = torch.device(device) if device is not None else next(prior.parameters()).device
    z0 = torch.randn(n, prior.latent_dim, generator=generator, device=dev)

    def log_p(z: Tensor) -> Tensor:
        return prior(z) - 0.5 * z.square().sum(dim=1)

    return langevin(log_p, z0, steps, step_size, generator=generator).detach()


def mle_prior_loss(
    prior: EBMPrior,
    z_target: Tensor,
    steps: int,
    step_size: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Maximum-likelihood surrogate loss ``mean f(z_model) - mean f(z*)`` (its gradient is the MLE gradient).

    Model samples: :func:`short_run_langevin` with as many chains as target rows.
    """
    z_model = short_run_langevin(prior, z_target.shape[0], steps, step_size, generator, z_target.device)
    f_t, f_m = prior(z_target), prior(z_model)
    return mle_gradient_surrogate(f_t, f_m), {"f_target_mean": f_t.detach().mean(), "f_noise_mean": f_m.detach().mean()}


def prior_loss(
    prior: EBMPrior,
    z_target: Tensor,
    cfg: PriorConfig,
    generator: torch.Generator | None = None,
    schedule: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The loss of one α update for ``cfg.objective`` (not ``gaussian``: there is nothing to fit).

    Args:
        prior: the K-stage prior.
        z_target: encoded batch ``z ~ q_φ(z | x)``, ``[n, d_z]``; it is detached here.
        cfg: prior settings (objective, M, reg, waymarks, Langevin settings).
        generator: source of the noise / Langevin randomness (on ``z_target``'s device).
        schedule: precomputed waymark coefficients ``[K+1]`` (default: ``waymark_schedule(K, cfg.waymarks)``).
    """
    z_target = z_target.detach()
    if cfg.objective in TELESCOPING_OBJECTIVES:
        a = schedule if schedule is not None else waymark_schedule(prior.num_stages, cfg.waymarks)
        noise = torch.randn(z_target.shape, generator=generator, device=z_target.device, dtype=z_target.dtype)
        return telescoping_prior_loss(prior, z_target, noise, a, cfg.objective, cfg.M, cfg.reg)
    if cfg.objective == "mle":
        return mle_prior_loss(prior, z_target, cfg.mle_langevin_steps, cfg.mle_step_size, generator)
    raise ValueError(f"objective {cfg.objective!r} has no prior loss")
