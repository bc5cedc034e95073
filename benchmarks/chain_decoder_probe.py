"""Does the chain decoder let the learned model tell feasible from infeasible designs? (development tasks only)

Three measurements, each on development tasks and seeds (>= 100; never the reported ``Ehrlich-Exact-v0``):

* ``run``: for each task, seed and variant (``n2ce`` with the independent or the chain decoder, ``gaussian`` with
  the chain decoder, ...), the latent-EBM method is fitted (rehearsal on) and proposes 128 designs with the
  data's pair-support filter OFF (``propose.pair_support: false``), so only the learned model keeps designs
  feasible. Recorded: the share of feasible proposals (Ehrlich: no banned neighbour pair), the oracle's p100 / p50
  (normalised), and the separation of the fitted surrogate's in-distribution scores between feasible and
  infeasible designs (ROC AUC; feasible: training rows and the feasible ones among single-position mutants and
  uniform random sequences; infeasible: the rest), for the latent-only density ``log p_α(μ(x))`` and the
  decoder-aware ``log p_β(x | μ(x)) + log p_α(μ(x))``. One JSON line per cell, appended to ``--out``; cells
  already there are skipped (resumable).
* ``cost``: seconds per training step (ELBO step and prior step) and per scoring call, chain vs independent,
  interleaved (A B A B ...), medians.
* ``report``: the table of the ``run`` and ``cost`` records, printed and written to ``--md`` with the raw JSON
  beside it (command, machine, date, commit).

    python benchmarks/chain_decoder_probe.py run --tasks EhrlichDev-8-16 EhrlichDev-8-24 --seeds 100 101
    python benchmarks/chain_decoder_probe.py cost --task EhrlichDev-8-24
    python benchmarks/chain_decoder_probe.py report --md benchmarks/results/dev/chain_decoder_2026-12-04.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.methods import make_method
from n2ce_bbo.provenance import source_state, versions
from n2ce_bbo.tasks.dev import make_dev_task
from n2ce_bbo.tasks.ehrlich import EhrlichFunction

#: variant -> (method, decoder)
VARIANTS = {"n2ce-independent": ("n2ce", "independent"), "n2ce-chain": ("n2ce", "chain"),
            "gaussian-chain": ("gaussian", "chain"), "gaussian-independent": ("gaussian", "independent")}


#: the report's row order; "n2ce-chain-first-rule" is a record of the rehearsal's first chain rule (w = 0 left out
#: whatever the data), kept for the record, not a variant that can be run
_ORDER = [*VARIANTS, "n2ce-chain-first-rule"]


def _ehrlich_function(task_name: str, seed: int) -> EhrlichFunction | None:
    """The Ehrlich function of a development task ``EhrlichDev-V-L`` (as ``make_ehrlich`` builds it), or None."""
    if not task_name.startswith("EhrlichDev-"):
        return None
    v, length = (int(s) for s in task_name.split("-")[1:3])
    return EhrlichFunction.build(v, length, 2, 4, 4, seed=seed)


def _config(args: argparse.Namespace, decoder: str) -> dict[str, Any]:
    return {"model": {"decoder": decoder}, "train": {"max_steps": args.steps},
            "propose": {"pair_support": args.pair_support == "on", "n_chains": args.chains}}


def _auc(labels: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, score)) if 0 < labels.mean() < 1 else float("nan")


def separation(surrogate: Any, x_train: np.ndarray, fn: EhrlichFunction, seed: int) -> dict[str, Any]:
    """AUCs of the latent-only and decoder-aware scores, feasible (1) vs infeasible (0) designs."""
    rng = np.random.default_rng([seed, 7])
    n, c = 3000, fn.num_states
    train = x_train[rng.integers(0, len(x_train), n)].astype(np.int64)
    mutants = x_train[rng.integers(0, len(x_train), 2 * n)].astype(np.int64)
    mutants[np.arange(len(mutants)), rng.integers(0, x_train.shape[1], len(mutants))] = rng.integers(0, c, len(mutants))
    uniform = rng.integers(0, c, size=(2 * n, x_train.shape[1]))
    cand = np.concatenate([train, mutants, uniform])
    feasible = fn.is_feasible(cand)
    with torch.no_grad():
        t = torch.as_tensor(cand, device=surrogate.device)
        mu = torch.cat([surrogate.encode(t[s:s + 4096])[0] for s in range(0, len(t), 4096)])
        latent = surrogate.log_prior(mu)
        ll = torch.cat([surrogate.token_log_likelihood(t[s:s + 4096], mu[s:s + 4096]) for s in range(0, len(t), 4096)])
    latent_np, design_np = latent.double().cpu().numpy(), (latent + ll).double().cpu().numpy()
    mut = slice(n, 3 * n)
    return {
        "n": int(len(cand)), "feasible_share": float(feasible.mean()),
        "feasible_share_mutants": float(feasible[mut].mean()),
        "auc_latent": _auc(feasible, latent_np), "auc_design": _auc(feasible, design_np),
        "auc_latent_mutants": _auc(feasible[mut], latent_np[mut]), "auc_design_mutants": _auc(feasible[mut], design_np[mut]),
    }


def cmd_run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    done = set()
    if out.is_file():
        done = {(r["task"], r["seed"], r["variant"], r.get("pair_support", False))
                for r in map(json.loads, out.read_text().splitlines()) if r.get("probe") == "run"}
    for task_name in args.tasks:
        for seed in args.seeds:
            task = make_dev_task(task_name, seed, None)
            data = task.offline_data()
            fn = _ehrlich_function(task_name, seed)
            if fn is not None:  # the rebuilt function is the task's oracle
                probe_x = data.x[:200].astype(np.int64)
                assert np.allclose(fn(probe_x), task.predict(probe_x).reshape(-1)), "Ehrlich rebuild mismatch"
            for variant in args.variants:
                if (task_name, seed, variant, args.pair_support == "on") in done:
                    continue
                method, decoder = VARIANTS[variant]
                t0 = time.perf_counter()
                m = make_method(method, _config(args, decoder), seed=seed)
                m.fit(data)
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                p = m.propose(128)
                propose_s = time.perf_counter() - t0
                y = task.predict(p.x).reshape(-1)
                ny = task.normalize(y)
                rec: dict[str, Any] = {
                    "probe": "run", "task": task_name, "seed": seed, "variant": variant, "method": method,
                    "decoder": decoder, "pair_support": args.pair_support == "on", "config": _config(args, decoder), "p100": float(ny.max()),
                    "p50": float(np.median(ny)), "fit_s": round(fit_s, 1), "propose_s": round(propose_s, 1),
                    "score_weight": float(m.rehearsal.get("weight", float("nan"))),
                    "recovery": m.rehearsal.get("recovery"), "source": source_state(),
                }
                if fn is not None:
                    rec["feasible_proposals"] = float(fn.is_feasible(p.x).mean())
                    with torch.no_grad():
                        z = torch.randn(2000, m.surrogate.latent_dim, generator=torch.Generator().manual_seed(seed))
                        rec["feasible_decoded_prior"] = float(fn.is_feasible(m.surrogate.decode_designs(z)).mean())
                    rec.update(separation(m.surrogate, data.x, fn, seed))
                print(json.dumps(rec), flush=True)
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a") as f:
                    f.write(json.dumps(rec) + "\n")


def cmd_cost(args: argparse.Namespace) -> None:
    """Interleaved timing of one training step and one scoring call, chain vs independent."""
    from n2ce_bbo.config import from_dict
    from n2ce_bbo.training.builder import build_surrogate, data_facts
    from n2ce_bbo.training.prior_objectives import prior_loss
    from n2ce_bbo.training.settings import LatentEBMConfig

    task = make_dev_task(args.task, args.seeds[0], None)
    data = task.offline_data()
    x = torch.as_tensor(data.x.astype(np.int64))
    y = torch.as_tensor(np.array(data.y.reshape(-1), dtype=np.float32))
    setups = {}
    for decoder in ("independent", "chain"):
        cfg = from_dict(LatentEBMConfig, {"model": {"decoder": decoder}})
        torch.manual_seed(0)
        s = build_surrogate(cfg, data_facts(data))
        s.set_data_stats(None, data.y)
        main = [p for n, p in s.named_parameters() if not n.startswith("prior.")]
        assert s.prior is not None
        setups[decoder] = (s, cfg, torch.optim.Adam(main, lr=1e-3), torch.optim.Adam(s.prior.parameters(), lr=3e-4))
    gen = torch.Generator().manual_seed(0)
    times: dict[str, dict[str, list[float]]] = {d: {"train_step": [], "score_4096": []} for d in setups}
    rng = np.random.default_rng(0)
    for rep in range(args.reps + 2):
        b = torch.as_tensor(rng.integers(0, len(x), 128))
        for decoder, (s, cfg, opt, opt_p) in setups.items():
            t0 = time.perf_counter()
            s.train()
            terms = s.elbo_terms(x[b], y[b], generator=gen)
            loss = 4.0 * terms["recon"] + terms["value"] + terms["kl"] - terms["prior_f"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            ploss, _ = prior_loss(s.prior, terms["z"].detach(), cfg.prior, gen, None)
            opt_p.zero_grad()
            ploss.backward()
            opt_p.step()
            t1 = time.perf_counter()
            s.eval()
            s.value_and_log_density(x[:4096])
            t2 = time.perf_counter()
            if rep >= 2:  # two warm-up rounds
                times[decoder]["train_step"].append(t1 - t0)
                times[decoder]["score_4096"].append(t2 - t1)
    rec = {"probe": "cost", "task": args.task, "reps": args.reps, "threads": torch.get_num_threads(),
           **{f"{d}_{k}_median_s": statistics.median(v) for d, kv in times.items() for k, v in kv.items()}}
    for k in ("train_step", "score_4096"):
        rec[f"ratio_{k}"] = rec[f"chain_{k}_median_s"] / rec[f"independent_{k}_median_s"]
    print(json.dumps(rec), flush=True)
    with Path(args.out).open("a") as f:
        f.write(json.dumps(rec) + "\n")


def _fmt(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"


def cmd_report(args: argparse.Namespace) -> None:
    recs = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    runs = [r for r in recs if r["probe"] == "run"]
    lines = ["| task | seed | variant | pair filter | w | feasible proposals | p100 | p50 | AUC latent | AUC design | "
             "AUC latent (mutants) | AUC design (mutants) | feasible decoded N(0,I) | fit s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r.get("pair_support", False), r["task"], r["seed"],
                                         _ORDER.index(r["variant"]))):
        lines.append(f"| {r['task']} | {r['seed']} | {r['variant']} | {'on' if r.get('pair_support') else 'off'} | "
                     f"{r['score_weight']:g} | "
                     f"{_fmt(r.get('feasible_proposals'))} | {_fmt(r['p100'])} | {_fmt(r['p50'])} | "
                     f"{_fmt(r.get('auc_latent'))} | {_fmt(r.get('auc_design'))} | {_fmt(r.get('auc_latent_mutants'))} | "
                     f"{_fmt(r.get('auc_design_mutants'))} | {_fmt(r.get('feasible_decoded_prior'))} | {r['fit_s']:.0f} |")
    for r in (r for r in recs if r["probe"] == "cost"):
        lines.append("")
        lines.append(f"Cost ({r['task']}, {r['reps']} interleaved repetitions, {r['threads']} thread(s), medians): "
                     f"training step {r['independent_train_step_median_s'] * 1e3:.1f} ms independent, "
                     f"{r['chain_train_step_median_s'] * 1e3:.1f} ms chain (×{r['ratio_train_step']:.2f}); scoring "
                     f"4,096 designs {r['independent_score_4096_median_s'] * 1e3:.1f} ms vs "
                     f"{r['chain_score_4096_median_s'] * 1e3:.1f} ms (×{r['ratio_score_4096']:.2f}).")
    table = "\n".join(lines)
    print(table)
    if args.md:
        md = Path(args.md)
        raw = md.with_suffix(".json")
        meta = {"command": " ".join(sys.argv), "date": datetime.date.today().isoformat(), "machine": versions(),
                "source": source_state(), "records": recs}
        raw.write_text(json.dumps(meta, indent=1))
        header = md.read_text().split("<!-- table -->")[0] if md.is_file() else ""
        md.write_text(header + "<!-- table -->\n" + table + f"\n\nRaw records: `{raw.name}`.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cmd", choices=["run", "cost", "report"])
    parser.add_argument("--tasks", nargs="+", default=["EhrlichDev-8-16", "EhrlichDev-8-24"])
    parser.add_argument("--task", default="EhrlichDev-8-24", help="cost: the task whose data shapes the step")
    parser.add_argument("--seeds", nargs="+", type=int, default=[100, 101])
    parser.add_argument("--variants", nargs="+", default=["n2ce-independent", "n2ce-chain", "gaussian-chain"],
                        choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500, help="train.max_steps")
    parser.add_argument("--chains", type=int, default=1024, help="propose.n_chains")
    parser.add_argument("--pair-support", choices=["off", "on"], default="off",
                        help="run: the data's pair-support filter (off: only the learned model keeps designs feasible)")
    parser.add_argument("--reps", type=int, default=30, help="cost: timed repetitions per decoder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="runs/chain_decoder_probe.jsonl")
    parser.add_argument("--md", default=None, help="report: the markdown record to write (raw JSON beside it)")
    args = parser.parse_args(argv)
    if min(args.seeds) < 100:
        parser.error("development probes use seeds >= 100 (seeds 0-7 only report).")
    torch.set_num_threads(args.threads)
    {"run": cmd_run, "cost": cmd_cost, "report": cmd_report}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
