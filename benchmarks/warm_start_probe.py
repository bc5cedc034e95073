"""Warm-start probe: how many of a cold fit's steps a campaign's refit needs (``train.warm_fraction``).

Only development tasks (``n2ce_bbo.tasks.dev``, seeds >= 100). Each case plays one campaign round through the user
path (``FittedModel.fit`` -> ``propose`` -> the lab -> refit):

1. ``n`` rows drawn from the task's offline rows (seeded) are the initial table; a cold fit with the default
   settings (rehearsal included) proposes ``budget`` designs, which the task's oracle "measures";
2. the model is refitted on the ``n + budget`` rows cold (the reference) and warm from the first model with each
   candidate ``train.warm_fraction``;
3. every refit is judged on what the lab gets next: the oracle's normalised scores of its next batch (``budget``
   designs, never a measured one: the measured rows are excluded) and the Spearman correlation of its predictions
   with the oracle on ``held_out`` other rows of the task; its fit seconds are recorded too.

    .venv/bin/python benchmarks/warm_start_probe.py --cases PairFieldDev-4-10:300 TableDev-5:300 \\
        --seeds 100 101 --fractions 0.1 0.25 0.5

Writes ``benchmarks/results/dev/warm_start.md`` (the table, the command, machine, date, commit) and the raw rows as
``raw/warm_start.json``; rows are appended to ``--log`` (JSON lines) as they finish.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.io.dataset import DesignData
from n2ce_bbo.tasks.dev import MIN_DEV_SEED, make_dev_task
from n2ce_bbo.workflow.data import TrainingData, task_data
from n2ce_bbo.workflow.model import FittedModel

REPO = Path(__file__).resolve().parents[1]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def _judge(model: FittedModel, task: Any, measured: np.ndarray, held: np.ndarray, budget: int,
           seed: int) -> dict[str, Any]:
    nxt = model.propose(budget, seed=seed, exclude=measured)
    truth = task.normalize(task.predict(nxt.x).reshape(-1))
    pred = model.predict(held)[0]
    return {"fit_s": round(model.fit_s, 2), "steps": model.history.get("steps"),
            "next_p100": float(np.max(truth)), "next_mean": float(np.mean(truth)),
            "spearman_held_out": _spearman(pred, task.predict(held).reshape(-1))}


def run_case(name: str, n: int, seed: int, fractions: list[float], budget: int, held_out: int) -> list[dict]:
    """One campaign round of ``name`` at ``n`` initial rows and ``seed``: the cold reference and each fraction."""
    task = make_dev_task(name, seed, None)
    full = task_data(task).data
    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(full.n)
    first, held = order[:n], order[n:n + held_out]
    d0 = DesignData(full.x[first], full.y[first], full.schema, name, [], n)
    m0 = FittedModel.fit(TrainingData(d0, task.bounds, name), "n2ce", None, seed=seed, device="cpu")
    batch = m0.propose(budget, seed=seed).x
    measured_y = task.predict(batch).reshape(-1).astype(np.float64)  # the lab
    d1 = DesignData(np.concatenate([d0.x, batch.astype(d0.x.dtype)]), np.concatenate([d0.y, measured_y]),
                    full.schema, name, [], n + len(batch))
    src = TrainingData(d1, task.bounds, name)
    rows = []
    base = {"case": f"{name}:{n}", "seed": seed, "first_fit_s": round(m0.fit_s, 2), "first_steps": m0.history["steps"]}
    variants: list[tuple[str, float | None]] = [("cold", None)] + [(f"warm {f:g}", f) for f in fractions]
    for label, frac in variants:
        cfg = None if frac is None else {"train": {"warm_fraction": frac}}
        t0 = time.perf_counter()
        m = FittedModel.fit(src, "n2ce", cfg, seed=seed, device="cpu", warm_start=None if frac is None else m0)
        wall = time.perf_counter() - t0
        assert bool(m.history["warm_start"]["used"]) == (frac is not None), m.history["warm_start"]
        rows.append({**base, "refit": label, "wall_s": round(wall, 2),
                     **_judge(m, task, d1.x, full.x[held], budget, seed + 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _table(rows: list[dict]) -> str:
    head = ["case", "seed", "refit", "steps", "fit s", "next batch p100", "next batch mean", "Spearman (held out)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| {r['case']} | {r['seed']} | {r['refit']} | {r['steps']} | {r['fit_s']:.1f} | "
                     f"{r['next_p100']:.3f} | {r['next_mean']:.3f} | {r['spearman_held_out']:.3f} |")
    means = {}
    for r in rows:
        means.setdefault(r["refit"], []).append(r)
    lines += ["", "Means over cases and seeds (fit seconds relative to the cold refit of the same case):", "",
              "| refit | fit s / cold | next batch p100 | next batch mean | Spearman (held out) |", "|---|---|---|---|---|"]
    cold = {(r["case"], r["seed"]): r["fit_s"] for r in rows if r["refit"] == "cold"}
    for label, rs in means.items():
        ratio = np.mean([r["fit_s"] / cold[(r["case"], r["seed"])] for r in rs])
        lines.append(f"| {label} | {ratio:.2f} | {np.mean([r['next_p100'] for r in rs]):.3f} | "
                     f"{np.mean([r['next_mean'] for r in rs]):.3f} | {np.mean([r['spearman_held_out'] for r in rs]):.3f} |")
    return "\n".join(lines)


def main() -> None:
    """Run the cases and write the report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="+", default=["PairFieldDev-4-10:300", "TableDev-5:300"], metavar="TASK:N")
    p.add_argument("--seeds", nargs="+", type=int, default=[100, 101])
    p.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5])
    p.add_argument("--budget", type=int, default=16)
    p.add_argument("--held-out", type=int, default=500)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "dev"))
    p.add_argument("--log", default="/tmp/warm_start_probe.jsonl")
    args = p.parse_args()
    if min(args.seeds) < MIN_DEV_SEED:
        sys.exit(f"development seeds only (>= {MIN_DEV_SEED})")
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    rows: list[dict] = []
    for case in args.cases:
        name, n = case.split(":")
        for seed in args.seeds:
            got = run_case(name, int(n), seed, args.fractions, args.budget, args.held_out)
            rows += got
            with open(args.log, "a") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in got)
    out = Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    (out / "raw" / "warm_start.json").write_text(json.dumps(rows, indent=1) + "\n")
    cmd = "python benchmarks/warm_start_probe.py " + " ".join(sys.argv[1:])
    (out / "warm_start.md").write_text(
        "# Warm refits: the fraction of a cold fit's steps (`train.warm_fraction`)\n\n"
        f"`{cmd}` on {platform.node() or 'this machine'} ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch thread), {dt.date.today()}, commit {commit.strip()} (plus the working "
        "tree, read when the probe started). Development tasks and seeds only.\n\n" + _table(rows) + "\n")
    print(_table(rows))


if __name__ == "__main__":
    main()
