"""Which code computed each cell: commit, dirty tree and config hash in every record; the mixed-table warning of
the report; ``--rerun-stale``. Fast fake cells and a monkeypatched source state, no git needed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from n2ce_bbo import cli
from n2ce_bbo.benchmark import load_cells, run_suite, suite_from_dict, write_report
from n2ce_bbo.benchmark import runner as runner_module
from n2ce_bbo.benchmark.runner import cell_config_hash
from n2ce_bbo.benchmark.sources import seed_ranges, source_mix, stale_reason
from n2ce_bbo.benchmark.suite import Cell
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.provenance import config_hash

A = "a" * 40
B = "b" * 40


def fake_cell(cell: Cell) -> dict[str, Any]:
    p100 = 0.5 + 0.01 * cell.seed + 0.1 * (cell.label == "n2ce")
    return {"p100": p100, "p50": p100 - 0.2, "train_s": 1.0, "propose_s": 0.5, "config": {"k": 1},
            "task_kwargs": {"seed": cell.seed}, "versions": {"torch": "2.0", "numpy": "2.0", "botorch": "0.1"}}


class Calls:
    """A fake cell function that counts its calls per cell id and fails the cells in ``fail``."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: dict[str, int] = {}
        self.fail = fail or set()

    def __call__(self, cell: Cell) -> dict[str, Any]:
        self.calls[cell.cell_id] = self.calls.get(cell.cell_id, 0) + 1
        if cell.cell_id in self.fail:
            raise ValueError(f"boom in {cell.cell_id}")
        return fake_cell(cell)


def suite(seeds: tuple[int, ...] = (0, 1)) -> Any:
    return suite_from_dict({"name": "s", "budget": 8, "seeds": list(seeds), "cell_retries": 0,
                            "tasks": ["Branin-Exact-v0"], "methods": ["n2ce", "cmaes"]})


def at(monkeypatch: pytest.MonkeyPatch, commit: str | None, dirty: bool | None = False) -> None:
    """Make the runner see ``commit`` / ``dirty`` as the current code."""
    note = None if commit else "git state unknown: git not found ('git')"
    monkeypatch.setattr(runner_module, "source_state",
                        lambda: {"commit": commit, "dirty": dirty, "source_note": note})


def run(out: Path, fn: Any = fake_cell, **kw: Any) -> Path:
    return run_suite(kw.pop("suite", suite()), out, workers=0, cell_fn=fn, progress=False, **kw)


def edit(out: Path, cell_id: str, **changes: Any) -> None:
    path = out / "cells" / f"{cell_id}.json"
    rec = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            rec.pop(k, None)
        else:
            rec[k] = v
    path.write_text(json.dumps(rec))


def test_every_record_names_its_commit_config_hash_and_versions(tmp_path, monkeypatch) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    records, _ = load_cells(out)
    assert len(records) == 4
    for rec in records.values():
        assert rec["commit"] == A and rec["dirty"] is False and rec["source_note"] is None
        assert rec["config_hash"] == config_hash({"config": {"k": 1}, "task_kwargs": {"seed": rec["seed"]},
                                                  "budget": 8})
        assert rec["versions"]["torch"] == "2.0"
    assert records["Branin-Exact-v0__n2ce__seed0"]["config_hash"] != records["Branin-Exact-v0__n2ce__seed1"][
        "config_hash"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][0]["source"]["commit"] == A and manifest["runs"][0]["rerun_stale"] is False


def test_a_bare_cell_function_still_gets_provenance_and_git_absent_records_nulls(tmp_path, monkeypatch) -> None:
    at(monkeypatch, None, None)
    out = run(tmp_path / "run", fn=lambda cell: {"p100": 0.5, "p50": 0.4})
    rec = next(iter(load_cells(out)[0].values()))
    assert rec["commit"] is None and rec["dirty"] is None and "git not found" in rec["source_note"]
    assert rec["versions"]["n2ce_bbo"] and rec["versions"]["torch"]  # filled by the runner
    cell = Cell(task="T", label="m", method="m", seed=0, budget=8, config={"x": 1}, task_kwargs={})
    assert rec["config_hash"] != cell_config_hash(cell, {})
    assert cell_config_hash(cell, {}) == config_hash({"config": {"x": 1}, "task_kwargs": {}, "budget": 8})
    assert cell_config_hash(cell, {"config": {"f": object()}}) is None  # no JSON form: no hash, no crash


def test_failed_records_name_their_commit_too(tmp_path, monkeypatch) -> None:
    at(monkeypatch, A, True)
    out = run(tmp_path / "run", fn=Calls(fail={"Branin-Exact-v0__cmaes__seed1"}))
    rec = load_cells(out)[0]["Branin-Exact-v0__cmaes__seed1"]
    assert rec["status"] == "failed" and rec["commit"] == A and rec["dirty"] is True


def test_stale_reason() -> None:
    ok = {"status": "ok", "commit": A, "dirty": False}
    assert stale_reason(ok, A) is None
    assert stale_reason(ok, B) == f"commit {A[:12]}, not {B[:12]}"
    assert stale_reason({**ok, "dirty": True}, A) == f"dirty tree at {A[:12]}"
    assert stale_reason({"status": "ok"}, A) == "no commit recorded"
    assert "git not found" in stale_reason({"status": "ok", "commit": None, "source_note": "git not found"}, A)
    assert stale_reason(ok, None) is not None
    assert seed_ranges([0, 1, 2, 5, 7, 8]) == "0–2, 5, 7–8" and seed_ranges([3]) == "3"


def test_a_clean_table_has_no_warning(tmp_path, monkeypatch, capsys) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    _, md = write_report(out)
    text = md.read_text()
    assert "Warning: mixed table" not in text and "verdict (Holm)" in text and "Holm interval" in text
    assert {r["commits"] for r in csv.DictReader((out / "summary.csv").open())} == {A[:12]}
    assert cli.main(["report", str(out)]) == 0
    assert "mixed table" not in capsys.readouterr().err


def test_the_report_warns_of_a_mixed_table_and_names_the_cells_to_rerun(tmp_path, monkeypatch, capsys) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run", suite=suite((0, 1, 2)))
    ids = sorted(load_cells(out)[0])
    for cid in ids:
        edit(out, cid, finished_at="2026-01-01T10:00:00+00:00")
    # B is the commit of the newest cell; one cell on A; one dirty on B; one from before commits were recorded;
    # one with another torch
    for cid in ids:
        edit(out, cid, commit=B)
    edit(out, "Branin-Exact-v0__cmaes__seed2", finished_at="2026-01-02T10:00:00+00:00")
    edit(out, "Branin-Exact-v0__n2ce__seed0", commit=A, finished_at="2026-01-01T12:00:00+00:00")
    edit(out, "Branin-Exact-v0__n2ce__seed1", dirty=True)
    edit(out, "Branin-Exact-v0__cmaes__seed0", commit=..., dirty=..., source_note=..., config_hash=...)
    rec = json.loads((out / "cells" / "Branin-Exact-v0__cmaes__seed1.json").read_text())
    edit(out, "Branin-Exact-v0__cmaes__seed1", versions={**rec["versions"], "torch": "2.1"})

    mix = source_mix(load_cells(out)[0])
    assert mix.mixed and mix.reference == B
    assert [(c, n) for c, n, _ in mix.commits] == [(B, 4), (A, 1), (None, 1)]
    assert mix.dirty == ["Branin-Exact-v0__n2ce__seed1"]
    assert mix.versions == {"torch": [("2.0", 5), ("2.1", 1)]}
    assert [cid for cid, _, _ in mix.stale] == ["Branin-Exact-v0__cmaes__seed0", "Branin-Exact-v0__n2ce__seed0",
                                                "Branin-Exact-v0__n2ce__seed1"]
    _, md = write_report(out)
    text = md.read_text()
    warning = text.split("## Warning: mixed table", 1)[1].split("\n## ", 1)[0]
    assert f"| `{B[:12]}` | 4 | 2026-01-02T10:00:00+00:00 |" in warning
    assert f"| `{A[:12]}` | 1 | 2026-01-01T12:00:00+00:00 |" in warning
    assert "| unknown (no commit recorded) | 1 |" in warning
    assert f"The most recent commit is `{B[:12]}`" in warning and "newest `finished_at`" in warning
    assert "1 cell(s) were computed at a dirty tree" in warning
    assert "torch versions differ: 2.0 (5 cells), 2.1 (1 cells)." in warning
    assert "3 cell(s) to rerun:" in warning
    assert "| Branin-Exact-v0 | cmaes | 0 | no commit recorded |" in warning
    assert f"| Branin-Exact-v0 | n2ce | 0 | commit {A[:12]}, not {B[:12]} |" in warning
    assert f"| Branin-Exact-v0 | n2ce | 1 | dirty tree at {B[:12]} |" in warning
    assert "--resume --rerun-stale" in warning
    commits = {(r["method"]): r["commits"] for r in csv.DictReader((out / "summary.csv").open())}
    assert commits == {"n2ce": f"{A[:12]} {B[:12]}+dirty {B[:12]}", "cmaes": f"unknown {B[:12]}"}
    assert cli.main(["report", str(out)]) == 0
    err = capsys.readouterr().err
    assert "mixed table: 3 of 6 ok cells are not from the most recent commit" in err
    assert "versions or device differ" in err


def test_cells_from_another_device_make_a_mixed_table_and_another_host_a_note(tmp_path, monkeypatch, capsys) -> None:
    # one commit, one tree, one set of packages, but a VM moved host (kernel build) and one cell ran on a GPU
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    ids = sorted(load_cells(out)[0])
    for cid in ids:
        rec = json.loads((out / "cells" / f"{cid}.json").read_text())
        edit(out, cid, versions={**rec["versions"], "machine": "Linux-6.18-v1252", "device": "cpu"})
    rec = json.loads((out / "cells" / f"{ids[0]}.json").read_text())
    edit(out, ids[0], versions={**rec["versions"], "machine": "Linux-6.18-v1272"})
    mix = source_mix(load_cells(out)[0])
    # another host alone: the same code on other floating point, noted but not a mix
    assert not mix.mixed and not mix.versions
    assert mix.hosts == [("Linux-6.18-v1252", len(ids) - 1), ("Linux-6.18-v1272", 1)]
    _, md = write_report(out)
    text = md.read_text()
    assert "## Warning: mixed table" not in text
    note = text.split("## Note: cells from several machines", 1)[1].split("\n## ", 1)[0]
    assert f"ran on 2 platforms: Linux-6.18-v1252 ({len(ids) - 1} cells), Linux-6.18-v1272 (1 cells)." in note
    assert "reproduces to the digit only on the platform that ran it" in note
    assert cli.main(["report", str(out)]) == 0
    assert "mixed table" not in capsys.readouterr().err
    # a cell on a GPU: another device is a mix
    edit(out, ids[1], versions={**rec["versions"], "machine": "Linux-6.18-v1252", "device": "cuda"})
    mix = source_mix(load_cells(out)[0])
    assert mix.mixed and not mix.stale and set(mix.versions) == {"device"}
    _, md = write_report(out)
    warning = md.read_text().split("## Warning: mixed table", 1)[1].split("\n## ", 1)[0]
    assert f"device differs: cpu ({len(ids) - 1} cells), cuda (1 cells)." in warning
    assert "0 cell(s) to rerun (only the package versions or device differ" in warning
    assert cli.main(["report", str(out)]) == 0
    assert "package versions or device differ" in capsys.readouterr().err


def test_cells_without_any_commit_are_reported_as_unknown(tmp_path, monkeypatch) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    for cid in load_cells(out)[0]:
        edit(out, cid, commit=..., dirty=..., source_note=...)  # as cells written before commits were recorded
    _, md = write_report(out)
    text = md.read_text()
    assert "| unknown (no commit recorded) | 4 |" in text
    assert "No cell records a commit, so there is no most recent commit" in text
    assert "4 cell(s) to rerun:" in text and "| Branin-Exact-v0 | n2ce | 0–1 | no commit recorded |" in text


def test_rerun_stale_reruns_exactly_the_stale_cells(tmp_path, monkeypatch, capsys) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run", suite=suite((0, 1, 2)))
    edit(out, "Branin-Exact-v0__n2ce__seed0", commit=B)
    edit(out, "Branin-Exact-v0__n2ce__seed1", dirty=True)
    edit(out, "Branin-Exact-v0__cmaes__seed2", commit=..., dirty=...)
    fresh = out / "cells" / "Branin-Exact-v0__cmaes__seed0.json"
    before = fresh.read_bytes(), fresh.stat().st_mtime_ns

    calls = Calls()
    run(out, fn=calls, suite=suite((0, 1, 2)), resume=True)  # a plain resume reruns nothing
    assert calls.calls == {}
    run_suite(suite((0, 1, 2)), out, workers=0, cell_fn=calls, progress=True, resume=True, rerun_stale=True)
    assert calls.calls == {"Branin-Exact-v0__n2ce__seed0": 1, "Branin-Exact-v0__n2ce__seed1": 1,
                           "Branin-Exact-v0__cmaes__seed2": 1}
    assert "3 stale" in capsys.readouterr().out
    assert (fresh.read_bytes(), fresh.stat().st_mtime_ns) == before
    records = load_cells(out)[0]
    assert all(r["commit"] == A and r["dirty"] is False for r in records.values())
    assert not list((out / "cells").glob(".*"))  # atomic overwrites left no temporary file
    manifest = json.loads((out / "manifest.json").read_text())["runs"][-1]
    assert manifest["rerun_stale"] is True and manifest["cells_stale"] == 3 and manifest["cells_to_run"] == 3
    assert "Warning: mixed table" not in write_report(out)[1].read_text()

    # the code moves on to commit B: every cell is stale
    at(monkeypatch, B)
    calls = Calls()
    run(out, fn=calls, suite=suite((0, 1, 2)), resume=True, rerun_stale=True)
    assert len(calls.calls) == 6 and set(calls.calls.values()) == {1}


def test_rerun_stale_is_refused_at_a_dirty_or_unknown_tree_unless_allowed(tmp_path, monkeypatch) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    edit(out, "Branin-Exact-v0__n2ce__seed0", commit=B)
    calls = Calls()
    at(monkeypatch, A, True)
    with pytest.raises(ConfigError, match="dirty.*not be reproducible.*--allow-dirty"):
        run(out, fn=calls, resume=True, rerun_stale=True)
    at(monkeypatch, None, None)
    with pytest.raises(ConfigError, match="commit is unknown.*--allow-dirty"):
        run(out, fn=calls, resume=True, rerun_stale=True)
    at(monkeypatch, A)
    with pytest.raises(ConfigError, match="needs --resume"):
        run(tmp_path / "other", fn=calls, rerun_stale=True)
    assert calls.calls == {} and not (tmp_path / "other").exists()
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 1  # refused before any write

    at(monkeypatch, A, True)  # allowed: the stale cell reruns, and is marked dirty
    run(out, fn=calls, resume=True, rerun_stale=True, allow_dirty=True)
    assert calls.calls == {"Branin-Exact-v0__n2ce__seed0": 1}
    rec = load_cells(out)[0]["Branin-Exact-v0__n2ce__seed0"]
    assert rec["commit"] == A and rec["dirty"] is True


def test_a_failed_rerun_keeps_the_stale_record(tmp_path, monkeypatch) -> None:
    at(monkeypatch, A)
    out = run(tmp_path / "run")
    edit(out, "Branin-Exact-v0__n2ce__seed0", commit=B)
    edit(out, "Branin-Exact-v0__n2ce__seed1", status="failed")
    calls = Calls(fail={"Branin-Exact-v0__n2ce__seed0", "Branin-Exact-v0__n2ce__seed1"})
    run(out, fn=calls, resume=True, rerun_stale=True)
    records = load_cells(out)[0]
    kept = records["Branin-Exact-v0__n2ce__seed0"]
    assert kept["status"] == "ok" and kept["commit"] == B  # still there, still flagged stale by the report
    assert records["Branin-Exact-v0__n2ce__seed1"]["status"] == "failed"  # a failed cell stays failed


def test_cli_benchmark_passes_rerun_stale_and_allow_dirty(tmp_path, monkeypatch, capsys) -> None:
    at(monkeypatch, A)
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(suite().to_dict()))
    out = tmp_path / "run"
    real = cli.run_suite
    seen: list[dict[str, Any]] = []

    def with_fake(*args: Any, **kw: Any) -> Path:
        seen.append({k: kw[k] for k in ("rerun_stale", "allow_dirty", "resume")})
        return real(*args, cell_fn=fake_cell, progress=False, **kw)

    monkeypatch.setattr(cli, "run_suite", with_fake)
    assert cli.main(["benchmark", str(path), "--out", str(out), "--workers", "0"]) == 0
    edit(out, "Branin-Exact-v0__n2ce__seed0", commit=B)
    at(monkeypatch, A, True)
    assert cli.main(["benchmark", str(path), "--out", str(out), "--workers", "0", "--resume", "--rerun-stale"]) == 2
    assert "--rerun-stale refused" in capsys.readouterr().err
    assert cli.main(["benchmark", str(path), "--out", str(out), "--workers", "0", "--resume", "--rerun-stale",
                     "--allow-dirty"]) == 0
    assert seen == [{"rerun_stale": False, "allow_dirty": False, "resume": False},
                    {"rerun_stale": True, "allow_dirty": False, "resume": True},
                    {"rerun_stale": True, "allow_dirty": True, "resume": True}]
    assert load_cells(out)[0]["Branin-Exact-v0__n2ce__seed0"]["commit"] == A
