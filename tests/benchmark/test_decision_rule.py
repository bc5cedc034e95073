"""The decision rule of benchmarks/results/dev/decisions.md as ``benchmarks/decision_rule.py`` computes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .scripts import BENCHMARKS, load_script

SCRIPT = BENCHMARKS / "decision_rule.py"


@pytest.fixture(scope="module")
def rule() -> ModuleType:
    return load_script("decision_rule")


def test_one_big_cell_does_not_carry_a_candidate(rule: ModuleType) -> None:
    r = rule.judge([0.9, 0.01, 0.01, -0.02], [0.0, 0.0, 0.0, 0.0])
    assert r["up"] == 3 and r["down"] == 1 and r["a"] and not r["b"] and not r["passes"]
    assert r["largest"] == 0.9 and r["mean_p100_without_largest"] == pytest.approx(0.0)


def test_ties_within_the_margin_count_neither_way(rule: ModuleType) -> None:
    r = rule.judge([0.004, -0.004, 0.02, 0.03], [0.0, 0.0, -0.01, 0.0])
    assert (r["up"], r["down"]) == (2, 0) and r["passes"]  # mean p50 −0.0025 is within the rule's −0.005
    assert not rule.judge([0.02, 0.03, 0.01], [-0.02, 0.0, 0.0])["c"]


def test_the_batch_route_takes_a_median_gain_that_leaves_the_best_alone(rule: ModuleType) -> None:
    r = rule.judge([0.0, 0.002, -0.003, 0.0], [0.05, 0.02, 0.03, -0.01])
    assert not r["passes_p100"] and r["passes_p50"] and r["passes"]
    assert (r["up50"], r["down50"]) == (3, 1)
    # the same median gain at the cost of the best designs, or carried by one cell, does not pass
    assert not rule.judge([-0.02, 0.0, -0.01, 0.0], [0.05, 0.02, 0.03, -0.01])["passes"]
    carried = rule.judge([0.0, 0.0, 0.0, 0.0], [0.4, 0.01, 0.01, -0.02])
    assert carried["a50"] and not carried["b50"] and not carried["passes"]
    # two cells a little up and the rest tied is within the tie margin, not a gain
    assert not rule.judge([0.0, 0.0, 0.0, 0.0], [0.006, 0.006, 0.0, 0.0])["a50"]


def test_a_run_folder_is_read_pairwise(tmp_path: Path) -> None:
    cells = tmp_path / "run" / "cells"
    cells.mkdir(parents=True)
    rows = [("T", 100, "n2ce", 0.5, 0.4), ("T", 101, "n2ce", 0.6, 0.5), ("T", 100, "cand", 0.7, 0.45),
            ("T", 101, "cand", 0.65, 0.5)]
    for task, seed, label, p100, p50 in rows:
        (cells / f"{task}__{label}__seed{seed}.json").write_text(json.dumps(
            {"task": task, "seed": seed, "method": "n2ce", "label": label, "p100": p100, "p50": p50, "status": "ok",
             "commit": "abc"}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "run")], capture_output=True, text=True,
                         check=True).stdout
    assert "| cand | 2 | +0.125 | 2 / 0 |" in out and "**yes**" in out
