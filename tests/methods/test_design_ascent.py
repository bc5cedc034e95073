"""Gradient ascent in design space on a design-space surrogate (the grad baselines' search, shared with the
latent-EBM method's ascent candidates)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.config import from_dict
from n2ce_bbo.methods.design_ascent import ascent_lr, ascent_optimizer, ascent_trajectory
from n2ce_bbo.methods.latent_ebm.config import DesignModelConfig
from n2ce_bbo.methods.latent_ebm.design_model import fit_design_model
from n2ce_bbo.tasks.base import OfflineData

SMALL = from_dict(DesignModelConfig, {"weights": [1.0], "n_members": 2,
                                      "regressor": {"hidden_sizes": [32], "epochs": 40}})


@pytest.fixture(scope="module")
def tokens() -> OfflineData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(400, 6)).astype(np.int64)
    y = (x == 1).sum(1, keepdims=True).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=3, name="tok6")


@pytest.fixture(scope="module")
def box() -> OfflineData:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(400, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=False, bounds=np.array([[-1.0] * 3, [1.0] * 3], dtype=np.float32),
                       name="sum3")


def test_step_size_and_optimiser_follow_the_grad_baselines(tokens: OfflineData, box: OfflineData) -> None:
    assert ascent_lr(tokens, 0.01) == pytest.approx(0.01 * np.sqrt(6 * 3))
    assert ascent_lr(box, 0.01) == pytest.approx(0.01 * np.sqrt(3))
    assert ascent_lr(box, 0.01, scale=False) == 0.01
    assert ascent_optimizer(tokens, "auto") == "adam" and ascent_optimizer(box, "auto") == "sgd"
    assert ascent_optimizer(box, "adam") == "adam"


def test_token_ascent_raises_the_prediction_and_keeps_the_model(tokens: OfflineData) -> None:
    model = fit_design_model(tokens, SMALL, seed=0, device="cpu")
    starts = tokens.x[np.argsort(tokens.y.reshape(-1))[:16]]  # the worst rows: room to climb
    before = [p.detach().clone() for p in model.parameters()]
    traj = ascent_trajectory(model, starts, tokens, n_steps=60, lr=0.05)
    assert traj.shape == (61, 16, 6) and traj.dtype == np.int64
    np.testing.assert_array_equal(traj[0], starts)  # the smoothed one-hot start decodes to the start
    assert ((traj >= 0) & (traj < 3)).all()
    assert model.predict(traj[-1]).mean() > model.predict(starts).mean() + 1.0
    assert (traj[-1] == 1).sum(1).mean() > (starts == 1).sum(1).mean() + 1.0  # the true score rose too
    for p, q in zip(before, model.parameters(), strict=True):
        assert torch.equal(p, q) and q.requires_grad  # unchanged and still trainable


def test_continuous_ascent_stays_in_the_box(box: OfflineData) -> None:
    model = fit_design_model(box, SMALL, seed=0, device="cpu")
    starts = box.x[:8]
    traj = ascent_trajectory(model, starts, box, n_steps=100, lr=0.05)
    assert traj.shape == (101, 8, 3) and traj.dtype == np.float32
    np.testing.assert_allclose(traj[0], starts, atol=1e-5)
    assert (traj >= -1.0 - 1e-6).all() and (traj <= 1.0 + 1e-6).all()
    assert traj[-1].sum(1).mean() > starts.sum(1).mean() + 0.5  # y = Σx climbs towards the upper corner

