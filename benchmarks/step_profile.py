"""Where one training minibatch's time goes: Gaussian prior vs NCE vs N²CE, and cheaper EBM-prior candidates.

One training step is timed stage by stage, exactly as :func:`n2ce_bbo.training.trainer.train_surrogate` runs it
(same loss weights, gradient clipping and optimisers):

* ``elbo_fwd``: encoder, reparameterised sample, decoder, value heads, KL (the ELBO forward without ``E_q f``);
* ``eqf_fwd``: the ``E_q f_α(z)`` term's forward (``surrogate.prior_f``; for the Gaussian prior a zero that keeps
  the graph, as in the trainer);
* ``elbo_bwd``: backward of the whole ELBO loss (including ``E_q f``'s backward to ``z``);
* ``elbo_opt``: gradient clipping + Adam step of φ, β, γ;
* ``prior_fwd`` / ``prior_bwd`` / ``prior_opt``: the α update (``prior_loss``, backward, clip + Adam), times
  ``prior.prior_steps_per_batch``; zero for the Gaussian prior.

``step`` is the whole step measured around all of them. A separate line times ``E_q f`` forward + backward to ``z``
alone (``eqf_fwd_bwd``), since its backward is part of ``elbo_bwd``.

Variants: ``gaussian`` (no EBM), ``nce``, ``n2ce`` (the default until ``model.prior_hidden`` became 64; every
variant pins its width, so the table does not move with the defaults) and candidates that cut the EBM's cost
without changing the method's maths: ``n2ce_trunk`` (``model.share_prior_trunk``), ``n2ce_h64``
(``model.prior_hidden`` 64), ``n2ce_trunk_h64``, and ``n2ce_every2`` (an α update every 2nd minibatch; timed as
two consecutive minibatches, one with and one without the update, and halved).

Shapes: TFBind8-like tokens (L = 8, C = 4) and a continuous d = 86 (Superconductor-like), synthetic random data
(timing only). Variants are timed in interleaved rounds (order rotated), one torch thread by default; the tables
give medians over the rounds, and each variant's ratio to the Gaussian prior.

Usage:
    .venv/bin/python benchmarks/step_profile.py [--repeats 40] [--warmup 5] [--threads 1] [--batch 128] \
        [--out benchmarks/results/step_profile]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from n2ce_bbo.config import from_dict  # noqa: E402
from n2ce_bbo.losses import TELESCOPING_OBJECTIVES, waymark_schedule  # noqa: E402
from n2ce_bbo.training.builder import DataFacts, build_surrogate  # noqa: E402
from n2ce_bbo.training.prior_objectives import prior_loss  # noqa: E402
from n2ce_bbo.training.settings import LatentEBMConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parents[1]
#: The clock: the calling thread's CPU time by default (with one torch thread all the work runs on it), so that
#: other jobs on a shared machine do not add their time slices; ``--clock wall`` uses ``time.perf_counter``.
_CLOCK: list[Callable[[], float]] = [time.thread_time]
STAGES = ("elbo_fwd", "eqf_fwd", "elbo_bwd", "elbo_opt", "prior_fwd", "prior_bwd", "prior_opt")
#: name -> (config overrides, α update every this many minibatches)
VARIANTS: dict[str, tuple[dict[str, Any], int]] = {
    "gaussian": ({"prior": {"objective": "gaussian"}}, 1),
    "nce": ({"prior": {"objective": "nce"}, "model": {"prior_hidden": 128}}, 1),
    "n2ce": ({"model": {"prior_hidden": 128}}, 1),
    "n2ce_trunk": ({"model": {"share_prior_trunk": True, "prior_hidden": 128}}, 1),
    "n2ce_h64": ({"model": {"prior_hidden": 64}}, 1),
    "n2ce_trunk_h64": ({"model": {"share_prior_trunk": True, "prior_hidden": 64}}, 1),
    "n2ce_every2": ({"model": {"prior_hidden": 128}}, 2),
}
SHAPES = {"tfbind8_like (L=8, C=4)": DataFacts(8, True, 4), "continuous d=86": DataFacts(86, False, None)}


class _Step:
    """One variant on one shape: ``run()`` does ``every`` training minibatches and returns per-stage seconds
    (summed over them, divided by ``every``)."""

    def __init__(self, overrides: dict[str, Any], every: int, facts: DataFacts, batch: int, seed: int) -> None:
        self.cfg = cfg = from_dict(LatentEBMConfig, overrides, path="surrogate")
        torch.manual_seed(seed)
        s = self.s = build_surrogate(cfg, facts)
        rng = np.random.default_rng(seed)
        if facts.is_discrete:
            assert facts.num_classes is not None
            self.x = torch.as_tensor(rng.integers(0, facts.num_classes, size=(batch, facts.design_dim)))
        else:
            x_np = rng.normal(size=(batch, facts.design_dim))
            s.set_data_stats(x_np, rng.normal(size=batch))
            self.x = torch.as_tensor(x_np, dtype=torch.float32)
        self.y = torch.as_tensor(rng.normal(size=batch), dtype=torch.float32)
        self.main = [p for n, p in s.named_parameters() if not n.startswith("prior.")]
        self.opt = torch.optim.Adam(self.main, lr=cfg.train.lr)
        self.opt_p = torch.optim.Adam(s.prior.parameters(), lr=cfg.prior.prior_lr) if s.prior is not None else None
        self.gen = torch.Generator().manual_seed(seed)
        self.every = every
        self.calls = 0
        pc = cfg.prior
        self.schedule = waymark_schedule(pc.K, pc.waymarks) if pc.objective in TELESCOPING_OBJECTIVES else None
        inner = s.prior_f
        self.eqf = 0.0

        def timed_prior_f(z: torch.Tensor) -> torch.Tensor:  # E_q f's forward, timed inside elbo_terms
            t0 = _CLOCK[0]()
            out = inner(z)
            self.eqf += _CLOCK[0]() - t0
            return out

        s.prior_f = timed_prior_f  # type: ignore[method-assign]
        s.train()

    def _one(self, t: dict[str, float]) -> None:
        s, cfg, tc = self.s, self.cfg, self.cfg.train
        clock = _CLOCK[0]
        self.eqf = 0.0
        t0 = clock()
        if s.prior is not None:
            s.prior.requires_grad_(False)
        terms = s.elbo_terms(self.x, self.y, generator=self.gen)
        loss = ((1.0 / cfg.model.decoder_temperature) * terms["recon"] + tc.value_weight * terms["value"]
                + tc.kl_weight * (terms["kl"] - terms["prior_f"]))
        t1 = clock()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = clock()
        if tc.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.main, tc.grad_clip)
        self.opt.step()
        t3 = clock()
        t["eqf_fwd"] += self.eqf
        t["elbo_fwd"] += t1 - t0 - self.eqf
        t["elbo_bwd"] += t2 - t1
        t["elbo_opt"] += t3 - t2
        if s.prior is None or self.opt_p is None or self.calls % self.every != 0:
            return
        s.prior.requires_grad_(True)
        z_star = terms["z"].detach()
        for _ in range(cfg.prior.prior_steps_per_batch):
            a = clock()
            ploss, _ = prior_loss(s.prior, z_star, cfg.prior, self.gen, self.schedule)
            b = clock()
            self.opt_p.zero_grad(set_to_none=True)
            ploss.backward()
            c = clock()
            if tc.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(s.prior.parameters(), tc.grad_clip)
            self.opt_p.step()
            d = clock()
            t["prior_fwd"] += b - a
            t["prior_bwd"] += c - b
            t["prior_opt"] += d - c

    def run(self) -> dict[str, float]:
        t = dict.fromkeys(STAGES, 0.0)
        t0 = _CLOCK[0]()
        for _ in range(self.every):
            self._one(t)
            self.calls += 1
        t["step"] = _CLOCK[0]() - t0
        return {k: v / self.every for k, v in t.items()}


def _eqf_alone(overrides: dict[str, Any], facts: DataFacts, batch: int, seed: int) -> Callable[[], float] | None:
    """``E_q f`` forward + backward to ``z`` alone (α frozen, as in the ELBO step); ``None`` for no EBM."""
    cfg = from_dict(LatentEBMConfig, overrides, path="surrogate")
    torch.manual_seed(seed)
    s = build_surrogate(cfg, facts)
    if s.prior is None:
        return None
    s.prior.requires_grad_(False)
    z0 = torch.randn(batch, cfg.model.latent_dim, generator=torch.Generator().manual_seed(seed))

    def run() -> float:
        t0 = _CLOCK[0]()
        z = z0.clone().requires_grad_(True)
        s.prior_f(z).mean().backward()
        return _CLOCK[0]() - t0

    return run


def profile(facts: DataFacts, repeats: int, warmup: int, batch: int, seed: int) -> dict[str, dict[str, float]]:
    """Medians (seconds) per variant and stage over ``repeats`` interleaved rounds."""
    steps = {v: _Step(o, e, facts, batch, seed) for v, (o, e) in VARIANTS.items()}
    eqf = {v: f for v, (o, _) in VARIANTS.items() if (f := _eqf_alone(o, facts, batch, seed)) is not None}
    names = list(steps)
    for _ in range(warmup):
        for n in names:
            steps[n].run()
            if n in eqf:
                eqf[n]()
    rec: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for r in range(repeats):
        for n in names[r % len(names):] + names[: r % len(names)]:
            for k, v in steps[n].run().items():
                rec[n].setdefault(k, []).append(v)
            if n in eqf:
                rec[n].setdefault("eqf_fwd_bwd", []).append(eqf[n]())
    out = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in rec.items()}
    for n in names:
        out[n]["step_min"] = min(rec[n]["step"])
    return out


def _table(title: str, med: dict[str, dict[str, float]]) -> list[str]:
    g = med["gaussian"]["step"]
    cols = [*STAGES, "step"]
    lines = [f"### {title}", "", "| variant | " + " | ".join(cols) + " | E_q f fwd+bwd alone | EBM share | / gaussian "
             "(medians) | / gaussian (minimums) |", "|" + "---|" * (len(cols) + 5)]
    for n, m in med.items():
        ebm = m["eqf_fwd"] + m["prior_fwd"] + m["prior_bwd"] + m["prior_opt"] + max(m["elbo_bwd"] - med["gaussian"]["elbo_bwd"], 0.0)
        lines.append(f"| {n} | " + " | ".join(f"{m[c] * 1e3:.2f}" for c in cols)
                     + f" | {m.get('eqf_fwd_bwd', 0.0) * 1e3:.2f} | {ebm / m['step']:.2f} | **{m['step'] / g:.2f}** | "
                     f"{m['step_min'] / med['gaussian']['step_min']:.2f} |")
    return [*lines, ""]


NOTES = """Notes:
- Times in ms per training minibatch (medians over interleaved rounds; `step` is timed around the whole step, so
  it is slightly more than the sum of the stages). `eqf_fwd` is the `E_q f` forward inside the ELBO forward;
  its backward is inside `elbo_bwd`. `EBM share` = (eqf_fwd + prior_fwd + prior_bwd + prior_opt + the excess of
  elbo_bwd over the Gaussian prior's) / step.
- `n2ce_every2` is timed as two consecutive minibatches (one with the α update, one without), halved.
- The machine is shared with other jobs (see the load average). With the default clock (the thread's own CPU
  time, one torch thread) other jobs' time slices are not counted, only their cache and memory-bandwidth effects;
  interleaving makes those hit every variant alike. The minimum-based ratio is the least-disturbed estimate.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clock", choices=("thread", "wall"), default="thread",
                    help="thread: CPU time of this thread (default; robust to other load); wall: perf_counter")
    ap.add_argument("--out", default=str(RESULTS / "step_profile"))
    args = ap.parse_args()
    _CLOCK[0] = time.thread_time if args.clock == "thread" else time.perf_counter
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    t_start = dt.datetime.now(dt.UTC)
    results = {title: profile(f, args.repeats, args.warmup, args.batch, args.seed) for title, f in SHAPES.items()}
    load1 = os.getloadavg()

    uname = " ".join(platform.uname())
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    commit, dirty = "unknown", ""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
        st = subprocess.run(["git", "status", "--porcelain", "--", "n2ce_bbo", "benchmarks/step_profile.py"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
        dirty = " (with uncommitted changes under n2ce_bbo/ or in this script)" if st.strip() else ""
    cmd = "python " + " ".join(["benchmarks/step_profile.py", *sys.argv[1:]])
    clock_name = "CPU time of the calling thread (time.thread_time)" if args.clock == "thread" else "wall (perf_counter)"
    head = [
        "# Training-step profile: where the latent EBM's time goes", "",
        f"- command: `{cmd}`",
        f"- date: {t_start.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {commit}{dirty}",
        f"- machine: `{uname}`; {os.cpu_count()} cores; load average at start "
        f"{' '.join(f'{v:.2f}' for v in load0)}, at end {' '.join(f'{v:.2f}' for v in load1)}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), CPU; batch {args.batch}; default "
        f"model (latent 16, hidden 256, depth 2, prior K = 6, prior_depth 2) with prior_hidden 128 unless the variant "
        f"says h64; clock: {clock_name}; {args.repeats} interleaved rounds after {args.warmup} warm-up rounds; medians.", "",
    ]
    body: list[str] = []
    for title, med in results.items():
        body += _table(title, med)
    text = "\n".join(head + body) + NOTES
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({
        "args": vars(args), "commit": commit, "date": t_start.isoformat(), "load_start": load0, "load_end": load1,
        "variants": {v: {"overrides": o, "update_every": e} for v, (o, e) in VARIANTS.items()},
        "medians_s": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
