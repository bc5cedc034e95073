"""The latent EBM surrogate: shapes and units for continuous and token designs, the Gaussian prior, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate

SMALL = {"latent_dim": 3, "hidden": 16, "depth": 2, "prior_stages": 2, "prior_hidden": 8}

pytestmark = pytest.mark.usefixtures("one_thread")



def _continuous(**kw: object) -> tuple[LatentEBMSurrogate, np.ndarray, np.ndarray]:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(50, 5)) * 10 + 100).astype(np.float32)
    y = rng.normal(size=(50, 1)).astype(np.float32) * 3 + 7
    s = LatentEBMSurrogate(5, is_discrete=False, has_bounds=True, **{**SMALL, **kw})  # type: ignore[arg-type]
    bounds = np.stack([x.min(0), x.max(0)])
    s.set_data_stats(x, y, bounds)
    return s, x, y


def test_continuous_shapes_and_units() -> None:
    s, x, y = _continuous()
    mu, logvar = s.encode(x)
    assert mu.shape == (50, 3) and logvar.shape == (50, 3)
    z = torch.randn(8, 3)
    dec = s.decode(z)
    assert dec.shape == (8, 5)
    # decoder mean is in original units: around the data mean (100), not the standardised 0
    assert abs(float(dec.detach().mean()) - 100) < 30
    far = s.decode_designs(torch.randn(64, 3) * 50)
    assert far.dtype == np.float32 and far.shape == (64, 5)
    assert np.all(far >= x.min(0) - 1e-4) and np.all(far <= x.max(0) + 1e-4)
    for f in (s.value, s.prior_f, s.log_prior):
        assert f(z).shape == (8,)
    assert s.score(x).shape == (50,)
    assert s.y_mean == pytest.approx(float(y.mean()), rel=1e-5)
    assert s.y_max_standardized == pytest.approx((float(y.max()) - y.mean()) / y.std(), rel=1e-4)
    np.testing.assert_allclose(s.unstandardize_y(s.standardize_y(y)), y, rtol=1e-5)
    assert s.is_discrete is False and s.num_classes is None and s.latent_dim == 3


def test_token_shapes() -> None:
    torch.manual_seed(0)
    s = LatentEBMSurrogate(6, is_discrete=True, num_classes=4, **SMALL)  # type: ignore[arg-type]
    s.set_data_stats(None, np.arange(10.0))
    x = np.random.default_rng(0).integers(0, 4, size=(10, 6)).astype(np.uint8)  # compact dtype is accepted
    mu, logvar = s.encode(x)
    assert mu.shape == (10, 3)
    z = torch.randn(7, 3)
    assert s.decode(z).shape == (7, 6, 4)
    d = s.decode_designs(z)
    assert d.dtype == np.int64 and d.shape == (7, 6) and d.min() >= 0 and d.max() < 4
    np.testing.assert_array_equal(d, s.decode(z).argmax(-1).numpy())
    assert s.score(torch.as_tensor(x)).shape == (10,)
    with pytest.raises(InvalidDataError):
        s.encode(np.full((2, 6), 4))
    with pytest.raises(InvalidDataError):
        s.encode(np.zeros((2, 5), dtype=np.int64))


def test_gaussian_prior_is_zero_and_differentiable() -> None:
    s, _, _ = _continuous(prior_stages=0)
    assert s.prior is None
    z = torch.randn(6, 3, requires_grad=True)
    f = s.prior_f(z)
    assert torch.all(f == 0)
    torch.testing.assert_close(s.log_prior(z), -0.5 * z.detach().square().sum(1))
    (g,) = torch.autograd.grad(s.log_prior(z).sum(), z)
    torch.testing.assert_close(g, -z.detach())


def test_log_p_z_given_y_gradient_and_weights() -> None:
    s, _, _ = _continuous()
    for p in s.prior.parameters():  # type: ignore[union-attr]
        p.data.add_(0.1 * torch.randn_like(p))
    z = torch.randn(9, 3, requires_grad=True)
    lp = s.log_p_z_given_y(z, 2.0, value_weight=0.5, prior_weight=2.0)
    (g,) = torch.autograd.grad(lp.sum(), z)
    assert lp.shape == (9,) and torch.isfinite(g).all() and g.abs().sum() > 0
    zz = z.detach()
    expected = (-0.5 * zz.square().sum(1) + 2.0 * s.prior_f(zz)
                - 0.5 * (2.0 - s.value(zz)).square() / (2 * s.y_noise_std**2))
    torch.testing.assert_close(lp.detach(), expected.detach())


def test_score_batched_equals_unbatched() -> None:
    s, x, _ = _continuous()
    for p in s.prior.parameters():  # type: ignore[union-attr]
        p.data.add_(0.1 * torch.randn_like(p))
    a = s.score(x, prior_weight=0.7, batch_size=7)
    mu, _ = s.encode(x)
    b = s.value(mu) + 0.7 * s.prior_f(mu)
    torch.testing.assert_close(a, b.detach())


def test_elbo_terms_finite() -> None:
    s, x, y = _continuous()
    terms = s.elbo_terms(torch.as_tensor(x), s.standardize_y(torch.as_tensor(y[:, 0])))
    for k in ("recon", "value", "kl", "prior_f", "value_mse"):
        assert terms[k].dim() == 0 and torch.isfinite(terms[k])
    assert terms["kl"] >= 0 and terms["z"].shape == (50, 3)


def test_value_heads_form_an_ensemble_whose_mean_is_the_value() -> None:
    import torch

    from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate

    torch.manual_seed(0)
    s = LatentEBMSurrogate(5, is_discrete=True, num_classes=3, latent_dim=4, hidden=8, value_heads=3)
    z = torch.randn(7, 4)
    members = s.value_members(z)
    assert members.shape == (3, 7)
    assert torch.allclose(s.value(z), members.mean(dim=0))
    assert not torch.allclose(members[0], members[1])  # independently initialised


@pytest.mark.parametrize("heads", [1, 3])
def test_heads_and_predictive_std_match_value_and_density(heads: int) -> None:
    torch.manual_seed(0)
    s = LatentEBMSurrogate(5, is_discrete=True, num_classes=3, latent_dim=4, hidden=8, value_heads=heads,
                           y_noise_std=0.2)
    x = torch.randint(0, 3, (9, 5))
    members, lp = s.heads_and_log_density(x, batch_size=4)
    value, lp_ref = s.value_and_log_density(x, batch_size=4)
    assert members.shape == (heads, 9) and not members.requires_grad
    assert torch.equal(s.head_mean(members), value) and torch.equal(lp, lp_ref)  # bit-identical to h(μ(x))
    std = s.predictive_std(members)
    assert std.shape == (9,) and (std >= 0.2 - 1e-7).all()
    if heads == 1:
        assert torch.allclose(std, torch.full((9,), 0.2))
    else:
        assert torch.allclose(std.square(), members.var(dim=0, unbiased=False) + 0.04)
        assert std.std() > 0  # the heads disagree more on some designs than on others
    empty, lp0 = s.heads_and_log_density(x[:0])
    assert empty.shape == (heads, 0) and lp0.shape == (0,)
