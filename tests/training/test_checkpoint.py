"""Checkpoints: exact round trip, safe loading, clear errors on corrupt or missing files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import CorruptDataError
from n2ce_bbo.training.builder import DataFacts, build_surrogate
from n2ce_bbo.training.checkpoint import load_checkpoint, load_surrogate, save_surrogate
from n2ce_bbo.training.settings import LatentEBMConfig, ModelConfig, PriorConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(shared: bool = False) -> LatentEBMConfig:
    return LatentEBMConfig(model=ModelConfig(latent_dim=3, hidden=16, prior_hidden=8, share_prior_trunk=shared),
                           prior=PriorConfig(K=2))


def _perturbed(cfg: LatentEBMConfig, facts: DataFacts) -> torch.nn.Module:
    torch.manual_seed(0)
    s = build_surrogate(cfg, facts)
    for p in s.parameters():
        p.data.add_(0.1 * torch.randn_like(p))  # non-zero prior heads
    return s


@pytest.mark.parametrize("shared", [False, True])
def test_roundtrip_continuous_identical_outputs(tmp_path: Path, shared: bool) -> None:
    cfg = _config(shared)
    s = _perturbed(cfg, DataFacts(4, False, None, True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype(np.float32) * 3 + 1
    s.set_data_stats(x, rng.normal(size=30) + 5, np.stack([x.min(0), x.max(0)]))
    save_surrogate(s, cfg, tmp_path)
    t, cfg2, state, hist = load_checkpoint(tmp_path, device="cpu")
    assert cfg2 == cfg and state is None and hist is None and not t.training
    z = torch.randn(7, 3)
    with torch.no_grad():
        for fn in ("decode", "value", "prior_f"):
            assert torch.equal(getattr(s, fn)(z), getattr(t, fn)(z))
        assert torch.equal(s.encode(x)[0], t.encode(x)[0])
    assert torch.equal(s.score(x, 0.5), t.score(x, 0.5))
    np.testing.assert_array_equal(s.decode_designs(z * 10), t.decode_designs(z * 10))
    assert t.y_mean == s.y_mean and t.y_max_standardized == s.y_max_standardized


def test_roundtrip_tokens_and_gaussian(tmp_path: Path) -> None:
    cfg = LatentEBMConfig(model=ModelConfig(latent_dim=3, hidden=16), prior=PriorConfig(objective="gaussian"))
    s = _perturbed(cfg, DataFacts(5, True, 3, False))
    s.set_data_stats(None, np.arange(6.0))
    t = load_surrogate(save_surrogate(s, cfg, tmp_path / "tok"), device="cpu")
    assert t.prior is None and t.is_discrete and t.num_classes == 3
    z = torch.randn(4, 3)
    with torch.no_grad():
        assert torch.equal(s.decode(z), t.decode(z))


def test_resave_replaces_files_and_interrupted_save_keeps_old(tmp_path: Path) -> None:
    cfg = _config()
    s = _perturbed(cfg, DataFacts(2, False))
    s.set_data_stats(np.random.default_rng(0).normal(size=(5, 2)), np.arange(5.0))
    save_surrogate(s, cfg, tmp_path)
    with torch.no_grad():
        s.value_heads[0].net[0].bias.add_(1.0)
    save_surrogate(s, cfg, tmp_path)
    assert len(list(tmp_path.glob("weights-*.pt"))) == 1  # the old weights file was removed
    before = load_surrogate(tmp_path, device="cpu").state_dict()
    (tmp_path / "weights-deadbeefdeadbeef.pt").write_bytes(b"half-written")  # a save that died before the manifest
    after = load_surrogate(tmp_path, device="cpu").state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def _saved(tmp_path: Path) -> tuple[Path, dict]:
    cfg = _config()
    s = _perturbed(cfg, DataFacts(2, False))
    s.set_data_stats(np.random.default_rng(0).normal(size=(5, 2)), np.arange(5.0))
    save_surrogate(s, cfg, tmp_path)
    return tmp_path, json.loads((tmp_path / "config.json").read_text())


def test_missing_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(CorruptDataError, match="does not exist"):
        load_surrogate(tmp_path / "nope")
    with pytest.raises(CorruptDataError, match="no config.json"):
        load_surrogate(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CorruptDataError, match="not valid JSON"):
        load_surrogate(tmp_path)


def test_truncated_weights(tmp_path: Path) -> None:
    path, man = _saved(tmp_path)
    w = path / man["files"]["weights"]["name"]
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(CorruptDataError, match="sha256"):
        load_surrogate(path)
    w.unlink()
    with pytest.raises(CorruptDataError, match="cannot be read"):
        load_surrogate(path)


def test_weights_that_do_not_fit_the_config(tmp_path: Path) -> None:
    path, man = _saved(tmp_path)
    man["config"]["model"]["latent_dim"] = 5
    (path / "config.json").write_text(json.dumps(man))
    with pytest.raises(CorruptDataError, match="do not match"):
        load_surrogate(path)
    man["config"]["prior"]["M"] = 0.0
    (path / "config.json").write_text(json.dumps(man))
    with pytest.raises(CorruptDataError, match="invalid config"):
        load_surrogate(path)


class _Evil:
    pass


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    import hashlib
    import io

    path, man = _saved(tmp_path)
    buf = io.BytesIO()
    torch.save({"x": _Evil()}, buf)
    data = buf.getvalue()
    w = path / man["files"]["weights"]["name"]
    w.write_bytes(data)
    man["files"]["weights"]["sha256"] = hashlib.sha256(data).hexdigest()
    (path / "config.json").write_text(json.dumps(man))
    with pytest.raises(CorruptDataError, match="cannot be loaded safely"):
        load_surrogate(path)
