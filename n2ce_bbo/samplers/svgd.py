"""Stein variational gradient descent (Liu & Wang, 2016) with an RBF kernel.

Particles move along

    phi(z_i) = (1/g) * sum_j [ k(z_j, z_i) * grad log p(z_j) + grad_{z_j} k(z_j, z_i) ],
    k(a, b) = exp(-||a - b||^2 / h),

which pulls them to high density (first term) and pushes them apart (second term). The sum runs over the
particle's **group**: particles are split into independent groups of at most ``group_size`` (contiguous
rows), so the cost per step is O(n · g · d) time and O(g^2) extra memory per group instead of O(n^2).
With ``group_size=None`` all ``n`` particles form one group (exact SVGD, O(n^2)).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.samplers.langevin import LogProb, _check_chains, log_prob_grad


def pairwise_sq_dists(z: Tensor) -> Tensor:
    """``[G, g, g]`` squared Euclidean distances within each group of ``z`` ``[G, g, d]``."""
    return torch.cdist(z, z).pow(2)


def median_bandwidth(z: Tensor, sq: Tensor | None = None) -> Tensor:
    """Median-heuristic bandwidth ``h`` for groups of particles.

    Args:
        z: ``[G, g, d]`` groups of particles.
        sq: their ``[G, g, g]`` squared distances, if already computed.

    Returns:
        ``[G, 1, 1]``: ``median_ij ||z_i - z_j||^2 / log(g + 1)`` per group (clamped away from 0).
    """
    if sq is None:
        sq = pairwise_sq_dists(z)
    med = sq.flatten(1).median(dim=1).values
    g = z.shape[1]
    h = med / math.log(g + 1)
    return h.clamp_min(1e-8).view(-1, 1, 1)


def svgd_direction(z: Tensor, grad: Tensor, bandwidth: float | None = None) -> Tensor:
    """The SVGD direction phi for groups of particles.

    Args:
        z: ``[G, g, d]`` particles, grouped.
        grad: ``[G, g, d]`` grad log p at those particles.
        bandwidth: RBF ``h`` (``None``: median heuristic per group).

    Returns:
        ``[G, g, d]`` phi.
    """
    g = z.shape[1]
    sq = pairwise_sq_dists(z)
    if bandwidth is None:
        h = median_bandwidth(z, sq)
    else:
        h = torch.full((z.shape[0], 1, 1), float(bandwidth), device=z.device, dtype=z.dtype)
    k = torch.exp(-sq / h)  # [G, g, g], symmetric
    drive = torch.bmm(k, grad)
    repulse = (2.0 / h) * (z * k.sum(dim=2, keepdim=True) - torch.bmm(k, z))
    return (drive + repulse) / g


def _grouped_direction(z: Tensor, grad: Tensor, group_size: int, bandwidth: float | None) -> Tensor:
    n, d = z.shape
    n_full = (n // group_size) * group_size
    out = torch.empty_like(z)
    if n_full:
        out[:n_full] = svgd_direction(
            z[:n_full].view(-1, group_size, d), grad[:n_full].view(-1, group_size, d), bandwidth
        ).reshape(n_full, d)
    if n_full < n:
        out[n_full:] = svgd_direction(z[n_full:].unsqueeze(0), grad[n_full:].unsqueeze(0), bandwidth)[0]
    return out


def svgd(
    log_prob: LogProb,
    z0: Tensor,
    n_steps: int,
    step_size: float,
    *,
    bandwidth: float | None = None,
    optimizer: Literal["adagrad", "sgd"] = "adagrad",
    group_size: int | None = 1024,
    alpha: float = 0.9,
    eps: float = 1e-6,
    return_trajectory: bool = False,
) -> Tensor:
    """Run ``n_steps`` of SVGD on a batch of particles (deterministic: no random numbers are drawn).

    Args:
        log_prob: ``z [n, d] -> log p(z) [n]`` up to a constant, differentiable; rows independent.
        z0: ``[n, d]`` initial particles; computation happens on ``z0.device``.
        n_steps: number of updates.
        step_size: learning rate of the particle update (latent units per step for ``sgd``; for
            ``adagrad`` the per-coordinate step is about ``step_size``).
        bandwidth: RBF ``h`` in ``exp(-||a - b||^2 / h)``; ``None`` uses the median heuristic, recomputed
            for every group at every step.
        optimizer: ``"adagrad"`` (the original SVGD code's AdaGrad with momentum ``alpha`` on the squared
            direction) or ``"sgd"`` (plain ``z += step_size * phi``).
        group_size: particles interact only within contiguous groups of at most this many rows (the last
            group may be smaller); ``None`` puts all particles in one group. Results depend on it.
        alpha: AdaGrad decay of the running mean of squared directions.
        eps: AdaGrad fudge factor.
        return_trajectory: also keep every state.

    Returns:
        ``[n, d]`` final particles, or ``[n_steps + 1, n, d]`` (``z0`` first) when ``return_trajectory``.

    Cost per step: one forward + backward of ``log_prob`` over ``n`` rows plus O(n · g · d) kernel work,
    O(g^2) memory per group (``g = group_size``).
    """
    _check_chains(z0, n_steps, step_size)
    if optimizer not in ("adagrad", "sgd"):
        raise InvalidDataError(f"optimizer must be 'adagrad' or 'sgd', got {optimizer!r}.")
    if group_size is not None and group_size < 1:
        raise InvalidDataError(f"group_size must be >= 1 or None, got {group_size}.")
    if bandwidth is not None and not bandwidth > 0:
        raise InvalidDataError(f"bandwidth must be > 0 or None, got {bandwidth}.")
    n = z0.shape[0]
    gs = n if group_size is None else min(group_size, n)
    z = z0.detach().clone()
    traj = [z.clone()] if return_trajectory else None
    hist: Tensor | None = None
    for _ in range(n_steps):
        _, grad = log_prob_grad(log_prob, z)
        phi = _grouped_direction(z, grad, gs, bandwidth)
        if optimizer == "adagrad":
            hist = phi.pow(2) if hist is None else alpha * hist + (1 - alpha) * phi.pow(2)
            z = z + step_size * phi / (eps + hist.sqrt())
        else:
            z = z + step_size * phi
        if traj is not None:
            traj.append(z.clone())
    if traj is not None:
        return torch.stack(traj)
    return z
