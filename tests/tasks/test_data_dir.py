"""Data folder resolution, both file layouts (on small fake data), and corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import CorruptDataError, DataNotFoundError
from n2ce_bbo.tasks import make
from n2ce_bbo.tasks.data_dir import ENV_VAR, find_shards, load_npy, load_npz, resolve_cache_dir, resolve_data_dir
from n2ce_bbo.tasks.design_bench import codes_to_tokens, percentile_mask, tokens_to_codes


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv(ENV_VAR, str(b))
    assert resolve_data_dir(a) == a  # explicit argument wins
    assert resolve_data_dir(None) == b  # then the environment
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(DataNotFoundError, match=f"{ENV_VAR} or pass --data-dir"):
        resolve_data_dir(None, task="X")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match=r"from the \$N2CE_BBO_DATA_DIR.*does not exist"):
        resolve_data_dir(None)


def test_cache_dir_fallbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert resolve_cache_dir(data) == data / "cache"
    assert resolve_cache_dir(data, tmp_path / "explicit") == tmp_path / "explicit"
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)  # marked read-only (like the shared data folder): honoured even when running as root
    try:
        monkeypatch.setenv("N2CE_BBO_CACHE_DIR", str(tmp_path / "envcache"))
        assert resolve_cache_dir(ro) == tmp_path / "envcache"
        assert not (ro / "cache").exists()
    finally:
        ro.chmod(0o755)


def test_cache_dir_readonly_goes_to_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import n2ce_bbo.tasks.data_dir as dd

    monkeypatch.setattr(dd.os, "access", lambda *a, **k: False)  # the data folder is not writable
    monkeypatch.setenv("N2CE_BBO_CACHE_DIR", str(tmp_path / "envcache"))
    assert resolve_cache_dir(tmp_path) == tmp_path / "envcache"
    monkeypatch.delenv("N2CE_BBO_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_cache_dir(tmp_path) == tmp_path / "home" / ".cache" / "n2ce_bbo"


def test_codes_roundtrip() -> None:
    x = np.random.default_rng(0).integers(0, 4, size=(100, 10))
    np.testing.assert_array_equal(codes_to_tokens(tokens_to_codes(x, 4), 10, 4), x)
    assert tokens_to_codes(np.array([[0] * 9 + [1]]), 4)[0] == 1


def test_percentile_mask_matches_design_bench_rule() -> None:
    y = np.arange(10.0)
    assert percentile_mask(y, 50).sum() == 5  # median 4.5
    assert percentile_mask(y, 100).all()
    assert percentile_mask(y[:, None], 50, 20).sum() == 3  # 1.8 <= y <= 4.5


def test_corrupt_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(CorruptDataError, match="bad.npy"):
        load_npy(bad)
    badz = tmp_path / "bad.npz"
    badz.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CorruptDataError, match="bad.npz"):
        load_npz(badz, ["x"])
    np.savez(tmp_path / "ok.npz", x=np.ones(3))
    with pytest.raises(CorruptDataError, match=r"lacks array\(s\) \['y'\]"):
        load_npz(tmp_path / "ok.npz", ["x", "y"])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptDataError, match="obj.npy"):  # pickled object arrays are refused
        load_npy(tmp_path / "obj.npy")


def test_corrupt_task_file(tmp_path: Path) -> None:
    (tmp_path / "tfbind8").mkdir()
    (tmp_path / "tfbind8" / "tf_bind_8.npz").write_bytes(b"\x00" * 100)
    with pytest.raises(CorruptDataError, match="tf_bind_8.npz"):
        make("TFBind8-Exact-v0", data_dir=tmp_path)


def test_incomplete_shards(tmp_path: Path) -> None:
    d = tmp_path / "tf_bind_8-SIX6_REF_R1"
    d.mkdir()
    np.save(d / "tf_bind_8-x-0.npy", np.zeros((4, 8), dtype=np.int32))
    with pytest.raises(CorruptDataError, match="incomplete"):
        find_shards(tmp_path, "tf_bind_8-SIX6_REF_R1", "tf_bind_8")


# --- fake data in both layouts ---------------------------------------------------------------------------------
def _fake_tfbind8(root: Path, n: int = 200, nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(n, 8)).astype(np.int32)
    y = rng.random((n, 1)).astype(np.float32)
    d = root / ("design_bench_data" if nested else "") / "tf_bind_8-SIX6_REF_R1"
    d.mkdir(parents=True)
    np.save(d / "tf_bind_8-x-0.npy", x)
    np.save(d / "tf_bind_8-y-0.npy", y)
    return x, y


@pytest.mark.parametrize("nested", [False, True])
def test_tfbind8_shard_layout(tmp_path: Path, nested: bool) -> None:
    x, y = _fake_tfbind8(tmp_path, nested=nested)
    t = make("TFBind8-Exact-v0", data_dir=tmp_path)
    keep = y[:, 0] <= np.percentile(y[:, 0], 50)
    np.testing.assert_array_equal(t.x, x[keep])
    assert t.y_full_max == pytest.approx(float(y.max()))
    # last occurrence wins for duplicated designs
    codes = tokens_to_codes(x, 4)
    for i in (0, 57, 199):
        last = np.flatnonzero(codes == codes[i])[-1]
        assert t.predict(x[i : i + 1])[0, 0] == y[last, 0]


def _fake_tfbind10(root: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shards where every 10-mer appears (so the oracle table is complete) plus some repeats; also compact files."""
    codes = np.concatenate([np.arange(4**10), rng.integers(0, 4**10, size=50_000)])
    rng.shuffle(codes)
    y = rng.choice(rng.normal(size=500).astype(np.float32), size=codes.size)
    shard_dir = root / "shards" / "tf_bind_10-pho4"
    shard_dir.mkdir(parents=True)
    bounds = np.linspace(0, codes.size, 4).astype(int)
    for i in range(3):
        sl = slice(bounds[i], bounds[i + 1])
        np.save(shard_dir / f"tf_bind_10-x-{i}.npy", codes_to_tokens(codes[sl], 10, 4, np.int32))
        np.save(shard_dir / f"tf_bind_10-y-{i}.npy", y[sl, None])
    order = np.argsort(codes, kind="stable")
    y_values, y_index = np.unique(y, return_inverse=True)
    (root / "compact" / "tfbind10").mkdir(parents=True)
    np.savez_compressed(
        root / "compact" / "tfbind10" / "tf_bind_10_pho4_full.npz",
        counts=np.bincount(codes, minlength=4**10).astype(np.uint8), y_values=y_values.astype(np.float32),
        y_index=y_index[order].astype(np.uint16),
    )
    return codes, y


def test_tfbind10_layouts_agree(tmp_path: Path) -> None:
    codes, y = _fake_tfbind10(tmp_path, np.random.default_rng(2))
    a = make("TFBind10-Exact-v0", data_dir=tmp_path / "shards")
    b = make("TFBind10-Exact-v0", data_dir=tmp_path / "compact")  # no oracle file: derived from the last rows
    keep = y <= np.percentile(y, 50)
    assert a.dataset_size == b.dataset_size == int(keep.sum())
    assert a.x.dtype == np.uint8 and b.x.dtype == np.uint8
    np.testing.assert_array_equal(tokens_to_codes(a.x, 4), codes[keep])  # shard order
    assert sorted(tokens_to_codes(b.x, 4).tolist()) == sorted(codes[keep].tolist())
    last = np.full(4**10, np.nan, dtype=np.float32)
    last[codes] = y  # numpy assigns in order: the last occurrence wins
    probe = np.random.default_rng(3).integers(0, 4**10, size=500)
    xp = codes_to_tokens(probe, 10, 4, np.int64)
    np.testing.assert_array_equal(a.predict(xp)[:, 0], last[probe])
    np.testing.assert_array_equal(b.predict(xp)[:, 0], last[probe])
    assert a.y_full_min == b.y_full_min == pytest.approx(float(y.min()))
    c = make("TFBind10-Exact-v0", data_dir=tmp_path / "shards", max_samples=100, seed=1)
    assert c.dataset_size == 100 and set(tokens_to_codes(c.x, 4)) <= set(codes[keep].tolist())


def test_superconductor_shard_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    d = tmp_path / "design_bench_data" / "superconductor"
    d.mkdir(parents=True)
    for i in range(2):
        np.save(d / f"superconductor-x-{i}.npy", rng.random((300, 86)).astype(np.float32))
        np.save(d / f"superconductor-y-{i}.npy", (100 * rng.random((300, 1))).astype(np.float32))
    t = make("Superconductor-RandomForest-v0", data_dir=tmp_path, cache_dir=tmp_path / "c")
    assert t.dataset_size == 480 and t.input_shape == (86,)
    assert (tmp_path / "c" / "superconductor_rf_seed0.npz").is_file()
    assert np.isfinite(t.predict(t.x[:5])).all()
