"""A two-parameter exponential family where N²CE, NCE and maximum likelihood can be compared exactly.

The helpers of the notebook ``n2ce_vs_nce_vs_mle_2d.ipynb`` (which imports this file from its own folder);
tested by ``tests/test_toy2d.py``.

The picture of the paper's Figure 1 ("'Noisier' NCE is (Almost) Maximum Likelihood"): follow the
gradient flow of each objective in parameter space and compare the paths.

Setting (``d`` dimensions, usually 2):

- target ``q* = N(μ*, I)`` (samples only);
- noise ``q0 = N(c, s² I)`` (``c`` = ``noise_mean``, default 0; ``s`` = ``noise_scale``);
- model ``p_θ = N(θ, I)``, written as a log-ratio against the noise,
  ``f_θ(v) = log p_θ(v) − log q0(v) = −||v − θ||²/2 + ||v − c||²/(2s²) + d·log s``,
  so ``p_θ = q0·e^{f_θ}`` is exactly normalised for every ``θ``.

Then ``∇_θ f_θ(v) = v − θ`` and

- the exact maximum-likelihood gradient is ``E_{q*}[v − θ] − E_{p_θ}[v − θ] = μ* − θ``: its gradient flow
  is the straight segment from ``θ_0`` to ``μ*``;
- the N²CE gradient is ``∫ M/(M + r_θ) (q* − p_θ) (v − θ) dv`` with ``r_θ = e^{f_θ}``: its flow bends
  away from the segment for small M (M = 1 is NCE) and approaches it like 1/M.

Population gradients are computed on fixed, equally weighted quasi-Monte Carlo samples (scrambled Sobol
points mapped through the normal quantile), so paths are smooth and deterministic. Everything here is a
pure function of its arguments; tensors are float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.losses import mle_gradient_surrogate, n2ce_loss

__all__ = [
    "qmc_gaussian",
    "log_ratio",
    "n2ce_gradient",
    "mle_gradient_exact",
    "mle_gradient_sampled",
    "gradient_flow",
    "sampled_mle_flow",
    "trajectory_distance",
    "curve_distance",
    "n2ce_gradient_fn",
    "mean_scale_log_ratio",
    "mean_scale_mle_gradient",
    "distance_to_line",
    "path_deviation",
    "angle_deg",
    "relative_error",
]

DTYPE = torch.float64


def qmc_gaussian(n: int, mean: Tensor, scale: float = 1.0, seed: int = 0) -> Tensor:
    """Equally weighted quasi-random samples of ``N(mean, scale² I)``.

    Scrambled Sobol points in ``(0, 1)^d`` mapped through the standard normal quantile.

    Args:
        n: number of samples (a power of two keeps the Sobol balance properties).
        mean: ``[d]`` mean.
        scale: standard deviation of every coordinate (> 0).
        seed: scrambling seed.

    Returns:
        float64 tensor ``[n, d]``.
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if not scale > 0:
        raise ConfigError(f"scale must be > 0, got {scale}")
    mean = torch.as_tensor(mean, dtype=DTYPE).reshape(-1)
    engine = torch.quasirandom.SobolEngine(mean.numel(), scramble=True, seed=seed)
    u = engine.draw(n, dtype=DTYPE).clamp(1e-12, 1 - 1e-12)
    return mean + scale * torch.special.ndtri(u)


def log_ratio(theta: Tensor, v: Tensor, noise_scale: float = 1.0, noise_mean: Tensor | None = None) -> Tensor:
    """``f_θ(v) = log N(v; θ, I) − log N(v; c, s² I)``.

    Args:
        theta: ``[d]`` model mean (may require grad).
        v: ``[n, d]`` points.
        noise_scale: ``s``, the noise's standard deviation.
        noise_mean: ``c``, the noise's mean ``[d]`` (default 0).

    Returns:
        ``[n]`` log-ratios.
    """
    d = v.shape[-1]
    sq_model = (v - theta).square().sum(-1)
    centred = v if noise_mean is None else v - torch.as_tensor(noise_mean, dtype=v.dtype)
    return -0.5 * sq_model + 0.5 * centred.square().sum(-1) / noise_scale**2 + d * math.log(noise_scale)


def n2ce_gradient(
    theta: Tensor, target: Tensor, noise: Tensor, M: float, noise_scale: float = 1.0, noise_mean: Tensor | None = None
) -> Tensor:
    """Ascent direction of the N²CE objective ``L_M`` at ``θ`` (minus the gradient of :func:`n2ce_loss`).

    With ``target`` drawn from ``q*`` and ``noise`` from ``q0``; M = 1 gives NCE.

    Args:
        theta: ``[d]``.
        target: ``[n, d]`` samples of ``q*``.
        noise: ``[m, d]`` samples of ``q0 = N(c, s² I)``.
        M: noise weight (>= 1).
        noise_scale: ``s``.
        noise_mean: ``c`` ``[d]`` (default 0).

    Returns:
        ``[d]`` gradient of ``L_M`` (to ascend).
    """
    return n2ce_gradient_fn(theta, target, noise, M, lambda th, v: log_ratio(th, v, noise_scale, noise_mean))


def n2ce_gradient_fn(
    theta: Tensor, target: Tensor, noise: Tensor, M: float, f: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """Ascent direction of ``L_M`` for any log-ratio model ``f(θ, v) -> [n]`` (θ ``[p]``, samples ``[n, ...]``).

    Returns:
        ``[p]`` gradient of ``L_M`` with respect to ``θ``.
    """
    th = theta.detach().to(DTYPE).clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(n2ce_loss(f(th, target), f(th, noise), M), th)
    return -grad


def mean_scale_log_ratio(theta: Tensor, v: Tensor, noise_scale: float = 3.0) -> Tensor:
    """Log-ratio of the one-dimensional family ``p_θ = N(m, σ²)``, ``θ = (m, log σ)``, against ``q0 = N(0, s²)``.

    A second two-parameter exponential family, where the MLE path is curved and NCE bends away from it.

    Args:
        theta: ``[2]`` = ``(m, log σ)``.
        v: ``[n]`` or ``[n, 1]`` points.
        noise_scale: ``s``.

    Returns:
        ``[n]`` values of ``log N(v; m, σ²) − log N(v; 0, s²)``.
    """
    v = v.reshape(-1)
    m, log_sigma = theta[0], theta[1]
    return -0.5 * ((v - m) / log_sigma.exp()).square() - log_sigma + 0.5 * (v / noise_scale).square() + math.log(
        noise_scale
    )


def mean_scale_mle_gradient(theta: Tensor, mu_star: float, sigma_star: float) -> Tensor:
    """Exact expected log-likelihood gradient of ``N(m, σ²)`` under ``q* = N(μ*, σ*²)``, in ``θ = (m, log σ)``.

    ``∂/∂m = (μ* − m)/σ²`` and ``∂/∂log σ = (σ*² + (μ* − m)²)/σ² − 1``; returns ``[2]``.
    """
    theta = torch.as_tensor(theta, dtype=DTYPE)
    m, var = theta[0], (2 * theta[1]).exp()
    return torch.stack([(mu_star - m) / var, (sigma_star**2 + (mu_star - m) ** 2) / var - 1.0])


def mle_gradient_exact(theta: Tensor, mu_star: Tensor) -> Tensor:
    """The exact log-likelihood gradient ``μ* − θ`` of the family ``N(θ, I)`` (shape ``[d]``)."""
    return torch.as_tensor(mu_star, dtype=DTYPE) - torch.as_tensor(theta, dtype=DTYPE)


def mle_gradient_sampled(theta: Tensor, target: Tensor, model_samples: Tensor, noise_scale: float = 1.0) -> Tensor:
    """Monte-Carlo MLE gradient ``mean_t ∇f − mean_model ∇f`` via :func:`~n2ce_bbo.losses.mle_gradient_surrogate`.

    Args:
        theta: ``[d]``.
        target: ``[n, d]`` data samples of ``q*``.
        model_samples: ``[m, d]`` samples of ``p_θ`` (no gradient flows through them).
        noise_scale: ``s`` (it cancels in the gradient; kept for a consistent ``f``).

    Returns:
        ``[d]`` ascent direction.
    """
    th = theta.detach().to(DTYPE).clone().requires_grad_(True)
    loss = mle_gradient_surrogate(log_ratio(th, target, noise_scale), log_ratio(th, model_samples.detach(), noise_scale))
    (grad,) = torch.autograd.grad(loss, th)
    return -grad


def gradient_flow(grad_fn: Callable[[Tensor], Tensor], theta0: Tensor, step: float, n_steps: int) -> Tensor:
    """Euler discretisation of ``dθ/dt = grad_fn(θ)``.

    Args:
        grad_fn: ``[d] -> [d]`` ascent direction.
        theta0: ``[d]`` start.
        step: Euler step size (time units per step).
        n_steps: number of steps.

    Returns:
        ``[n_steps + 1, d]`` path, starting at ``theta0``.
    """
    theta = torch.as_tensor(theta0, dtype=DTYPE).clone()
    path = [theta.clone()]
    for _ in range(n_steps):
        theta = theta + step * grad_fn(theta)
        path.append(theta.clone())
    return torch.stack(path)


def sampled_mle_flow(
    theta0: Tensor, target_pool: Tensor, batch: int, step: float, n_steps: int, seed: int = 0
) -> Tensor:
    """Stochastic MLE gradient flow: each step uses a minibatch of data and fresh exact samples of ``p_θ``.

    The model ``N(θ, I)`` can be sampled exactly, so this is the MLE path an EBM trainer would follow with
    a perfect sampler; its only error is minibatch noise.

    Args:
        theta0: ``[d]`` start.
        target_pool: ``[N, d]`` data samples of ``q*``.
        batch: data and model samples per step.
        step: Euler step size.
        n_steps: number of steps.
        seed: seed of the minibatch and model-sample draws.

    Returns:
        ``[n_steps + 1, d]`` path.
    """
    gen = torch.Generator().manual_seed(seed)
    theta = torch.as_tensor(theta0, dtype=DTYPE).clone()
    path = [theta.clone()]
    for _ in range(n_steps):
        idx = torch.randint(target_pool.shape[0], (batch,), generator=gen)
        model = theta + torch.randn(batch, theta.numel(), generator=gen, dtype=DTYPE)
        theta = theta + step * mle_gradient_sampled(theta, target_pool[idx].to(DTYPE), model)
        path.append(theta.clone())
    return torch.stack(path)


def trajectory_distance(path: Tensor, reference: Tensor) -> float:
    """Largest distance between two paths at equal times: ``max_t ||path[t] − reference[t]||``.

    Both are ``[k, d]`` with the same step size (the shorter length is used).
    """
    k = min(path.shape[0], reference.shape[0])
    return float((path[:k].to(DTYPE) - reference[:k].to(DTYPE)).norm(dim=-1).max())


def curve_distance(path: Tensor, reference: Tensor) -> float:
    """Largest distance from a point of ``path`` ``[k, d]`` to the nearest point of ``reference`` ``[j, d]``.

    A geometric (time-free) distance between paths; ``reference`` should be finely sampled.
    """
    return float(torch.cdist(path.to(DTYPE), reference.to(DTYPE)).min(dim=1).values.max())


def distance_to_line(points: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Euclidean distance of ``points`` ``[k, d]`` to the straight line through ``a`` and ``b`` (``[k]``)."""
    a = torch.as_tensor(a, dtype=DTYPE)
    u = torch.as_tensor(b, dtype=DTYPE) - a
    u = u / u.norm()
    rel = points.to(DTYPE) - a
    return (rel - (rel @ u)[:, None] * u).norm(dim=-1)


def path_deviation(path: Tensor, theta0: Tensor, mu_star: Tensor) -> float:
    """Largest distance of a path ``[k, d]`` from the exact MLE path (the segment ``θ_0 → μ*``)."""
    return float(distance_to_line(path, theta0, mu_star).max())


def angle_deg(g: Tensor, g_ref: Tensor) -> float:
    """Angle in degrees between two vectors ``[d]``."""
    g, g_ref = g.to(DTYPE), g_ref.to(DTYPE)
    cos = torch.dot(g, g_ref) / (g.norm() * g_ref.norm())
    return float(torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0))))


def relative_error(g: Tensor, g_ref: Tensor) -> float:
    """``||g − g_ref|| / ||g_ref||`` for vectors ``[d]``."""
    g, g_ref = g.to(DTYPE), g_ref.to(DTYPE)
    return float((g - g_ref).norm() / g_ref.norm())
