"""SVGD: particles match a Gaussian target; groups are independent; deterministic."""

from __future__ import annotations

import pytest
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.samplers import median_bandwidth, svgd

MEAN = torch.tensor([2.0, -1.0])
STD = torch.tensor([1.0, 0.5])


def log_prob(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (((z - MEAN) / STD) ** 2).sum(1)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,step", [("adagrad", 0.05), ("sgd", 0.3)])
def test_svgd_matches_gaussian(optimizer: str, step: float) -> None:
    z0 = torch.randn(150, 2, generator=torch.Generator().manual_seed(0)) * 0.5
    z = svgd(log_prob, z0, n_steps=400, step_size=step, optimizer=optimizer, group_size=None)
    assert torch.allclose(z.mean(0), MEAN, atol=0.1)
    assert torch.allclose(z.std(0), STD, rtol=0.2)


@pytest.mark.slow
def test_groups_are_independent_and_each_matches() -> None:
    z0 = torch.randn(150, 2, generator=torch.Generator().manual_seed(1))
    z = svgd(log_prob, z0, n_steps=300, step_size=0.05, group_size=64)  # groups 64, 64, 22
    alone = svgd(log_prob, z0[64:128], n_steps=300, step_size=0.05, group_size=None)
    assert torch.allclose(z[64:128], alone, atol=1e-4)
    tail = svgd(log_prob, z0[128:], n_steps=300, step_size=0.05, group_size=None)
    assert torch.allclose(z[128:], tail, atol=1e-4)
    for sl in (slice(0, 64), slice(64, 128)):
        assert torch.allclose(z[sl].mean(0), MEAN, atol=0.15)


def test_repulsion_keeps_particles_apart() -> None:
    z0 = torch.randn(30, 2, generator=torch.Generator().manual_seed(2)) * 0.01
    z = svgd(log_prob, z0, 200, 0.05, group_size=None)
    assert float(torch.pdist(z).min()) > 0.02
    assert float(z.std(0).min()) > 0.3


def test_deterministic_and_trajectory() -> None:
    z0 = torch.randn(20, 2, generator=torch.Generator().manual_seed(3))
    a = svgd(log_prob, z0, 10, 0.1, return_trajectory=True)
    b = svgd(log_prob, z0, 10, 0.1, return_trajectory=True)
    assert a.shape == (11, 20, 2)
    assert torch.equal(a, b)


def test_median_bandwidth_shape_and_value() -> None:
    z = torch.tensor([[[0.0], [1.0], [3.0]]])
    h = median_bandwidth(z)
    assert h.shape == (1, 1, 1)
    assert h.item() > 0


def test_validation() -> None:
    with pytest.raises(InvalidDataError):
        svgd(log_prob, torch.zeros(4, 2), 1, 0.1, optimizer="adam")  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError):
        svgd(log_prob, torch.zeros(4, 2), 1, 0.1, group_size=0)
