"""Small-data probe: training length and predictive-std calibration of ``n2ce`` at lab sizes, on development tasks.

Decides (benchmarks/results/dev/decisions.md) how long a small table trains (``train.steps_per_row``) and which
rehearsal rows choose the predictive std's recalibration factor (``rehearsal.recalibrate``). Only development tasks
(``n2ce_bbo.tasks.dev``, seeds >= 100) and a continuous development function built here are used; the oracle is
asked only after the proposal is final. Every case subsamples a development task's offline rows to a lab size
(150-1,000 rows) and holds out other rows of the same pool for the calibration check.

For each case, seed and candidate training length it records what a user gets: the fit seconds, the oracle's
normalised p100 and p50 of the proposed batch, and the coverage of the 68 % / 95 % predictive intervals on
held-out rows and on the proposed designs (oracle values) for every recalibration rule (``none``: the std as
trained; ``all``: the factor chosen on every rehearsal-hidden row; ``random``: on the random slice only). The
factors are computed from the rehearsal's own hidden-row predictions (captured during the fit), by the same
functions the method uses (:func:`~n2ce_bbo.methods.latent_ebm.uncertainty.recalibration_scale`).

    .venv/bin/python benchmarks/small_data_probe.py --cases PairFieldDev-4-10:300 StyblinskiDev-5:200 \\
        --seeds 100 101 --candidates '{"now": 40, "spr5": 5}' --budget 64

Writes ``benchmarks/results/dev/small_data_<date>.md`` (the table, the command, machine, date, commit) and the raw
rows as ``raw/small_data_<date>.csv`` and ``.json`` (``--out`` changes the folder). Rows are appended to a
JSON-lines log as they finish (``--log``), so an interrupted probe keeps what it measured; ``--report-only``
rebuilds the files from that log.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import n2ce_bbo.methods.latent_ebm.rehearsal as rehearsal_module
from n2ce_bbo.methods import make_method
from n2ce_bbo.methods.latent_ebm.uncertainty import interval_coverage, predictive, recalibration_scale
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.dev import MIN_DEV_SEED, make_dev_task

RULES = ("none", "all", "random")
HELD_OUT = 500


# ------------------------------------------------------------------------------------------ tasks
def styblinski_dev(dim: int, seed: int, n_pool: int = 20_000) -> Task:
    """``StyblinskiDev-d``: a seeded, sign-flipped and coupled negative Styblinski-Tang function on ``[-5, 5]^d``
    (maximised), ``n_pool`` uniform rows all given (a continuous lab-like table); the normalisation's maximum is
    the best of the pool and 200 polished starts, its minimum the pool's lowest."""
    rng = np.random.default_rng([seed, 23])
    signs = rng.choice([-1.0, 1.0], size=dim)
    coupling = rng.normal(scale=0.5, size=(dim, dim))
    coupling = (coupling + coupling.T) / 2.0

    def f(x: np.ndarray) -> np.ndarray:
        u = np.asarray(x, dtype=np.float64) * signs
        st = 0.5 * (u**4 - 16.0 * u**2 + 5.0 * u).sum(axis=1)
        return (-st - np.einsum("ni,ij,nj->n", u, coupling, u) / 4.0).astype(np.float32).reshape(-1, 1)

    x = rng.uniform(-5.0, 5.0, size=(n_pool, dim))
    y = f(x)
    # the maximum: polish the pool's best 200 rows by coordinate-wise grid search (the oracle is cheap)
    best = x[np.argsort(-y.reshape(-1))[:200]].copy()
    grid = np.linspace(-5.0, 5.0, 401)
    for _ in range(3):
        for i in range(dim):
            trial = np.repeat(best[:, None, :], grid.size, axis=1)
            trial[:, :, i] = grid
            vals = f(trial.reshape(-1, dim)).reshape(best.shape[0], grid.size)
            best[:, i] = grid[vals.argmax(axis=1)]
    y_max = float(max(f(best).max(), y.max()))
    bounds = np.stack([np.full(dim, -5.0), np.full(dim, 5.0)])
    return Task(f"StyblinskiDev-{dim}", x.astype(np.float32), y, oracle=f, bounds=bounds,
                y_full_min=float(y.min()), y_full_max=y_max)


def build_case(name: str, n_rows: int, seed: int) -> tuple[Task, np.ndarray, np.ndarray]:
    """The task, the indices of its ``n_rows`` training rows and of up to ``HELD_OUT`` held-out rows (disjoint,
    distinct designs, drawn from its offline rows with ``default_rng([seed, 5])``)."""
    if seed < MIN_DEV_SEED:
        raise SystemExit(f"seed {seed} < {MIN_DEV_SEED}: development seeds only")
    task = styblinski_dev(int(name.split("-")[1]), seed) if name.startswith("StyblinskiDev") else \
        make_dev_task(name, seed, data_dir=None)
    x = task.x.reshape(task.x.shape[0], -1)
    _, first = np.unique(x, axis=0, return_index=True)
    order = np.random.default_rng([seed, 5]).permutation(np.sort(first))
    if order.size < n_rows + 50:
        raise SystemExit(f"{name} has {order.size} distinct rows, too few for {n_rows} + held-out rows")
    return task, np.sort(order[:n_rows]), np.sort(order[n_rows:n_rows + HELD_OUT])


def subset(task: Task, rows: np.ndarray) -> Task:
    """The task with only ``rows`` as its training rows (same oracle, normalisation and design space)."""
    kw: dict[str, Any] = {"num_classes": task.num_classes} if task.is_discrete else {"bounds": task.bounds}
    return Task(task.name, task.x[rows], task.y[rows], oracle=task.predict, y_full_min=task.y_full_min,
                y_full_max=task.y_full_max, **kw)


# ------------------------------------------------------------------------------------------ one cell
def coverage_rules(truth: np.ndarray, mean: np.ndarray, std: np.ndarray, scales: dict[str, float]) -> dict[str, Any]:
    """Coverage of each rule's std (``std · scales[rule]``) on rows ``truth [m]`` (standardised units)."""
    out: dict[str, Any] = {}
    for rule, s in scales.items():
        cov = interval_coverage(truth, mean, std * s)
        out[f"{rule}_68"], out[f"{rule}_95"] = cov["coverage_68"], cov["coverage_95"]
    return out


def run_cell(case: str, seed: int, cand: str, steps_per_row: int, budget: int, extra: dict[str, Any]) -> dict[str, Any]:
    name, n_rows = case.rsplit(":", 1)
    task, train_rows, held_rows = build_case(name, int(n_rows), seed)
    sub = subset(task, train_rows)
    captured: dict[str, Any] = {}
    original = rehearsal_module.rehearsal_calibration

    def capture(surrogate: Any, x: np.ndarray, y: np.ndarray, n_top: int, batch: int, **kw: Any) -> dict[str, Any]:
        mean, std, _ = predictive(surrogate, x, batch)
        captured.update(truth=surrogate.standardize_y(np.asarray(y, np.float64).reshape(-1)), mean=mean, std=std,
                        n_top=n_top)
        return original(surrogate, x, y, n_top, batch, **kw)

    overrides = {"train": {"steps_per_row": steps_per_row}, **extra}
    rehearsal_module.rehearsal_calibration = capture  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        method = make_method("n2ce", overrides, seed=seed, device="cpu")
        method.fit(sub.offline_data())
        fit_s = time.perf_counter() - t0
    finally:
        rehearsal_module.rehearsal_calibration = original  # type: ignore[assignment]
    t1 = time.perf_counter()
    proposal = method.propose(budget)
    propose_s = time.perf_counter() - t1
    surrogate = method.surrogate
    surrogate.std_scale = 1.0  # raw std below; each rule's factor is applied by coverage_rules
    scales = {"none": 1.0}
    if captured:
        t, m, s, k = captured["truth"], captured["mean"], captured["std"], captured["n_top"]
        scales["all"] = recalibration_scale(t, m, s)
        scales["random"] = recalibration_scale(t[k:], m[k:], s[k:])
    x_held = task.x[held_rows]
    mean_h, std_h, _ = predictive(surrogate, x_held)
    truth_h = surrogate.standardize_y(task.y[held_rows].astype(np.float64).reshape(-1))
    y_prop = task.predict(proposal.x).reshape(-1).astype(np.float64)
    mean_p, std_p, _ = predictive(surrogate, proposal.x)
    truth_p = surrogate.standardize_y(y_prop)
    norm = task.normalize(y_prop)
    rec: dict[str, Any] = {
        "case": case, "seed": seed, "candidate": cand, "steps_per_row": steps_per_row,
        "threads": torch.get_num_threads(),
        "extra": json.dumps(extra) if extra else "",
        "steps": int(method.history["steps"]), "rehearsal_seconds": method.rehearsal.get("seconds"),
        "fit_s": round(fit_s, 1), "propose_s": round(propose_s, 1),
        "weight": method.rehearsal.get("weight"), "p100": float(norm.max()), "p50": float(np.median(norm)),
        "best_train": float(task.normalize(sub.y.reshape(-1)).max()), "n_proposed": int(len(proposal.x)),
        "scale_all": scales.get("all"), "scale_random": scales.get("random"),
        "held_rmse": float(np.sqrt(np.mean((truth_h - mean_h) ** 2))),
    }
    rec.update({f"held_{k}": v for k, v in coverage_rules(truth_h, mean_h, std_h, scales).items()})
    rec.update({f"prop_{k}": v for k, v in coverage_rules(truth_p, mean_p, std_p, scales).items()})
    return rec


# ------------------------------------------------------------------------------------------ report
SHOW = ["case", "seed", "candidate", "steps", "fit_s", "weight", "p100", "p50", "best_train", "scale_all",
        "scale_random", "held_none_95", "held_all_95", "held_random_95", "held_all_68", "prop_none_95", "prop_all_95",
        "prop_random_95"]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means over cases and seeds per candidate (every case weighs the same)."""
    out = []
    for cand in sorted({r["candidate"] for r in rows}):
        rs = [r for r in rows if r["candidate"] == cand]
        agg: dict[str, Any] = {"candidate": cand, "cells": len(rs)}
        for k in ("fit_s", "steps", "p100", "p50", "held_none_95", "held_all_95", "held_random_95", "held_all_68",
                  "held_random_68", "prop_none_95", "prop_all_95", "prop_random_95"):
            vals = [r[k] for r in rs if r.get(k) is not None]
            agg[k] = float(np.mean(vals)) if vals else None
        out.append(agg)
    return out


def paired(rows: list[dict[str, Any]], base: str) -> list[str]:
    """Per other candidate: mean and worst paired difference of p100 / p50 against ``base`` on shared cells."""
    key = {(r["case"], r["seed"], r["candidate"]): r for r in rows}
    lines = []
    for cand in sorted({r["candidate"] for r in rows} - {base}):
        d100, d50 = [], []
        for (case, seed, c), r in key.items():
            if c == cand and (case, seed, base) in key:
                d100.append(r["p100"] - key[(case, seed, base)]["p100"])
                d50.append(r["p50"] - key[(case, seed, base)]["p50"])
        if d100:
            lines.append(f"- {cand} − {base} on {len(d100)} shared cells: p100 mean {np.mean(d100):+.4f} "
                         f"(worst {min(d100):+.4f}), p50 mean {np.mean(d50):+.4f} (worst {min(d50):+.4f})")
    return lines


def table(rows: list[dict[str, Any]], cols: list[str]) -> list[str]:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def write_report(rows: list[dict[str, Any]], out: Path, command: str, base: str, note: str = "") -> Path:
    date = dt.date.today().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw").mkdir(exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "n2ce_bbo", "benchmarks/small_data_probe.py"],
                                capture_output=True, text=True).stdout.strip())
    facts = {"command": command, "date": date, "commit": commit, "dirty": dirty, "machine": platform.platform(),
             "processor": platform.processor(),
             "python": sys.version.split()[0], "torch": torch.__version__}
    (out / "raw" / f"small_data_{date}.json").write_text(json.dumps({"facts": facts, "rows": rows}, indent=1))
    keys = sorted({k for r in rows for k in r})
    with (out / "raw" / f"small_data_{date}.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    md = [f"# Small-data probe ({date})", "", f"Command: `{command}`", "",
          f"Report built at commit {commit}{' (with uncommitted changes to n2ce_bbo or the probe)' if dirty else ''}; "
          f"machine {facts['machine']} ({facts['processor'] or 'cpu'}), torch {facts['torch']}, "
          "torch threads as --threads of each run, shared with other jobs (fit seconds are not idle-machine "
          "times; compare candidates within a cell).", "",
          "Normalised oracle scores of the proposed batch (p100, p50); coverage of the 95 % / 68 % predictive "
          "interval on held-out rows of the same pool (`held_*`) and on the proposed designs (`prop_*`, oracle "
          "values) for each recalibration rule: `none` the std as trained, `all` the factor chosen on every "
          "rehearsal-hidden row, `random` on the random slice only. `scale_*`: those factors.", "",
          *([note, ""] if note else []), "## Means per candidate", "", *table(summary(rows), ["candidate", "cells", "fit_s", "steps", "p100", "p50",
                                                              "held_none_95", "held_all_95", "held_random_95",
                                                              "held_all_68", "held_random_68", "prop_none_95",
                                                              "prop_all_95", "prop_random_95"]),
          "", "## Paired differences", "", *paired(rows, base), "", "## Every cell", "", *table(rows, SHOW), "",
          f"Raw rows: raw/small_data_{date}.csv and .json.", ""]
    path = out / f"small_data_{date}.md"
    path.write_text("\n".join(md))
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=["PairFieldDev-4-10:300", "EpistasisDev-4-10:300",
                                                   "StyblinskiDev-5:200"], help="TASK:ROWS")
    ap.add_argument("--seeds", nargs="+", type=int, default=[100, 101])
    ap.add_argument("--candidates", default='{"now": 40, "spr5": 5}',
                    help="JSON {name: train.steps_per_row} or {name: [steps_per_row, {extra overrides}]}")
    ap.add_argument("--base", default="now", help="the candidate paired differences are taken against")
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log", default="runs/small_data_probe.jsonl")
    ap.add_argument("--out", default="benchmarks/results/dev")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from --log")
    ap.add_argument("--note", default="", help="a paragraph for the report (for example the commands of the runs "
                                               "whose rows --log holds)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = Path(args.log)
    command = "python " + " ".join(["benchmarks/small_data_probe.py", *(argv if argv is not None else sys.argv[1:])])
    if not args.report_only:
        log.parent.mkdir(parents=True, exist_ok=True)
        done = {(r["case"], r["seed"], r["candidate"]) for r in _read(log)}
        for case in args.cases:
            for seed in args.seeds:
                for cand, spec in json.loads(args.candidates).items():
                    if (case, seed, cand) in done:
                        continue
                    spr, extra = (spec, {}) if isinstance(spec, int) else (spec[0], spec[1])
                    rec = run_cell(case, seed, cand, int(spr), args.budget, extra)
                    print(" ".join(f"{k}={_fmt(rec.get(k))}" for k in SHOW), flush=True)
                    with log.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
    rows = _read(log)
    print("\n".join(table(summary(rows), ["candidate", "cells", "fit_s", "p100", "p50", "held_none_95",
                                          "held_all_95", "held_random_95", "prop_all_95", "prop_random_95"])))
    print("\n".join(paired(rows, args.base)))
    print(f"wrote {write_report(rows, Path(args.out), command, args.base, args.note)}")


def _read(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
