"""Warm starts of the trainer: the previous weights and standardisation frame, a fraction of the cold steps, a
refusal for another architecture, and the frame-drift check."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.latent_ebm.uncertainty import predictive
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training import train_surrogate
from n2ce_bbo.training.warm import frame_drift, warm_steps

pytestmark = pytest.mark.usefixtures("one_thread")

CFG: dict[str, Any] = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16}, "prior": {"K": 2},
                       "train": {"max_steps": 40, "batch_size": 64, "warm_fraction": 0.25}}


def _rows(n: int, dim: int = 3, seed: int = 1, shift: float = 0.0) -> OfflineData:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, dim)).astype(np.float32)
    y = (shift - ((x - 0.5) ** 2).sum(1, keepdims=True)).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=False, bounds=np.array([[-2] * dim, [2] * dim], np.float32))


def test_warm_start_keeps_the_frame_and_runs_a_fraction_of_the_steps() -> None:
    first = _rows(200)
    prev, _ = train_surrogate(first, CFG, seed=0, device="cpu")
    more = _rows(230)  # the first 200 rows and 30 new ones (same seed: same draws)
    np.testing.assert_array_equal(more.x[:200], first.x)
    more = dataclasses.replace(more, y=more.y.copy())
    more.y[-1] = float(first.y.max()) + 1.0  # a new best
    warm, hist = train_surrogate(more, CFG, seed=0, device="cpu", init_from=prev)
    assert hist["steps"] == warm_steps(40, 0.25) == 10
    assert hist["warm_start"]["cold_steps"] == 40 and hist["warm_start"]["frame"] == "previous"
    assert (warm.y_mean, warm.y_std) == (prev.y_mean, prev.y_std)
    torch.testing.assert_close(warm.x_mean, prev.x_mean)
    assert warm.y_max_standardized == pytest.approx((float(more.y.max()) - prev.y_mean) / prev.y_std, rel=1e-5)
    # it starts from the previous weights: after its 10 steps it is nearer them, and predicts better, than a cold
    # fit of 10 steps from the same initialisation
    short = {**CFG, "train": {**CFG["train"], "max_steps": 10}}
    cold, _ = train_surrogate(more, short, seed=0, device="cpu")
    p, w, c = (dict(s.named_parameters()) for s in (prev, warm, cold))
    moved = sum(float((w[k] - p[k]).detach().norm()) for k in p)
    fresh = sum(float((c[k] - p[k]).detach().norm()) for k in p)
    assert moved < 0.75 * fresh

    def mse(s: Any) -> float:
        mean, _, _ = predictive(s, more.x, 256)
        return float(np.mean((s.unstandardize_y(mean) - more.y.reshape(-1)) ** 2))

    assert mse(warm) < mse(cold)

def test_warm_start_refuses_another_architecture_and_a_resume(tmp_path: Any) -> None:
    prev, _ = train_surrogate(_rows(100), CFG, seed=0, device="cpu")
    wider = {**CFG, "model": {**CFG["model"], "hidden": 48}}
    with pytest.raises(ConfigError, match="same model and prior settings"):
        train_surrogate(_rows(120), wider, seed=0, device="cpu", init_from=prev)
    with pytest.raises(ConfigError, match="same design shape"):
        train_surrogate(_rows(120, dim=4), CFG, seed=0, device="cpu", init_from=prev)
    with pytest.raises(ConfigError, match="cannot also resume"):
        train_surrogate(_rows(120), CFG, seed=0, device="cpu", init_from=prev, checkpoint_dir=tmp_path, resume=True)


def test_frame_drift_and_warm_steps() -> None:
    prev, _ = train_surrogate(_rows(100), CFG, seed=0, device="cpu")
    y = _rows(100).y.reshape(-1)
    assert frame_drift(prev, y) is None
    assert "mean moved" in str(frame_drift(prev, y + 3 * prev.y_std))
    assert "spread" in str(frame_drift(prev, prev.y_mean + 3 * (y - prev.y_mean)))
    assert "spread" in str(frame_drift(prev, prev.y_mean + 0.2 * (y - prev.y_mean)))
    assert warm_steps(5000, 0.25) == 1250 and warm_steps(3, 0.1) == 1 and warm_steps(7, 0.5) == math.ceil(3.5)
    with pytest.raises(ConfigError, match="warm_fraction"):
        train_surrogate(_rows(50), {**CFG, "train": {"warm_fraction": 0.0}}, seed=0, device="cpu")
