"""The decision rule of benchmarks/results/dev/decisions.md applied to a benchmark run folder (or a propose sweep's
log): each candidate against the reference row, paired over the (task, seed) cells both hold.

A candidate replaces the default only when (a) its mean Δp100 over the cells is positive with more cells up than down
(by more than 0.005), (b) that mean stays positive with the one cell of largest |Δp100| left out, and (c) its mean
Δp50 is not below −0.005 (the rule first written in the ``propose.y_star_offset`` section).

The batch route (from 2026-12-07; decisions.md, "The decision rule's batch route"): a lab measures the whole batch,
so a candidate that raises the median and leaves the best alone may replace the default too: (a') its mean Δp50 is
above the tie margin 0.005 with more cells up than down (a median moves in small steps: a mean of +0.001 from two
cells up and the rest tied is no gain), (b') that mean stays positive without the cell of largest |Δp50|, and (c')
its mean Δp100 is not below −0.005. ``passes`` is either route.

    python benchmarks/decision_rule.py runs/ascent_dev --reference n2ce
    python benchmarks/decision_rule.py runs/open_proposal/sweep.jsonl --reference default

Prints a markdown table (one row per candidate) and the per-cell differences; ``--csv`` also writes those rows.
Cells that failed or ran at another commit than the reference are reported, never silently mixed.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

TIE = 0.005


def read_cells(path: Path) -> list[dict[str, Any]]:
    """``[{"task", "seed", "label", "p100", "p50", "commit"}]`` from a run folder's ``cells/`` (or a folder of exported
    cell files) or a sweep's JSON lines."""
    out = []
    if path.is_dir():
        folder = path / "cells" if (path / "cells").is_dir() else path  # a run folder, or its exported cell files
        for f in sorted(folder.glob("*__seed*.json")):
            d = json.loads(f.read_text())
            if d.get("status", "ok") != "ok":
                continue
            out.append({"task": d["task"], "seed": int(d["seed"]), "label": d.get("label") or d["method"],
                        "p100": float(d["p100"]), "p50": float(d["p50"]), "commit": d.get("commit")})
    else:
        for line in path.read_text().splitlines():
            if line.strip():
                d = json.loads(line)
                out.append({"task": d["task"], "seed": int(d["seed"]), "label": d["variant"],
                            "p100": float(d["p100"]), "p50": float(d["p50"]),
                            "commit": d.get("commit") or (d.get("source") or {}).get("commit")})
    return out


def _route(lead: list[float], other: list[float], margin: float) -> dict[str, Any]:
    """One route of the rule: ``lead`` must rise (mean > ``margin``, more cells up than down, still > 0 without the
    cell of largest |Δ|), ``other`` may not fall (mean >= −TIE)."""
    n = len(lead)
    mean = statistics.fmean(lead)
    up = sum(d > TIE for d in lead)
    down = sum(d < -TIE for d in lead)
    largest = max(range(n), key=lambda i: abs(lead[i]))
    rest = [d for i, d in enumerate(lead) if i != largest]
    mean_rest = statistics.fmean(rest) if rest else 0.0
    mean_other = statistics.fmean(other)
    return {"mean": mean, "up": up, "down": down, "largest_cell": largest, "largest": lead[largest],
            "mean_without_largest": mean_rest, "mean_other": mean_other,
            "a": mean > margin and up > down, "b": mean_rest > 0, "c": mean_other >= -TIE}


def judge(deltas100: list[float], deltas50: list[float]) -> dict[str, Any]:
    """The rule's quantities and verdict for one candidate's paired differences (same order, one per cell): the
    p100 route's ``a``, ``b``, ``c`` and the batch route's ``a50``, ``b50``, ``c50``; ``passes`` is either."""
    best, batch = _route(deltas100, deltas50, 0.0), _route(deltas50, deltas100, TIE)
    passes_best = best["a"] and best["b"] and best["c"]
    passes_batch = batch["a"] and batch["b"] and batch["c"]
    return {"n": len(deltas100), "mean_p100": best["mean"], "up": best["up"], "down": best["down"],
            "largest_cell": best["largest_cell"], "largest": best["largest"],
            "mean_p100_without_largest": best["mean_without_largest"], "mean_p50": best["mean_other"],
            "a": best["a"], "b": best["b"], "c": best["c"], "passes_p100": passes_best,
            "up50": batch["up"], "down50": batch["down"], "largest_cell50": batch["largest_cell"],
            "mean_p50_without_largest": batch["mean_without_largest"],
            "a50": batch["a"], "b50": batch["b"], "c50": batch["c"], "passes_p50": passes_batch,
            "passes": passes_best or passes_batch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", type=Path, help="a benchmark run folder or a propose sweep's JSON lines")
    ap.add_argument("--reference", default="n2ce", help="the label of the default row")
    ap.add_argument("--csv", type=Path, default=None, help="also write the per-cell differences here")
    args = ap.parse_args()
    cells = read_cells(args.source)
    ref = {(c["task"], c["seed"]): c for c in cells if c["label"] == args.reference}
    if not ref:
        raise SystemExit(f"no cell of the reference {args.reference!r} in {args.source}")
    labels = list(dict.fromkeys(c["label"] for c in cells if c["label"] != args.reference))
    commits = sorted({str(c["commit"]) for c in cells})
    print(f"source {args.source}; reference `{args.reference}` ({len(ref)} cells); commits {commits}\n")
    print("| candidate | cells | mean Δp100 | up / down | largest |Δp100| cell | mean Δp100 without it | mean Δp50 | "
          "(a) (b) (c) | p50 up / down | mean Δp50 without its largest | (a') (b') (c') | passes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    per_cell = []
    for label in labels:
        mine = [c for c in cells if c["label"] == label and (c["task"], c["seed"]) in ref]
        if not mine:
            continue
        d100 = [c["p100"] - ref[(c["task"], c["seed"])]["p100"] for c in mine]
        d50 = [c["p50"] - ref[(c["task"], c["seed"])]["p50"] for c in mine]
        r = judge(d100, d50)
        big = mine[r["largest_cell"]]
        flags = " ".join("yes" if r[k] else "no" for k in "abc")
        flags50 = " ".join("yes" if r[k] else "no" for k in ("a50", "b50", "c50"))
        verdict = ("**yes** (" + ", ".join(k for k in ("p100", "p50") if r[f"passes_{k}"]) + ")") if r["passes"] \
            else "no"
        print(f"| {label} | {r['n']} | {r['mean_p100']:+.3f} | {r['up']} / {r['down']} | {big['task']} s{big['seed']} "
              f"{r['largest']:+.3f} | {r['mean_p100_without_largest']:+.3f} | {r['mean_p50']:+.3f} | {flags} | "
              f"{r['up50']} / {r['down50']} | {r['mean_p50_without_largest']:+.3f} | {flags50} | {verdict} |")
        per_cell += [(label, c["task"], c["seed"], x, y) for c, x, y in zip(mine, d100, d50, strict=True)]
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        lines = ["candidate,task,seed,d_p100,d_p50"] + [f"{a},{t},{s},{x:.6f},{y:.6f}" for a, t, s, x, y in per_cell]
        args.csv.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
