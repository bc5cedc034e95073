"""Uncertainty on every prediction: the predictive std (n2ce_bbo.workflow.prediction, FittedModel.predict_with_std),
its calibration on held-out rows (recorded at fit time, written to the model folder) and the acquisitions."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.cli import main
from n2ce_bbo.errors import ConfigError, CorruptDataError
from n2ce_bbo.workflow.model import FittedModel

from .conftest import TINY, as_overrides, dna_rows, write_dna_csv

pytestmark = pytest.mark.usefixtures("one_thread")

#: rows enough for the rehearsal (rehearsal.min_rows 100), so the calibration is measured
N_ROWS = 240


@pytest.fixture(scope="module")
def rows() -> tuple[list[str], list[float]]:
    return dna_rows(N_ROWS)


@pytest.fixture(scope="module")
def model(rows: tuple[list[str], list[float]]) -> FittedModel:
    return n2ce_bbo.fit(rows, config=TINY, device="cpu")


@pytest.fixture(scope="module")
def ensemble(rows: tuple[list[str], list[float]]) -> FittedModel:
    cfg = {**TINY, "model": {**TINY["model"], "value_heads": 3}, "rehearsal": {"enabled": False}}
    return n2ce_bbo.fit(rows, config=cfg, device="cpu")


def test_std_has_the_shape_and_units_of_the_prediction(model: FittedModel, rows: tuple[list[str], list[float]]) -> None:
    seqs, ys = rows
    x = model.data.x[:30]
    p = model.predict_with_std(x)
    assert p.predicted.shape == p.predicted_std.shape == p.in_distribution.shape == (30,)
    assert p.predicted_std.dtype == np.float64 and (p.predicted_std > 0).all()
    # one value head: the std is σ_y (standardised) times the rehearsal's recalibration factor (>= 1) times the
    # training scores' std, everywhere
    scale = model.method.rehearsal["std_scale"]
    assert scale >= 1.0 and model.method.surrogate.std_scale == scale == model.calibration["std_scale"]
    sigma_y = model.method.surrogate.y_noise_std
    np.testing.assert_allclose(p.predicted_std, scale * sigma_y * np.std(ys), rtol=1e-6)
    predicted, pct, logp = model.predict(x)  # the old call is unchanged
    np.testing.assert_array_equal(predicted, p.predicted)
    np.testing.assert_array_equal(pct, p.in_distribution)
    np.testing.assert_array_equal(logp, p.log_density)


def test_several_heads_give_a_std_that_varies_by_design(ensemble: FittedModel,
                                                        rows: tuple[list[str], list[float]]) -> None:
    _, ys = rows
    p = ensemble.predict_with_std(ensemble.data.x)
    # the heads' spread adds to σ_y (no rehearsal here, so no recalibration factor)
    assert (p.predicted_std >= ensemble.method.surrogate.y_noise_std * np.std(ys) * (1 - 1e-6)).all()
    assert np.std(p.predicted_std) > 0 and np.unique(p.predicted_std.round(8)).size > 10
    r = ensemble.propose(8, seed=2)
    assert r.predicted_std is not None and r.predicted_std.shape == (len(r.x),) and np.std(r.predicted_std) > 0


def test_calibration_is_measured_on_held_out_rows_and_saved(model: FittedModel, tmp_path: Path) -> None:
    cal = model.calibration
    assert cal is not None and cal["n_rows"] == 48  # the rehearsal hides 10 % top + 10 % random of 240 rows
    for key in ("coverage_68", "coverage_95"):
        assert 0.0 <= cal[key] <= 1.0
    assert cal["coverage_68"] <= cal["coverage_95"]
    assert set(cal["by_slice"]) == {"top", "random"} and cal["by_slice"]["top"]["n_rows"] == 24
    folder = model.save(tmp_path / "m")
    assert json.loads((folder / "calibration.json").read_text()) == json.loads(json.dumps(cal))
    assert "calibration.json" in (folder / "SHA256SUMS").read_text()
    loaded = n2ce_bbo.load(folder, device="cpu")
    assert loaded.calibration == json.loads(json.dumps(cal))
    # the recalibrated std comes back with the saved model
    np.testing.assert_allclose(loaded.predict_with_std(model.data.x[:5]).predicted_std,
                               model.predict_with_std(model.data.x[:5]).predicted_std, rtol=1e-6)
    edited = dict(cal, coverage_95=0.95)
    (folder / "calibration.json").write_text(json.dumps(edited))
    with pytest.raises(CorruptDataError, match="calibration.json fails its sha256 check"):
        n2ce_bbo.load(folder, device="cpu")


def test_calibration_not_measured_says_why(ensemble: FittedModel) -> None:
    cal = ensemble.calibration
    assert cal is not None and cal["coverage_68"] is None and cal["n_rows"] == 0
    assert "rehearsal.enabled is false" in cal["not_measured"]


def test_result_carries_the_std_everywhere(model: FittedModel, tmp_path: Path) -> None:
    r = model.propose(10, seed=1)
    assert r.predicted_std is not None and r.predicted_std.shape == (len(r.x),) and (r.predicted_std > 0).all()
    out = r.save(tmp_path / "run", plot=False)
    with (out / "designs.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header.index("predicted_y_std") == header.index("predicted_y") + 1
    with np.load(out / "designs.npz") as z:
        np.testing.assert_array_equal(z["predicted_std"], r.predicted_std)
    summary = json.loads((out / "result.json").read_text())["predicted"]
    assert summary["std_median"] == pytest.approx(float(np.median(r.predicted_std)))
    assert "predictive std of y" in r.summary()


def test_mean_acquisition_is_todays_proposal_and_ucb_beta_zero_matches_it(model: FittedModel) -> None:
    default = model.propose(10, seed=4)
    mean = model.propose(10, seed=4, acquisition="mean")
    ucb0 = model.propose(10, seed=4, acquisition="ucb", ucb_beta=0.0)
    for other in (mean, ucb0):
        np.testing.assert_array_equal(other.x, default.x)
        np.testing.assert_array_equal(other.surrogate_scores, default.surrogate_scores)
    assert default.config["propose"]["acquisition"] == "mean" and ucb0.config["propose"]["acquisition"] == "ucb"
    ei = model.propose(10, seed=4, acquisition="ei")
    assert ei.config["propose"]["acquisition"] == "ei" and np.isfinite(ei.surrogate_scores).all()
    assert model.method.config.propose.acquisition == "mean"  # restored after the call


def test_ucb_and_ei_are_refused_without_a_predictive_std() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, size=(40, 2))
    y = -(x**2).sum(1)
    with pytest.raises(ConfigError, match="only the latent-EBM methods"):
        n2ce_bbo.optimize((x, y), method="grad", budget=4, acquisition="ucb")
    with pytest.raises(ConfigError, match="acquisition"):
        n2ce_bbo.optimize((x, y), budget=4, acquisition="thompson")
    with pytest.raises(ConfigError, match="ucb_beta"):
        n2ce_bbo.optimize((x, y), budget=4, acquisition="ucb", ucb_beta=-1.0)


def test_cli_acquisition_writes_the_std_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "activity.csv"
    write_dna_csv(data, n=90)  # fewer rows than rehearsal.min_rows: no rehearsal, so no calibration
    out = tmp_path / "run"
    assert main(["optimize", "--data", str(data), "--target", "score", "--design-column", "sequence", "--budget", "8",
                 "--acquisition", "ucb", "--ucb-beta", "2", "--out", str(out), "--quiet", "--device", "cpu",
                 *as_overrides(TINY)]) == 0
    printed = capsys.readouterr().out
    assert "calibration: not measured (no rehearsal: 90 training rows < rehearsal.min_rows (100))" in printed
    with (out / "designs.csv").open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 8 and all(float(r["predicted_score_std"]) > 0 for r in table)
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["propose"]["acquisition"] == "ucb" and result["config"]["propose"]["ucb_beta"] == 2.0
    again = tmp_path / "again"
    assert main(["propose", "--model", str(out / "model"), "--budget", "4", "--acquisition", "ei", "--out",
                 str(again), "--quiet", "--device", "cpu"]) == 0
    assert json.loads((again / "result.json").read_text())["config"]["propose"]["acquisition"] == "ei"
