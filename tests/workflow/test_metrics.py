"""Diversity, novelty and percentile helpers, checked against brute force."""

from __future__ import annotations

import numpy as np

from n2ce_bbo.workflow.metrics import (
    batch_report,
    box_diagonal,
    nearest_distances,
    percentile_of,
    spread_prefix,
)


def test_nearest_distances_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    x, ref = rng.normal(size=(7, 3)), rng.normal(size=(50, 3))
    brute = np.sqrt(((x[:, None] - ref[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(x, ref, discrete=False, chunk=8), brute, atol=1e-9)
    t, tref = rng.integers(0, 4, (6, 5)), rng.integers(0, 4, (40, 5))
    np.testing.assert_array_equal(nearest_distances(t, tref, discrete=True, chunk=7),
                                  (t[:, None] != tref[None]).sum(-1).min(1))


def test_spread_prefix_and_report() -> None:
    x = np.array([[0.0, 0.0], [0.0, 0.05], [3.0, 4.0]])
    np.testing.assert_allclose(spread_prefix(x, discrete=False), [np.inf, 0.05, 5.0 - 0.0 * 1], atol=0.05)
    bounds = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert box_diagonal(bounds, x) == 5.0
    rep, nov = batch_report(x, np.array([[0.0, 0.0]]), discrete=False, bounds=bounds, min_distance=0.05)
    assert rep["n_distinct"] == 3 and rep["novelty"]["n_in_training"] == 1
    assert rep["diversity"]["n_spread"] == 2  # the second design is 1% of the diagonal from the first
    np.testing.assert_allclose(nov, [0.0, 0.01, 1.0])


def test_percentile_of() -> None:
    ref = np.arange(10.0)
    np.testing.assert_allclose(percentile_of(np.array([-1.0, 0.0, 4.5, 9.0]), ref), [0.0, 10.0, 50.0, 100.0])
