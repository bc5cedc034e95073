"""Probe: the latent EBM's candidates ranked by a design-space MLP (the ``grad`` baselines' surrogate) instead of, or
beside, the latent value head ``h(μ(x))``.

The grad-gap diagnosis (``benchmarks/grad_gap_probe.py``) found the latent EBM's search exploiting its value head,
which sees a design only through its 16-dimensional encoding. Here, on one development task and seed, ``n2ce`` is
fitted once at its defaults through the run path; ``grad`` and ``grad-ensemble`` are fitted and propose as usual; then
the fitted ``n2ce`` proposes again with its candidate score replaced by
``(1 - mix) · score_n2ce(x) + mix · (m(x) - mean(y)) / std(y)``, ``m`` the MLP's (or ensemble's) prediction: the
latent chains, the local search, the filters and the batch selection are unchanged, only what they climb and rank
changes. The oracle scores every batch afterwards (evaluation only). One JSON line per cell goes to ``--log``.

Only development tasks at seeds >= 100 are accepted (``make_dev_task`` refuses the others).

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/value_model_probe.py MotifNetDev-4-50 101 --log runs/value_model.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from n2ce_bbo.methods.base import ParallelSpec  # noqa: E402
from n2ce_bbo.methods.latent_ebm.scoring import CandidateScorer  # noqa: E402
from n2ce_bbo.provenance import source_state  # noqa: E402
from n2ce_bbo.tasks.dev import make_dev_task  # noqa: E402
from n2ce_bbo.workflow.data import load_data  # noqa: E402
from n2ce_bbo.workflow.model import FittedModel  # noqa: E402
from n2ce_bbo.workflow.result import score_with_oracle  # noqa: E402


@dataclasses.dataclass
class MixedScorer(CandidateScorer):
    """The latent EBM's candidate score mixed with a design-space regressor's standardised prediction."""

    regressor: Any = None
    y_mean: float = 0.0
    y_std: float = 1.0
    mix: float = 1.0

    def score(self, x: np.ndarray) -> np.ndarray:
        own = super().score(x) if self.mix < 1 else 0.0
        other = (self.regressor.predict(x) - self.y_mean) / self.y_std
        return (1.0 - self.mix) * own + self.mix * other


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task")
    ap.add_argument("seed", type=int)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--log", required=True, help="JSON lines, one per cell (appended)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    task = make_dev_task(args.task, args.seed, None)
    source = load_data(task, run_seed=args.seed)
    y = task.offline_data().y.reshape(-1).astype(np.float64)
    serial = ParallelSpec(workers=0)
    out: dict[str, Any] = {"task": args.task, "seed": args.seed, "source": source_state()}

    def scored(model: FittedModel) -> list[float]:
        r = score_with_oracle(model.propose(args.budget, seed=args.seed), task)
        return [round(float(r.p100), 4), round(float(r.p50), 4)]

    t0 = time.perf_counter()
    n2ce = FittedModel.fit(source, "n2ce", None, seed=args.seed, device="cpu", parallel=serial)
    out["n2ce_fit_s"] = round(time.perf_counter() - t0, 1)
    out["n2ce"] = scored(n2ce)
    method = n2ce.method
    for name in ("grad", "grad-ensemble"):
        t0 = time.perf_counter()
        other = FittedModel.fit(source, name, None, seed=args.seed, device="cpu", parallel=serial)
        out[f"{name}_fit_s"] = round(time.perf_counter() - t0, 1)
        out[name] = scored(other)
        for mix in (0.5, 1.0):
            base = method.scorer()
            fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(CandidateScorer)}
            mixed = MixedScorer(**fields, regressor=other.method.model, y_mean=float(y.mean()),
                                y_std=float(max(y.std(), 1e-12)), mix=mix)
            method.scorer = lambda mixed=mixed: mixed  # type: ignore[method-assign]
            try:
                out[f"n2ce_{name}_mix{mix}"] = scored(n2ce)
            finally:
                del method.scorer
    print(json.dumps(out), flush=True)
    with open(args.log, "a") as fh:
        fh.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
