"""Tests of the oracle-free rehearsal (n2ce_bbo.methods.latent_ebm.rehearsal)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.latent_ebm.rehearsal import choose, holdout_split, recovery, rehearsal_calibration
from n2ce_bbo.methods.latent_ebm.uncertainty import crossfit_scales, recalibration_scale


def test_holdout_split_partitions_rows_and_hides_the_top() -> None:
    y = np.random.default_rng(0).normal(size=200)
    s = holdout_split(y, 0.1, 0.2, seed=3)
    allidx = np.concatenate([s.fit, s.top, s.random])
    assert np.array_equal(np.sort(allidx), np.arange(200))
    assert s.top.size == 20 and s.random.size == 40
    assert y[s.top].min() >= y[s.fit].max()  # every hidden top row beats every fitted row
    assert np.array_equal(s.pool[:20], s.top)
    again = holdout_split(y, 0.1, 0.2, seed=3)
    other = holdout_split(y, 0.1, 0.2, seed=4)
    assert np.array_equal(again.random, s.random) and not np.array_equal(other.random, s.random)


def test_holdout_split_rejects_bad_fractions_and_tiny_data() -> None:
    with pytest.raises(InvalidDataError, match="fractions"):
        holdout_split(np.arange(100.0), 0.0, 0.1, 0)
    with pytest.raises(InvalidDataError, match="too few"):
        holdout_split(np.arange(12.0), 0.1, 0.1, 0)


def test_recovery_and_choose() -> None:
    y = np.array([5.0, 4.0, 0.0, -1.0])
    good = np.array([0.9, 0.8, 0.1, 0.0])
    bad = -good
    assert recovery(good, y, 2) == 4.5 and recovery(bad, y, 2) == -0.5
    assert recovery(np.array([np.nan, 1.0, 0.0, 0.0]), y, 1) == 4.0  # NaN ranks last
    best, table = choose({"w=0": bad, "w=1": good}, y, 2)
    assert best == "w=1" and table == {"w=0": -0.5, "w=1": 4.5}
    tie, _ = choose([("simple", good), ("fancy", good.copy())], y, 2)
    assert tie == "simple"
    with pytest.raises(InvalidDataError):
        choose({}, y, 2)


class _Flat:
    """A stand-in surrogate: predicts 0 with std 1 for every design; designs are their own true scores."""

    std_scale = 1.0

    def heads_and_log_density(self, x: np.ndarray, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, len(x), dtype=torch.float64), torch.zeros(len(x), dtype=torch.float64)

    @staticmethod
    def head_mean(members: torch.Tensor) -> torch.Tensor:
        return members[0]

    def predictive_std(self, members: torch.Tensor) -> torch.Tensor:
        return self.std_scale * torch.ones(members.shape[1], dtype=torch.float64)

    @staticmethod
    def standardize_y(y: np.ndarray) -> np.ndarray:
        return y


def test_rehearsal_calibration_chooses_the_factor_and_judges_it_on_the_other_half() -> None:
    rng = np.random.default_rng(0)
    top, random = 8.0 + rng.normal(size=20), 3.0 * rng.normal(size=20)  # the top slice errs far more
    y = np.concatenate([top, random])
    x = np.zeros((40, 2))
    rec = rehearsal_calibration(_Flat(), x, y, 20, 64)
    assert rec["std_scale"] == pytest.approx(recalibration_scale(y, np.zeros(40), np.ones(40)))
    assert rec["recalibrate"] == "all" and rec["n_rows"] == 40 and rec["by_slice"]["top"]["n_rows"] == 20
    crossed = crossfit_scales(y, np.zeros(40), np.ones(40))
    assert rec["coverage_95"] == pytest.approx(float(np.mean(np.abs(y) <= 1.96 * crossed)))
    assert rec["uncalibrated"]["coverage_95"] == pytest.approx(float(np.mean(np.abs(y) <= 1.96)))
    assert rec["coverage_95"] > rec["uncalibrated"]["coverage_95"]
    # the random slice alone: a smaller factor, applied whole to the top slice
    alone = rehearsal_calibration(_Flat(), x, y, 20, 64, recalibrate="random")
    assert alone["std_scale"] == pytest.approx(recalibration_scale(random, np.zeros(20), np.ones(20)))
    assert alone["std_scale"] < rec["std_scale"]
    assert alone["by_slice"]["top"]["coverage_95"] == pytest.approx(
        float(np.mean(np.abs(top) <= 1.96 * alone["std_scale"])))
    none = rehearsal_calibration(_Flat(), x, y, 20, 64, recalibrate="none")
    assert none["std_scale"] == 1.0 and none["coverage_95"] == none["uncalibrated"]["coverage_95"]
