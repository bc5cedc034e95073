"""Tests of n2ce_bbo.losses: N²CE / NCE / NWJ identities, the MLE limit, telescoping, stability."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from n2ce_bbo.losses import (
    make_waymarks,
    mle_gradient_surrogate,
    n2ce_loss,
    nce_loss,
    nwj_loss,
    ratio_regularizer,
    stage_losses,
    telescoping_loss,
    waymark_schedule,
)


def _rand(n: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1)


# --------------------------------------------------------------------------- M = 1 is NCE (logistic loss)


def test_m1_equals_bce_on_logits() -> None:
    ft, fn = _rand(37, 0), _rand(53, 1)
    bce = F.binary_cross_entropy_with_logits(ft, torch.ones_like(ft)) + F.binary_cross_entropy_with_logits(
        fn, torch.zeros_like(fn)
    )
    # L_1 = mean_t log σ(f) + mean_n log(1 - σ(f)); the loss is -L_1.
    l1 = torch.log(torch.sigmoid(ft)).mean() + torch.log1p(-torch.sigmoid(fn)).mean()
    torch.testing.assert_close(n2ce_loss(ft, fn, 1.0), bce, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(nce_loss(ft, fn), bce, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(nce_loss(ft, fn), -l1, rtol=1e-12, atol=1e-12)
    # and M = 2 is not NCE
    assert abs(n2ce_loss(ft, fn, 2.0).item() - bce.item()) > 1e-2


# --------------------------------------------------------------------------- NWJ limit


def test_lm_plus_log_m_tends_to_nwj() -> None:
    ft, fn = _rand(200, 2), _rand(300, 3)
    nwj = (ft.mean() - fn.exp().mean()).item()
    torch.testing.assert_close(nwj_loss(ft, fn), -torch.tensor(nwj, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    gaps = []
    for M in [1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6]:
        lm = -n2ce_loss(ft, fn, M).item()
        gaps.append(abs(lm + math.log(M) - nwj))
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[-1] < 1e-3, gaps
    assert gaps[0] > 1e-1, gaps  # the limit is not trivially attained


# --------------------------------------------------------------------------- population gradient -> MLE gradient


_GRID = torch.linspace(-30.0, 30.0, 120_001, dtype=torch.float64)
_DV = float(_GRID[1] - _GRID[0])


def _normal_pdf(v: torch.Tensor, mu: float) -> torch.Tensor:
    return torch.exp(-0.5 * (v - mu) ** 2) / math.sqrt(2 * math.pi)


def _population_n2ce_grad(theta: float, mu_star: float, M: float) -> float:
    """d L_M / dθ for q0 = N(0,1), q* = N(μ*,1), f_θ(v) = θv - θ²/2, by grid quadrature in float64.

    The per-point derivatives of the loss wrt f come from autograd through ``n2ce_loss`` itself
    (times the sample count, which undoes its means); the quadrature then integrates them.
    """
    v = _GRID
    f = theta * v - 0.5 * theta**2
    ft = f.clone().requires_grad_(True)
    fn = f.clone().requires_grad_(True)
    g_t, g_n = torch.autograd.grad(n2ce_loss(ft, fn, M), (ft, fn))
    n = v.numel()
    dfdtheta = v - theta
    q_star, q0 = _normal_pdf(v, mu_star), _normal_pdf(v, 0.0)
    dloss = (n * (g_t * q_star + g_n * q0) * dfdtheta).sum() * _DV  # d(-L_M)/dθ
    return -float(dloss)


def _closed_form_grad(theta: float, mu_star: float, M: float) -> float:
    """∫ M/(M + r)(q* - p_θ) ∇f, the paper's gradient formula, by the same quadrature."""
    v = _GRID
    r = torch.exp(theta * v - 0.5 * theta**2)
    w = M / (M + r)
    return float((w * (_normal_pdf(v, mu_star) - _normal_pdf(v, theta)) * (v - theta)).sum() * _DV)


def test_population_gradient_tends_to_mle_like_one_over_m() -> None:
    theta, mu_star = 0.5, 1.5
    mle = mu_star - theta  # E_q*[v - θ] - E_pθ[v - θ]
    # sanity of the quadrature: M -> inf formula with w = 1 is exactly the MLE gradient
    assert abs(_closed_form_grad(theta, mu_star, 1e300) - mle) < 1e-9
    Ms = np.logspace(1, 4, 7)
    devs = []
    for M in Ms:
        g = _population_n2ce_grad(theta, mu_star, float(M))
        assert abs(g - _closed_form_grad(theta, mu_star, float(M))) < 1e-9 * max(1.0, abs(g))
        assert g * mle > 0
        devs.append(abs(g - mle))
    devs_a = np.array(devs)
    assert np.all(np.diff(devs_a) < 0), devs
    slope = np.polyfit(np.log(Ms), np.log(devs_a), 1)[0]
    assert -1.3 < slope < -0.7, (slope, devs)
    # at M = 1 (NCE) the gradient is far from the MLE gradient
    assert abs(_population_n2ce_grad(theta, mu_star, 1.0) - mle) > 2 * devs[0]


def test_mle_gradient_surrogate() -> None:
    g = torch.Generator().manual_seed(4)
    vt = 1.0 + torch.randn(500, generator=g, dtype=torch.float64)
    vm = 0.3 + torch.randn(400, generator=g, dtype=torch.float64)
    theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)

    def f(v: torch.Tensor) -> torch.Tensor:
        return theta * v - 0.5 * theta**2

    mle_surrogate = mle_gradient_surrogate(f(vt), f(vm.detach()))
    (grad,) = torch.autograd.grad(mle_surrogate, theta)
    expected = -((vt - theta).mean() - (vm - theta).mean())
    torch.testing.assert_close(grad, expected.detach(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- telescoping vs one stage


class _Quadratic(torch.nn.Module):
    """f(v) = c0 + c1·x + c2·x² with x = (v - center)/scale: a quadratic in v, well-conditioned to fit."""

    def __init__(self, center: float, scale: float) -> None:
        super().__init__()
        self.center, self.scale = center, scale
        self.coef = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))

    def forward(self, v: torch.Tensor) -> torch.Tensor:  # [n, 1] -> [n]
        x = (v[:, 0] - self.center) / self.scale
        return self.coef[0] + self.coef[1] * x + self.coef[2] * x * x


def _fit_telescoping(K: int, eps: torch.Tensor, vstar: torch.Tensor, M: float) -> list[_Quadratic]:
    """Fit K quadratic stages to convergence (the stage problems are convex) with L-BFGS."""
    wm = make_waymarks(eps, vstar, waymark_schedule(K, "linear", dtype=torch.float64))
    stages = []
    for k in range(K):
        pool = torch.cat([wm[k], wm[k + 1]])[:, 0]
        stages.append(_Quadratic(float(pool.mean()), float(pool.std())))
    opt = torch.optim.LBFGS([s.coef for s in stages], lr=1.0, max_iter=150, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = telescoping_loss(stages, wm, M)
        loss.backward()
        return loss

    opt.step(closure)
    return stages


@pytest.mark.parametrize("M", [1.0, 10.0])
def test_telescoping_beats_single_stage_across_density_chasm(one_thread: None, M: float) -> None:
    # q0 = N(0, 1), q* = N(6, 0.5²): nearly separable, so one classifier cannot pin the ratio down.
    mu, sigma, n = 6.0, 0.5, 2000
    g = torch.Generator().manual_seed(7)
    eps = torch.randn(n, 1, generator=g, dtype=torch.float64)
    vstar = mu + sigma * torch.randn(n, 1, generator=g, dtype=torch.float64)
    held = torch.cat([torch.randn(500, 1, generator=g, dtype=torch.float64),
                      mu + sigma * torch.randn(500, 1, generator=g, dtype=torch.float64)])

    def true_log_ratio(v: torch.Tensor) -> torch.Tensor:
        x = v[:, 0]
        return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) + 0.5 * x * x

    def mse(stages: list[_Quadratic]) -> float:
        with torch.no_grad():
            est = torch.stack([s(held) for s in stages]).sum(0)
            return float(((est - true_log_ratio(held)) ** 2).mean())

    mse_one = mse(_fit_telescoping(1, eps, vstar, M))
    mse_tel = mse(_fit_telescoping(8, eps, vstar, M))
    spread = float(true_log_ratio(held).var())  # ~ 2e3: the scale of the log-ratio being recovered
    assert math.isfinite(mse_tel) and math.isfinite(mse_one)
    assert mse_tel < 1e-2 * spread, (mse_tel, spread)
    assert mse_tel < 0.01 * mse_one, (mse_tel, mse_one)


# --------------------------------------------------------------------------- numerical stability


@pytest.mark.parametrize("M", [1.0, 10.0, 1e3, 1e6])
def test_extreme_values_finite_and_correct_gradients(M: float) -> None:
    f64 = torch.linspace(-80.0, 80.0, 41, dtype=torch.float64)
    ft = f64.float().requires_grad_(True)
    fn = f64.float().requires_grad_(True)
    loss = n2ce_loss(ft, fn, M)
    gt, gn = torch.autograd.grad(loss, (ft, fn))
    assert torch.isfinite(loss) and torch.isfinite(gt).all() and torch.isfinite(gn).all()

    # float64 reference: autograd on the naive formula (finite for |f| <= 80 in float64)
    rt = f64.clone().requires_grad_(True)
    rn = f64.clone().requires_grad_(True)
    er_t, er_n = rt.exp(), rn.exp()
    naive = -(torch.log(er_t / (M + er_t)).mean() + M * torch.log(M / (M + er_n)).mean())
    ref_gt, ref_gn = torch.autograd.grad(naive, (rt, rn))
    n = f64.numel()
    # closed forms: d(-softplus(log M - f))/df = σ(log M - f); d(M softplus(f - log M))/df = M σ(f - log M)
    exact_gt = -torch.sigmoid(math.log(M) - f64) / n
    exact_gn = M * torch.sigmoid(f64 - math.log(M)) / n
    # the naive float64 gradient cancels catastrophically in the tails: agree in absolute terms only
    torch.testing.assert_close(ref_gt, exact_gt, rtol=1e-9, atol=1e-15)
    torch.testing.assert_close(ref_gn, exact_gn, rtol=1e-9, atol=1e-15 * M)
    # the stable float32 implementation matches the closed form in relative terms, tails included
    torch.testing.assert_close(gt.double(), exact_gt, rtol=1e-5, atol=1e-37)
    torch.testing.assert_close(gn.double(), exact_gn, rtol=1e-5, atol=1e-37)
    torch.testing.assert_close(loss.double(), naive.detach(), rtol=1e-5, atol=1e-6)


def test_nwj_finite_at_large_f() -> None:
    ft = torch.tensor([80.0, -80.0, 0.0], requires_grad=True)
    fn = torch.tensor([80.0, -80.0, 100.0], requires_grad=True)
    loss = nwj_loss(ft, fn)
    gt, gn = torch.autograd.grad(loss, (ft, fn))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert torch.isfinite(gt).all() and torch.isfinite(gn).all()
    # exact below the cap, tangent above it: gradient e^80/3 for both 80 and 100
    torch.testing.assert_close(gn[0].double(), torch.tensor(math.exp(80.0) / 3, dtype=torch.float64), rtol=1e-5,
                               atol=0)
    torch.testing.assert_close(gn[2], gn[0])
    assert gn[2] > 0


# --------------------------------------------------------------------------- regulariser, waymarks, validation


def test_regularizer() -> None:
    ft, fn = _rand(10, 5), _rand(30, 6)
    expect = torch.cat([ft, fn]).square().mean()
    torch.testing.assert_close(ratio_regularizer(ft, fn), expect)
    for M in (1.0, 50.0):
        torch.testing.assert_close(n2ce_loss(ft, fn, M, reg=0.3) - n2ce_loss(ft, fn, M), 0.3 * expect)


@pytest.mark.parametrize("kind", ["linear", "sqrt", "cosine"])
def test_waymarks(kind: str) -> None:
    a = waymark_schedule(5, kind)
    assert a.shape == (6,) and a[0] == 0 and a[-1] == 1 and bool((a.diff() > 0).all())
    g = torch.Generator().manual_seed(8)
    eps = torch.randn(20000, 2, generator=g)
    vstar = 3.0 + 0.5 * torch.randn(20000, 2, generator=g)
    wm = make_waymarks(eps, vstar, a)
    assert len(wm) == 6 and wm[0] is eps and wm[-1] is vstar
    for ak, vk in zip(a.tolist(), wm, strict=True):
        assert abs(vk.mean().item() - 3.0 * ak) < 0.05
        assert abs(vk.var().item() - ((1 - ak**2) + 0.25 * ak**2)) < 0.05
    losses = stage_losses([lambda v: v.sum(-1)] * 5, wm, 10.0, objective="nwj")
    assert len(losses) == 5 and all(torch.isfinite(x) for x in losses)


@pytest.mark.parametrize("bad", [0.0, 0.999, -5.0, float("nan"), float("inf"), "x"])
def test_bad_m_raises(bad: object) -> None:
    f = torch.zeros(3)
    with pytest.raises(ValueError):
        n2ce_loss(f, f, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        telescoping_loss([lambda v: v.sum(-1)], [torch.zeros(3, 1), torch.ones(3, 1)], bad)  # type: ignore[arg-type]


def test_other_bad_inputs_raise() -> None:
    f = torch.zeros(3)
    with pytest.raises(ValueError):
        n2ce_loss(f, f, 2.0, reg=-1.0)
    with pytest.raises(ValueError):
        waymark_schedule(0)
    with pytest.raises(ValueError):
        waymark_schedule(3, "exp")
    with pytest.raises(ValueError):
        make_waymarks(torch.zeros(3, 1), torch.zeros(3, 1), torch.tensor([0.0, 0.5, 0.4, 1.0]))
    with pytest.raises(ValueError):
        telescoping_loss([lambda v: v.sum(-1)], [torch.zeros(3, 1), torch.ones(3, 1)], 2.0, objective="foo")
    with pytest.raises(ValueError):
        n2ce_loss(torch.zeros(0), f, 2.0)
