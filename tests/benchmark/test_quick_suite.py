"""The shipped quick suite end to end with the real optimize() cells (embedded tasks, small models), run by name
through the command line from a folder outside the repository, as a pip-installed user would."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from n2ce_bbo.benchmark import load_cells, load_suite, write_report
from n2ce_bbo.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_suite_runs_by_name_from_any_folder_and_reports(tmp_path, monkeypatch, capsys):
    work = tmp_path / "empty"
    work.mkdir()
    monkeypatch.chdir(work)
    assert REPO.resolve() not in work.resolve().parents
    # one seed and one task keep the test short (the shipped suite has two of each; Ehrlich's end-to-end path is
    # tested in tests/test_cuda.py and tests/methods/latent_ebm/)
    assert main(["benchmark", "quick", "--out", "X", "--workers", "0", "--seeds", "1", "--tasks", "Branin-Exact-v0"]) == 0
    assert "# Benchmark report: quick" in capsys.readouterr().out
    suite = load_suite("quick")
    out = work / "X"
    records, corrupt = load_cells(out)
    assert not corrupt and len(records) == len(suite.methods)
    assert {r["seed"] for r in records.values()} == {0}
    bad = {k: r.get("error") for k, r in records.items() if r["status"] != "ok"}
    assert not bad, bad
    for rec in records.values():
        assert 0.0 <= rec["p100"] <= 1.0 + 1e-9 and rec["p50"] <= rec["p100"]
        assert rec["train_s"] >= 0 and rec["config"]["prior"]["M"] >= 1
    assert records["Branin-Exact-v0__n2ce-M10__seed0"]["config"]["prior"]["M"] == 10
    csv_path, _ = write_report(out)
    rows = list(csv.DictReader(csv_path.open()))
    assert {r["method"] for r in rows} == {"n2ce", "n2ce-M10", "nce", "gaussian"}
    assert (out / "score_vs_M.png").is_file()
