"""Paired comparisons over seeds: the t-interval, t-test and sign test, Holm's procedure, which pairs are compared,
and the rows of paired.csv."""

from __future__ import annotations

import math

import numpy as np
import pytest

from n2ce_bbo.benchmark.paired import (
    PAIRED_COLUMNS,
    holm,
    holm_levels,
    method_pairs,
    paired_differences,
    sign_test,
    t_interval,
    t_test,
    verdict,
)


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


def test_holm_against_a_hand_computed_family() -> None:
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> running max 0.06)
    p = [0.01, 0.04, None, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, None, 0.06, 0.02]) and holm(p)[2] is None
    # step-down at alpha 0.05: 0.005 <= 0.05/4 and 0.01 <= 0.05/3 are rejected; 0.03 > 0.05/2 stops it, so 0.03
    # and 0.04 both get the level of step 3
    levels = holm_levels(p, alpha=0.05)
    assert levels[2] is None
    assert levels == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 2, None, 1 - 0.05 / 2, 1 - 0.05 / 4])
    assert holm([0.2, 0.9]) == pytest.approx([0.4, 0.9]) and holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == [] and holm([None]) == [None]
    assert holm([0.02, 0.02]) == pytest.approx([0.04, 0.04])  # ties
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        holm([1.5])


def test_sign_test_matches_scipy_binomtest() -> None:
    from scipy.stats import binomtest

    for pos, neg in [(8, 0), (0, 8), (7, 1), (5, 3), (4, 4), (6, 0), (1, 0), (10, 3), (2, 9)]:
        diffs = [0.1] * pos + [-0.2] * neg + [0.0, 0.0]  # zeros are dropped
        n_pos, n_neg, p = sign_test(diffs)
        assert (n_pos, n_neg) == (pos, neg)
        assert p == pytest.approx(binomtest(pos, pos + neg, 0.5).pvalue, rel=1e-12)
    assert sign_test([0.0, 0.0]) == (0, 0, 1.0) and sign_test([]) == (0, 0, 1.0)
    assert sign_test([0.1] * 8)[2] == pytest.approx(2 / 256)


def test_t_test_matches_scipy_and_the_interval() -> None:
    from scipy.stats import ttest_1samp

    rng = np.random.default_rng(0)
    for _ in range(20):
        d = rng.normal(rng.normal(0, 0.05), 0.05, size=int(rng.integers(2, 9))).tolist()
        p = t_test(d)
        assert p == pytest.approx(ttest_1samp(d, 0.0).pvalue, rel=1e-9)
        _, lo, hi = t_interval(d)
        assert (lo > 0 or hi < 0) == (p < 0.05)  # the 95% interval excludes 0 exactly when p < 0.05
    assert t_test([0.3]) is None
    assert t_test([0.5, 0.5, 0.5]) == 0.0 and t_test([0.0, 0.0]) == 1.0  # no spread
    assert t_test([0.1, 0.1, 0.1]) < 1e-12  # a spread of rounding error only


def test_holm_columns_form_one_family_and_the_holm_verdict_follows_p_holm() -> None:
    rng = np.random.default_rng(1)
    recs = []
    for t in range(4):
        for label, shift in [("n2ce", 0.0), ("a", 0.02 * t), ("b", -0.01), ("c", 0.0)]:
            recs += [_rec(f"T{t}", label, s, 0.5 + shift + 0.02 * rng.normal()) for s in range(8)]
    recs.append(_rec("T0", "d", 0, 0.4))  # one seed in common: no test, outside the family
    rows = paired_differences(recs, labels=["n2ce", "a", "b", "c", "d"])
    assert all(list(r) == PAIRED_COLUMNS for r in rows)
    family = [r for r in rows if r["p_t"] is not None]
    assert len(family) == 4 * 3 * 2 and len(rows) == len(family) + 2
    one = [r for r in rows if r["p_t"] is None]
    assert all(r["p_holm"] is None and r["ci_low_holm"] is None and r["verdict_holm"] == "one seed" for r in one)
    assert [r["p_holm"] for r in family] == pytest.approx(holm([r["p_t"] for r in family]))
    assert [r["holm_confidence"] for r in family] == pytest.approx(holm_levels([r["p_t"] for r in family]))
    for r in family:
        assert r["ci_low_holm"] <= r["ci_low"] <= r["mean_diff"] <= r["ci_high"] <= r["ci_high_holm"]
        assert (r["verdict_holm"] != "level") == (r["p_holm"] <= 0.05)
        assert r["verdict_holm"] == verdict(r, holm=True)
        assert r["n_pos"] + r["n_neg"] == 8 and 0 < r["p_sign"] <= 1
    # the family is large enough that some raw verdict is "better" while Holm's is "level"
    assert any(verdict(r) != "level" and r["verdict_holm"] == "level" for r in family)


def test_holm_verdict_uses_the_holm_interval() -> None:
    row = {"method_a": "a", "method_b": "b", "ci_low": 0.01, "ci_high": 0.2, "ci_low_holm": -0.01,
           "ci_high_holm": 0.25}
    assert verdict(row) == "a better" and verdict(row, holm=True) == "level"
    assert verdict({**row, "ci_low_holm": 0.001}, holm=True) == "a better"
    assert verdict({**row, "ci_low_holm": None, "ci_high_holm": None}, holm=True) == "one seed"
