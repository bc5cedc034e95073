"""The alternating trainer: it learns, is reproducible, detects non-finite losses, resumes exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import n2ce_bbo.training.trainer as trainer_mod
from n2ce_bbo.errors import ConfigError, NonFiniteLossError
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training import load_surrogate, train_surrogate

TINY: dict[str, Any] = {
    "model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16},
    "prior": {"K": 2},
    "train": {"epochs": 3, "batch_size": 64},
}


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**sections: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) for k, v in TINY.items()}
    for k, v in sections.items():
        out[k] = {**out.get(k, {}), **v}
    return out


@pytest.fixture(scope="module")
def tokens() -> OfflineData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(400, 6)).astype(np.int64)
    y = ((x == 2).sum(1) + 0.5 * (x[:, 0] == 1) + 0.1 * rng.normal(size=400)).astype(np.float32)[:, None]
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="tok")


@pytest.fixture(scope="module")
def continuous() -> OfflineData:
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(300, 3)).astype(np.float32)
    y = (-((x - 0.5) ** 2).sum(1, keepdims=True)).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=False, bounds=np.array([[-2] * 3, [2] * 3], np.float32))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def _state(s: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in s.state_dict().items()}


def test_learns_and_value_head_ranks_designs(tokens: OfflineData) -> None:
    cfg = _cfg(train={"epochs": 8, "batch_size": 32, "lr": 3e-3}, prior={"prior_lr": 3e-3})
    s, h = train_surrogate(tokens, cfg, seed=0, device="cpu")
    assert len(h["loss"]) == 8 and h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["steps"] == 8 * 13 and h["objective"] == "n2ce" and h["device"] == "cpu"
    with torch.no_grad():
        pred = s.value(s.encode(tokens.x)[0]).numpy()
    assert _spearman(pred, tokens.y[:, 0]) > 0.8
    # the prior was trained: it separates posterior samples from N(0, I) noise
    assert h["f_target_mean"][-1] > h["f_noise_mean"][-1] + 0.01


def test_same_seed_same_weights(tokens: OfflineData) -> None:
    cfg = _cfg(train={"epochs": 1})
    a, _ = train_surrogate(tokens, cfg, seed=3, device="cpu")
    b, _ = train_surrogate(tokens, cfg, seed=3, device="cpu")
    c, _ = train_surrogate(tokens, cfg, seed=4, device="cpu")
    sa, sb, sc = _state(a), _state(b), _state(c)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("objective", ["nce", "nwj", "mle", "gaussian"])
def test_every_objective_trains(continuous: OfflineData, objective: str) -> None:
    cfg = _cfg(prior={"objective": objective, "mle_langevin_steps": 5}, train={"epochs": 1})
    s, h = train_surrogate(continuous, cfg, seed=0, device="cpu")
    assert all(np.isfinite(h[k][-1]) for k in ("loss", "prior_loss", "f_target_mean"))
    z = torch.randn(5, 4)
    if objective == "gaussian":
        assert s.prior is None and torch.all(s.prior_f(z) == 0) and h["prior_loss"][-1] == 0
    else:
        assert s.prior is not None and s.prior.num_stages == 2
    x = s.decode_designs(torch.randn(50, 4) * 5)
    assert x.shape == (50, 3) and np.all(np.abs(x) <= 2)


def test_nonfinite_prior_loss_names_step_and_keeps_checkpoint(
    tokens: OfflineData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = trainer_mod.prior_loss

    def poisoned(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        loss, stats = real(*args, **kwargs)
        return (loss * float("nan"), stats) if calls["n"] == 10 else (loss, stats)  # epoch 2, batch 3

    monkeypatch.setattr(trainer_mod, "prior_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"prior \(n2ce\) loss .*epoch 2/3, step 10 \(batch 3/7\)") as info:
        train_surrogate(tokens, _cfg(), seed=0, device="cpu", checkpoint_dir=tmp_path / "ck")
    assert info.value.step == 10 and info.value.epoch == 2  # type: ignore[attr-defined]
    assert "epoch 1" in str(info.value) and str(tmp_path / "ck") in str(info.value)
    s = load_surrogate(tmp_path / "ck", device="cpu")  # the epoch-1 checkpoint is intact
    assert all(torch.isfinite(p).all() for p in s.parameters())


def test_huge_learning_rate_is_detected(tokens: OfflineData) -> None:
    with pytest.raises(NonFiniteLossError, match="Non-finite"):
        train_surrogate(tokens, _cfg(train={"lr": 1e15, "grad_clip": None, "epochs": 2}), seed=0, device="cpu")


def test_resume_gives_the_uninterrupted_result(tokens: OfflineData, tmp_path: Path) -> None:
    full, hf = train_surrogate(tokens, _cfg(), seed=1, device="cpu")
    train_surrogate(tokens, _cfg(train={"epochs": 2}), seed=1, device="cpu", checkpoint_dir=tmp_path)
    resumed, hr = train_surrogate(tokens, _cfg(), seed=1, device="cpu", checkpoint_dir=tmp_path, resume=True)
    sf, sr = _state(full), _state(resumed)
    assert all(torch.equal(sf[k], sr[k]) for k in sf)
    assert len(hr["loss"]) == 3 and hr["loss"] == pytest.approx(hf["loss"])
    with pytest.raises(ConfigError, match="model/prior"):
        train_surrogate(tokens, _cfg(prior={"M": 5.0}), seed=1, device="cpu", checkpoint_dir=tmp_path, resume=True)


def test_subsample_and_max_steps(tokens: OfflineData) -> None:
    s, h = train_surrogate(tokens, _cfg(train={"max_train_rows": 100, "max_steps": 5, "epochs": 10}),
                           seed=0, device="cpu")
    assert h["train_rows"] == 100 and h["subsampled"] and h["total_rows"] == 400
    assert h["steps"] == 5 and len(h["loss"]) == 3  # 2 batches per epoch: 2 + 2 + 1
    y = tokens.y[:, 0].astype(np.float64)
    assert s.y_max_standardized == pytest.approx((y.max() - y.mean()) / y.std(), rel=1e-5)  # all rows
