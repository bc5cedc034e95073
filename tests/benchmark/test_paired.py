"""Paired comparisons over seeds: the t-interval, which pairs are compared, and the rows of paired.csv."""

from __future__ import annotations

import math

import pytest

from n2ce_bbo.benchmark.paired import PAIRED_COLUMNS, method_pairs, paired_differences, t_interval, verdict


def test_t_interval_known_values() -> None:
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2} · sd / sqrt(n), sd = 1
    assert mean == pytest.approx(2.0) and lo == pytest.approx(2.0 - half) and hi == pytest.approx(2.0 + half)
    _, lo0, hi0 = t_interval([0.1, 0.1, 0.1, 0.1])  # no spread: the interval is the point
    assert lo0 == pytest.approx(0.1) and hi0 == pytest.approx(0.1)
    _, lo90, hi90 = t_interval([1.0, 2.0, 3.0], confidence=0.9)
    assert lo < lo90 < hi90 < hi
    assert t_interval([0.5]) == (0.5, None, None)
    with pytest.raises(ValueError, match="finite"):
        t_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="at least one"):
        t_interval([])


def test_method_pairs_reference_or_all() -> None:
    assert method_pairs(["gaussian", "n2ce", "grad"]) == [("n2ce", "gaussian"), ("n2ce", "grad")]
    assert method_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert method_pairs(["a"]) == []


def _rec(task: str, label: str, seed: int, p100: float, status: str = "ok") -> dict:
    return {"status": status, "task": task, "label": label, "method": label, "seed": seed, "p100": p100,
            "p50": p100 / 2}


def test_paired_rows_use_only_the_seeds_both_finished() -> None:
    recs = [
        *[_rec("T", "n2ce", s, 0.9 + 0.01 * s) for s in range(4)],
        *[_rec("T", "grad", s, 0.8 + 0.02 * s) for s in range(3)],  # seed 3 missing
        _rec("T", "grad", 3, 0.0, status="failed"),
        _rec("T", "cmaes", 7, 0.5),  # no seed in common with n2ce
        *[_rec("U", "x", s, 0.3) for s in range(2)], *[_rec("U", "y", s, 0.1 * s) for s in range(2)],
    ]
    rows = paired_differences(recs, labels=["n2ce", "grad", "cmaes"])
    assert all(list(r) == PAIRED_COLUMNS for r in rows)
    t_rows = {(r["method_a"], r["method_b"], r["metric"]): r for r in rows if r["task"] == "T"}
    assert set(t_rows) == {("n2ce", "grad", "p100"), ("n2ce", "grad", "p50")}
    r = t_rows[("n2ce", "grad", "p100")]
    diffs = [(0.9 + 0.01 * s) - (0.8 + 0.02 * s) for s in range(3)]
    assert r["n_pairs"] == 3 and r["mean_diff"] == pytest.approx(sum(diffs) / 3)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(t_interval(diffs)[1:])
    assert verdict(r) == "n2ce better"  # differences 0.10, 0.09, 0.08: the interval excludes 0
    u = [r for r in rows if r["task"] == "U" and r["metric"] == "p100"]
    assert [(r["method_a"], r["method_b"]) for r in u] == [("x", "y")]  # no n2ce on U: every pair
    assert u[0]["mean_diff"] == pytest.approx(0.25)


def test_verdict_words() -> None:
    base = {"method_a": "a", "method_b": "b"}
    assert verdict({**base, "ci_low": -0.1, "ci_high": 0.2}) == "level"
    assert verdict({**base, "ci_low": -0.3, "ci_high": -0.1}) == "b better"
    assert verdict({**base, "ci_low": None, "ci_high": None}) == "one seed"
