"""The distance trust region around the best training designs (pure numpy, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.trust_region import TrustRegion, data_radius, fit_trust_region
from n2ce_bbo.tasks.base import OfflineData


def _brute_hamming(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    return np.array([min(int((r != a).sum()) for a in anchors) for r in x], dtype=np.float64)


def test_token_distance_is_the_hamming_distance_to_the_nearest_best_design() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(200, 8))
    y = rng.normal(size=(200, 1)).astype(np.float32)
    data = OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="t")
    region = fit_trust_region(data, radius=2, n_anchors=10)
    best = np.argsort(-y[:, 0])[:10]
    assert {r.tobytes() for r in region.anchors} == {r.tobytes() for r in x[best].astype(np.int64)}
    probe = rng.integers(0, 4, size=(300, 8))
    assert np.array_equal(region.distances(probe), _brute_hamming(probe, x[best]))
    assert np.array_equal(region.allowed(probe), _brute_hamming(probe, x[best]) <= 2)
    assert region.allowed(x[best]).all()  # the anchors themselves are inside at any radius


def test_chunking_does_not_change_the_distances(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    anchors = rng.integers(0, 3, size=(7, 5))
    region = TrustRegion(anchors=anchors, radius=1.0)
    probe = rng.integers(0, 3, size=(50, 5))
    whole = region.distances(probe)
    monkeypatch.setattr("n2ce_bbo.methods.trust_region._CHUNK_CELLS", 1)  # one row per chunk
    assert np.array_equal(region.distances(probe), whole)


def test_continuous_distance_is_measured_in_training_standard_deviations() -> None:
    rng = np.random.default_rng(2)
    x = np.stack([rng.normal(0, 1, 400), rng.normal(0, 100, 400)], axis=1).astype(np.float32)
    y = (-np.abs(x[:, :1])).astype(np.float32)
    data = OfflineData(x=x, y=y, is_discrete=False, name="c")
    region = fit_trust_region(data, radius=1.0, n_anchors=1)
    anchor = x[int(np.argmax(y[:, 0]))].astype(np.float64)
    sd = x.astype(np.float64).std(axis=0)
    # one standard deviation along the wide axis is 100 units there, along the narrow one 1 unit
    probe = np.array([anchor + [0, 0.9 * sd[1]], anchor + [1.1 * sd[0], 0], anchor + [0, 1.1 * sd[1]]])
    assert np.allclose(region.distances(probe), [0.9, 1.1, 1.1], atol=1e-6)
    assert region.allowed(probe).tolist() == [True, False, False]


@pytest.mark.parametrize("radius, anchors, key", [(0.0, 4, "radius"), (-1.0, 4, "radius"), (2.0, 0, "n_anchors")])
def test_bad_settings_are_refused_by_name(radius: float, anchors: int, key: str) -> None:
    data = OfflineData(x=np.zeros((3, 2), dtype=np.int64), y=np.zeros((3, 1), np.float32), is_discrete=True,
                       num_classes=2, name="t")
    with pytest.raises(ConfigError, match=key):
        fit_trust_region(data, radius=radius, n_anchors=anchors)


def test_data_radius_is_a_quantile_of_the_best_rows_distance_to_the_best_of_the_rest() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(500, 10))
    y = rng.normal(size=(500, 1)).astype(np.float32)
    data = OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="t")
    order = np.argsort(-y[:, 0], kind="stable")
    hidden, rest = order[:50], order[50:]
    anchors = x[rest[np.argsort(-y[rest, 0], kind="stable")[:32]]]
    expected = np.quantile(_brute_hamming(x[hidden], anchors), 0.5)
    assert data_radius(data, n_anchors=32, top_fraction=0.1, quantile=0.5) == max(expected, 1.0)
    assert data_radius(data, 32, 0.1, 1.0) >= data_radius(data, 32, 0.1, 0.5)


def test_data_radius_of_rows_that_barely_differ_is_one_position() -> None:
    x = np.zeros((40, 6), dtype=np.int64)
    # the best 10 rows (y 30-39) hold their one 1 in positions 0-2, the others in positions 3-5: two edits apart
    x[np.arange(40), np.where(np.arange(40) >= 30, np.arange(40) % 3, 3 + np.arange(40) % 3)] = 1
    data = OfflineData(x=x, y=np.arange(40, dtype=np.float32)[:, None], is_discrete=True, num_classes=2, name="t")
    assert data_radius(data, n_anchors=8, top_fraction=0.25, quantile=0.9) == 2.0
    x[:] = 0
    assert data_radius(data, n_anchors=8, top_fraction=0.25, quantile=0.9) == 1.0  # never below one position
