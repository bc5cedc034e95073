"""The design-space value model: its settings, predictions in the surrogate's units, and its folder round trip."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from n2ce_bbo.config import from_dict
from n2ce_bbo.errors import ConfigError, CorruptDataError
from n2ce_bbo.methods.latent_ebm.config import DesignModelConfig, LatentEBMMethodConfig
from n2ce_bbo.methods.latent_ebm.design_model import (
    design_value,
    fit_design_model,
    load_design_model,
    save_design_model,
)
from n2ce_bbo.tasks.base import OfflineData

SMALL = DesignModelConfig(weights=[1.0], n_members=2, regressor=from_dict(
    DesignModelConfig, {"regressor": {"hidden_sizes": [16], "epochs": 30}}).regressor)


@pytest.fixture(scope="module")
def tokens() -> OfflineData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(300, 5)).astype(np.int64)
    y = (x == 1).sum(1, keepdims=True).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=3, name="tok5")


def test_settings_are_checked() -> None:
    assert not DesignModelConfig().enabled and DesignModelConfig(weights=[0.0, 0.5]).enabled
    with pytest.raises(ConfigError, match="weights"):
        DesignModelConfig(weights=[])
    with pytest.raises(ConfigError, match="weights"):
        DesignModelConfig(weights=[1.5])
    with pytest.raises(ConfigError, match="n_members"):
        DesignModelConfig(n_members=0)
    with pytest.raises(ConfigError, match="design_model"):
        from_dict(LatentEBMMethodConfig, {"design_model": {"weights": [-0.1]}})


def test_fit_is_seeded_and_predicts_in_the_surrogates_units(tokens: OfflineData) -> None:
    a = fit_design_model(tokens, SMALL, seed=3, device="cpu")
    b = fit_design_model(tokens, SMALL, seed=3, device="cpu")
    assert len(a.regressors) == 2
    np.testing.assert_array_equal(a.predict(tokens.x), b.predict(tokens.x))
    raw = a.predict(tokens.x)
    assert np.corrcoef(raw, tokens.y.reshape(-1))[0, 1] > 0.9  # an additive score: the MLPs learn it
    surrogate = SimpleNamespace(standardize_y=lambda y: (y - 2.0) / 4.0)
    got = design_value(a, surrogate, tokens.x, batch=64)
    assert got.dtype == np.float64 and got.shape == (300,)
    np.testing.assert_allclose(got, (raw - 2.0) / 4.0)
    assert design_value(a, surrogate, tokens.x[:0], batch=64).shape == (0,)


def test_save_and_load_round_trip(tokens: OfflineData, tmp_path: Path) -> None:
    model = fit_design_model(tokens, SMALL, seed=0, device="cpu")
    assert load_design_model(tmp_path) is None  # a folder without one
    save_design_model(model, SMALL, tmp_path)
    loaded = load_design_model(tmp_path)
    assert loaded is not None
    np.testing.assert_array_equal(model.predict(tokens.x), loaded.predict(tokens.x))


def test_a_damaged_folder_is_refused_naming_it(tokens: OfflineData, tmp_path: Path) -> None:
    model = fit_design_model(tokens, SMALL, seed=0, device="cpu")
    save_design_model(model, SMALL, tmp_path)
    meta_path = tmp_path / "design_model" / "design_model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "feature_shape": [5, 4]}))
    with pytest.raises(CorruptDataError, match="design_model/weights.pt does not fit member 0"):
        load_design_model(tmp_path)
    meta_path.write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(CorruptDataError, match="design_model.json is not a version 1"):
        load_design_model(tmp_path)
    meta_path.write_text(json.dumps(meta))
    (tmp_path / "design_model" / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(CorruptDataError, match="cannot be read"):
        load_design_model(tmp_path)
    torch.save({}, tmp_path / "design_model" / "weights.pt")
    with pytest.raises(CorruptDataError, match="does not fit member 0"):
        load_design_model(tmp_path)


def test_a_saved_configuration_keeps_the_settings_it_was_saved_under() -> None:
    from n2ce_bbo.methods.latent_ebm.config import pinned_saved_config

    old = {"model": {}, "prior": {}, "propose": {}, "design_model": {"weights": [0.0]}}  # saved before the ascent
    assert pinned_saved_config(old)["design_model"] == {"weights": [0.0], "ascent_starts": 0, "ascent_share": 0.0}
    older = {"model": {}, "prior": {}, "propose": {}}  # saved before the design model
    assert pinned_saved_config(older)["design_model"] == {"ascent_starts": 0, "ascent_share": 0.0}
    new = {"model": {}, "prior": {}, "propose": {}, "design_model": {"ascent_starts": 64}}  # before the share
    assert pinned_saved_config(new)["design_model"] == {"ascent_starts": 64, "ascent_share": 0.0}  # starts kept
    newest = {"model": {}, "prior": {}, "propose": {}, "design_model": {"ascent_starts": 64, "ascent_share": 0.5}}
    assert pinned_saved_config(newest)["design_model"]["ascent_share"] == 0.5
    grad = {"n_steps": 200, "regressor": {}}
    assert pinned_saved_config(grad) == grad  # another method's settings: untouched
    assert old["design_model"] == {"weights": [0.0]} and "design_model" not in older  # inputs unchanged
