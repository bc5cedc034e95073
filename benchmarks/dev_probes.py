"""Development probes for the latent-EBM method (issue 10), on development seeds (>= 100) and tasks only.

Every sub-command trains on a task's offline rows, proposes or ranks without the oracle, and only then asks the
oracle, for this log. Reported seeds 0-7 are refused. Results are printed and appended as one JSON line each to
``--log`` (default ``runs/dev_probes.jsonl``).

    python benchmarks/dev_probes.py enumerate TFBind10-Exact-v0 100
    python benchmarks/dev_probes.py feasibility 101 n2ce
    python benchmarks/dev_probes.py evaluate EhrlichDev-32-32 100 n2ce --set '{"propose": {"pair_support": false}}'
    python benchmarks/dev_probes.py table TableDev-5 100 n2ce --work runs/dev_table

Tasks (built by ``n2ce_bbo.tasks.dev``; its docstring and ``docs/protocol.md`` say what each stands in for):
registered names (TFBind10 takes a 10,000-row subset drawn with the run seed); ``EhrlichDev-V-L``,
``PairFieldDev-C-L``, ``EpistasisDev-C-L`` and ``MotifNetDev-C-L`` (token sequences); ``AckleyDev-D``,
``LevyDev-D``, ``RosenbrockDev-D``, ``StyblinskiTangDev-D`` (continuous, known optimum: ``evaluate`` also records
the raw regret) and ``TableDev-D`` (a property table; ``table`` runs it through the user path: the CSV,
``n2ce-bbo optimize --data``, then the oracle on ``designs.csv``).
The data folder comes from ``--data-dir`` or ``$N2CE_BBO_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.methods import make_method, select_top
from n2ce_bbo.methods.search import top_designs
from n2ce_bbo.methods.selection import top_indices
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.dev import make_dev_task


def _record(args: argparse.Namespace, rec: dict[str, Any]) -> None:
    print(json.dumps(rec), flush=True)
    path = Path(args.log)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(rec) + "\n")


def _fit(task: Task, method: str, seed: int, overrides: dict[str, Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    m = make_method(method, overrides, seed=seed)
    m.fit(task.offline_data())
    return m, time.perf_counter() - t0


def cmd_enumerate(args: argparse.Namespace) -> None:
    """Exhaustive ranking of a token space by several candidate scores (no rehearsal: one fit)."""
    task = make_dev_task(args.task, args.seed, args.data_dir)
    data = task.offline_data()
    overrides = {"rehearsal": {"enabled": False}, **json.loads(args.set)}
    m, fit_s = _fit(task, args.method, args.seed, overrides)
    s = m.surrogate

    def members(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.no_grad():
            mu, _ = s.encode(torch.as_tensor(x))
            return (s.value_members(mu).double().numpy(), s.prior_f(mu).double().numpy(),
                    ((s.log_prior(mu).double().numpy() - m.density_stats[0]) / m.density_stats[1]))

    scores = {
        "h": lambda x: members(x)[0].mean(0),
        "h+0.1f": lambda x: members(x)[0].mean(0) + 0.1 * members(x)[1],
        "h+0.1lpz": lambda x: members(x)[0].mean(0) + 0.1 * members(x)[2],
        "h+0.3lpz": lambda x: members(x)[0].mean(0) + 0.3 * members(x)[2],
        "h+1lpz": lambda x: members(x)[0].mean(0) + members(x)[2],
    }
    if s.value_members(torch.zeros(1, s.latent_dim)).shape[0] > 1:
        scores["head0"] = lambda x: members(x)[0][0]
    for name, fn in scores.items():
        x, sc, n = top_designs(fn, data.dim, int(data.num_classes or 2), 20_000, exclude=data.x)
        for h in (1, 3):
            xt, _ = select_top(x, sc, 128, min_hamming=h)
            ny = task.normalize(task.predict(xt).reshape(-1))
            _record(args, {"probe": "enumerate", "task": args.task, "seed": args.seed, "method": args.method,
                           "set": overrides, "score": name, "min_hamming": h, "p100": float(ny.max()),
                           "p50": float(np.median(ny)), "fit_s": round(fit_s, 1), "n_scored": n})


def cmd_feasibility(args: argparse.Namespace) -> None:
    """AUC of the latent model's scores for 'scores above zero' among random mutants of the best rows."""
    from sklearn.metrics import roc_auc_score

    from n2ce_bbo.methods.support import fit_pair_support

    task = make_dev_task(f"EhrlichDev-{args.states}-{args.length}", args.seed, args.data_dir)
    data = task.offline_data()
    m, fit_s = _fit(task, args.method, args.seed, {"rehearsal": {"enabled": False}, **json.loads(args.set)})
    s = m.surrogate
    rng = np.random.default_rng(0)
    top = data.x[np.argsort(-data.y.reshape(-1))[:512]].astype(np.int64)
    parts = []
    for k in (1, 2, 3):
        base = top[rng.integers(0, len(top), 4000)].copy()
        for _ in range(k):
            base[np.arange(len(base)), rng.integers(0, data.dim, len(base))] = rng.integers(0, data.num_classes,
                                                                                           len(base))
        parts.append(base)
    cand = np.concatenate(parts)
    positive = task.predict(cand).reshape(-1) > 0
    with torch.no_grad():
        t = torch.as_tensor(cand)
        mu, _ = s.encode(t)
        logits = s.decode_standardized(mu)
        rec = -torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1),
                                                 reduction="none").reshape(len(cand), -1).sum(1)
        lp = s.log_prior(mu)
        feats = {"h": s.value(mu), "f": s.prior_f(mu), "log_p": lp, "rec": rec, "elbo": rec + lp}
    support = fit_pair_support(data.x, int(data.num_classes or 2))
    auc = {k: float(roc_auc_score(positive, v.double().numpy())) for k, v in feats.items()}
    auc["pair_support"] = float(roc_auc_score(positive, support.allowed(cand).astype(float)))
    _record(args, {"probe": "feasibility", "task": f"EhrlichDev-{args.states}-{args.length}", "seed": args.seed,
                   "method": args.method, "frac_positive": float(positive.mean()), "auc": auc,
                   "fit_s": round(fit_s, 1)})


def cmd_evaluate(args: argparse.Namespace) -> None:
    """A method end to end (rehearsal, fit, propose 128), then the oracle."""
    task = make_dev_task(args.task, args.seed, args.data_dir)
    data = task.offline_data()
    overrides = json.loads(args.set)
    m, fit_s = _fit(task, args.method, args.seed, overrides)
    t0 = time.perf_counter()
    p = m.propose(128)
    propose_s = time.perf_counter() - t0
    y = task.predict(p.x).reshape(-1)
    ny = task.normalize(y)
    info = p.info
    _record(args, {"probe": "evaluate", "task": args.task, "seed": args.seed, "method": args.method,
                   "set": overrides, "p100": float(ny.max()), "p50": float(np.median(ny)), "raw_best": float(y.max()),
                   "frac_positive": float((y > 0).mean()),
                   "best_train": float(task.normalize(data.y.reshape(-1)).max()),
                   "best_train_top128_oracle": float(task.normalize(task.predict(
                       data.x[top_indices(data.y, 128)]).reshape(-1)).max()),
                   "fit_s": round(fit_s, 1), "propose_s": round(propose_s, 1), "search": info.get("search"),
                   "rehearsal": info.get("rehearsal"), "n_banned_pairs": info.get("n_banned_pairs"),
                   **_regret(task, y, data.y)})


def _regret(task: Task, y: np.ndarray, train_y: np.ndarray) -> dict[str, Any]:
    """Raw units against a known optimum (continuous development tasks): the optimum, the batch's best and the
    best training label's distance to it; nothing when the optimum is unknown."""
    if task.optimum is None:
        return {}
    return {"optimum": task.optimum, "regret": float(task.optimum - y.max()),
            "regret_best_train": float(task.optimum - train_y.max())}


def _cli_overrides(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """``{"train": {"max_steps": 500}}`` -> ``["train.max_steps=500"]`` (values JSON-encoded, which YAML reads)."""
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _cli_overrides(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={json.dumps(value)}")
    return out


def cmd_table(args: argparse.Namespace) -> None:
    """A ``TableDev-D`` task through the user path: its training rows written as a CSV with a ``--bounds`` file,
    ``n2ce-bbo optimize --data`` on them (in this process), then the oracle on the written ``designs.csv``."""
    import csv

    from n2ce_bbo.cli import main as cli_main
    from n2ce_bbo.tasks.dev import write_dev_table

    task = make_dev_task(args.task, args.seed, args.data_dir)
    work = Path(args.work) / f"{args.task}_s{args.seed}_{args.method}"
    columns = write_dev_table(task, work / "table.csv", bounds_path=work / "bounds.csv")
    overrides = json.loads(args.set)
    argv = ["optimize", "--data", str(work / "table.csv"), "--target", "hardness", "--bounds", str(work / "bounds.csv"),
            "--out", str(work / "run"), "--method", args.method, "--seed", str(args.seed), "--budget", "128",
            "--device", "cpu", "--quiet", *_cli_overrides(overrides)]
    t0 = time.perf_counter()
    rc = cli_main(argv)
    run_s = time.perf_counter() - t0
    with (work / "run" / "designs.csv").open() as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in columns] for r in rows])
    y = task.predict(x).reshape(-1)
    ny = task.normalize(y)
    bounds = task.bounds if task.bounds is not None else np.array([[-np.inf], [np.inf]])
    data = task.offline_data()
    _record(args, {"probe": "table", "task": args.task, "seed": args.seed, "method": args.method, "set": overrides,
                   "cli": "n2ce-bbo " + " ".join(argv), "rc": rc, "n_designs": len(rows),
                   "p100": float(ny.max()), "p50": float(np.median(ny)), "raw_best": float(y.max()),
                   "in_bounds": bool(np.all((x >= bounds[0] - 1e-6) & (x <= bounds[1] + 1e-6))),
                   "best_train": float(task.normalize(data.y.reshape(-1)).max()),
                   "best_train_top128_oracle": float(task.normalize(task.predict(
                       data.x[top_indices(data.y, 128)]).reshape(-1)).max()),
                   "run_s": round(run_s, 1)})


def cmd_variants(args: argparse.Namespace) -> None:
    """Fit once, then propose with each of several ``propose`` overrides (a JSON list) on that one surrogate."""
    from n2ce_bbo.config import deep_merge, from_dict

    task = make_dev_task(args.task, args.seed, args.data_dir)
    overrides = json.loads(args.set)
    m, fit_s = _fit(task, args.method, args.seed, overrides)
    base = m.config.propose
    for variant in json.loads(args.variants):
        merged = deep_merge(dataclasses.asdict(base), variant)
        m.config.propose = from_dict(type(base), merged, path="propose")
        if "score_weight" in variant:
            m.rehearsal = {**m.rehearsal, "weight": float(variant["score_weight"])}
            m.config.propose = base
        t0 = time.perf_counter()
        p = m.propose(128)
        y = task.predict(p.x).reshape(-1)
        ny = task.normalize(y)
        _record(args, {"probe": "variants", "task": args.task, "seed": args.seed, "method": args.method,
                       "set": overrides, "variant": variant, "p100": float(ny.max()), "p50": float(np.median(ny)),
                       "frac_positive": float((y > 0).mean()), "fit_s": round(fit_s, 1),
                       "propose_s": round(time.perf_counter() - t0, 1), "rehearsal": m.rehearsal})
    m.config.propose = base


def cmd_ensemble(args: argparse.Namespace) -> None:
    """Independently trained surrogates, ranked together over a whole token space (no rehearsal).

    Members: ``--members`` latent-EBM fits (method seeds ``1000 * seed + k``) and ``--mlps`` MLP regressors (the
    ``grad`` baseline's surrogate). Each member's prediction is standardised over the training rows; a ranking
    is one member alone, the mean of the first k EBM members, the mean of all members, or mean − std.
    """
    from n2ce_bbo.methods.search import iter_token_space
    from n2ce_bbo.tasks.design_bench import tokens_to_codes

    task = make_dev_task(args.task, args.seed, args.data_dir)
    data = task.offline_data()
    if data.num_classes is None:
        raise SystemExit("ensemble: token tasks only (the whole space is scored)")
    overrides = {"rehearsal": {"enabled": False}, **json.loads(args.set)}
    batch = 65536
    all_x = np.concatenate([x for _, x in iter_token_space(data.dim, int(data.num_classes), batch)])
    fresh = np.ones(len(all_x), dtype=bool)
    fresh[np.unique(tokens_to_codes(data.x, int(data.num_classes)))] = False
    train_x = data.x.astype(np.int64)
    preds: list[np.ndarray] = []
    labels: list[str] = []
    fit_total = 0.0

    def add_member(label: str, predict: Any) -> None:
        """Score the whole space by ``predict`` (int designs ``[m, L]`` -> ``[m]``), standardised over the
        training rows."""
        space = np.concatenate([predict(all_x[i:i + batch]) for i in range(0, len(all_x), batch)])
        train = predict(train_x)
        preds.append((space - train.mean()) / (train.std() + 1e-12))
        labels.append(label)

    for k in range(args.members):
        m, fit_s = _fit(task, args.method, 1000 * args.seed + k, overrides)
        fit_total += fit_s

        def ebm_value(x: np.ndarray, s: Any = m.surrogate) -> np.ndarray:
            with torch.no_grad():
                mu, _ = s.encode(torch.as_tensor(x, dtype=torch.long))
                return s.value(mu).double().numpy().reshape(-1)

        add_member(f"{args.method}{k}", ebm_value)
    for k in range(args.mlps):
        g, fit_s = _fit(task, "grad", 1000 * args.seed + 500 + k, {})
        fit_total += fit_s
        add_member(f"mlp{k}", lambda x, g=g: g.model.predict(x.astype(np.int64)))
    stack = np.stack(preds)
    n_ebm = args.members
    rankings: dict[str, np.ndarray] = {labels[0]: stack[0]}
    if n_ebm > 1:
        rankings[labels[1]] = stack[1]
    for k in range(2, n_ebm + 1):
        rankings[f"mean{k}"] = stack[:k].mean(0)
    if n_ebm > 1:
        rankings[f"mean{n_ebm}-std"] = stack[:n_ebm].mean(0) - stack[:n_ebm].std(0)
    if args.mlps:
        rankings["mlp0"] = stack[n_ebm]
        rankings["mean_all"] = stack.mean(0)
    y_all = task.normalize(task.predict(all_x[fresh]).reshape(-1)) if args.corr else None
    for name, sc in rankings.items():
        sc = np.where(fresh, sc, -np.inf)
        top = np.argsort(-sc)[:20_000]
        xt, _ = select_top(all_x[top], sc[top], 128, min_hamming=args.min_hamming)
        ny = task.normalize(task.predict(xt).reshape(-1))
        rec = {"probe": "ensemble", "task": args.task, "seed": args.seed, "method": args.method, "set": overrides,
               "ranking": name, "members": labels, "min_hamming": args.min_hamming, "p100": float(ny.max()),
               "p50": float(np.median(ny)), "fit_s_total": round(fit_total, 1)}
        if y_all is not None:
            rec["spearman_fresh"] = float(np.corrcoef(np.argsort(np.argsort(sc[fresh])),
                                                      np.argsort(np.argsort(y_all)))[0, 1])
        _record(args, rec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("N2CE_BBO_DATA_DIR"))
    parser.add_argument("--log", default="runs/dev_probes.jsonl")
    parser.add_argument("--set", default="{}", help="JSON config overrides of the method")
    parser.add_argument("--threads", type=int, default=1)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("enumerate")
    p.add_argument("task")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p = sub.add_parser("feasibility")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p.add_argument("--states", type=int, default=32)
    p.add_argument("--length", type=int, default=32)
    p = sub.add_parser("evaluate")
    p.add_argument("task")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p = sub.add_parser("variants")
    p.add_argument("task")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p.add_argument("--variants", required=True,
                   help='JSON list of propose overrides, e.g. \'[{}, {"refine_rounds": 16}, {"score_weight": 0.3}]\'')
    p = sub.add_parser("ensemble")
    p.add_argument("task")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p.add_argument("--members", type=int, default=4)
    p.add_argument("--mlps", type=int, default=0)
    p.add_argument("--min-hamming", type=int, default=3)
    p.add_argument("--corr", action="store_true", help="also the Spearman correlation over the whole space")
    p = sub.add_parser("table")
    p.add_argument("task", help="TableDev-D")
    p.add_argument("seed", type=int)
    p.add_argument("method", nargs="?", default="n2ce")
    p.add_argument("--work", default="runs/dev_table", help="folder for the CSV, the bounds file and the run")
    args = parser.parse_args(argv)
    if args.seed < 100:
        parser.error(f"seed {args.seed}: development probes use seeds >= 100 (0-7 only report).")
    torch.set_num_threads(args.threads)
    {"enumerate": cmd_enumerate, "feasibility": cmd_feasibility, "evaluate": cmd_evaluate,
     "variants": cmd_variants, "ensemble": cmd_ensemble, "table": cmd_table}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
