"""Unadjusted Langevin dynamics over a batch of independent chains.

The update, for every chain ``i`` at once, is

    z_i <- z_i + (s^2 / 2) * grad log p(z_i) + noise_scale * s * xi_i,      xi_i ~ N(0, I),

with step size ``s``. ``noise_scale = 1`` samples p; ``noise_scale < 1`` samples a sharpened density
(approximately p^(1/noise_scale^2), a temperature below one); ``noise_scale = 0`` is gradient ascent on
``log p`` with learning rate ``s^2 / 2``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from n2ce_bbo.errors import InvalidDataError

LogProb = Callable[[Tensor], Tensor]


def _check_chains(z0: Tensor, n_steps: int, step_size: float) -> None:
    if z0.dim() != 2:
        raise InvalidDataError(f"z0 must have shape [n_chains, dim], got {tuple(z0.shape)}.")
    if not torch.is_floating_point(z0):
        raise InvalidDataError(f"z0 must be a floating-point tensor, got {z0.dtype}.")
    if n_steps < 0:
        raise InvalidDataError(f"n_steps must be >= 0, got {n_steps}.")
    if not step_size > 0:
        raise InvalidDataError(f"step_size must be > 0, got {step_size}.")


def log_prob_grad(log_prob: LogProb, z: Tensor) -> tuple[Tensor, Tensor]:
    """``(log p(z) [n], grad log p(z) [n, d])`` for a batch of chains, both detached.

    Chains must not interact inside ``log_prob`` (row ``i`` of its output depends on row ``i`` of ``z``
    only), so the gradient of the sum is each chain's own gradient.
    """
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        lp = log_prob(zz)
        if lp.shape != (z.shape[0],):
            raise InvalidDataError(f"log_prob must return shape [{z.shape[0]}], got {tuple(lp.shape)}.")
        (grad,) = torch.autograd.grad(lp.sum(), zz)
    return lp.detach(), grad.detach()


def clip_rows(g: Tensor, max_norm: float | None) -> Tensor:
    """Scale each row of ``g`` [n, d] down to Euclidean norm at most ``max_norm`` (``None``: unchanged)."""
    if max_norm is None:
        return g
    norms = g.norm(dim=1, keepdim=True)
    return g * torch.clamp(max_norm / (norms + 1e-12), max=1.0)


def langevin(
    log_prob: LogProb,
    z0: Tensor,
    n_steps: int,
    step_size: float,
    *,
    generator: torch.Generator | None = None,
    noise_scale: float = 1.0,
    grad_clip: float | None = None,
    return_trajectory: bool = False,
) -> Tensor:
    """Run ``n_steps`` of unadjusted Langevin dynamics on every chain.

    Args:
        log_prob: ``z [n, d] -> log p(z) [n]`` up to a constant, differentiable in ``z``; rows independent.
        z0: ``[n, d]`` initial states (float). Computation happens on ``z0.device``, in ``z0.dtype``.
        n_steps: number of updates (0 returns a copy of ``z0``).
        step_size: ``s`` in the update above (latent units).
        generator: source of the Gaussian noise; it must live on ``z0.device`` (a CPU generator for CPU
            chains, ``torch.Generator(device="cuda")`` for CUDA chains). ``None`` uses torch's global RNG.
        noise_scale: multiplier of the noise term (1 = exact Langevin, 0 = no noise).
        grad_clip: if set, each chain's gradient is scaled to Euclidean norm at most this value before the
            step (guards against divergent chains where the energy is steep).
        return_trajectory: also keep every state.

    Returns:
        ``[n, d]`` final states, or ``[n_steps + 1, n, d]`` (``z0`` first) when ``return_trajectory``.
        Chains that diverge are returned as they are (possibly non-finite); callers filter them.

    Cost: ``n_steps`` forward + backward passes of ``log_prob`` over ``n`` rows; memory O(n·d) (O(T·n·d)
    with the trajectory).
    """
    _check_chains(z0, n_steps, step_size)
    if noise_scale < 0:
        raise InvalidDataError(f"noise_scale must be >= 0, got {noise_scale}.")
    if generator is not None and generator.device.type != z0.device.type:
        raise InvalidDataError(
            f"generator is on {generator.device} but the chains are on {z0.device}: create it with "
            f"torch.Generator(device={str(z0.device)!r})."
        )
    z = z0.detach().clone()
    traj = [z.clone()] if return_trajectory else None
    half_s2 = 0.5 * step_size**2
    noise_coef = noise_scale * step_size
    for _ in range(n_steps):
        _, grad = log_prob_grad(log_prob, z)
        grad = clip_rows(grad, grad_clip)
        z = z + half_s2 * grad
        if noise_coef > 0:
            noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
            z = z + noise_coef * noise
        if traj is not None:
            traj.append(z.clone())
    if traj is not None:
        return torch.stack(traj)
    return z
