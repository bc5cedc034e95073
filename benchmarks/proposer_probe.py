"""Probe proposal settings of a latent-EBM method on one trained surrogate per seed (the tuning tool behind
``benchmarks/results/proposer_tuning.md``).

For every seed the surrogate is trained once; then each variant of the ``propose`` section (a YAML mapping
``name: {key: value, ...}`` applied over the method's defaults) proposes Q = 128 designs, which the oracle
scores (evaluation only). On ``TFBind8-Exact-v0``, whose 65,536 designs can all be enumerated, it also
reports the *ranking ceiling*: the oracle scores of the surrogate's own top 128 among every design outside
the training rows, for each ``--score-weights`` w (score = h(μ(x)) + w·f_α(μ(x))).

Prints one JSON line per (seed, variant). Seeds below 100 are refused: the evaluation seeds 0-7 only report
(docs/protocol.md), and a probe that chooses settings must never see them.

Usage:
    N2CE_BBO_DATA_DIR=/path/to/data .venv/bin/python benchmarks/proposer_probe.py TFBind8-Exact-v0 \
        --seeds 100 101 --variants variants.yaml [--method n2ce] [--config '{train: {epochs: 60}}'] \
        [--task-kwargs '{max_samples: 10000}'] [--score-weights 0 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import n2ce_bbo  # noqa: E402
from n2ce_bbo.config import deep_merge, from_dict, load_yaml, to_dict  # noqa: E402
from n2ce_bbo.methods.latent_ebm import ProposeConfig  # noqa: E402
from n2ce_bbo.methods.registry import make_method  # noqa: E402
from n2ce_bbo.methods.selection import RowSet  # noqa: E402
from n2ce_bbo.tasks.dev import MIN_DEV_SEED  # noqa: E402
from n2ce_bbo.workflow.data import load_data  # noqa: E402


def _all_new_designs(task: n2ce_bbo.Task, train_x: np.ndarray) -> np.ndarray | None:
    """Every token design outside the training rows when there are at most 2**20 of them, else ``None``."""
    if not task.is_discrete or task.num_classes ** task.x.shape[1] > 2**20:
        return None
    c, L = int(task.num_classes), int(task.x.shape[1])
    grid = np.array(np.meshgrid(*[np.arange(c)] * L, indexing="ij")).reshape(L, -1).T.astype(np.int64)
    return grid[~RowSet(train_x, dtype=np.int64).mask(grid)]


def main() -> None:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task")
    ap.add_argument("--seeds", type=int, nargs="+", default=[MIN_DEV_SEED],
                    help=f"development seeds (>= {MIN_DEV_SEED}; the reported seeds 0-7 are refused)")
    ap.add_argument("--variants", required=True, help="YAML file: name -> propose overrides")
    ap.add_argument("--method", default="n2ce")
    ap.add_argument("--config", default="{}", help="method config overrides (YAML mapping)")
    ap.add_argument("--task-kwargs", default="{}", help="task factory arguments (YAML mapping)")
    ap.add_argument("--score-weights", type=float, nargs="*", default=[0.0, 0.1])
    ap.add_argument("--data-dir", default=os.environ.get("N2CE_BBO_DATA_DIR"))
    args = ap.parse_args()
    reported = [s for s in args.seeds if s < MIN_DEV_SEED]
    if reported:
        ap.error(f"seeds {reported} are below {MIN_DEV_SEED}: probes choose settings on development seeds only.")
    variants = load_yaml(args.variants)
    for seed in args.seeds:
        # a task drawn per run (TFBind10's subset) is drawn with this seed, as in the benchmark
        task = load_data(args.task, data_dir=args.data_dir, task_kwargs=yaml.safe_load(args.task_kwargs),
                         run_seed=seed).task
        assert task is not None, "the probe needs a registered task (it asks the oracle)"
        data = task.offline_data()
        every = _all_new_designs(task, data.x)
        every_y = None if every is None else task.normalize(task.predict(every)).reshape(-1)
        method = make_method(args.method, yaml.safe_load(args.config), seed=seed)
        t0 = time.perf_counter()
        method.fit(data)
        train_s = time.perf_counter() - t0
        if every is not None:
            for w in args.score_weights:
                top = np.argsort(-method.candidate_scores(every, w), kind="stable")[:128]
                print(json.dumps({"seed": seed, "variant": f"ranking_ceiling_w{w}",
                                  "p100": round(float(every_y[top].max()), 4),
                                  "p50": round(float(np.median(every_y[top])), 4)}), flush=True)
        base = method.config.propose
        for name, overrides in variants.items():
            method.config.propose = from_dict(ProposeConfig, deep_merge(to_dict(base), overrides or {}), "propose")
            t0 = time.perf_counter()
            prop = method.propose(128)
            scores = task.normalize(task.predict(prop.x)).reshape(-1)
            print(json.dumps({"seed": seed, "variant": name, "p100": round(float(scores.max()), 4),
                              "p50": round(float(np.median(scores)), 4), "train_s": round(train_s, 1),
                              "propose_s": round(time.perf_counter() - t0, 1),
                              "unique_sampled": prop.info.get("n_unique_candidates")}), flush=True)
        method.config.propose = base


if __name__ == "__main__":
    main()
