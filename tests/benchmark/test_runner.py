"""The benchmark runner with a fast fake cell function: full runs, resume after a kill, failures, corrupt files."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from n2ce_bbo.benchmark import load_cells, load_suite, run_suite, suite_from_dict, write_report
from n2ce_bbo.benchmark.report import CSV_COLUMNS
from n2ce_bbo.benchmark.suite import Cell
from n2ce_bbo.errors import ConfigError, OutputError
from n2ce_bbo.utils import derive_seed

REPO = Path(__file__).resolve().parents[2]


def fake_score(task: str, label: str, seed: int) -> float:
    return 0.5 + (derive_seed(task, label, seed) % 400) / 1000.0


def fake_cell(cell: Cell) -> dict:
    """A deterministic stand-in for optimize(): scores from (task, label, seed); M from the config."""
    p100 = fake_score(cell.task, cell.label, cell.seed)
    m = cell.config.get("prior", {}).get("M", 100.0)
    return {"task": cell.task, "method": cell.method, "seed": cell.seed, "budget": cell.budget, "p100": p100,
            "p50": p100 - 0.2, "p100_raw": 10 * p100, "p50_raw": 10 * p100 - 2, "train_s": 1.5, "propose_s": 0.5,
            "eval_s": 0.01, "n_unique": 128, "config": {"prior": {"M": float(m), "K": 6}}, "info": {},
            "versions": {}}


class Counting:
    """A fake cell function that records each call in ``<dir>/<cell id>`` (one line per call)."""

    def __init__(self, counter_dir: Path, fail: set[str] | None = None) -> None:
        self.dir = counter_dir
        self.fail = fail or set()
        counter_dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, cell: Cell) -> dict:
        with open(self.dir / cell.cell_id, "a") as fh:
            fh.write("call\n")
        if cell.cell_id in self.fail:
            raise ValueError(f"boom in {cell.cell_id}")
        return fake_cell(cell)

    def calls(self, cell_id: str) -> int:
        path = self.dir / cell_id
        return len(path.read_text().splitlines()) if path.exists() else 0

    def total(self) -> int:
        return sum(len(p.read_text().splitlines()) for p in self.dir.iterdir())


def small_suite(**over) -> dict:
    data = {
        "name": "t", "budget": 16, "seeds": [0, 1, 2], "cell_retries": 1,
        "tasks": ["TFBind8-Exact-v0", "Superconductor-RandomForest-v0", {"name": "Branin-Exact-v0", "kwargs": {}}],
        "methods": ["n2ce", {"name": "n2ce", "label": "n2ce-M10", "config": {"prior": {"M": 10}}}, "cmaes"],
    }
    data.update(over)
    return data


def test_full_run_writes_every_cell_and_report(tmp_path):
    suite = suite_from_dict(small_suite())
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=fake_cell, progress=False)
    files = sorted(p.name for p in (out / "cells").iterdir())
    assert len(files) == 27 and "TFBind8-Exact-v0__n2ce-M10__seed2.json" in files
    assert (out / "suite.yaml").is_file() and load_suite(out / "suite.yaml").seeds == [0, 1, 2]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][0]["cells_total"] == 27 and "versions" in manifest["runs"][0]
    rec = json.loads((out / "cells" / "TFBind8-Exact-v0__cmaes__seed1.json").read_text())
    assert rec["status"] == "ok" and rec["p100"] == pytest.approx(fake_score("TFBind8-Exact-v0", "cmaes", 1))

    csv_path, md_path = write_report(out)
    rows = list(csv.DictReader(csv_path.open()))
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == 9
    row = next(r for r in rows if r["task"] == "TFBind8-Exact-v0" and r["method"] == "n2ce-M10")
    import numpy as np

    want = [fake_score("TFBind8-Exact-v0", "n2ce-M10", s) for s in range(3)]
    assert float(row["p100_mean"]) == pytest.approx(np.mean(want), abs=1e-6)
    assert float(row["p100_std"]) == pytest.approx(np.std(want), abs=1e-6)
    assert float(row["p50_mean"]) == pytest.approx(np.mean(want) - 0.2, abs=1e-6)
    assert row["n_seeds"] == "3" and row["n_failed"] == "0" and row["method_name"] == "n2ce"
    md = md_path.read_text()
    assert "| **published**: CMA-ES (RaM Table 2) ◂ same baseline as ours | 8 | 0.944 ± 0.017 |" in md
    assert "**published**: best p50 (gradient ascent, mean ensemble; RaM Table 7)" in md
    assert "**published**: ROOT" in md and "0.986 ± 0.007" in md
    assert "trains that oracle itself" in md  # the Superconductor note
    assert f"| n2ce-M10 (`n2ce`) | 3 | {np.mean(want):.3f} ± {np.std(want):.3f} |" in md
    assert (out / "scores.png").stat().st_size > 0 and (out / "score_vs_M.png").stat().st_size > 0
    assert row["time_s"] == "2.0"  # train 1.5 + propose 0.5
    assert f"| n2ce-M10 (`n2ce`) | 3 | {np.mean(want):.3f} ± {np.std(want):.3f} | {np.mean(want) - 0.2:.3f} ± " in md
    assert "| 2.0 | 1.5 | 0.5 |" in md  # time beside the scores

    from n2ce_bbo.benchmark.paired import PAIRED_COLUMNS

    paired = list(csv.DictReader((out / "paired.csv").open()))
    assert list(paired[0]) == PAIRED_COLUMNS
    assert len(paired) == 3 * 2 * 2  # tasks x (n2ce vs n2ce-M10, n2ce vs cmaes) x (p100, p50)
    assert {(p["method_a"], p["method_b"]) for p in paired} == {("n2ce", "n2ce-M10"), ("n2ce", "cmaes")}
    p = next(p for p in paired if p["task"] == "Branin-Exact-v0" and p["method_b"] == "cmaes" and p["metric"] == "p100")
    diffs = [fake_score("Branin-Exact-v0", "n2ce", s) - fake_score("Branin-Exact-v0", "cmaes", s) for s in range(3)]
    assert p["n_pairs"] == "3" and float(p["mean_diff"]) == pytest.approx(np.mean(diffs), abs=1e-6)
    assert float(p["ci_low"]) < float(p["mean_diff"]) < float(p["ci_high"])
    assert "| n2ce − cmaes | p100 | 3 |" in md


def test_existing_cells_need_resume(tmp_path):
    suite = suite_from_dict(small_suite(seeds=[0]))
    run_suite(suite, tmp_path / "run", workers=0, cell_fn=fake_cell, progress=False)
    with pytest.raises(OutputError, match="--resume"):
        run_suite(suite, tmp_path / "run", workers=0, cell_fn=fake_cell, progress=False)


def test_failing_cell_retried_then_recorded_others_finish(tmp_path, capsys):
    suite = suite_from_dict(small_suite(seeds=[0, 1], cell_retries=1))
    bad = "Branin-Exact-v0__cmaes__seed1"
    fn = Counting(tmp_path / "calls", fail={bad})
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=fn, progress=True)
    assert fn.calls(bad) == 2  # one retry
    records, _ = load_cells(out)
    assert len(records) == 18
    assert records[bad]["status"] == "failed" and records[bad]["attempts"] == 2
    assert "ValueError: boom in" in records[bad]["error"] and "Traceback" in records[bad]["traceback"]
    assert sum(r["status"] == "ok" for r in records.values()) == 17
    assert "FAILED after 2 attempt(s)" in capsys.readouterr().out
    _, md = write_report(out)
    assert "## Failed cells" in md.read_text()

    # resume reruns only the failed cell
    fixed = Counting(tmp_path / "calls")
    run_suite(suite, out, resume=True, workers=0, cell_fn=fixed, progress=False)
    assert fixed.calls(bad) == 3 and fixed.total() == 2 + 17 + 1
    assert load_cells(out)[0][bad]["status"] == "ok"


def test_corrupt_cell_is_recomputed_on_resume(tmp_path):
    suite = suite_from_dict(small_suite(seeds=[0]))
    fn = Counting(tmp_path / "calls")
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=fn, progress=False)
    victim = out / "cells" / "TFBind8-Exact-v0__n2ce__seed0.json"
    victim.write_text('{"status": "ok", "task": ')  # a torn write
    other = out / "cells" / "Branin-Exact-v0__cmaes__seed0.json"
    before = other.stat().st_mtime_ns
    with pytest.warns(RuntimeWarning, match="corrupt"):
        run_suite(suite, out, resume=True, workers=0, cell_fn=fn, progress=False)
    assert fn.calls("TFBind8-Exact-v0__n2ce__seed0") == 2
    assert fn.total() == 9 + 1
    assert other.stat().st_mtime_ns == before
    assert json.loads(victim.read_text())["status"] == "ok"


def test_resume_refuses_changed_method_settings(tmp_path):
    suite = suite_from_dict(small_suite(seeds=[0]))
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=fake_cell, progress=False)
    changed = small_suite(seeds=[0])
    changed["methods"][1]["config"] = {"prior": {"M": 20}}
    with pytest.raises(ConfigError, match="n2ce-M10"):
        run_suite(suite_from_dict(changed), out, resume=True, workers=0, cell_fn=fake_cell, progress=False)


def test_restricted_resume_keeps_the_whole_suite_on_record(tmp_path):
    out = run_suite(suite_from_dict(small_suite(seeds=[0])), tmp_path / "run", workers=0, cell_fn=fake_cell,
                    progress=False)
    # finish more seeds of one task and one method only (as `benchmark --resume --tasks X --methods Y`)
    part = small_suite(seeds=[0, 1], tasks=["Branin-Exact-v0"], methods=["cmaes"])
    run_suite(suite_from_dict(part), out, resume=True, workers=0, cell_fn=fake_cell, progress=False)
    kept = load_suite(out / "suite.yaml")
    assert [t.name for t in kept.tasks] == ["TFBind8-Exact-v0", "Superconductor-RandomForest-v0", "Branin-Exact-v0"]
    assert [m.label for m in kept.methods] == ["n2ce", "n2ce-M10", "cmaes"]
    assert kept.seeds == [0, 1]
    assert next(m for m in kept.methods if m.label == "n2ce-M10").config == {"prior": {"M": 10}}
    # the report counts what the whole suite still lacks: seed 1 of every cell but Branin x cmaes; a note added
    # to a run's manifest entry (what happened to it) is shown beside that run
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["runs"][1]["note"] = "stopped by the OOM killer after 1 cell"
    (out / "manifest.json").write_text(json.dumps(manifest))
    csv_path, md_path = write_report(out)
    assert "Note: stopped by the OOM killer after 1 cell" in md_path.read_text()
    rows = {(r["task"], r["method"]): r for r in csv.DictReader(csv_path.open())}
    assert rows[("Branin-Exact-v0", "cmaes")]["n_seeds"] == "2"
    assert rows[("TFBind8-Exact-v0", "n2ce")]["n_missing"] == "1"


def test_unwritable_output_fails_before_any_work(tmp_path):
    fn = Counting(tmp_path / "calls")
    suite = suite_from_dict(small_suite(seeds=[0]))
    if os.geteuid() == 0:
        # root ignores permission bits: a folder below a regular file can never be created
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        target = blocker / "run"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "run"
    with pytest.raises(OutputError, match="not writable"):
        run_suite(suite, target, workers=0, cell_fn=fn, progress=False)
    assert fn.total() == 0


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from n2ce_bbo.benchmark import run_suite, suite_from_dict

    out, calls, resume = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"

    def slow_cell(cell):
        with open(calls / cell.cell_id, "a") as fh:
            fh.write("call\\n")
        time.sleep(0.25)
        return {"p100": 0.5 + cell.seed / 100, "p50": 0.4, "train_s": 0.2, "propose_s": 0.05}

    suite = suite_from_dict({"name": "k", "budget": 8, "seeds": [0, 1, 2, 3, 4, 5],
                             "tasks": ["Branin-Exact-v0", "Ehrlich-Exact-v0"], "methods": ["a", "b"]})
    run_suite(suite, out, resume=resume, workers=0, cell_fn=slow_cell, progress=False)
""")


@pytest.mark.slow
def test_kill_and_resume_runs_each_missing_cell_once(tmp_path):
    out, calls = tmp_path / "run", tmp_path / "calls"
    calls.mkdir()
    cmd = [sys.executable, "-c", KILL_SCRIPT, str(out), str(calls)]
    proc = subprocess.Popen([*cmd, "0"], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list((out / "cells").glob("*.json"))) >= 5:
                break
            if proc.poll() is not None:
                pytest.fail(f"the runner exited early with {proc.returncode}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "cells").glob("*.json")}
    assert 5 <= len(done_before) < 24  # killed mid-run

    subprocess.run([*cmd, "1"], cwd=REPO, check=True, timeout=120)
    files = sorted((out / "cells").glob("*.json"))
    assert len(files) == 24
    assert not list((out / "cells").glob(".*"))  # no temporary files left
    for name, (mtime, content) in done_before.items():  # finished cells were neither recomputed nor rewritten
        p = out / "cells" / name
        assert p.stat().st_mtime_ns == mtime and p.read_bytes() == content
        assert len((calls / p.stem).read_text().splitlines()) == 1
    records, corrupt = load_cells(out)
    assert not corrupt and all(r["status"] == "ok" for r in records.values()) and len(records) == 24
    # every cell ran once, except at most the one in flight at the kill, which ran twice
    counts = [len((calls / p.stem).read_text().splitlines()) for p in files]
    assert sum(c == 2 for c in counts) <= 1 and all(c in (1, 2) for c in counts)
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 2


@pytest.mark.ray
def test_ray_workers_run_every_cell(tmp_path):
    pytest.importorskip("ray")
    import ray.cloudpickle

    from n2ce_bbo.parallel import ray_shutdown

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        suite = suite_from_dict(small_suite(seeds=[0, 1]))
        out = run_suite(suite, tmp_path / "run", workers=2, cell_fn=fake_cell, progress=False)
        records, _ = load_cells(out)
        assert len(records) == 18 and all(r["status"] == "ok" for r in records.values())
        assert {r["host"] for r in records.values()}
        rec = records["Branin-Exact-v0__n2ce__seed1"]
        assert rec["p100"] == pytest.approx(fake_score("Branin-Exact-v0", "n2ce", 1))
    finally:
        ray_shutdown()
