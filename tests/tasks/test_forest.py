"""Superconductor-RandomForest-v0: row counts, forest arrays == scikit-learn, cache roundtrip and rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from n2ce_bbo.errors import CorruptDataError
from n2ce_bbo.tasks import Task, make
from n2ce_bbo.tasks import design_bench as db
from n2ce_bbo.tasks.forest import export_forest, load_forest

pytestmark = pytest.mark.realdata
NAME = "Superconductor-RandomForest-v0"


@pytest.fixture(scope="module")
def fitted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The forest fitted once: the task (with a tmp cache), the scikit-learn model, the labelled data."""
    cache = tmp_path_factory.mktemp("rf_cache")
    task = make(NAME, data_dir=data_dir, cache_dir=cache)
    x, y = db.load_superconductor_labelled(data_dir)
    model = db.fit_superconductor_forest(x, y, seed=0)
    return {"task": task, "cache": cache, "model": model, "x": x, "y": y}


def test_row_counts(fitted: dict[str, Any]) -> None:
    t: Task = fitted["task"]
    x, y = fitted["x"], fitted["y"]
    assert x.shape == (19_147, 86)
    assert t.dataset_size == 15_320 == int((y[:, 0] <= np.percentile(y[:, 0], 80)).sum())
    assert t.y_full_min == pytest.approx(float(y.min())) and t.y_full_max == pytest.approx(185.0)
    assert float(t.y.max()) <= np.percentile(y[:, 0], 80)
    assert "reproduction" in t.oracle_note and not t.is_discrete and t.bounds is not None


def test_forest_arrays_equal_sklearn(fitted: dict[str, Any]) -> None:
    model, x = fitted["model"], fitted["x"]
    arrs = export_forest(model)
    assert arrs.n_trees == 100
    probe = np.concatenate([x[::7], np.random.default_rng(0).random((200, 86)).astype(np.float32) * 5])
    ref = model.predict(probe)
    np.testing.assert_array_equal(arrs.predict(probe), ref)
    # the task's cached oracle is the same forest (same seed)
    np.testing.assert_allclose(fitted["task"].predict(probe)[:, 0], ref.astype(np.float32), rtol=0, atol=0)


def test_cache_roundtrip(fitted: dict[str, Any], data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache: Path = fitted["cache"]
    assert (cache / "superconductor_rf_seed0.npz").is_file()

    def no_fit(*a: object, **k: object) -> None:
        raise AssertionError("the forest was refitted although a valid cache exists")

    monkeypatch.setattr(db, "fit_superconductor_forest", no_fit)
    again = make(NAME, data_dir=data_dir, cache_dir=cache)
    probe = fitted["x"][:50]
    np.testing.assert_array_equal(again.predict(probe), fitted["task"].predict(probe))


def test_corrupt_cache_is_rebuilt(fitted: dict[str, Any], data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "superconductor_rf_seed0.npz"
    path.write_bytes((fitted["cache"] / path.name).read_bytes())
    # flip bytes in the middle of the stored arrays: the checksum (or the zip CRC) must catch it
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 16] = bytes(16)
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError):
        load_forest(path, {})
    with pytest.warns(RuntimeWarning, match="refitting"):
        t = make(NAME, data_dir=data_dir, cache_dir=tmp_path)
    probe = fitted["x"][:50]
    np.testing.assert_array_equal(t.predict(probe), fitted["task"].predict(probe))
    load_forest(path, {})  # rewritten and valid again


def test_stale_cache_is_rebuilt(fitted: dict[str, Any], data_dir: Path, tmp_path: Path) -> None:
    from n2ce_bbo.tasks.forest import save_forest

    arrs = export_forest(fitted["model"])
    save_forest(tmp_path / "superconductor_rf_seed0.npz", arrs, {"seed": 1})  # wrong metadata
    with pytest.raises(CorruptDataError, match="seed"):
        load_forest(tmp_path / "superconductor_rf_seed0.npz", {"seed": 0})
    (tmp_path / "superconductor_rf_seed0.npz").write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        make(NAME, data_dir=data_dir, cache_dir=tmp_path)
