"""Exporting a run folder: the exported cells alone recompute the summary and the paired intervals."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from n2ce_bbo.benchmark import export_run, join_runs, run_suite, suite_from_dict
from n2ce_bbo.benchmark.export import scrub_command
from n2ce_bbo.benchmark.suite import Cell
from n2ce_bbo.cli import main
from n2ce_bbo.errors import OutputError
from n2ce_bbo.utils import atomic_write_json, derive_seed


def fake_cell(cell: Cell) -> dict:
    """A deterministic stand-in for optimize(); one cell fails."""
    if cell.label == "grad" and cell.seed == 2:
        raise RuntimeError("boom")
    p100 = 0.4 + (derive_seed(cell.task, cell.label, cell.seed) % 500) / 1000.0
    return {"task": cell.task, "method": cell.method, "seed": cell.seed, "budget": cell.budget, "p100": p100,
            "p50": p100 / 2, "train_s": 1.0 + cell.seed, "propose_s": 0.25, "eval_s": 0.0, "n_unique": 8,
            "config": {}, "info": {}, "versions": {}}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    suite = suite_from_dict({
        "name": "exp", "budget": 8, "seeds": [0, 1, 2, 3], "cell_retries": 0, "data_dir": "../shared/data",
        "tasks": ["Branin-Exact-v0", "Ackley-Exact-v0"], "methods": ["n2ce", "grad", "gaussian"],
    })
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=fake_cell, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["runs"][0]["command"] = "n2ce-bbo benchmark design_bench --out runs/x --data-dir ../shared/data"
    atomic_write_json(out / "manifest.json", manifest)
    rec_path = out / "cells" / "Branin-Exact-v0__n2ce__seed0.json"
    rec = json.loads(rec_path.read_text())
    atomic_write_json(rec_path, {**rec, "x": [[0.0, 1.0]] * 8})  # a record that holds its designs
    return out


def _recompute_summary(cells: list[dict]) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(task, label) -> (p100 mean, p100 population std, time mean) from cell records alone."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in cells:
        if r["status"] == "ok":
            groups.setdefault((r["task"], r["label"]), []).append(r)
    return {k: (float(np.mean([r["p100"] for r in g])), float(np.std([r["p100"] for r in g])),
                float(np.mean([r["train_s"] + r["propose_s"] for r in g]))) for k, g in groups.items()}


def test_exported_cells_recompute_the_summary_and_intervals(run_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "results" / "exp"
    (dest / "cells").mkdir(parents=True)
    (dest / "cells" / "Gone-v0__n2ce__seed0.json").write_text("{}")  # a cell the run no longer has
    (dest / "notes.md").write_text("kept")
    export_run(run_dir, dest)

    assert (dest / "notes.md").read_text() == "kept" and not (dest / "cells" / "Gone-v0__n2ce__seed0.json").exists()
    for name in ("suite.yaml", "manifest.json", "summary.csv", "summary.md", "paired.csv", "scores.png"):
        assert (dest / name).is_file(), name
    cells = [json.loads(p.read_text()) for p in sorted((dest / "cells").glob("*.json"))]
    assert len(cells) == 2 * 3 * 4 and sum(c["status"] == "failed" for c in cells) == 2
    assert all("x" not in c for c in cells)
    assert "../shared" not in (dest / "suite.yaml").read_text() + (dest / "manifest.json").read_text()
    assert "--data-dir $N2CE_BBO_DATA_DIR" in (dest / "manifest.json").read_text()

    want = _recompute_summary(cells)
    rows = list(csv.DictReader((dest / "summary.csv").open()))
    assert len(rows) == len(want) == 6
    for r in rows:
        mean, std, t = want[(r["task"], r["method"])]
        assert float(r["p100_mean"]) == pytest.approx(mean, abs=1e-6)
        assert float(r["p100_std"]) == pytest.approx(std, abs=1e-6)
        assert float(r["time_s"]) == pytest.approx(t, abs=1e-6)
    assert next(r for r in rows if r["method"] == "grad")["n_seeds"] == "3"  # the failed seed is not averaged

    by = {(c["task"], c["label"], c["seed"]): c["p50"] for c in cells if c["status"] == "ok"}
    paired = list(csv.DictReader((dest / "paired.csv").open()))
    assert {(p["method_a"], p["method_b"]) for p in paired} == {("n2ce", "grad"), ("n2ce", "gaussian")}
    for p in (p for p in paired if p["metric"] == "p50"):
        seeds = [s for s in range(4) if (p["task"], p["method_b"], s) in by]
        d = np.array([by[(p["task"], "n2ce", s)] - by[(p["task"], p["method_b"], s)] for s in seeds])
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert int(p["n_pairs"]) == len(seeds) == (3 if p["method_b"] == "grad" else 4)
        assert float(p["ci_low"]) == pytest.approx(d.mean() - half, abs=1e-6)
        assert float(p["ci_high"]) == pytest.approx(d.mean() + half, abs=1e-6)


def test_export_refuses_its_own_folder_and_an_empty_run(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="run folder itself"):
        export_run(run_dir, run_dir)
    (tmp_path / "empty").mkdir()
    with pytest.raises(OutputError, match="no cell results"):
        export_run(tmp_path / "empty", tmp_path / "dest")


def test_report_export_on_the_command_line(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "recorded"
    assert main(["report", str(run_dir), "--export", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "Paired differences" in out and "exported 24 cell files" in out
    assert (dest / "paired.csv").is_file() and (run_dir / "paired.csv").is_file()


def _run_seeds(tmp_path: Path, name: str, seeds: list[int]) -> Path:
    suite = suite_from_dict({
        "name": "exp", "budget": 8, "seeds": seeds, "cell_retries": 0,
        "tasks": ["Branin-Exact-v0", "Ackley-Exact-v0"], "methods": ["n2ce", "grad", "gaussian"],
    })
    return run_suite(suite, tmp_path / name, workers=0, cell_fn=fake_cell, progress=False)


def test_two_folders_of_one_suite_join_into_the_table_of_one_run(run_dir: Path, tmp_path: Path) -> None:
    """Seeds 0-1 and 2-3 run into two folders and joined give the tables of the one four-seed run."""
    first, second = _run_seeds(tmp_path, "a", [0, 1]), _run_seeds(tmp_path, "b", [3, 2])
    whole = export_run(run_dir, tmp_path / "whole")
    joined = join_runs([first, second], tmp_path / "joined")

    assert len(list((joined / "cells").glob("*.json"))) == 24
    for name in ("summary.csv", "paired.csv"):
        assert (joined / name).read_text() == (whole / name).read_text(), name
    suite = (joined / "suite.yaml").read_text()
    assert "- 0\n- 1\n- 2\n- 3\n" in suite
    runs = json.loads((joined / "manifest.json").read_text())["runs"]
    assert [r["cells_total"] for r in runs] == [12, 12]


def test_join_refuses_a_cell_that_differs_between_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _run_seeds(tmp_path, "a", [0, 1]), _run_seeds(tmp_path, "b", [2])
    for cell in (first / "cells").glob("*seed1.json"):  # seed 1 in both folders, the same records: joined once
        (second / "cells" / cell.name).write_bytes(cell.read_bytes())
    join_runs([first, second], tmp_path / "same")
    assert len(list((tmp_path / "same" / "cells").glob("*.json"))) == 18
    cell = second / "cells" / "Branin-Exact-v0__n2ce__seed1.json"
    atomic_write_json(cell, {**json.loads(cell.read_text()), "p100": 0.0})
    with pytest.raises(OutputError, match="Branin-Exact-v0__n2ce__seed1"):
        join_runs([first, second], tmp_path / "dest")
    with pytest.raises(OutputError, match="at least two"):
        join_runs([first], tmp_path / "dest")
    assert main(["report", str(first), str(second)]) == 2
    assert "--export" in capsys.readouterr().err


@pytest.mark.parametrize("command,want", [
    ("n2ce-bbo benchmark x --data-dir ../shared/data --out r", "n2ce-bbo benchmark x --data-dir $N2CE_BBO_DATA_DIR --out r"),
    ("n2ce-bbo benchmark x --data-dir=/a/b", "n2ce-bbo benchmark x --data-dir=$N2CE_BBO_DATA_DIR"),
    ("n2ce-bbo benchmark x --data-dir '/a b/c' --workers 2", "n2ce-bbo benchmark x --data-dir $N2CE_BBO_DATA_DIR --workers 2"),
    ("n2ce-bbo benchmark x --out r", "n2ce-bbo benchmark x --out r"),
])
def test_scrub_command(command: str, want: str) -> None:
    assert scrub_command(command) == want
