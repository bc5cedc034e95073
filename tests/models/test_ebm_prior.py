"""MLP building blocks and the K-stage EBM prior: batched stages equal per-stage evaluation."""

from __future__ import annotations

import pytest
import torch

from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.models.mlp import MLP, StackedMLP, TokenInput

pytestmark = pytest.mark.usefixtures("one_thread")



def test_stacked_mlp_matches_each_stage() -> None:
    torch.manual_seed(0)
    net = StackedMLP(3, 5, 7, 2, depth=2)
    x = torch.randn(3, 4, 5)
    out = net(x)
    assert out.shape == (3, 4, 2)
    for k in range(3):
        torch.testing.assert_close(out[k], net.forward_one(k, x[k]))
    shared = torch.randn(6, 5)
    torch.testing.assert_close(net(shared), torch.stack([net.forward_one(k, shared) for k in range(3)]))
    # stages are independently initialised
    assert not torch.allclose(net.weights[0][0], net.weights[0][1])


def test_token_input_equals_one_hot_linear() -> None:
    torch.manual_seed(0)
    layer = TokenInput(4, 3, 6)
    tok = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    one_hot = torch.nn.functional.one_hot(tok, 3).float().reshape(2, -1)  # [n, L*C], position-major
    expected = one_hot @ layer.embed.weight + layer.bias
    torch.testing.assert_close(layer(tok), expected)


def test_mlp_zero_last() -> None:
    net = MLP(3, 8, 1, depth=2, zero_last=True)
    assert torch.all(net(torch.randn(5, 3)) == 0)


@pytest.mark.parametrize("shared", [False, True])
def test_prior_sum_and_stages(shared: bool) -> None:
    torch.manual_seed(1)
    prior = EBMPrior(4, 3, hidden=16, depth=2, shared_trunk=shared)
    z = torch.randn(10, 4)
    assert torch.all(prior(z) == 0)  # zero-initialised heads: starts as the Gaussian prior
    for p in prior.parameters():  # perturb so the test is not trivially about zeros
        p.data.add_(0.1 * torch.randn_like(p))
    f = prior(z)
    stages = torch.stack([prior.stage(k, z) for k in range(3)], dim=1)
    assert f.shape == (10,) and stages.shape == (10, 3)
    torch.testing.assert_close(f, stages.sum(1))
    torch.testing.assert_close(prior.all_stages(z), stages)
    xk = torch.randn(3, 7, 4)
    out = prior.stage_outputs(xk)
    torch.testing.assert_close(out, torch.stack([prior.stage(k, xk[k]) for k in range(3)]))
    with pytest.raises(IndexError):
        prior.stage(3, z)
    with pytest.raises(ValueError):
        prior.stage_outputs(torch.randn(2, 7, 4))


@pytest.mark.parametrize("shared", [False, True])
def test_waymark_outputs_equal_stage_outputs_of_the_pairs(shared: bool) -> None:
    """The telescoping update's one-pass evaluation (each waymark through the shared trunk once) gives the
    outputs and the parameter gradients of ``stage_outputs`` on the stacked pairs."""
    torch.manual_seed(2)
    K, n, d = 4, 9, 5
    prior = EBMPrior(d, K, hidden=16, depth=2, shared_trunk=shared)
    for p in prior.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    wm = torch.randn(K + 1, n, d)
    pairs = torch.stack([torch.cat([wm[k + 1], wm[k]]) for k in range(K)])
    ref = prior.stage_outputs(pairs)
    out = prior.waymark_outputs(wm)
    assert out.shape == (K, 2 * n)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    g_ref = torch.autograd.grad(ref.square().sum(), list(prior.parameters()))
    g_out = torch.autograd.grad(prior.waymark_outputs(wm).square().sum(), list(prior.parameters()))
    for a, b in zip(g_out, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        prior.waymark_outputs(torch.randn(K, n, d))
