"""Report figures (matplotlib, Agg backend): score per method per task, and score against N²CE's M."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.benchmark.anchors import TASK_COLUMNS, best_published_p100, p100_anchors


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    tmp.replace(path)
    return path


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def plot_scores(rows: list[dict[str, Any]], path: str | Path) -> Path | None:
    """One panel per task: normalised p100 (filled) and p50 (hollow) mean ± std per method.

    Published anchors are drawn as horizontal reference lines: the best published p100 (dashed) and the
    best design in the training data (dotted). ``rows`` are the summary rows of :func:`report.summarize`.
    Returns the written path, or ``None`` when no row has a score.
    """
    tasks = [t for t in dict.fromkeys(r["task"] for r in rows) if any(_finite(r["p100_mean"]) for r in rows
                                                                       if r["task"] == t)]
    if not tasks:
        return None
    plt = _pyplot()
    n_methods = max(sum(1 for r in rows if r["task"] == t) for t in tasks)
    fig, axes = plt.subplots(1, len(tasks), figsize=(max(4.0, 0.55 * n_methods + 2) * len(tasks), 4.2),
                             squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        trows = [r for r in rows if r["task"] == task]
        xs = list(range(len(trows)))
        for x, r in zip(xs, trows, strict=True):
            if _finite(r["p100_mean"]):
                ax.errorbar(x, r["p100_mean"], yerr=r["p100_std"] or 0.0, fmt="o", color="tab:blue", capsize=3,
                            label="ours p100" if x == 0 else None)
            if _finite(r["p50_mean"]):
                ax.errorbar(x + 0.15, r["p50_mean"], yerr=r["p50_std"] or 0.0, fmt="o", mfc="none", color="tab:orange",
                            capsize=3, label="ours p50" if x == 0 else None)
        best = best_published_p100(task)
        if best is not None:
            ax.axhline(best[1].mean, color="tab:red", ls="--", lw=1, label=f"published best p100 ({best[0]})")
        dbest = p100_anchors(task).get("best in training data, D(best)")
        if dbest is not None:
            ax.axhline(dbest.mean, color="gray", ls=":", lw=1, label="published D(best)")
        ax.set_xticks(xs, [r["method"] for r in trows], rotation=45, ha="right", fontsize=8)
        ax.set_title(TASK_COLUMNS.get(task, task), fontsize=10)
        ax.set_ylabel("normalised score")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = _save(fig, Path(path))
    plt.close(fig)
    return out


def _m_of(config: Any) -> float | None:
    try:
        m = config["prior"]["M"]
    except (KeyError, TypeError):
        return None
    return float(m) if _finite(m) else None


def m_groups(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[float, list[float]]]:
    """Cells of methods that differ only in ``prior.M``: ``(task, method) -> {M: [p100 per seed]}``.

    Records are grouped by task, method name and their configuration with ``prior.M`` removed; only groups
    with at least two distinct M values are returned. Records without ``config.prior.M`` are skipped.
    """
    groups: dict[tuple[str, str, str], dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        if rec.get("status") != "ok" or not _finite(rec.get("p100")):
            continue
        config = rec.get("config")
        m = _m_of(config)
        if m is None:
            continue
        rest = json.loads(json.dumps(config, default=str))
        rest["prior"].pop("M", None)
        key = (str(rec["task"]), str(rec["method"]), json.dumps(rest, sort_keys=True))
        groups[key][m].append(float(rec["p100"]))
    out: dict[tuple[str, str], dict[float, list[float]]] = {}
    for (task, method, _), by_m in groups.items():
        if len(by_m) >= 2:
            name = (task, method)
            k = 2
            while name in out:  # two groups of one method with different other settings
                name = (task, f"{method} ({k})")
                k += 1
            out[name] = dict(sorted(by_m.items()))
    return out


def plot_score_vs_m(records: list[dict[str, Any]], path: str | Path) -> Path | None:
    """Normalised p100 (mean ± std over seeds) against M (log axis), one line per (task, method) group.

    Returns the written path, or ``None`` when the run holds no methods that differ only in ``prior.M``.
    """
    groups = m_groups(records)
    if not groups:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (task, method), by_m in groups.items():
        ms = np.array(list(by_m))
        means = np.array([np.mean(v) for v in by_m.values()])
        stds = np.array([np.std(v) for v in by_m.values()])
        ax.errorbar(ms, means, yerr=stds, marker="o", capsize=3, label=f"{method} on {TASK_COLUMNS.get(task, task)}")
    ax.set_xscale("log")
    ax.set_xlabel("N²CE noise weight M")
    ax.set_ylabel("normalised 100th-percentile score")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = _save(fig, Path(path))
    plt.close(fig)
    return out
