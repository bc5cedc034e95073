"""Gradient ascent: finds a concave quadratic's maximum, respects bounds, token-logit ascent decodes the argmax."""

from __future__ import annotations

import pytest
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.samplers import gradient_ascent, smoothed_logits, token_logit_ascent

PEAK = torch.tensor([0.5, -1.5, 2.0])


def quad(z: torch.Tensor) -> torch.Tensor:
    return -(((z - PEAK) * torch.tensor([1.0, 2.0, 0.5])) ** 2).sum(1)


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("sgd", 0.1)])
def test_finds_the_maximum(optimizer: str, lr: float) -> None:
    z0 = torch.randn(32, 3, generator=torch.Generator().manual_seed(0)) * 3
    z = gradient_ascent(quad, z0, 1500, lr, optimizer=optimizer)
    assert torch.allclose(z, PEAK.expand_as(z), atol=1e-2)


def test_respects_bounds() -> None:
    bounds = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
    z0 = torch.randn(16, 3, generator=torch.Generator().manual_seed(1)) * 5
    traj = gradient_ascent(quad, z0, 600, 0.05, bounds=bounds, return_trajectory=True)
    assert traj.shape == (601, 16, 3)
    assert bool((traj >= bounds[0]).all() and (traj <= bounds[1]).all())
    # Constrained optimum of a separable quadratic: the peak clipped onto the box.
    assert torch.allclose(traj[-1], PEAK.clamp(-1, 1).expand(16, 3), atol=1e-2)


def test_chains_are_independent() -> None:
    z0 = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    full = gradient_ascent(quad, z0, 50, 0.05)
    part = gradient_ascent(quad, z0[2:4], 50, 0.05)
    assert torch.allclose(full[2:4], part, atol=1e-6)


def test_bad_inputs() -> None:
    with pytest.raises(InvalidDataError):
        gradient_ascent(quad, torch.zeros(2, 3), 1, 0.1, optimizer="lbfgs")  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError):
        gradient_ascent(quad, torch.zeros(2, 3), 1, 0.1, bounds=torch.zeros(2, 2))


@pytest.mark.slow
def test_token_logit_ascent_finds_separable_argmax() -> None:
    n, L, C = 8, 6, 4
    w = torch.randn(L, C, generator=torch.Generator().manual_seed(3))

    def score(probs: torch.Tensor) -> torch.Tensor:
        return (probs * w).sum(dim=(1, 2))

    logits0 = torch.randn(n, L, C, generator=torch.Generator().manual_seed(4))
    tokens, logits = token_logit_ascent(score, logits0, 200, 0.1, return_logits=True)
    assert tokens.shape == (n, L) and tokens.dtype == torch.int64
    assert logits.shape == (n, L, C)
    assert torch.equal(tokens, w.argmax(1).expand(n, L))
    # The start alone is not the answer (the test can fail).
    assert not torch.equal(logits0.argmax(-1), w.argmax(1).expand(n, L))


def test_token_logit_ascent_trajectory_and_smoothed_start() -> None:
    n, L, C = 5, 4, 3
    w = torch.randn(L, C, generator=torch.Generator().manual_seed(5))

    def score(probs: torch.Tensor) -> torch.Tensor:
        return (probs * w).sum(dim=(1, 2))

    start = torch.randint(0, C, (n, L), generator=torch.Generator().manual_seed(6))
    logits0 = smoothed_logits(start, C, 0.6)
    assert logits0.shape == (n, L, C)
    torch.testing.assert_close(logits0.exp().sum(-1), torch.ones(n, L))  # log-probabilities
    assert torch.equal(logits0.argmax(-1), start)
    traj = token_logit_ascent(score, logits0, 30, 0.1, return_trajectory=True)
    last = token_logit_ascent(score, logits0, 30, 0.1)
    assert isinstance(traj, torch.Tensor) and traj.shape == (31, n, L)
    assert torch.equal(traj[0], start) and torch.equal(traj[-1], last)
