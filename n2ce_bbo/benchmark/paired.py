"""Paired comparisons of methods over seeds: the mean per-seed difference, its 95% t-interval, a t-test and a
sign test, and Holm-adjusted p-values and intervals over the whole family of comparisons a report shows.

Two methods run on the same task with the same seeds see the same data and the same randomness in everything the
seed fixes, so their per-seed differences remove the seed-to-seed spread that both share. For methods ``a`` and
``b`` on one task and one metric, with ``d_s = metric_a(s) − metric_b(s)`` over the ``n`` seeds both finished::

    mean_diff = mean(d),   interval = mean_diff ± t_{0.975, n−1} · sd(d) / sqrt(n)   (sd with ddof = 1)

A difference is *beyond the interval* when the interval excludes 0 (``docs/protocol.md``, rule 3). With one pair
there is no interval (``ci_low`` and ``ci_high`` are ``None``).

Tests of each comparison (:func:`paired_tests`):

* ``p_t``: the two-sided one-sample t-test of ``mean(d) = 0`` (``t = mean_diff / (sd(d) / sqrt(n))``, ``n − 1``
  degrees of freedom), the test the t-interval inverts. With no spread (``sd = 0``) it is 1 when every
  difference is 0 and 0 otherwise; with one pair there is none (``None``).
* ``p_sign``: the exact two-sided sign test over the seeds whose difference is not exactly 0 (``n_pos`` positive,
  ``n_neg`` negative): ``min(1, 2 · P(X <= min(n_pos, n_neg)))`` for ``X ~ Binomial(n_pos + n_neg, 1/2)``, the
  same value as ``scipy.stats.binomtest(n_pos, n_pos + n_neg, 0.5)``; 1 when no difference is nonzero. It
  assumes no distribution, and with 8 seeds it cannot go below 2/256 = 0.0078.

The family, and Holm's step-down procedure (:func:`holm`, :func:`holm_levels`). The family is every row of
``paired.csv``: every (task, method pair, metric) a report shows with at least two seeds (rows with one seed have
no ``p_t`` and are left out). Order its ``m`` t-test p-values ``p_(1) <= ... <= p_(m)`` (ties keep row order).

* ``p_holm``, the adjusted p-value of the comparison ranked ``i``: ``max_{j <= i} min(1, (m − j + 1) p_(j))``.
  The comparison is rejected at family-wise level ``α`` (``1 − confidence``, 0.05) when ``p_holm <= α``.
* ``ci_low_holm`` / ``ci_high_holm``, the Holm interval: the t-interval at the confidence level Holm's procedure
  assigns to the comparison, ``holm_confidence = 1 − α / (m − k + 1)`` with ``k = i`` while the step-down is still
  rejecting (every comparison ranked ``<= i`` is rejected), and ``k = r``, the rank of the first comparison the
  step-down does not reject, for that comparison and every one after it (the step-down stops there). So the Holm
  interval excludes 0 exactly when Holm's procedure rejects the comparison (up to ties at the boundary), and
  ``verdict_holm`` — "a better" / "b better" when the Holm interval lies above / below 0, "level" otherwise — is
  the verdict of a family-wise 5% error rate over every comparison of the report. The Holm intervals are wider
  than the raw 95% ones; they are the per-step intervals of the procedure, not simultaneous confidence intervals
  for all differences at once.

Which pairs: ``method_a`` is the reference label (``n2ce``) against every other label of the task; when the task
has no reference label, every pair of labels, each once, in suite order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: the columns of ``paired.csv``, in order
PAIRED_COLUMNS = ["task", "method_a", "method_b", "metric", "n_pairs", "mean_diff", "ci_low", "ci_high",
                  "n_pos", "n_neg", "p_sign", "p_t", "p_holm", "holm_confidence", "ci_low_holm", "ci_high_holm",
                  "verdict_holm"]
#: the method label compared with every other one
REFERENCE = "n2ce"
METRICS = ("p100", "p50")


def t_interval(diffs: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Mean of ``diffs`` and the two-sided Student-t confidence interval of that mean.

    Args:
        diffs: per-seed differences ``[n]``, ``n >= 1``, finite.
        confidence: coverage of the interval, in ``(0, 1)``.

    Returns:
        ``(mean, low, high)``; ``low`` and ``high`` are ``None`` when ``n == 1`` (no spread to estimate).
    """
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if d.size == 0 or not np.isfinite(d).all():
        raise ValueError(f"t_interval needs at least one finite difference, got {d.tolist()}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = float(d.mean())
    if d.size == 1:
        return mean, None, None
    from scipy.stats import t as student_t

    half = float(student_t.ppf(0.5 + confidence / 2.0, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return mean, mean - half, mean + half


def sign_test(diffs: Sequence[float]) -> tuple[int, int, float]:
    """The exact two-sided sign test of per-seed differences.

    Returns:
        ``(n_pos, n_neg, p)``: the positive and negative differences (zeros are dropped) and
        ``min(1, 2 · P(X <= min(n_pos, n_neg)))`` for ``X ~ Binomial(n_pos + n_neg, 1/2)``; ``p = 1`` when no
        difference is nonzero.
    """
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if not np.isfinite(d).all():
        raise ValueError(f"sign_test needs finite differences, got {d.tolist()}")
    n_pos, n_neg = int((d > 0).sum()), int((d < 0).sum())
    n = n_pos + n_neg
    if n == 0:
        return n_pos, n_neg, 1.0
    tail = sum(math.comb(n, k) for k in range(min(n_pos, n_neg) + 1)) / 2.0**n
    return n_pos, n_neg, min(1.0, 2.0 * tail)


def t_test(diffs: Sequence[float]) -> float | None:
    """The two-sided p-value of the one-sample t-test of ``mean(diffs) = 0`` (``None`` for one difference; with no
    spread, 1 when the mean is 0 and 0 otherwise)."""
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if d.size == 0 or not np.isfinite(d).all():
        raise ValueError(f"t_test needs at least one finite difference, got {d.tolist()}")
    if d.size == 1:
        return None
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    from scipy.stats import t as student_t

    stat = abs(mean) / (sd / math.sqrt(d.size))
    return float(min(1.0, 2.0 * student_t.sf(stat, d.size - 1)))


def _holm_order(pvalues: Sequence[float | None]) -> list[tuple[int, float]]:
    """``(index, p)`` of the non-``None`` p-values, smallest first (stable: ties keep their order)."""
    present = [(i, float(p)) for i, p in enumerate(pvalues) if p is not None]
    if any(not 0.0 <= p <= 1.0 for _, p in present):
        raise ValueError(f"p-values must be in [0, 1], got {list(pvalues)}")
    return sorted(present, key=lambda ip: ip[1])


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values of a family (``None`` entries are not in the family and stay ``None``).

    For the ``m`` p-values in ascending order, the ``i``-th (1-based) gets
    ``max_{j <= i} min(1, (m − j + 1) · p_(j))``; rejecting where it is ``<= α`` keeps the family-wise error rate
    at ``α``.
    """
    order = _holm_order(pvalues)
    m = len(order)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (i, p) in enumerate(order, start=1):
        running = max(running, min(1.0, (m - rank + 1) * p))
        out[i] = running
    return out


def holm_levels(pvalues: Sequence[float | None], alpha: float = 0.05) -> list[float | None]:
    """The confidence level of each comparison's Holm interval (``None`` where the p-value is ``None``).

    The comparison ranked ``i`` of ``m`` (ascending p) gets ``1 − α / (m − k + 1)``, with ``k = i`` while every
    comparison ranked ``<= i`` is rejected (``p_(j) <= α / (m − j + 1)``), and ``k = r`` for the first one not
    rejected (rank ``r``) and every one after it. So its t-interval excludes 0 exactly when Holm rejects it.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    order = _holm_order(pvalues)
    m = len(order)
    out: list[float | None] = [None] * len(pvalues)
    stop: int | None = None
    for rank, (i, p) in enumerate(order, start=1):
        if stop is None and p > alpha / (m - rank + 1):
            stop = rank
        k = rank if stop is None else stop
        out[i] = 1.0 - alpha / (m - k + 1)
    return out


def _by_seed(records: Iterable[Mapping[str, Any]], metric: str) -> dict[tuple[str, str], dict[int, float]]:
    """``(task, label) -> {seed: value}`` of the finished cells with a finite ``metric``."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for r in records:
        v = r.get(metric)
        if r.get("status") == "ok" and isinstance(v, (int, float)) and math.isfinite(v):
            out.setdefault((str(r["task"]), str(r["label"])), {})[int(r["seed"])] = float(v)
    return out


def method_pairs(labels: Sequence[str], reference: str = REFERENCE) -> list[tuple[str, str]]:
    """``(method_a, method_b)`` pairs to compare: ``reference`` against each other label when it is among
    ``labels``, else every pair once (``a`` before ``b`` in ``labels``' order)."""
    if reference in labels:
        return [(reference, b) for b in labels if b != reference]
    return [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]


def paired_differences(
    records: Iterable[Mapping[str, Any]],
    *,
    tasks: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    metrics: Sequence[str] = METRICS,
    reference: str = REFERENCE,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per (task, method pair, metric) with at least one seed both methods finished.

    Args:
        records: cell records (``status``, ``task``, ``label``, ``seed`` and the metric keys).
        tasks, labels: the order of tasks and method labels (default: sorted as found); found ones not listed
            follow in sorted order.
        metrics: record keys compared (higher is better, so ``mean_diff > 0`` favours ``method_a``).
        reference: the label compared with every other one (see :func:`method_pairs`).
        confidence: coverage of the interval.

    Returns:
        Rows with the keys of :data:`PAIRED_COLUMNS` (``ci_low``/``ci_high`` ``None`` for a single pair); the
        Holm columns treat every returned row as one family (see the module docstring).
    """
    recs = list(records)
    found_tasks = sorted({str(r["task"]) for r in recs})
    found_labels = sorted({str(r["label"]) for r in recs})
    task_order = list(dict.fromkeys([*(tasks or []), *found_tasks]))
    label_order = list(dict.fromkeys([*(labels or []), *found_labels]))
    per_metric = {m: _by_seed(recs, m) for m in metrics}
    rows: list[dict[str, Any]] = []
    for task in task_order:
        present = [lab for lab in label_order if any((task, lab) in per_metric[m] for m in metrics)]
        for a, b in method_pairs(present, reference):
            for metric in metrics:
                va, vb = per_metric[metric].get((task, a), {}), per_metric[metric].get((task, b), {})
                seeds = sorted(set(va) & set(vb))
                if not seeds:
                    continue
                diffs = [va[s] - vb[s] for s in seeds]
                mean, lo, hi = t_interval(diffs, confidence)
                n_pos, n_neg, p_sign = sign_test(diffs)
                rows.append({"task": task, "method_a": a, "method_b": b, "metric": metric, "n_pairs": len(seeds),
                             "mean_diff": mean, "ci_low": lo, "ci_high": hi, "n_pos": n_pos, "n_neg": n_neg,
                             "p_sign": p_sign, "p_t": t_test(diffs), "_diffs": diffs})
    return holm_family(rows, alpha=1.0 - confidence)


def holm_family(rows: Sequence[Mapping[str, Any]], alpha: float = 0.05) -> list[dict[str, Any]]:
    """``rows`` (with ``p_t`` and ``_diffs``, the per-seed differences) as one family: each gains ``p_holm``,
    ``holm_confidence``, ``ci_low_holm``, ``ci_high_holm`` and ``verdict_holm``; returned with the keys of
    :data:`PAIRED_COLUMNS`, in order."""
    adjusted = holm([r["p_t"] for r in rows])
    levels = holm_levels([r["p_t"] for r in rows], alpha)
    out: list[dict[str, Any]] = []
    for r, p_adj, level in zip(rows, adjusted, levels, strict=True):
        lo = hi = None
        if level is not None:
            _, lo, hi = t_interval(r["_diffs"], level)
        row = {**r, "p_holm": p_adj, "holm_confidence": level, "ci_low_holm": lo, "ci_high_holm": hi}
        row["verdict_holm"] = verdict(row, holm=True)
        out.append({k: row.get(k) for k in PAIRED_COLUMNS})
    return out


def verdict(row: Mapping[str, Any], *, holm: bool = False) -> str:
    """``"a better"``, ``"b better"`` (the interval excludes 0), ``"level"``, or ``"one seed"`` (no interval).

    ``holm``: judge by the Holm interval (``ci_low_holm`` / ``ci_high_holm``) instead of the raw 95% one.
    """
    lo, hi = (row.get("ci_low_holm"), row.get("ci_high_holm")) if holm else (row.get("ci_low"), row.get("ci_high"))
    if lo is None or hi is None:
        return "one seed"
    if lo > 0:
        return f"{row['method_a']} better"
    if hi < 0:
        return f"{row['method_b']} better"
    return "level"
