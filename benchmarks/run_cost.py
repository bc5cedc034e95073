"""Cost of a whole default run (fit, rehearsal included, and one proposal of Q designs): ``n2ce`` vs ``nce`` vs the
Gaussian prior, side by side on the same development tasks, same machine, same thread.

Each round runs every method once on one task and seed, in an order rotated from round to round, in this one
process with one torch thread, through the run path (:meth:`FittedModel.fit` and ``propose``), so that machine
load hits all methods alike. Two clocks per run: the wall clock and the CPU time of the calling thread
(``time.thread_time``; other jobs' time slices are not counted). The table gives per-task medians and the ratios
``n2ce / nce`` and ``n2ce / gaussian`` of those medians; the issue's goal is at most 1.2 and 2.

Only development tasks at seeds >= 100 are accepted (``make_dev_task`` refuses the others). The oracle is never
called: this measures cost, not scores.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/run_cost.py --tasks PairFieldDev-4-16 EhrlichDev-8-16 \
        --seeds 100 101 --methods n2ce nce gaussian --log runs/run_cost.jsonl --resume \
        --out benchmarks/results/run_cost
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from n2ce_bbo.methods.base import ParallelSpec  # noqa: E402
from n2ce_bbo.provenance import source_state  # noqa: E402
from n2ce_bbo.tasks.dev import make_dev_task  # noqa: E402
from n2ce_bbo.workflow.data import load_data  # noqa: E402
from n2ce_bbo.workflow.model import FittedModel  # noqa: E402

DEFAULT_TASKS = ["PairFieldDev-4-16", "EhrlichDev-8-16", "EpistasisDev-4-32", "MotifNetDev-4-50",
                 "StyblinskiTangDev-6", "TableDev-5"]


def time_run(task_name: str, seed: int, method: str, budget: int, config: dict[str, Any] | None = None,
             label: str = "default") -> dict[str, Any]:
    """Fit ``method`` at its defaults (``config``'s overrides applied) on the task's training rows and propose
    ``budget`` designs; the times."""
    task = make_dev_task(task_name, seed, None)
    source = load_data(task, run_seed=seed)
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    model = FittedModel.fit(source, method, config or None, seed=seed, device="cpu",
                            parallel=ParallelSpec(workers=0))
    wall1, cpu1 = time.perf_counter(), time.thread_time()
    model.propose(budget, seed=seed)
    wall2, cpu2 = time.perf_counter(), time.thread_time()
    return {"task": task_name, "seed": seed, "method": method, "label": label, "config": config or {},
            "fit_wall_s": round(wall1 - wall0, 3), "fit_cpu_s": round(cpu1 - cpu0, 3), "propose_wall_s": round(wall2 - wall1, 3),
            "propose_cpu_s": round(cpu2 - cpu1, 3), "wall_s": round(wall2 - wall0, 3), "cpu_s": round(cpu2 - cpu0, 3),
            "load": list(os.getloadavg()), "source": source_state(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def table(rows: list[dict[str, Any]], methods: list[str]) -> str:
    """A markdown table of per-task median CPU / wall seconds and the ratios of ``n2ce`` to the others."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    others = [m for m in methods if m != "n2ce"]
    head = ["task", "runs"] + [f"{m} cpu s" for m in methods] + [f"n2ce / {m} (cpu)" for m in others] + \
        [f"n2ce / {m} (wall)" for m in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios: dict[str, list[float]] = {f"{m} {c}": [] for m in others for c in ("cpu", "wall")}

    def median(task: str, method: str, key: str) -> float | None:
        vals = [r[key] for r in rows if r["task"] == task and r["method"] == method]
        return statistics.median(vals) if vals else None

    for task in tasks:
        n = min(sum(1 for r in rows if r["task"] == task and r["method"] == m) for m in methods)
        cpu = {m: median(task, m, "cpu_s") for m in methods}
        wall = {m: median(task, m, "wall_s") for m in methods}
        cells = [task, str(n)] + [f"{cpu[m]:.1f}" if cpu[m] else "–" for m in methods]
        for clock, vals in (("cpu", cpu), ("wall", wall)):
            for m in others:
                if vals.get("n2ce") and vals.get(m):
                    ratio = vals["n2ce"] / vals[m]  # type: ignore[operator]
                    ratios[f"{m} {clock}"].append(ratio)
                    cells.append(f"**{ratio:.2f}**" if clock == "cpu" else f"{ratio:.2f}")
                else:
                    cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    summary = [f"- n2ce / {k}: median over tasks {statistics.median(v):.2f}, largest {max(v):.2f}"
               for k, v in ratios.items() if v]
    return "\n".join(lines + [""] + summary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[100, 101])
    ap.add_argument("--methods", nargs="+", default=["n2ce", "nce", "gaussian"])
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--log", required=True, help="JSON lines, one per run (appended)")
    ap.add_argument("--resume", action="store_true", help="skip runs the log already holds")
    ap.add_argument("--out", default=None, help="write OUT.md and OUT.json (the table and the rows)")
    ap.add_argument("--config", default=None, type=json.loads,
                    help="JSON overrides applied to every method, e.g. '{\"design_model\": {\"ascent_starts\": 128}}'"
                         " (a candidate default measured before it becomes one)")
    ap.add_argument("--label", default=None,
                    help="names this configuration in the log (required with --config; 'default' without)")
    args = ap.parse_args()
    if args.config is not None and not isinstance(args.config, dict):
        ap.error("--config must be a JSON object")
    if args.config and not args.label:
        ap.error("--config needs --label, so that the log tells its runs from the defaults'")
    label = args.label or "default"
    if "n2ce" not in args.methods:
        ap.error("--methods must include n2ce (the ratios are n2ce's)")
    import torch

    torch.set_num_threads(1)
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    done = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    if not args.resume:
        done = []
    done = [r for r in done if r.get("label", "default") == label]
    have = {(r["task"], r["seed"], r["method"]) for r in done}
    rows = [r for r in done if r["task"] in args.tasks and r["seed"] in args.seeds and r["method"] in args.methods]
    started = dt.datetime.now(dt.UTC)
    load0 = os.getloadavg()
    rounds = [(t, s) for t in args.tasks for s in args.seeds]
    for i, (task, seed) in enumerate(rounds):
        shift = i % len(args.methods)
        order = args.methods[shift:] + args.methods[:shift]  # rotated: no method always runs first
        for method in order:
            if (task, seed, method) in have:
                continue
            row = time_run(task, seed, method, args.budget, args.config, label)
            print(f"[{i + 1}/{len(rounds)}] {task} seed {seed} {method}: cpu {row['cpu_s']:.1f} s, wall "
                  f"{row['wall_s']:.1f} s", flush=True)
            with log.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            rows.append(row)
    text = table(rows, args.methods)
    print(text)
    if args.out:
        commits = sorted({(r["source"]["commit"], r["source"]["dirty"]) for r in rows})
        header = [
            "# Cost of a whole default run: n2ce vs nce vs the Gaussian prior", "",
            f"- command: `{' '.join(['python', *sys.argv])}`",
            f"- configuration `{label}`: overrides {json.dumps(args.config or {})} applied to every method",
            f"- date: {started:%Y-%m-%d %H:%M} UTC; rows' commits (commit, dirty): {commits}",
            f"- machine: `{' '.join(platform.uname())}`; {os.cpu_count()} cores; load average at start "
            f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}",
            "- one process, one torch thread, methods in rotated order per task and seed; each run = fit (rehearsal "
            "included) + one proposal of Q = 128 designs at the method's defaults; medians over seeds. `cpu` is the "
            "thread's CPU time (other jobs' time slices not counted), `wall` the wall clock.", "",
        ]
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text("\n".join(header) + "\n" + text + "\n")
        out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
