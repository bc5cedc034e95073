"""Design-Bench tasks on the real data folder: row counts, best scores, oracles, both layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.tasks import make
from n2ce_bbo.tasks.design_bench import load_tfbind8_full, tokens_to_codes

pytestmark = pytest.mark.realdata


def test_tfbind8_numbers(data_dir: Path) -> None:
    t = make("TFBind8-Exact-v0", data_dir=data_dir)
    assert t.dataset_size == 32_898
    assert t.input_shape == (8,) and t.num_classes == 4 and t.x.dtype == np.int64
    assert float(t.y.max()) == pytest.approx(0.439296, abs=1e-6)
    assert (t.y_full_min, t.y_full_max) == (0.0, 1.0)
    assert t.optimum == 1.0
    # exact oracle: every training row scores its own label (duplicates have identical y)
    np.testing.assert_array_equal(t.predict(t.x), t.y)
    x_full, y_full = load_tfbind8_full(data_dir)
    best = x_full[np.argmax(y_full[:, 0])]
    assert t.predict(best[None])[0, 0] == 1.0
    assert t.normalize(np.array([0.5]))[0] == 0.5


@pytest.mark.parametrize("sub", ["design_bench_data", "."])
def test_tfbind8_shards_match_compact(data_dir: Path, sub: str, tmp_path: Path) -> None:
    compact = make("TFBind8-Exact-v0", data_dir=data_dir)
    if sub == ".":  # a folder holding design_bench_data/ and nothing else (link, no copy)
        (tmp_path / "design_bench_data").symlink_to(data_dir / "design_bench_data")
        root = tmp_path
    else:
        root = data_dir / sub
    shards = make("TFBind8-Exact-v0", data_dir=root)
    np.testing.assert_array_equal(shards.x, compact.x)
    np.testing.assert_array_equal(shards.y, compact.y)
    assert (shards.y_full_min, shards.y_full_max) == (compact.y_full_min, compact.y_full_max)


def test_tfbind10_full(data_dir: Path) -> None:
    t = make("TFBind10-Exact-v0", data_dir=data_dir, max_samples=None)
    assert t.dataset_size == 4_161_482
    assert t.x.dtype == np.uint8 and t.x.shape == (4_161_482, 10)
    assert float(t.y.max()) == pytest.approx(0.005328223, abs=1e-7)
    assert t.y_full_min == pytest.approx(-1.8585, abs=1e-4) and t.y_full_max == pytest.approx(2.1287, abs=1e-4)
    table = np.load(data_dir / "tfbind10" / "tf_bind_10_pho4_oracle.npz")["y"][:, 0]
    probe = t.x[:: 400_000].astype(np.int64)
    np.testing.assert_array_equal(t.predict(probe)[:, 0], table[tokens_to_codes(probe, 4)])
    assert t.optimum == pytest.approx(float(table.max()))


def test_tfbind10_max_samples(data_dir: Path) -> None:
    a = make("TFBind10-Exact-v0", data_dir=data_dir, max_samples=5_000, seed=0)
    b = make("TFBind10-Exact-v0", data_dir=data_dir, max_samples=5_000, seed=0)
    c = make("TFBind10-Exact-v0", data_dir=data_dir, max_samples=5_000, seed=1)
    assert a.dataset_size == 5_000
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert float(a.y.max()) <= 0.005328223 + 1e-7
    assert a.y_full_max == pytest.approx(2.1287, abs=1e-4)  # normalisation stays over the full data


def test_tfbind10_bad_max_samples(data_dir: Path) -> None:
    from n2ce_bbo.errors import InvalidDataError

    with pytest.raises(InvalidDataError, match="max_samples"):
        make("TFBind10-Exact-v0", data_dir=data_dir, max_samples=0)
