"""The trade-off check of outcome constraints (``--outcome expression>=0.5``) on synthetic DNA tables.

Each table holds 300 random sequences of length L with ``activity = #G + 0.5 #C`` (+ noise 0.1) and
``expression = 1.2 - 0.2 #G`` (+ noise 0.05): expression >= 0.5 needs at most 3 G's, which activity wants many of.
One model is fitted per table with ``outcomes=["expression>=0.5"]`` (default outcome settings; a small main
surrogate: 300 steps, rehearsal off) and proposes 32 designs twice, with and without its outcome models; the line
per table counts the proposals whose TRUE expression (the formula) is >= 0.5 and their mean true activity.

    python benchmarks/outcome_tradeoff.py [--lengths 8 12] [--data-seeds 0 1 2] [--budget 32] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import n2ce_bbo
from n2ce_bbo.errors import DataWarning

MAIN = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 32}, "prior": {"K": 2, "M": 10},
        "train": {"max_steps": 300, "batch_size": 64}, "rehearsal": {"enabled": False},
        "propose": {"n_chains": 128, "sampler": {"n_steps": 10}, "chain_chunk": 128}}


def activity(s: str) -> float:
    """The synthetic activity: G counts most, C half as much."""
    return s.count("G") + 0.5 * s.count("C")


def true_expression(s: str) -> float:
    """The synthetic expression, falling with the G count."""
    return 1.2 - 0.2 * s.count("G")


def write_table(path: Path, length: int, seed: int, n: int = 300) -> None:
    """A ``sequence,activity,expression`` table of ``n`` random sequences (random order, noisy measurements)."""
    rng = np.random.default_rng(seed)
    seqs = list(dict.fromkeys("".join(rng.choice(list("ACGT"), length)) for _ in range(3 * n)))[:n]
    rows = [f"{s},{activity(s) + rng.normal(0, 0.1):.4f},{true_expression(s) + rng.normal(0, 0.05):.4f}" for s in seqs]
    path.write_text("sequence,activity,expression\n" + "\n".join(rows) + "\n")


def main() -> None:
    """Print one line per (length, data seed)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", type=int, nargs="+", default=[8, 12])
    p.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--budget", type=int, default=32)
    p.add_argument("--out", default=None, help="folder for the tables (default: a temporary one)")
    args = p.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", DataWarning)
    out = Path(args.out or tempfile.mkdtemp(prefix="outcome_tradeoff_"))
    out.mkdir(parents=True, exist_ok=True)
    for length in args.lengths:
        for seed in args.data_seeds:
            path = out / f"assay_L{length}_seed{seed}.csv"
            write_table(path, length, seed)
            t0 = time.perf_counter()
            model = n2ce_bbo.fit(path, "activity", design_column="sequence", device="cpu", config=MAIN,
                                 outcomes=["expression>=0.5"])
            fit_s = time.perf_counter() - t0
            con = model.propose(args.budget, seed=1)
            fitted, model.outcomes = model.outcomes, None  # the same surrogate without its outcome models
            free = model.propose(args.budget, seed=1)
            model.outcomes = fitted

            def facts(r: n2ce_bbo.Result) -> str:
                d = r.designs()
                met = sum(true_expression(s) >= 0.5 for s in d)
                return f"{met}/{len(d)} true expression >= 0.5, activity {np.mean([activity(s) for s in d]):.2f}"

            assert fitted is not None
            print(f"L={length} data seed {seed}: with the constraint {facts(con)}; without {facts(free)}; lowest "
                  f"predicted expression {con.outcome_columns['expression_predicted'].min():.3f}; search "
                  f"{con.info.get('search')}; fit {fit_s:.0f} s; {fitted.fit_lines()[0]}", flush=True)


if __name__ == "__main__":
    main()
