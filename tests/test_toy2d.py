"""notebooks/toy2d.py, the maths of the 2-D notebook: exact gradients, flows, distances."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import torch

_PATH = Path(__file__).resolve().parents[1] / "notebooks" / "toy2d.py"
_spec = importlib.util.spec_from_file_location("toy2d", _PATH)
assert _spec is not None and _spec.loader is not None
toy2d = importlib.util.module_from_spec(_spec)
sys.modules["toy2d"] = toy2d
_spec.loader.exec_module(toy2d)


D = torch.float64


def test_qmc_gaussian_moments() -> None:
    v = toy2d.qmc_gaussian(2**12, torch.tensor([1.0, -2.0]), 3.0, seed=0)
    assert v.shape == (4096, 2) and v.dtype == D
    torch.testing.assert_close(v.mean(0), torch.tensor([1.0, -2.0], dtype=D), atol=0.01, rtol=0)
    torch.testing.assert_close(v.std(0), torch.tensor([3.0, 3.0], dtype=D), atol=0.02, rtol=0)


def test_log_ratio_is_exactly_normalised() -> None:
    # E_{q0}[e^f] = ∫ p_θ = 1 for every θ, and f is log N(v; θ, I) - log N(v; c, s² I)
    c, s = torch.tensor([0.5, -1.0], dtype=D), 2.0
    noise = toy2d.qmc_gaussian(2**15, c, s, seed=1)
    for theta in (torch.tensor([0.0, 0.0], dtype=D), torch.tensor([1.5, 1.0], dtype=D)):
        assert abs(toy2d.log_ratio(theta, noise, s, c).exp().mean().item() - 1.0) < 0.01
    v = torch.tensor([[0.3, -0.7]], dtype=D)
    theta = torch.tensor([1.0, 2.0], dtype=D)
    expected = (torch.distributions.MultivariateNormal(theta, torch.eye(2, dtype=D)).log_prob(v)
                - torch.distributions.MultivariateNormal(c, s**2 * torch.eye(2, dtype=D)).log_prob(v))
    torch.testing.assert_close(toy2d.log_ratio(theta, v, s, c), expected)


def test_n2ce_gradient_limits() -> None:
    mu = torch.tensor([2.0, 1.0], dtype=D)
    target = toy2d.qmc_gaussian(2**13, mu, 1.0, seed=2)
    noise = toy2d.qmc_gaussian(2**14, torch.zeros(2), 2.0, seed=3)
    theta = torch.tensor([-1.0, 0.5], dtype=D)
    g_mle = toy2d.mle_gradient_exact(theta, mu)
    err = {M: toy2d.relative_error(toy2d.n2ce_gradient(theta, target, noise, M, 2.0), g_mle) for M in (1, 100, 1e4)}
    assert err[1e4] < 0.002 < err[100] < err[1], err
    # the fixed point is the target for every M (the family contains q*)
    assert toy2d.n2ce_gradient(mu, target, noise, 1.0, 2.0).norm() < 0.02
    # M = 1 is the logistic (NCE) gradient
    th = theta.clone().requires_grad_(True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ft, fn = toy2d.log_ratio(th, target, 2.0), toy2d.log_ratio(th, noise, 2.0)
    loss = bce(ft, torch.ones_like(ft)) + bce(fn, torch.zeros_like(fn))
    (g,) = torch.autograd.grad(loss, th)
    torch.testing.assert_close(toy2d.n2ce_gradient(theta, target, noise, 1.0, 2.0), -g)


def test_mle_gradients() -> None:
    mu = torch.tensor([2.0, 1.0], dtype=D)
    theta = torch.tensor([0.0, -1.0], dtype=D)
    target = toy2d.qmc_gaussian(2**12, mu, 1.0, seed=4)
    model = toy2d.qmc_gaussian(2**12, theta, 1.0, seed=5)
    torch.testing.assert_close(toy2d.mle_gradient_sampled(theta, target, model), toy2d.mle_gradient_exact(theta, mu),
                               atol=0.01, rtol=0)
    # (m, log sigma) family: the closed form equals the gradient of the expected log-likelihood
    th = torch.tensor([0.5, math.log(1.5)], dtype=D, requires_grad=True)
    v = toy2d.qmc_gaussian(2**15, torch.tensor([2.0]), 0.5, seed=6).reshape(-1)
    ll = torch.distributions.Normal(th[0], th[1].exp()).log_prob(v).mean()
    (g,) = torch.autograd.grad(ll, th)
    torch.testing.assert_close(toy2d.mean_scale_mle_gradient(th.detach(), 2.0, 0.5), g, atol=2e-3, rtol=0)
    # mean_scale_log_ratio is log N(v; m, σ²) - log N(v; 0, s²)
    expected = (torch.distributions.Normal(th[0], th[1].exp()).log_prob(v[:5])
                - torch.distributions.Normal(0.0, 3.0).log_prob(v[:5]))
    torch.testing.assert_close(toy2d.mean_scale_log_ratio(th.detach(), v[:5], 3.0), expected.detach())


def test_flows_and_path_distances() -> None:
    mu = torch.tensor([1.0, 1.0], dtype=D)
    path = toy2d.gradient_flow(lambda th: toy2d.mle_gradient_exact(th, mu), torch.zeros(2, dtype=D), 0.1, 50)
    assert path.shape == (51, 2)
    # Euler on dθ/dt = μ - θ: θ_k = μ (1 - 0.9^k)
    torch.testing.assert_close(path[-1], mu * (1 - 0.9**50))
    assert toy2d.path_deviation(path, torch.zeros(2), mu) < 1e-12
    shifted = path + torch.tensor([0.0, 0.3], dtype=D)
    assert abs(toy2d.trajectory_distance(shifted, path) - 0.3) < 1e-12
    assert abs(toy2d.curve_distance(shifted[10:11], path) - 0.3 / math.sqrt(2)) < 0.02
    assert abs(toy2d.angle_deg(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])) - 45.0) < 1e-9
    noisy = toy2d.sampled_mle_flow(torch.zeros(2), toy2d.qmc_gaussian(1024, mu, 1.0), 64, 0.1, 50, seed=0)
    assert noisy.shape == (51, 2)
    assert 0.0 < toy2d.trajectory_distance(noisy, path) < 0.5
    again = toy2d.sampled_mle_flow(torch.zeros(2), toy2d.qmc_gaussian(1024, mu, 1.0), 64, 0.1, 50, seed=0)
    torch.testing.assert_close(noisy, again)
