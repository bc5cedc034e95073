"""Run small cells on development tasks (or a small continuous problem of one's own) and record every proposed
design with its scores: the behaviour check of the data-derived proposal filters and the feasibility numbers of
``benchmarks/results/dev/filters.md``.

Each cell is ``n2ce_bbo.optimize`` (the one run path) with small settings per method family; the record holds the
designs, the surrogate's and the oracle's scores, p100 / p50, the share of feasible designs (Ehrlich development
tasks: no banned transition of the true function) and the method's facts without timings.

    python benchmarks/filter_check.py run OUT.jsonl --task EhrlichDev-8-16 --seeds 100 101 \
        --methods n2ce grad [--budget 64] [--set '{"filters": {"pair_support": false}}'] [--label nofilter] \
        [--defaults]
    python benchmarks/filter_check.py run OUT.jsonl --task quadratic --seeds 100 --methods n2ce grad
    python benchmarks/filter_check.py compare BEFORE.jsonl AFTER.jsonl [--ignore filters]  # exit 1 on a difference
    python benchmarks/filter_check.py table OUT.jsonl [...]               # markdown: feasible share, p100, p50
    python benchmarks/filter_check.py ranking --task EhrlichDev-8-16 --seeds 100 101 --methods grad cmaes \
        [--budget 64] [--factors 1 2 4 8 16 32]    # how long a ranking the filters need (JSON lines)

Seeds below 100 are refused (development seeds only; docs/protocol.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import n2ce_bbo  # noqa: E402
from n2ce_bbo.config import deep_merge  # noqa: E402
from n2ce_bbo.tasks.dev import MIN_DEV_SEED, make_dev_task  # noqa: E402

_LATENT = {"model": {"latent_dim": 8, "hidden": 64, "prior_hidden": 64}, "prior": {"M": 100, "K": 3},
           "train": {"epochs": 1, "max_steps": 300, "batch_size": 128},
           "propose": {"n_chains": 512, "chain_chunk": 512, "sampler": {"n_steps": 100}}}
_REG = {"regressor": {"hidden_sizes": [64, 64], "epochs": 5}}
#: Small settings per method (the quick suite's for the latent EBM).
SMALL: dict[str, dict[str, Any]] = {
    "n2ce": _LATENT, "nce": _LATENT, "gaussian": _LATENT, "mle": _LATENT,
    "grad": {**_REG, "n_steps": 50}, "grad-ensemble": {**_REG, "n_steps": 50, "n_members": 2},
    "cmaes": {**_REG, "n_restarts": 2, "max_iters": 20},
    "bo-qei": {"n_train": 200, "q": 16, "mc_samples": 32, "num_restarts": 2, "raw_samples": 32, "maxiter": 20,
               "fit_maxiter": 30, "pool_size": 1024, "acq_pool": 128},
}
TIMING = {"propose_s", "seconds", "fit_s"}


def quadratic_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """300 rows of a 2-D concave quadratic on [-2, 2]^2 with the disc around its optimum (0.5, -0.3) hidden."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(2000, 2)).astype(np.float32)
    y = -((x - np.array([0.5, -0.3])) ** 2).sum(axis=1)
    keep = y < -0.64
    return x[keep][:300], y[keep][:300].astype(np.float32)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if k not in TIMING}
    return obj


def run_cell(task_name: str, method: str, seed: int, budget: int, extra: dict[str, Any],
             defaults: bool = False) -> dict[str, Any]:
    """One cell's record (see the module docstring); ``defaults``: the method's default settings, not the small ones."""
    config = deep_merge({} if defaults else SMALL.get(method, {}), extra)
    t0 = time.perf_counter()
    if task_name == "quadratic":
        x, y = quadratic_data(seed)
        result = n2ce_bbo.optimize((x, y), method=method, budget=budget, seed=seed, config=config)
        feasible = None
    else:
        task = make_dev_task(task_name, seed, None)
        result = n2ce_bbo.optimize(task, method=method, budget=budget, seed=seed, config=config)
        fn = getattr(getattr(task, "_oracle", None), "function", None)
        feasible = float(fn.is_feasible(result.x).mean()) if fn is not None and len(result.x) else None
    return {
        "task": task_name, "method": method, "seed": seed, "budget": budget, "set": extra,
        "seconds": round(time.perf_counter() - t0, 1), "n": int(len(result.x)), "shortfall": result.shortfall,
        "feasible_share": feasible, "p100": result.p100, "p50": result.p50,
        "x": result.x.tolist(), "surrogate_scores": np.asarray(result.surrogate_scores).tolist(),
        "oracle_scores": None if result.oracle_scores is None else np.asarray(result.oracle_scores).tolist(),
        "info": _clean(json.loads(json.dumps(result.info, default=str))),
    }


def cmd_run(args: argparse.Namespace) -> None:
    low = [s for s in args.seeds if s < MIN_DEV_SEED]
    if low:
        raise SystemExit(f"seeds {low} are below {MIN_DEV_SEED}: development seeds only.")
    extra = json.loads(args.set)
    with open(args.out, "a") as fh:
        for seed in args.seeds:
            for method in args.methods:
                rec = run_cell(args.task, method, seed, args.budget, extra, args.defaults)
                rec["settings"] = "defaults" if args.defaults else "small"
                rec["label"] = args.label or method
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                print(f"{args.task} {rec['label']} seed {seed}: p100 {rec['p100']} p50 {rec['p50']} "
                      f"feasible {rec['feasible_share']} n {rec['n']} ({rec['seconds']} s)", flush=True)


def _read(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _without(info: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k not in keys}


def cmd_compare(args: argparse.Namespace) -> None:
    def key(r: dict[str, Any]) -> tuple:
        return (r["task"], r["method"], r["seed"], r["budget"])

    before = {key(r): r for r in _read(args.before)}
    same_all = True
    print("| cell | designs identical | surrogate scores identical | p100 before / after | info identical |")
    print("|---|---|---|---|---|")
    for r in _read(args.after):
        b = before.get(key(r))
        if b is None:
            print(f"| {key(r)} | no cell before | | | |")
            same_all = False
            continue
        same_x = b["x"] == r["x"]
        same_s = b["surrogate_scores"] == r["surrogate_scores"]
        same_i = _without(b["info"], args.ignore) == _without(r["info"], args.ignore)
        same_all &= same_x and same_s and same_i and b["p100"] == r["p100"]
        print(f"| {r['task']} {r['method']} seed {r['seed']} Q={r['budget']} | {'yes' if same_x else 'NO'} | "
              f"{'yes' if same_s else 'NO'} | {b['p100']} / {r['p100']} | {'yes' if same_i else 'NO'} |")
    print(f"\nall identical: {same_all}")
    sys.exit(0 if same_all else 1)


def cmd_ranking(args: argparse.Namespace) -> None:
    """How long a ranking the filters need: for each factor k, how many of a method's first k·Q ranked designs
    the data's pair support allows, and the batch the filters would return from them (designs, feasible share
    by the true function, p100)."""
    from n2ce_bbo.methods.registry import make_method

    low = [s for s in args.seeds if s < MIN_DEV_SEED]
    if low:
        raise SystemExit(f"seeds {low} are below {MIN_DEV_SEED}: development seeds only.")
    for seed in args.seeds:
        task = make_dev_task(args.task, seed, None)
        data = task.offline_data()
        for method in args.methods:
            m = make_method(method, SMALL.get(method, {}), seed=seed)
            m.fit(data)
            p = m.propose_ranked(args.budget, max(args.factors) * args.budget)
            filters = m.data_filters()
            fn = getattr(getattr(task, "_oracle", None), "function", None)
            for k in args.factors:
                x, s = p.x[: k * args.budget], p.scores[: k * args.budget]
                bx, _, facts = filters.select(x, s, args.budget)
                ys = task.normalize(task.predict(bx)).reshape(-1) if len(bx) else np.zeros(0)
                rec = {"task": args.task, "method": method, "seed": seed, "budget": args.budget, "factor": k,
                       "n_ranked": int(len(x)), "n_supported": int(filters.feasible(x).sum()), "n_batch": int(len(bx)),
                       "n_supported_in_batch": int(len(bx)) - facts["n_unsupported_in_batch"],
                       "batch_feasible_share": float(fn.is_feasible(bx).mean()) if fn is not None and len(bx) else None,
                       "p100": float(ys.max()) if len(ys) else None, "shortfall": facts["shortfall"]}
                print(json.dumps(rec), flush=True)


def cmd_table(args: argparse.Namespace) -> None:
    rows = [r for p in args.files for r in _read(p)]
    print("| task | row | seed | Q | designs | feasible share | p100 | p50 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        fs = "-" if r["feasible_share"] is None else f"{r['feasible_share']:.3f}"
        print(f"| {r['task']} | {r.get('label', r['method'])} | {r['seed']} | {r['budget']} | {r['n']} | {fs} | "
              f"{r['p100']:.4f} | {r['p50']:.4f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("out")
    run.add_argument("--task", required=True, help="a development task name, or 'quadratic' (2-D, own arrays)")
    run.add_argument("--seeds", type=int, nargs="+", default=[MIN_DEV_SEED])
    run.add_argument("--methods", nargs="+", default=["n2ce"])
    run.add_argument("--budget", type=int, default=64)
    run.add_argument("--set", default="{}", help="config overrides (JSON) merged over the small settings")
    run.add_argument("--label", default=None, help="the row's name in tables (default: the method)")
    run.add_argument("--defaults", action="store_true", help="the methods' default settings, not the small ones")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before")
    cmp.add_argument("after")
    cmp.add_argument("--ignore", nargs="*", default=[], help="info keys left out of the comparison (new keys)")
    rank = sub.add_parser("ranking")
    rank.add_argument("--task", required=True)
    rank.add_argument("--seeds", type=int, nargs="+", default=[MIN_DEV_SEED])
    rank.add_argument("--methods", nargs="+", default=["grad"])
    rank.add_argument("--budget", type=int, default=64)
    rank.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    tab = sub.add_parser("table")
    tab.add_argument("files", nargs="+")
    args = ap.parse_args()
    {"run": cmd_run, "compare": cmd_compare, "ranking": cmd_ranking, "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    main()
