"""Surrogate/training settings (training/settings.py): defaults, validation through from_dict."""

from __future__ import annotations

import pytest

from n2ce_bbo.config import from_dict
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.training.settings import LatentEBMConfig, PriorConfig


def test_defaults() -> None:
    cfg = from_dict(LatentEBMConfig, {})
    assert cfg.model.latent_dim == 16 and cfg.model.hidden == 256 and cfg.model.depth == 2
    assert cfg.model.prior_hidden == 64 and cfg.prior.K == 6 and cfg.prior.M == 100.0
    assert cfg.prior.objective == "n2ce" and cfg.prior.mle_langevin_steps == 60
    assert PriorConfig(objective="gaussian").uses_ebm is False


@pytest.mark.parametrize(
    "bad",
    [
        {"prior": {"M": 0.5}},
        {"prior": {"K": 0}},
        {"prior": {"reg": -1.0}},
        {"prior": {"objective": "score_matching"}},
        {"prior": {"prior_lr": 0.0}},
        {"model": {"latent_dim": 0}},
        {"model": {"y_noise_std": 0.0}},
        {"model": {"decoder_temperature": -1.0}},
        {"train": {"batch_size": 0}},
        {"train": {"lr": float("nan")}},
        {"train": {"max_train_rows": 0}},
        {"train": {"grad_clip": 0.0}},
        {"train": {"epochs": "ten"}},
        {"model": {"latent_dims": 8}},
    ],
)
def test_invalid_values_raise_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError):
        from_dict(LatentEBMConfig, bad)


def test_error_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^prior\.M must be a finite number >= 1, got 0\.1\.$"):
        from_dict(LatentEBMConfig, {"prior": {"M": 0.1}})
    with pytest.raises(ConfigError, match=r"^surrogate\.train\.grad_clip must be .* > 0 \(or null\)"):
        from_dict(LatentEBMConfig, {"train": {"grad_clip": -1.0}}, path="surrogate")
    with pytest.raises(ConfigError, match="^K must be"):  # direct construction: the key alone
        PriorConfig(K=0)


def test_default_epochs_reach_min_steps_and_explicit_epochs_are_kept() -> None:
    from n2ce_bbo.training.settings import TrainConfig

    auto = TrainConfig()
    assert auto.epochs is None
    assert auto.epochs_for(258) == 20  # TFBind8: 32,898 rows / 128 -> 20 * 258 = 5,160 steps >= 5,000
    assert auto.epochs_for(79) == 64  # TFBind10's 10,000-row subset: 64 * 79 = 5,056 steps
    assert TrainConfig(min_steps=100).epochs_for(10) == 20  # never fewer than 20 passes
    assert TrainConfig(epochs=3).epochs_for(79) == 3
    # large datasets (the benchmark tasks) get the full min_steps whatever steps_per_row is
    assert auto.epochs_for(258, 32_898) == 20 and auto.epochs_for(79, 10_000) == 64
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="min_steps"):
        TrainConfig(min_steps=0)


def test_target_steps_scale_with_the_rows_between_least_steps_and_min_steps() -> None:
    from n2ce_bbo.training.settings import TrainConfig

    t = TrainConfig(min_steps=5000, steps_per_row=3, least_steps=400)
    assert t.target_steps(None) == 5000
    assert t.target_steps(300) == 900  # a 300-row table: 3 steps per row
    assert t.target_steps(1000) == 3000
    assert t.target_steps(1667) == t.target_steps(33_000) == 5000  # capped at min_steps
    assert t.target_steps(2) == t.target_steps(100) == 400  # never below least_steps
    assert t.epochs_for(3, 300) == 300  # 300 rows in minibatches of 128: 3 per pass, 300 passes
    assert TrainConfig(least_steps=9000, min_steps=5000).target_steps(10) == 5000  # min_steps caps the floor too
    with pytest.raises(ConfigError, match="least_steps"):
        TrainConfig(least_steps=0)
