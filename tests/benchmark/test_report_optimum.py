"""The report's raw-unit table against a task's known optimum (Branin, Ehrlich): fast fake cells, no training."""

from __future__ import annotations

from typing import Any

import numpy as np

from n2ce_bbo.benchmark import run_suite, suite_from_dict, write_report
from n2ce_bbo.benchmark.suite import Cell
from n2ce_bbo.tasks import make
from n2ce_bbo.workflow.result import evaluate

OPT = -0.397887


def branin_cell(cell: Cell) -> dict[str, Any]:
    # n2ce reaches the optimum on seed 0 only; cmaes is 0.2 short everywhere
    best = OPT - (0.01 if cell.label == "n2ce" and cell.seed == 0 else 0.2 + 0.01 * cell.seed)
    return {"p100": 0.9, "p50": 0.5, "p100_raw": best, "p50_raw": best - 1, "optimum": OPT, "train_s": 1.0,
            "propose_s": 0.1}


def test_the_report_shows_raw_best_against_the_known_optimum(tmp_path) -> None:
    suite = suite_from_dict({"name": "s", "budget": 8, "seeds": [0, 1], "cell_retries": 0,
                             "tasks": ["Branin-Exact-v0"], "methods": ["n2ce", "cmaes"]})
    out = run_suite(suite, tmp_path / "run", workers=0, cell_fn=branin_cell, progress=False)
    text = write_report(out)[1].read_text()
    assert "Raw units against the known optimum -0.3979" in text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| n2ce |") or line.startswith("| cmaes |")}
    # the raw table's rows are the ones with 'of 2' in the last column (the score table has other columns)
    raw = {k: v for k, v in rows.items() if v[-1].endswith("of 2")}
    assert raw["n2ce"][-1] == "1 of 2" and raw["cmaes"][-1] == "0 of 2"
    assert raw["cmaes"][1] == f"{OPT - 0.21:.4g}"  # the worst seed
    assert raw["n2ce"][3] == "–"  # no share of a negative optimum


def test_a_task_without_a_known_optimum_gets_no_raw_table(tmp_path) -> None:
    suite = suite_from_dict({"name": "s", "budget": 8, "seeds": [0], "cell_retries": 0,
                             "tasks": ["Branin-Exact-v0"], "methods": ["cmaes"]})
    out = run_suite(suite, tmp_path / "run", workers=0, progress=False,
                    cell_fn=lambda c: {"p100": 0.9, "p50": 0.5, "p100_raw": 1.0, "train_s": 1.0, "propose_s": 0.1})
    assert "known optimum" not in write_report(out)[1].read_text()


def test_evaluate_records_the_tasks_optimum() -> None:
    task = make("Branin-Exact-v0")
    scored = evaluate(task, task.x[:4])
    assert np.isclose(scored["optimum"], OPT, atol=1e-5)


def test_the_feasible_share_of_a_batch_is_recorded_and_reported(tmp_path) -> None:
    """On a task with hard constraints (Ehrlich's banned transitions) evaluation records the share of the batch the
    oracle counts feasible, and the report's raw-unit table shows it per method with its worst seed."""
    task = make("Ehrlich-Exact-v0", n_samples=500)
    feasible = task.x[:4]
    fn = task._oracle.function  # noqa: SLF001 - the test builds an infeasible design from the banned pairs
    a, b = np.argwhere(fn.transition == 0)[0]
    infeasible = feasible.copy()
    infeasible[:, :2] = [a, b]
    assert evaluate(task, feasible)["feasible"] == 1.0
    assert evaluate(task, np.concatenate([feasible, infeasible]))["feasible"] == 0.5
    assert evaluate(make("Branin-Exact-v0"), make("Branin-Exact-v0").x[:3])["feasible"] is None

    suite = suite_from_dict({"name": "s", "budget": 8, "seeds": [0, 1], "cell_retries": 0,
                             "tasks": ["Ehrlich-Exact-v0"], "methods": ["n2ce", "cmaes"]})
    share = {("n2ce", 0): 1.0, ("n2ce", 1): 0.9, ("cmaes", 0): 0.0, ("cmaes", 1): 0.25}
    out = run_suite(suite, tmp_path / "run", workers=0, progress=False,
                    cell_fn=lambda c: {"p100": 0.9, "p50": 0.5, "p100_raw": 0.5, "optimum": 1.0, "train_s": 1.0,
                                       "propose_s": 0.1, "feasible": share[(c.label, c.seed)]})
    text = write_report(out)[1].read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith(("| n2ce |", "| cmaes |"))}
    raw = {k: v for k, v in rows.items() if len(v) == 7}  # the raw-unit table: 5 columns and the 2 feasible ones
    assert raw["n2ce"][-2:] == ["95%", "90%"] and raw["cmaes"][-2:] == ["12%", "0%"]
