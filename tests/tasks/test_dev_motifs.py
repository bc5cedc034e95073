"""``MotifNetDev-C-L`` (``n2ce_bbo.tasks.dev.motifs``): a measured-library task with noisy labels, the top 20%
hidden, random designs dead."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.tasks.dev import DEV_TASK_PATTERNS, draw_motifnet, make_dev_task, make_motifnet
from n2ce_bbo.tasks.dev import motifs as motifs_module


@pytest.fixture(scope="module")
def full_task():  # type: ignore[no-untyped-def]
    return make_dev_task("MotifNetDev-4-50", 100, None)


def test_the_suite_task_shapes_dtypes_and_hidden_top(full_task) -> None:  # type: ignore[no-untyped-def]
    data = full_task.offline_data()
    assert full_task.name == "MotifNetDev-4-50" and "MotifNetDev-C-L" in DEV_TASK_PATTERNS
    assert data.n == 16_000 and data.x.shape == (16_000, 50) and data.x.dtype == np.int64
    assert data.y.shape == (16_000, 1) and data.y.dtype == np.float32
    assert data.num_classes == 4 and data.x.min() == 0 and data.x.max() == 3
    out = full_task.predict(data.x[:9])
    assert out.shape == (9, 1) and out.dtype == np.float32 and np.all(out >= 0.0)
    lib = draw_motifnet(50, 4, 100)
    hidden = lib.y_obs.reshape(-1) > np.percentile(lib.y_obs, 80)
    assert np.array_equal(lib.x[~hidden], data.x) and np.array_equal(lib.y_obs[~hidden], data.y)
    given_clean = full_task.predict(data.x).reshape(-1)
    assert given_clean.max() < lib.y[hidden].max() == full_task.y_full_max  # the best rows are hidden
    assert full_task.normalize(given_clean.max()) < 0.6
    # what makes it hard: uniform random designs are unfolded, far below the given rows
    uniform = np.random.default_rng(0).integers(0, 4, size=(128, 50))
    assert full_task.predict(uniform).max() < 0.2 * np.sort(given_clean)[-128]


def test_library_is_clustered_distinct_and_noisy() -> None:
    lib = draw_motifnet(40, 4, 101, n_rows=3_000)
    assert lib.x.shape == (3_000, 40) and len(np.unique(lib.x, axis=0)) == 3_000
    nearest = (lib.x[:, None, :] != lib.parents[None]).sum(axis=2).min(axis=1)
    assert np.all(nearest <= lib.depth) and np.all((lib.depth >= 1) & (lib.depth <= 20))
    assert 0.2 < np.mean(lib.depth <= 3) < 0.5 and np.mean(nearest <= 10) > 0.6  # rows cluster around the parents
    assert np.all(lib.oracle.folded(lib.parents) > 0.5)  # the parents are functional
    residual = (lib.y_obs - lib.y).reshape(-1)
    assert residual.std() == pytest.approx(0.15 * lib.y.std(), rel=0.1)
    assert np.corrcoef(lib.y.reshape(-1), lib.y_obs.reshape(-1))[0, 1] > 0.95
    dead = lib.y.reshape(-1) < 0.05
    assert lib.depth[dead].mean() > lib.depth[~dead].mean()  # deep mutants fall out of the folded region


def test_same_seed_same_task_other_seed_other_function() -> None:
    a, b, c = (make_motifnet(36, 4, s, n_rows=500) for s in (100, 100, 101))
    probe = np.random.default_rng(0).integers(0, 4, size=(64, 36))
    probe[:32] = a.x[:32]
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.predict(probe), b.predict(probe))
    assert (a.y_full_min, a.y_full_max) == (b.y_full_min, b.y_full_max)
    assert not np.array_equal(a.x[:50], c.x[:50]) and not np.allclose(a.predict(probe), c.predict(probe))


def test_oracle_features_and_batching(monkeypatch: pytest.MonkeyPatch) -> None:
    lib = draw_motifnet(36, 3, 102, n_rows=300)
    oracle = lib.oracle
    feats = oracle.features(lib.x)
    assert feats.shape == (300, 12) and feats.dtype == np.float64
    assert np.all((feats[:, :11] >= 0.0) & (feats[:, :11] <= 1.0)) and np.all(feats[:, 11] <= 0.0)
    whole = oracle(lib.x)
    monkeypatch.setattr(motifs_module, "_BATCH", 7)
    assert np.array_equal(oracle(lib.x), whole)
    pwm = oracle.pwms[0]
    consensus = np.tile(pwm.argmax(axis=1), 8)[None, :36]  # the motif at position 0
    assert oracle.occupancy(consensus, 0)[0, 0] > 0.9


@pytest.mark.parametrize("name", ["MotifNetDev-4-31", "MotifNetDev-1-50"])
def test_sizes_it_cannot_have_are_refused(name: str) -> None:
    with pytest.raises(InvalidDataError, match="MotifNetDev needs"):
        make_dev_task(name, 100, None)


def test_reported_seeds_are_refused() -> None:
    with pytest.raises(ConfigError, match="seed must be >= 100"):
        make_dev_task("MotifNetDev-4-50", 0, None)
