"""Summaries of a benchmark run folder: ``summary.csv``, ``paired.csv``, ``summary.md`` and plots, with published
anchors (``docs/published_results.md``) and paired comparisons over seeds (:mod:`n2ce_bbo.benchmark.paired`).

``summary.md`` opens with a warning section when the folder is a *mixed table*: its ok cells do not all come from
one clean, recorded commit with one set of torch / NumPy / BoTorch versions and one kind of device
(:func:`n2ce_bbo.benchmark.sources.source_mix`); it lists the commits with their cell counts and names the cells to
rerun. Cells from several platforms (a VM that moved host) are noted, not a mix. ``summary.csv`` notes each row's commits (column ``commits``). Verdicts in ``summary.md`` come from the
Holm-adjusted intervals over every comparison of the report.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.benchmark.anchors import METHOD_ROWS, P50_BEST, P50_SOURCE, REPRODUCED_ORACLES, TASK_COLUMNS, p100_anchors
from n2ce_bbo.benchmark.paired import PAIRED_COLUMNS, REFERENCE, paired_differences, verdict
from n2ce_bbo.benchmark.plots import plot_score_vs_m, plot_scores
from n2ce_bbo.benchmark.sources import commits_of, mix_markdown, short, source_mix
from n2ce_bbo.benchmark.store import load_cells
from n2ce_bbo.config import load_yaml
from n2ce_bbo.errors import OutputError
from n2ce_bbo.utils import atomic_write_bytes

CSV_COLUMNS = [
    "task", "method", "method_name", "n_seeds", "n_failed", "n_missing", "p100_mean", "p100_std", "p50_mean",
    "p50_std", "p100_raw_mean", "p50_raw_mean", "train_s", "propose_s", "time_s", "eval_s", "n_unique", "commits",
]


def _stats(values: list[Any]) -> tuple[float | None, float | None]:
    """Mean and population std (ddof = 0, as Design-Bench reports) of the finite values; ``None`` if none."""
    vals = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return None, None
    return float(np.mean(vals)), float(np.std(vals))


def planned_pairs(suite: dict[str, Any]) -> set[tuple[str, str]] | None:
    """The (task, label) pairs a suite mapping runs (a method row may name its ``tasks``); ``None`` if unreadable."""
    try:
        tasks = [str(t["name"]) if isinstance(t, dict) else str(t) for t in suite["tasks"]]
        out = set()
        for m in suite["methods"]:
            label = str(m.get("label") or m.get("name")) if isinstance(m, dict) else str(m)
            only = m.get("tasks") if isinstance(m, dict) else None
            out |= {(t, label) for t in tasks if only is None or t in only}
        return out
    except (KeyError, TypeError, AttributeError):
        return None


def _suite_order(run_dir: Path) -> tuple[list[str], list[str], dict[str, Any]]:
    """Task and method-label order (and the suite mapping) from ``suite.yaml``; empty when unreadable."""
    path = run_dir / "suite.yaml"
    if not path.is_file():
        return [], [], {}
    try:
        suite = load_yaml(path)
    except Exception:  # noqa: BLE001 - the report falls back to the order found in the cells
        return [], [], {}
    tasks = [str(t["name"]) if isinstance(t, dict) else str(t) for t in suite.get("tasks", [])]
    labels = [str(m.get("label") or m.get("name")) if isinstance(m, dict) else str(m) for m in suite.get("methods", [])]
    return tasks, labels, suite


def summarize(records: dict[str, dict[str, Any]], *, tasks: list[str] | None = None,
              labels: list[str] | None = None, n_expected: int | None = None,
              planned: set[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """One row per (task, method label): seeds, failures, p100/p50 mean ± std and mean times (seconds).

    ``planned``: the (task, label) pairs the suite runs (:func:`planned_pairs`); a pair outside it with no cells
    (a row restricted to some tasks) gets no row rather than a row of missing cells.

    ``time_s`` is the mean over seeds of ``train_s + propose_s``: what a user waits for one batch of designs.
    ``commits``: the short commits of the row's ok cells (``+dirty`` for a dirty tree, ``unknown`` where none is
    recorded), distinct values separated by spaces.
    """
    recs = list(records.values())
    task_order = list(dict.fromkeys([*(tasks or []), *sorted({str(r["task"]) for r in recs})]))
    label_order = list(dict.fromkeys([*(labels or []), *sorted({str(r["label"]) for r in recs})]))
    rows = []
    for task in task_order:
        for label in label_order:
            group = [r for r in recs if r["task"] == task and r["label"] == label]
            if not group and (tasks is None or labels is None or planned is not None and (task, label) not in planned):
                continue
            ok = [r for r in group if r["status"] == "ok"]
            failed = [r for r in group if r["status"] == "failed"]
            p100 = _stats([r.get("p100") for r in ok])
            p50 = _stats([r.get("p50") for r in ok])
            rows.append({
                "task": task, "method": label, "method_name": (group[0]["method"] if group else ""),
                "n_seeds": len(ok), "n_failed": len(failed),
                "n_missing": max(0, n_expected - len(group)) if n_expected is not None else 0,
                "p100_mean": p100[0], "p100_std": p100[1], "p50_mean": p50[0], "p50_std": p50[1],
                "p100_raw_mean": _stats([r.get("p100_raw") for r in ok])[0],
                "p50_raw_mean": _stats([r.get("p50_raw") for r in ok])[0],
                "train_s": _stats([r.get("train_s") for r in ok])[0],
                "propose_s": _stats([r.get("propose_s") for r in ok])[0],
                "time_s": _stats([_run_time(r) for r in ok])[0],
                "eval_s": _stats([r.get("eval_s") for r in ok])[0],
                "n_unique": _stats([r.get("n_unique") for r in ok])[0],
                "commits": commits_of(ok),
            })
    return rows


def _run_time(record: dict[str, Any]) -> float | None:
    """``train_s + propose_s`` of one cell, or ``None`` when either is missing."""
    t, p = record.get("train_s"), record.get("propose_s")
    if isinstance(t, (int, float)) and isinstance(p, (int, float)) and math.isfinite(t + p):
        return float(t) + float(p)
    return None


def _fmt(v: Any, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) and math.isfinite(v) else "–"


def _pm(mean: Any, std: Any) -> str:
    if not (isinstance(mean, (int, float)) and math.isfinite(mean)):
        return "–"
    return f"{mean:.3f} ± {std:.3f}" if isinstance(std, (int, float)) else f"{mean:.3f}"


def _secs(v: Any) -> str:
    if not (isinstance(v, (int, float)) and math.isfinite(v)):
        return "–"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


#: columns written with 6 significant digits (a p-value of 1e-9 must not round to 0), not 6 decimals
_SIGNIFICANT = {"p_sign", "p_t", "p_holm"}


def _csv_value(key: str, v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if key in _SIGNIFICANT else round(v, 6)
    return v


def _csv_text(rows: list[dict[str, Any]], columns: list[str] = CSV_COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_value(k, r.get(k)) for k in columns})
    return buf.getvalue()


def _signed(v: Any) -> str:
    return f"{v:+.3f}" if isinstance(v, (int, float)) and math.isfinite(v) else "–"


def _pval(v: Any) -> str:
    if not (isinstance(v, (int, float)) and math.isfinite(v)):
        return "–"
    return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"


def _paired_lines(paired: list[dict[str, Any]], task: str) -> list[str]:
    """The Markdown table of one task's paired differences (empty when there are none)."""
    rows = [p for p in paired if p["task"] == task]
    if not rows:
        return []
    n_family = sum(p.get("p_t") is not None for p in paired)
    lines = [f"Paired differences A − B over the seeds both ran: the raw 95% t-interval of the mean, and the "
             f"Holm interval (the t-interval at the level Holm's step-down procedure gives the comparison in the "
             f"family of all {n_family} comparisons of this report, family-wise error 5%); the verdict is the Holm "
             "interval's: \"better\" only when it excludes 0. p: the t-test's, raw and Holm-adjusted; sign: the "
             "exact sign test over the seeds with a nonzero difference (A ahead / B ahead).", "",
             "| A − B | metric | seeds | mean difference | 95% interval | Holm interval (level) | p (t) | "
             "p (Holm) | sign: A/B, p | verdict (Holm) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in rows:
        ci = f"[{_signed(p['ci_low'])}, {_signed(p['ci_high'])}]" if p["ci_low"] is not None else "–"
        level = p.get("holm_confidence")
        holm_ci = (f"[{_signed(p['ci_low_holm'])}, {_signed(p['ci_high_holm'])}] ({100 * level:.2f}%)"
                   if p.get("ci_low_holm") is not None and isinstance(level, float) else "–")
        sign = f"{p.get('n_pos', '?')}/{p.get('n_neg', '?')}, {_pval(p.get('p_sign'))}"
        lines.append(f"| {p['method_a']} − {p['method_b']} | {p['metric']} | {p['n_pairs']} | "
                     f"{_signed(p['mean_diff'])} | {ci} | {holm_ci} | {_pval(p.get('p_t'))} | "
                     f"{_pval(p.get('p_holm'))} | {sign} | {verdict(p, holm=True)} |")
    return [*lines, ""]


#: A seed's best design counts as "at the optimum" within this raw-unit gap (Branin's goal: within 0.05 of −0.398).
OPTIMUM_TOLERANCE = 0.05


def _optimum_lines(records: dict[str, dict[str, Any]], task: str, labels: list[str]) -> list[str]:
    """Markdown: each method's best design in raw units against the task's known optimum (empty when no cell of
    ``task`` records one): mean ± std and worst seed of the raw p100, its gap to the optimum, the share of the
    optimum reached (a positive optimum only) and the seeds within :data:`OPTIMUM_TOLERANCE` of it."""
    ok = [r for r in records.values() if r["task"] == task and r["status"] == "ok"]
    optima = {float(r["optimum"]) for r in ok if isinstance(r.get("optimum"), (int, float))}
    if len(optima) != 1:
        return []
    opt = optima.pop()
    feasibility = any(isinstance(r.get("feasible"), (int, float)) for r in ok)
    lines = [f"Raw units against the known optimum {opt:.4g}: the best design of each seed (raw p100), its gap "
             f"to the optimum, and the seeds within {OPTIMUM_TOLERANCE} of it"
             + ("; feasible: the mean share of each batch the oracle counts feasible, and its worst seed." if feasibility
                else "."), "",
             "| method | raw p100 | worst seed | mean gap | share of optimum | seeds within |"
             + (" feasible | worst seed |" if feasibility else ""),
             "|---|---|---|---|---|---|" + ("---|---|" if feasibility else "")]
    for label in labels:
        best = [float(r["p100_raw"]) for r in ok if r["label"] == label and isinstance(r.get("p100_raw"), (int, float))]
        if not best:
            continue
        mean, std = float(np.mean(best)), float(np.std(best))
        share = f"{mean / opt:.2f}" if opt > 0 else "–"
        within = sum(opt - b <= OPTIMUM_TOLERANCE for b in best)
        feasible = [float(r["feasible"]) for r in ok
                    if r["label"] == label and isinstance(r.get("feasible"), (int, float))]
        tail = (f" {np.mean(feasible):.0%} | {min(feasible):.0%} |" if feasible else " – | – |") if feasibility else ""
        lines.append(f"| {label} | {mean:.4g} ± {std:.2g} | {min(best):.4g} | {opt - mean:.4g} | {share} | "
                     f"{within} of {len(best)} |" + tail)
    return [*lines, ""]


def _provenance(run_dir: Path) -> list[str]:
    """Markdown lines naming every command that wrote this run folder, with its machine and start time."""
    try:
        runs = json.loads((run_dir / "manifest.json").read_text()).get("runs", [])
    except (OSError, ValueError, AttributeError):
        return []
    lines = ["Runs that wrote this folder:", ""]
    for r in runs:
        vers = r.get("versions") or {}
        torch_v = vers.get("torch", "?") if isinstance(vers, dict) else "?"
        src = r.get("source")
        at = ""
        if isinstance(src, dict):
            at = (f"; commit `{short(src.get('commit'))}`" + (" (dirty tree)" if src.get("dirty") else "")
                  if src.get("commit") else "; commit unknown")
        lines.append(
            f"- `{r.get('command', '?')}` — started {r.get('started_at', '?')}, {r.get('cells_to_run', '?')} of "
            f"{r.get('cells_total', '?')} cells, {r.get('workers', '?')} worker(s); host `{r.get('host', '?')}`, "
            f"{r.get('machine', '?')}, {r.get('cpu_count', '?')} CPUs, torch {torch_v}{at}"
            + (f". Note: {r['note']}" if isinstance(r.get("note"), str) and r["note"] else "")
        )
    return [*lines, ""]


def _markdown(run_dir: Path, suite: dict[str, Any], rows: list[dict[str, Any]], records: dict[str, dict[str, Any]],
              corrupt: list[Path], plots: list[Path], paired: list[dict[str, Any]]) -> str:
    recs = list(records.values())
    n_ok = sum(r["status"] == "ok" for r in recs)
    n_failed = sum(r["status"] == "failed" for r in recs)
    n_missing = sum(r["n_missing"] for r in rows)
    seeds = suite.get("seeds")
    lines = [
        f"# Benchmark report: {suite.get('name', run_dir.name)}",
        "",
        f"Run folder `{run_dir}`: {n_ok} cells ok, {n_failed} failed, {n_missing} missing"
        + (f", {len(corrupt)} corrupt files ignored" if corrupt else "") + ".",
        f"Budget Q = {suite.get('budget', '?')} designs per run; "
        + (f"seeds {seeds if seeds is not None else '?'}." if len({r["n_seeds"] for r in rows}) <= 1 else
           f"the last run's seeds were {seeds}; rows were run with different numbers of seeds (column `seeds`)."),
        "",
        "Scores are the 100th (p100) and 50th (p50) percentiles of the oracle scores of the Q proposed designs, "
        "normalised as (y − y_min)/(y_max − y_min) over the task's full data; mean ± std over seeds (population "
        "std). Times are mean wall-clock seconds per run; `time s` = training + proposing, what one batch costs. "
        "Rows marked **published** are numbers from the papers named (docs/published_results.md), not runs of this "
        f"project. Paired differences compare `{REFERENCE}` with every other method (every pair when there is no "
        f"`{REFERENCE}`); `paired.csv` holds them.",
        "",
    ]
    lines += mix_markdown(source_mix(records))
    lines += _provenance(run_dir)
    for task in dict.fromkeys(r["task"] for r in rows):
        column = TASK_COLUMNS.get(task)
        lines += [f"## {task}" + (f" (papers' column: {column})" if column else ""), ""]
        lines += ["| method | seeds | p100 (normalised) | p50 (normalised) | time s | train s | propose s | failed |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in (r for r in rows if r["task"] == task):
            name = r["method"] + (f" (`{r['method_name']}`)" if r["method_name"] and r["method_name"] != r["method"]
                                  else "")
            lines.append(f"| {name} | {r['n_seeds']} | {_pm(r['p100_mean'], r['p100_std'])} | "
                         f"{_pm(r['p50_mean'], r['p50_std'])} | {_secs(r['time_s'])} | {_secs(r['train_s'])} | "
                         f"{_secs(r['propose_s'])} | "
                         f"{r['n_failed'] or ''} |")
        anchors = p100_anchors(task)
        ours = {METHOD_ROWS.get(r["method_name"]) for r in rows if r["task"] == task}
        for method, a in anchors.items():
            mark = " ◂ same baseline as ours" if method in ours else ""
            lines.append(f"| **published**: {method} ({a.source}){mark} | 8 | {_pm(a.mean, a.std)} | | | | | |")
        if task in P50_BEST:
            v, who = P50_BEST[task]
            lines.append(f"| **published**: best p50 ({who}; {P50_SOURCE}) | 8 | | {v:.3f} | | | | |")
        lines.append("")
        lines += _optimum_lines(records, task, [r["method"] for r in rows if r["task"] == task])
        lines += _paired_lines(paired, task)
        if task in REPRODUCED_ORACLES:
            lines += [f"Note: {REPRODUCED_ORACLES[task]}", ""]
    failed = sorted((r for r in recs if r["status"] == "failed"), key=lambda r: (r["task"], r["label"], r["seed"]))
    if failed:
        lines += ["## Failed cells", "", "| task | method | seed | attempts | error |", "|---|---|---|---|---|"]
        for r in failed:
            err = str(r.get("error", "")).replace("|", "\\|")
            lines.append(f"| {r['task']} | {r['label']} | {r['seed']} | {r.get('attempts', '?')} | {err} |")
        lines += ["", "Rerun them with `n2ce-bbo benchmark SUITE --out DIR --resume`.", ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    return "\n".join(lines)


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Summarise a run folder into ``summary.csv``, ``paired.csv`` and ``summary.md`` (plus ``scores.png``,
    ``score_vs_M.png``).

    ``paired.csv`` has the columns :data:`~n2ce_bbo.benchmark.paired.PAIRED_COLUMNS`: per task, ``n2ce`` against
    every other method label (every pair when the task has no ``n2ce`` label), for p100 and p50.

    Returns:
        ``(summary_csv, summary_md)`` paths.

    Raises:
        OutputError: ``run_dir`` is not a folder or holds no cell results.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise OutputError(f"Run folder {str(run_dir)!r} does not exist.")
    records, corrupt = load_cells(run_dir, warn=True)
    if not records:
        raise OutputError(f"Run folder {str(run_dir)!r} holds no cell results (cells/*.json).")
    tasks, labels, suite = _suite_order(run_dir)
    seeds = suite.get("seeds")
    n_expected = len(seeds) if isinstance(seeds, list) and tasks and labels else None
    rows = summarize(records, tasks=tasks or None, labels=labels or None, n_expected=n_expected,
                     planned=planned_pairs(suite) if suite else None)
    plots = [p for p in (plot_scores(rows, run_dir / "scores.png"),
                         plot_score_vs_m(list(records.values()), run_dir / "score_vs_M.png")) if p is not None]
    paired = paired_differences(records.values(), tasks=tasks or None, labels=labels or None)
    csv_path, md_path = run_dir / "summary.csv", run_dir / "summary.md"
    atomic_write_bytes(csv_path, _csv_text(rows).encode())
    atomic_write_bytes(run_dir / "paired.csv", _csv_text(paired, PAIRED_COLUMNS).encode())
    atomic_write_bytes(md_path, _markdown(run_dir, suite, rows, records, corrupt, plots, paired).encode())
    return csv_path, md_path
