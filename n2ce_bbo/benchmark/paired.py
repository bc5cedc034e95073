"""Paired comparisons of methods over seeds: the mean per-seed difference and its 95% t-interval.

Two methods run on the same task with the same seeds see the same data and the same randomness in everything the
seed fixes, so their per-seed differences remove the seed-to-seed spread that both share. For methods ``a`` and
``b`` on one task and one metric, with ``d_s = metric_a(s) − metric_b(s)`` over the ``n`` seeds both finished::

    mean_diff = mean(d),   interval = mean_diff ± t_{0.975, n−1} · sd(d) / sqrt(n)   (sd with ddof = 1)

A difference is *beyond the interval* when the interval excludes 0 (``docs/protocol.md``, rule 3). With one pair
there is no interval (``ci_low`` and ``ci_high`` are ``None``).

Which pairs: ``method_a`` is the reference label (``n2ce``) against every other label of the task; when the task
has no reference label, every pair of labels, each once, in suite order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: the columns of ``paired.csv``, in order
PAIRED_COLUMNS = ["task", "method_a", "method_b", "metric", "n_pairs", "mean_diff", "ci_low", "ci_high"]
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
        Rows with the keys of :data:`PAIRED_COLUMNS` (``ci_low``/``ci_high`` ``None`` for a single pair).
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
                mean, lo, hi = t_interval([va[s] - vb[s] for s in seeds], confidence)
                rows.append({"task": task, "method_a": a, "method_b": b, "metric": metric, "n_pairs": len(seeds),
                             "mean_diff": mean, "ci_low": lo, "ci_high": hi})
    return rows


def verdict(row: Mapping[str, Any]) -> str:
    """``"a better"``, ``"b better"`` (the interval excludes 0), ``"level"``, or ``"one seed"`` (no interval)."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None:
        return "one seed"
    if lo > 0:
        return f"{row['method_a']} better"
    if hi < 0:
        return f"{row['method_b']} better"
    return "level"
