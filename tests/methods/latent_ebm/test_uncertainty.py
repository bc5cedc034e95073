"""Predictive uncertainty, acquisitions and interval coverage (n2ce_bbo.methods.latent_ebm.uncertainty)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.methods.latent_ebm.uncertainty import (
    acquisition,
    calibration_line,
    crossfit_scales,
    expected_improvement,
    interval_coverage,
    not_measured,
    recalibration_scale,
)


def test_ucb_with_beta_zero_is_the_mean_and_grows_with_std() -> None:
    mean, std = np.array([0.5, -1.0, 2.0]), np.array([0.1, 2.0, 0.3])
    np.testing.assert_array_equal(acquisition("ucb", mean, std, best=0.0, beta=0.0), mean)
    np.testing.assert_array_equal(acquisition("mean", mean, std, best=0.0), mean)
    np.testing.assert_allclose(acquisition("ucb", mean, std, best=0.0, beta=2.0), mean + 2 * std)
    with pytest.raises(ConfigError, match="acquisition"):
        acquisition("pi", mean, std, best=0.0)


def test_expected_improvement_closed_form_and_monotone_in_mean() -> None:
    # at the incumbent, EI = std · φ(0)
    assert expected_improvement(np.array([1.0]), np.array([2.0]), 1.0)[0] == pytest.approx(2 / math.sqrt(2 * math.pi))
    # far above the incumbent, EI ≈ the gap
    assert expected_improvement(np.array([10.0]), np.array([0.1]), 0.0)[0] == pytest.approx(10.0)
    mean = np.linspace(-5, 5, 101)
    ei = expected_improvement(mean, np.full_like(mean, 0.7), best=1.0)
    assert (ei >= 0).all() and (np.diff(ei) > 0).all()  # strictly increasing in the mean at a fixed std
    # more uncertainty, more expected improvement below the incumbent
    assert expected_improvement(np.array([0.0]), np.array([1.0]), 1.0)[0] > \
        expected_improvement(np.array([0.0]), np.array([0.5]), 1.0)[0]
    with pytest.raises(InvalidDataError, match="positive std"):
        expected_improvement(np.array([0.0]), np.array([0.0]), 1.0)


def test_interval_coverage_counts_rows_inside_each_interval() -> None:
    y = np.array([0.0, 0.5, 1.5, 3.0])
    out = interval_coverage(y, np.zeros(4), np.ones(4))
    assert out == {"coverage_68": 0.5, "coverage_95": 0.75, "n_rows": 4}
    # a large sample of exact Gaussians is calibrated
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=20_000), rng.uniform(0.5, 2.0, size=20_000)
    cal = interval_coverage(mean + std * rng.normal(size=20_000), mean, std)
    assert cal["coverage_68"] == pytest.approx(0.683, abs=0.01) and cal["coverage_95"] == pytest.approx(0.95, abs=0.01)
    assert interval_coverage(np.zeros(0), np.zeros(0), np.zeros(0))["coverage_68"] is None
    with pytest.raises(InvalidDataError):
        interval_coverage(np.zeros(2), np.zeros(3), np.ones(3))


def test_calibration_line_says_coverage_or_why_not() -> None:
    line = calibration_line({"coverage_68": 0.5, "coverage_95": 0.75, "n_rows": 4})
    assert "4 held-out rows" in line and "covers 50%" in line and "75%" in line
    assert "not measured (too few rows)" in calibration_line(not_measured("too few rows"))


def test_recalibration_scale_is_the_conformal_quantile_and_never_shrinks() -> None:
    # 19 rows with |y - mean| / std = 1..19: rank ceil(20 · 0.95) = 19, the largest ratio
    y = np.arange(1.0, 20.0)
    s = recalibration_scale(y, np.zeros(19), np.ones(19))
    assert s == pytest.approx(19 / 1.96)
    assert interval_coverage(y, np.zeros(19), np.full(19, s))["coverage_95"] == 1.0
    # 99 rows: rank ceil(100 · 0.95) = 95; std 2 halves the ratios
    y = np.arange(1.0, 100.0)
    assert recalibration_scale(y, np.zeros(99), np.full(99, 2.0)) == pytest.approx(47.5 / 1.96)
    # an over-wide std is left as it is (factor 1), as is an empty set of rows
    assert recalibration_scale(np.full(10, 0.1), np.zeros(10), np.ones(10)) == 1.0
    assert recalibration_scale(np.zeros(0), np.zeros(0), np.zeros(0)) == 1.0
    # Gaussian errors 5 times the std: the factor restores 95 % coverage on fresh rows
    rng = np.random.default_rng(1)
    s = recalibration_scale(5 * rng.normal(size=2000), np.zeros(2000), np.ones(2000))
    assert s == pytest.approx(5.0, rel=0.1)
    fresh = interval_coverage(5 * rng.normal(size=20_000), np.zeros(20_000), np.full(20_000, s))
    assert fresh["coverage_95"] == pytest.approx(0.95, abs=0.015)
    with pytest.raises(InvalidDataError, match="positive std"):
        recalibration_scale(np.ones(2), np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(InvalidDataError, match="level"):
        recalibration_scale(np.ones(2), np.zeros(2), np.ones(2), level=1.0)
    with pytest.raises(InvalidDataError, match="equal lengths"):
        recalibration_scale(np.ones(2), np.zeros(3), np.ones(3))


def test_crossfit_scales_take_each_rows_factor_from_the_other_half() -> None:
    y = np.array([1.0, 10.0, 2.0, 20.0, 3.0, 30.0])  # even positions small errors, odd positions large
    out = crossfit_scales(y, np.zeros(6), np.ones(6))
    even, odd = recalibration_scale(y[0::2], np.zeros(3), np.ones(3)), recalibration_scale(y[1::2], np.zeros(3),
                                                                                          np.ones(3))
    np.testing.assert_allclose(out, [odd, even] * 3)
    np.testing.assert_array_equal(crossfit_scales(np.ones(1), np.zeros(1), np.ones(1)), [1.0])
