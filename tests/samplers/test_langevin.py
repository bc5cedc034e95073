"""Langevin dynamics: samples a known Gaussian, is deterministic for a seed, validates its inputs."""

from __future__ import annotations

import pytest
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.samplers import langevin

MEAN = torch.tensor([1.0, -2.0])
COV = torch.tensor([[1.0, 0.6], [0.6, 0.5]])
PREC = torch.linalg.inv(COV)


def gauss_log_prob(z: torch.Tensor) -> torch.Tensor:
    d = z - MEAN
    return -0.5 * ((d @ PREC) * d).sum(dim=1)


def test_langevin_matches_gaussian_mean_and_covariance() -> None:
    gen = torch.Generator().manual_seed(0)
    z0 = torch.randn(2000, 2, generator=gen) * 3.0
    z = langevin(gauss_log_prob, z0, n_steps=300, step_size=0.3, generator=gen)
    assert z.shape == (2000, 2)
    assert torch.allclose(z.mean(0), MEAN, atol=0.1)
    cov = torch.cov(z.T)
    # ULA's O(s^2) bias inflates the narrow direction (variance ~0.1) by ~30%: well inside this tolerance.
    assert torch.allclose(cov, COV, atol=0.12)


def test_noise_scale_zero_is_gradient_ascent_to_the_mode() -> None:
    z0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)) * 3
    z = langevin(gauss_log_prob, z0, n_steps=800, step_size=0.3, noise_scale=0.0)
    assert torch.allclose(z, MEAN.expand_as(z), atol=1e-3)


@pytest.mark.slow
def test_noise_scale_sharpens_the_samples() -> None:
    gen = torch.Generator().manual_seed(2)
    z0 = torch.randn(1000, 2, generator=gen)
    z = langevin(gauss_log_prob, z0, n_steps=150, step_size=0.2, generator=gen, noise_scale=0.5)
    var = z.var(0)
    # noise_scale 0.5 targets p^4: variances divided by 4.
    assert torch.allclose(var, torch.diagonal(COV) / 4, rtol=0.25)


def test_determinism_with_a_seeded_generator() -> None:
    z0 = torch.zeros(16, 2)
    a = langevin(gauss_log_prob, z0, 20, 0.2, generator=torch.Generator().manual_seed(7))
    b = langevin(gauss_log_prob, z0, 20, 0.2, generator=torch.Generator().manual_seed(7))
    c = langevin(gauss_log_prob, z0, 20, 0.2, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_chains_are_independent() -> None:
    """Chain i's path depends only on its own start and noise: running a subset gives the same rows."""

    def lp(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z**2).sum(1) - 0.1 * (z**4).sum(1)

    z0 = torch.randn(8, 3, generator=torch.Generator().manual_seed(3))
    full = langevin(lp, z0, 30, 0.3, noise_scale=0.0)
    part = langevin(lp, z0[:3], 30, 0.3, noise_scale=0.0)
    assert torch.allclose(full[:3], part, atol=1e-6)


def test_trajectory_and_grad_clip() -> None:
    z0 = torch.full((5, 2), 100.0)
    traj = langevin(gauss_log_prob, z0, 10, 0.5, noise_scale=0.0, grad_clip=1.0, return_trajectory=True)
    assert traj.shape == (11, 5, 2)
    assert torch.equal(traj[0], z0)
    steps = (traj[1:] - traj[:-1]).norm(dim=-1)
    assert float(steps.max()) <= 0.5 * 0.5**2 * 1.0 + 1e-5  # (s^2/2) * clip


def test_input_validation() -> None:
    with pytest.raises(InvalidDataError):
        langevin(gauss_log_prob, torch.zeros(3), 1, 0.1)
    with pytest.raises(InvalidDataError):
        langevin(gauss_log_prob, torch.zeros(3, 2), 1, 0.0)
    with pytest.raises(InvalidDataError):
        langevin(lambda z: z, torch.zeros(3, 2), 1, 0.1)  # wrong output shape
