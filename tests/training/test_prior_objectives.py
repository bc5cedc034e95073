"""Prior objectives: batched telescoping equals losses.telescoping_loss; Langevin targets p_α; fits move f."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from n2ce_bbo.losses import make_waymarks, telescoping_loss, waymark_schedule
from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.training.prior_objectives import prior_loss, short_run_langevin, telescoping_prior_loss
from n2ce_bbo.training.settings import PriorConfig

pytestmark = pytest.mark.usefixtures("one_thread")



@pytest.mark.parametrize("objective", ["n2ce", "nce", "nwj"])
@pytest.mark.parametrize("shared", [False, True])
def test_batched_telescoping_equals_reference(objective: str, shared: bool) -> None:
    torch.manual_seed(0)
    prior = EBMPrior(3, 4, hidden=8, shared_trunk=shared)
    for p in prior.parameters():
        p.data.add_(0.3 * torch.randn_like(p))
    z, eps = torch.randn(20, 3) + 1.0, torch.randn(20, 3)
    a = waymark_schedule(4, "sqrt")
    ours, _ = telescoping_prior_loss(prior, z, eps, a, objective, M=30.0, reg=0.2)
    stages = [lambda v, k=k: prior.stage(k, v) for k in range(4)]
    ref = telescoping_loss(stages, make_waymarks(eps, z, a), M=30.0, reg=0.2, objective=objective)
    torch.testing.assert_close(ours, ref)
    # gradients agree too
    g1 = torch.autograd.grad(ours, list(prior.parameters()))
    g2 = torch.autograd.grad(ref, list(prior.parameters()))
    for a1, a2 in zip(g1, g2, strict=True):
        torch.testing.assert_close(a1, a2)


class _LinearTilt(nn.Module):
    """f(z) = b·z, so p_α = N(0, I)·e^{b·z} ∝ N(b, I)."""

    def __init__(self, b: Tensor) -> None:
        super().__init__()
        self.b = nn.Parameter(b)
        self.latent_dim = b.shape[0]

    def forward(self, z: Tensor) -> Tensor:
        return z @ self.b


def test_short_run_langevin_targets_the_tilted_prior() -> None:
    b = torch.tensor([1.5, -1.0])
    gen = torch.Generator().manual_seed(0)
    z = short_run_langevin(_LinearTilt(b), 4000, steps=200, step_size=0.3, generator=gen)  # type: ignore[arg-type]
    assert not z.requires_grad
    torch.testing.assert_close(z.mean(0), b, atol=0.1, rtol=0)
    assert abs(float(z.var(0).mean()) - 1.0) < 0.15


def test_short_run_langevin_is_the_langevin_update_on_the_prior() -> None:
    # z <- z + (s²/2) ∇(f_α(z) - |z|²/2) + s ξ, started at N(0, I), drawing from one generator
    torch.manual_seed(0)
    prior = EBMPrior(3, 2, hidden=16, depth=2)
    nn.init.normal_(prior.stages.weights[-1], std=0.5)  # a non-zero f_α
    s, steps = 0.2, 7
    z = short_run_langevin(prior, 64, steps, s, generator=torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    ref = torch.randn(64, 3, generator=gen)
    for _ in range(steps):
        zz = ref.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(prior(zz).sum() - 0.5 * zz.square().sum(), zz)
        ref = ref + 0.5 * s * s * g + s * torch.randn(64, 3, generator=gen)
    torch.testing.assert_close(z, ref, rtol=1e-6, atol=1e-6)


def _fit(objective: str, steps: int = 200) -> tuple[EBMPrior, Tensor]:
    torch.manual_seed(0)
    prior = EBMPrior(2, 3, hidden=32, depth=2)
    opt = torch.optim.Adam(prior.parameters(), lr=5e-3)
    cfg = PriorConfig(objective=objective, K=3, M=100.0 if objective == "n2ce" else 1.0,
                      mle_langevin_steps=20, mle_step_size=0.3)
    gen = torch.Generator().manual_seed(1)
    center = torch.tensor([1.5, 0.0])
    for _ in range(steps):
        z_star = center + 0.4 * torch.randn(256, 2, generator=gen)  # aggregate posterior shifted from N(0, I)
        loss, _ = prior_loss(prior, z_star, cfg, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prior, center


@pytest.mark.parametrize("objective", ["n2ce", "nce", pytest.param("mle", marks=pytest.mark.slow)])
def test_prior_fit_moves_f_towards_the_posterior(objective: str) -> None:
    prior, c = _fit(objective)
    with torch.no_grad():
        pts = torch.stack([c, -c, torch.tensor([0.0, 2.0])])
        f = prior(pts)
    # f = log q*/q0 is large at the posterior's centre and small away from it
    assert f[0] > f[1] + 1.0 and f[0] > f[2] + 1.0, f


def test_prior_loss_rejects_gaussian() -> None:
    prior = EBMPrior(2, 2)
    with pytest.raises(ValueError):
        prior_loss(prior, torch.randn(4, 2), PriorConfig(objective="gaussian"))
