"""Why does the latent EBM's batch trail ``grad``'s on a development cell: its surrogate or its search?

Fits ``grad`` and ``n2ce`` at their defaults on one development task and seed through the run path
(:meth:`n2ce_bbo.workflow.model.FittedModel.fit`), lets each propose ``--budget`` designs, and only then asks the
oracle (evaluation only). It prints, for the union of both batches:

* each batch's oracle best and median (raw units);
* how each surrogate ranks the union against the oracle (Spearman), and how high it rates each batch: a surrogate
  that rates its own batch far above the other while the oracle says the opposite is being exploited by its search;
* each batch's distance to the nearest training design (tokens: positions that differ; continuous: Euclidean in the
  training designs' per-coordinate standard deviations), the quantity ``propose.trust_radius`` limits.

``--n2ce-config`` (JSON) changes the latent EBM's settings, e.g. ``'{"propose": {"trust_radius": 4}}'``.
Only development tasks at seeds >= 100 are accepted (``make_dev_task`` refuses the others).

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grad_gap_probe.py MotifNetDev-4-50 101 [--json out.json]
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

from n2ce_bbo.methods.base import ParallelSpec  # noqa: E402
from n2ce_bbo.methods.trust_region import fit_trust_region  # noqa: E402
from n2ce_bbo.provenance import source_state  # noqa: E402
from n2ce_bbo.tasks.dev import make_dev_task  # noqa: E402
from n2ce_bbo.workflow.data import load_data  # noqa: E402
from n2ce_bbo.workflow.model import FittedModel  # noqa: E402


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task", help="development task name, e.g. MotifNetDev-4-50")
    ap.add_argument("seed", type=int, help="development seed (>= 100)")
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--n2ce-config", default=None, help="JSON settings of the latent EBM (default: its defaults)")
    ap.add_argument("--json", default=None, help="write the numbers to this file as well")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    task = make_dev_task(args.task, args.seed, None)
    source = load_data(task, run_seed=args.seed)
    data = task.offline_data()
    serial = ParallelSpec(workers=0)
    n2ce_config = json.loads(args.n2ce_config) if args.n2ce_config else None
    fitted: dict[str, Any] = {}
    batches: dict[str, np.ndarray] = {}
    out: dict[str, Any] = {"task": args.task, "seed": args.seed, "budget": args.budget, "n2ce_config": n2ce_config,
                           "source": source_state(), "train_max_raw": float(data.y.max())}
    for name, config in (("grad", None), ("n2ce", n2ce_config)):
        t0 = time.perf_counter()
        fitted[name] = FittedModel.fit(source, name, config, seed=args.seed, device="cpu", parallel=serial)
        fit_s = time.perf_counter() - t0
        batches[name] = fitted[name].propose(args.budget, seed=args.seed).x
        oracle = task.predict(batches[name]).reshape(-1)
        out[name] = {"fit_s": round(fit_s, 1), "best_raw": float(oracle.max()), "median_raw": float(np.median(oracle)),
                     "oracle": oracle}
    union = np.concatenate([batches["grad"], batches["n2ce"]])
    truth = np.concatenate([out["grad"]["oracle"], out["n2ce"]["oracle"]])
    rates = {"n2ce": fitted["n2ce"].method.candidate_scores(union),
             "grad": fitted["grad"].method.model.predict(union).reshape(-1)}
    anywhere = fit_trust_region(data, radius=1.0, n_anchors=data.n)  # distance to the nearest training design
    q = args.budget
    print(f"{args.task} seed {args.seed}: best training row {out['train_max_raw']:.4g} (raw)")
    for name in ("grad", "n2ce"):
        o = out[name].pop("oracle")
        dist = anywhere.distances(batches[name])
        out[name].update(spearman_union=spearman(rates[name], truth),
                         rates_grad_batch=float(rates[name][:q].mean()), rates_n2ce_batch=float(rates[name][q:].mean()),
                         nearest_train_median=float(np.median(dist)), nearest_train_max=float(dist.max()),
                         best_design_distance=float(dist[int(np.argmax(o))]))
        r = out[name]
        print(f"  {name}: fit {r['fit_s']:.0f} s; batch best {r['best_raw']:.4g}, median {r['median_raw']:.4g}; "
              f"its surrogate's Spearman on the union {r['spearman_union']:.3f}, mean rating of grad's batch "
              f"{r['rates_grad_batch']:.3f} vs n2ce's {r['rates_n2ce_batch']:.3f}; nearest-training distance median "
              f"{r['nearest_train_median']:.2f} (max {r['nearest_train_max']:.2f}, best design {r['best_design_distance']:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
