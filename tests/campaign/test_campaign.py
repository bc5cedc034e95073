"""A campaign through the Python API: rounds on a synthetic lab, pending designs, warm refits, bad input, a
damaged or interrupted folder."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.campaign import Campaign
from n2ce_bbo.campaign.store import STEPS
from n2ce_bbo.errors import CorruptDataError, DataWarning, InvalidDataError, OutputError

from .conftest import TINY, initial_sequences, lab, write_table

pytestmark = pytest.mark.usefixtures("one_thread")


def _steps(root: Path) -> list[str]:
    return sorted(p.name for p in (root / STEPS).iterdir())


def _rows(designs: list[str]) -> list[dict[str, object]]:
    return [{"sequence": s, "activity": lab(s)} for s in designs]


def test_three_rounds_on_a_synthetic_lab(tmp_path: Path, data_csv: Path) -> None:
    c = n2ce_bbo.Campaign.init(tmp_path / "c", data_csv, "activity", design_column="sequence", alphabet="dna",
                               config=TINY, device="cpu")
    initial = set(initial_sequences(120, 11))
    proposed: list[str] = []
    # round 1: measure 6 of 8; 2 stay pending while round 2 is proposed
    r1 = c.propose(8, seed=1, report=False).designs()
    rep1 = c.add(_rows(r1[:6]) + [{"sequence": "GGGGGGGGGGG", "activity": lab("GGGGGGGGGGG")}])
    assert (rep1.rows, rep1.matched, rep1.extra, rep1.by_round) == (7, 6, 1, {1: 6})
    assert sorted(c.pending()) == sorted(r1[6:])
    r2 = c.propose(8, seed=1, report=False).designs()  # the same seed: only the exclusions keep it from repeating
    assert not set(r2) & set(r1), "a pending or measured design was proposed again"
    rep2 = c.add(_rows(r2 + r1[6:]))  # round 2, and round 1's last two
    assert rep2.by_round == {1: 2, 2: 8} and rep2.extra == 0
    r3 = c.propose(8, seed=2).designs()
    c.add(_rows(r3[:4]))
    for batch in (r1, r2, r3):
        assert len(batch) == 8 == len(set(batch))
        proposed += batch
    assert len(proposed) == len(set(proposed)), "a design was proposed in two rounds"
    assert not set(proposed) & initial and "GGGGGGGGGGG" not in proposed

    again = Campaign.open(tmp_path / "c", device="cpu")
    table = again.status()
    assert [r.round for r in table] == [0, 1, 2, 3]
    assert [(r.proposed, r.measured, r.pending) for r in table[1:]] == [(8, 8, 0), (8, 8, 0), (8, 4, 4)]
    assert [r.extra for r in table] == [0, 1, 0, 0]
    best = [r.best for r in table]
    assert best == sorted(best), "the best so far decreased"
    every = [lab(s) for s in initial] + [lab(s) for s in proposed[:8 + 8 + 4]] + [lab("GGGGGGGGGGG")]
    assert best[-1] == pytest.approx(max(every))
    assert table[0].best == pytest.approx(max(lab(s) for s in initial))
    assert table[3].mean_measured == pytest.approx(np.mean([lab(s) for s in r3[:4]]))
    assert table[1].coverage_68 is not None and 0 <= table[1].coverage_68 <= table[1].coverage_95 <= 1
    assert sorted(again.pending()) == sorted(r3[4:])
    log = (again.history.added[0].step.path / "measured.csv").read_text().splitlines()
    assert log[0] == "sequence,activity,input_row,status,round,rank" and log[-1].split(",")[3] == "extra"
    text = again.status_text()
    assert "warm" in text and "note" not in text
    png = again.plot()
    assert png == tmp_path / "c" / "campaign.png" and png.read_bytes()[:4] == b"\x89PNG"
    assert (again.history.batches[2].step.path / "report.png").is_file()
    assert not (again.history.batches[0].step.path / "report.png").exists()


def test_warm_refit_reuses_the_rehearsal_and_runs_fewer_steps(tmp_path: Path) -> None:
    seqs = initial_sequences(150, 8)
    write_table(tmp_path / "d.csv", seqs)
    config = {**TINY, "rehearsal": {"min_rows": 100}, "train": {"max_steps": 80, "batch_size": 64}}
    c = Campaign.init(tmp_path / "c", tmp_path / "d.csv", "activity", design_column="sequence", config=config,
                      device="cpu")
    first = c.history.steps[0].record["fit"]
    assert first["warm"] is False and first["rehearsal_enabled"] and first["steps"] == 80
    c.add(_rows(c.propose(6, seed=0, report=False).designs()))
    fit = c.history.steps[-1].record["fit"]
    assert fit["warm"] is True and fit["rehearsal_reused"] is True
    assert fit["cold_steps"] == 80 and fit["steps"] == math.ceil(0.25 * 80)
    assert fit["rehearsal_weight"] == first["rehearsal_weight"]
    saved = json.loads((c.history.steps[-1].path / "model" / "model.json").read_text())
    assert saved["method_state"]["rehearsal"]["reused"] is True
    model = c.model()
    assert model.history["warm_start"]["used"] and model.history["warm_start"]["frame"] == "previous"
    assert model.data.n == 156
    # asked for: cold, the rehearsal rerun
    c.add(_rows(c.propose(4, seed=0, report=False).designs()), cold=True)
    fit = c.history.steps[-1].record["fit"]
    assert fit["warm"] is False and fit["reason"] == "cold refit asked for" and fit["steps"] == 80
    assert not fit["rehearsal_reused"]


def test_unparseable_measured_file_names_line_and_column_and_writes_nothing(tmp_path: Path, data_csv: Path) -> None:
    c = Campaign.init(tmp_path / "c", data_csv, "activity", design_column="sequence", config=TINY, device="cpu")
    batch = c.propose(4, seed=0, report=False).designs()
    before = _steps(tmp_path / "c")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"sequence,activity\n{batch[0]},1.5\nACGTNACGTAC,0.3\n{batch[1]},2\n")
    with pytest.raises(InvalidDataError, match=r"bad\.csv: line 3, column 'sequence': letter 'N' at position 4"):
        c.add(bad)
    bad.write_text(f"sequence,activity\n{batch[0]},1.5\n{batch[1]},high\n")
    with pytest.raises(InvalidDataError, match=r"bad\.csv, line 3, target column 'activity': 'high' is not a number"):
        c.add(bad)
    bad.write_text(f"sequence,activity\n{batch[0]},1.5\nACGT,2\n")
    with pytest.raises(InvalidDataError, match=r"line 3, column 'sequence': sequence 'ACGT' has length 4"):
        c.add(bad)
    bad.write_text(f"sequence,activity\n{batch[0]},1.5\n{batch[0]},1.7\n")
    with pytest.raises(InvalidDataError, match=r"line 3: \w+ repeats line 2"):
        c.add(bad)
    assert _steps(tmp_path / "c") == before and len(c.pending()) == 4
    c.add(write_table(tmp_path / "ok.csv", batch[:2]))
    with pytest.raises(InvalidDataError, match=r"line 2: \w+ was already measured \(added by step 0002-round1-add "
                                               r"from ok\.csv, line 2\).*one measurement per design"):
        c.add(write_table(tmp_path / "again.csv", batch[:1] + batch[2:]))
    initial = initial_sequences(1, 11)[0]
    with pytest.raises(InvalidDataError, match=r"was already measured \(in the initial data\)"):
        c.add(_rows([initial]))
    assert len(_steps(tmp_path / "c")) == len(before) + 1 and sorted(c.pending()) == sorted(batch[2:])


def test_open_ignores_an_incomplete_step_and_the_next_write_removes_it(tmp_path: Path, data_csv: Path) -> None:
    c = Campaign.init(tmp_path / "c", data_csv, "activity", design_column="sequence", config=TINY, device="cpu")
    batch = c.propose(4, seed=0, report=False).designs()
    half = tmp_path / "c" / STEPS / ".0002-round1-add.tmp-999999"
    half.mkdir()
    (half / "measured.csv").write_text("sequence,activity\n")  # no step.json: never read
    with pytest.warns(DataWarning, match=r"incomplete step 0002-round1-add .*ignored"):
        again = Campaign.open(tmp_path / "c", device="cpu")
    assert again.round == 1 and len(again.history.steps) == 2 and "note: an incomplete step" in again.status_text()
    again.add(_rows(batch[:2]))
    assert not half.exists() and _steps(tmp_path / "c")[-1] == "0002-round1-add"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not Campaign.open(tmp_path / "c", device="cpu").notes


def test_a_modified_step_is_refused_and_a_campaign_is_not_started_twice(tmp_path: Path, data_csv: Path) -> None:
    c = Campaign.init(tmp_path / "c", data_csv, "activity", design_column="sequence", config=TINY, device="cpu")
    c.add(_rows(c.propose(4, seed=0, report=False).designs()[:2]))
    with pytest.raises(OutputError, match="holds a campaign already|is not empty"):
        Campaign.init(tmp_path / "c", data_csv, "activity", design_column="sequence", config=TINY, device="cpu")
    npz = next((tmp_path / "c" / STEPS).glob("0001-*")) / "designs.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(CorruptDataError, match="designs.npz was modified after the step was written"):
        Campaign.open(tmp_path / "c")
    shutil.rmtree(npz.parent)
    with pytest.raises(CorruptDataError, match="step 0001 is missing|steps are never removed"):
        Campaign.open(tmp_path / "c")


def test_a_baseline_refits_cold_at_each_proposal_on_continuous_designs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(80, 2))

    def hardness(a: float, b: float) -> float:
        return round(10 - 30 * ((a - 0.7) ** 2 + (b - 0.2) ** 2), 3)

    (tmp_path / "d.csv").write_text("a,b,hardness\n" + "".join(f"{a:.4f},{b:.4f},{hardness(a, b)}\n" for a, b in x))
    tiny = {"regressor": {"hidden_sizes": [16], "epochs": 2, "batch_size": 100}, "n_steps": 10}
    c = Campaign.init(tmp_path / "c", tmp_path / "d.csv", "hardness", method="grad", config=tiny, device="cpu")
    assert c.history.model_step() is None and "fit" not in c.history.steps[0].record
    first = c.propose(4, seed=0, report=False)
    assert c.history.steps[-1].record["fit"]["warm"] is False  # fitted here, on every row
    # the lab rounds the designs to 3 decimals: still matched, within the tolerance
    rows = [{"a": f"{a:.3f}", "b": f"{b:.3f}", "hardness": hardness(a, b)} for a, b in first.x[:3]]
    rep = c.add(rows)
    assert (rep.matched, rep.extra, rep.fit) == (3, 0, {}) and "next propose refits it cold" in rep.summary()
    second = c.propose(4, seed=0, report=False)
    seen = {tuple(r) for r in np.round(np.concatenate([x, first.x]), 4)}
    assert not {tuple(r) for r in np.round(second.x, 4)} & seen
    table = c.status()
    assert [(r.proposed, r.measured, r.pending) for r in table[1:]] == [(4, 3, 1), (4, 0, 4)]
    assert table[1].fit.startswith("cold") and table[1].mean_predicted is None
