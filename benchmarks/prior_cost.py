"""Cost of one EBM-prior update: N²CE vs NCE vs NWJ vs short-run-Langevin MLE, on the same model and batch.

Measures, with a fixed number of torch threads, the wall time of

* one **prior update** (loss, backward, Adam step on α) for each objective, with ``q*`` = a batch of
  encoded latents and ``q0 = N(0, I)``, for the default K-stage prior and for the shared-trunk variant;
* one **full training minibatch** (ELBO step on φ, β, γ + prior step on α) per objective, and for the
  Gaussian prior (no prior step), on TFBind8-shaped token designs (L = 8, C = 4).

Objectives are timed in interleaved rounds (one call of each per round, order rotated), so machine load
hits all of them alike; the table gives medians over the rounds after warm-up, and ratios of medians.

Runs on the CPU by default; ``--device cuda`` times the same updates on a GPU (each call is followed by a
device synchronisation, so the times are of finished work).

Usage:
    .venv/bin/python benchmarks/prior_cost.py [--repeats 20] [--warmup 5] [--threads 1] [--batch 128] \
        [--device cpu|cuda] [--out benchmarks/results/prior_cost]
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

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from n2ce_bbo.training.builder import DataFacts, build_surrogate  # noqa: E402
from n2ce_bbo.training.prior_objectives import prior_loss  # noqa: E402
from n2ce_bbo.training.settings import LatentEBMConfig, ModelConfig, PriorConfig  # noqa: E402
from n2ce_bbo.utils import resolve_device  # noqa: E402

OBJECTIVES = ("n2ce", "nce", "nwj", "mle")
RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parents[1]
NOTES = """
Notes:
- N²CE, NCE and NWJ do the same work per update (K stage networks on 2·batch waymark samples each, one
  batched matrix product per layer); only the loss's constants differ, so their ratios are 1 up to timing
  noise. MLE runs 60 short-run Langevin steps (a forward and backward pass of f on the batch each) before
  its update.
- With the shared trunk, f at one point costs one trunk pass instead of K, so MLE's Langevin (and the
  sampler at proposal time) is cheaper; the telescoping update costs about the same.
- The full minibatch adds the ELBO step (encoder, decoder, value head, and E_q f through the prior).
- The machine is shared with other jobs (see the load average); medians of interleaved rounds are used,
  and ratios of minimums are given as the least-disturbed estimate.
"""


def _prior_update(objective: str, shared: bool, batch: int, seed: int, device: torch.device) -> Callable[[], None]:
    """A closure doing one α update (loss + backward + Adam step) for ``objective`` on ``device``."""
    cfg = LatentEBMConfig(model=ModelConfig(share_prior_trunk=shared), prior=PriorConfig(objective=objective))  # type: ignore[arg-type]
    torch.manual_seed(seed)
    s = build_surrogate(cfg, DataFacts(8, True, 4)).to(device)
    prior = s.prior
    assert prior is not None
    opt = torch.optim.Adam(prior.parameters(), lr=cfg.prior.prior_lr)
    gen = torch.Generator(device=device).manual_seed(seed)
    z_star = 0.6 * torch.randn(batch, cfg.model.latent_dim, generator=gen, device=device) + 0.3  # a fixed "encoded batch"

    def step() -> None:
        loss, _ = prior_loss(prior, z_star, cfg.prior, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _full_step(objective: str, batch: int, seed: int, device: torch.device) -> Callable[[], None]:
    """A closure doing one training minibatch as the trainer does (ELBO step, then prior step) on ``device``."""
    prior_cfg = PriorConfig(objective=objective)  # type: ignore[arg-type]
    cfg = LatentEBMConfig(prior=prior_cfg)
    torch.manual_seed(seed)
    s = build_surrogate(cfg, DataFacts(8, True, 4)).to(device)
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.integers(0, 4, size=(batch, 8)), device=device)
    y = torch.as_tensor(rng.normal(size=batch), dtype=torch.float32, device=device)
    main = [p for n, p in s.named_parameters() if not n.startswith("prior.")]
    opt = torch.optim.Adam(main, lr=1e-3)
    opt_p = torch.optim.Adam(s.prior.parameters(), lr=prior_cfg.prior_lr) if s.prior is not None else None
    gen = torch.Generator(device=device).manual_seed(seed)

    def step() -> None:
        if s.prior is not None:
            s.prior.requires_grad_(False)
        t = s.elbo_terms(x, y, gen)
        loss = t["recon"] + t["value"] + t["kl"] - t["prior_f"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 10.0)
        opt.step()
        if s.prior is not None and opt_p is not None:
            s.prior.requires_grad_(True)
            pl, _ = prior_loss(s.prior, t["z"].detach(), prior_cfg, gen)
            opt_p.zero_grad(set_to_none=True)
            pl.backward()
            torch.nn.utils.clip_grad_norm_(s.prior.parameters(), 10.0)
            opt_p.step()

    return step


def _time_interleaved(fns: dict[str, Callable[[], None]], repeats: int, warmup: int,
                      device: torch.device) -> dict[str, list[float]]:
    # CUDA calls return before the work is done: synchronise so that each time is of finished work.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    sync()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            t0 = time.perf_counter()
            fns[n]()
            sync()
            times[n].append(time.perf_counter() - t0)
    return times


def _fmt_ms(v: float) -> str:
    return f"{v * 1e3:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--out", default=str(RESULTS / "prior_cost"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    rows: list[dict[str, object]] = []
    tables: list[str] = []

    for shared in (False, True):
        fns = {o: _prior_update(o, shared, args.batch, args.seed, device) for o in OBJECTIVES}
        times = _time_interleaved(fns, args.repeats, args.warmup, device)
        med = {o: statistics.median(v) for o, v in times.items()}
        arch = "shared trunk + 6 heads" if shared else "6 stacked stage MLPs"
        lines = [f"### One prior update ({arch}; K = 6, width 128, depth 2, d_z = 16, batch {args.batch})", "",
                 "| objective | median ms | min ms | max ms | / N²CE |", "|---|---|---|---|---|"]
        for o in OBJECTIVES:
            lines.append(f"| {o} | {_fmt_ms(med[o])} | {_fmt_ms(min(times[o]))} | {_fmt_ms(max(times[o]))} | "
                         f"{med[o] / med['n2ce']:.2f} |")
            rows.append({"table": "prior_update", "shared_trunk": shared, "objective": o, "median_s": med[o],
                         "min_s": min(times[o]), "max_s": max(times[o]), "ratio_to_n2ce": med[o] / med["n2ce"]})
        mn = {o: min(v) for o, v in times.items()}
        lines += ["", f"Ratios of medians: N²CE / NCE = **{med['n2ce'] / med['nce']:.3f}**; MLE (60 Langevin steps) / "
                  f"N²CE = **{med['mle'] / med['n2ce']:.1f}**. Ratios of minimums (least disturbed by other load): "
                  f"N²CE / NCE = {mn['n2ce'] / mn['nce']:.3f}; MLE / N²CE = {mn['mle'] / mn['n2ce']:.1f}.", ""]
        tables.append("\n".join(lines))

    objs = (*OBJECTIVES, "gaussian")
    fns = {o: _full_step(o, args.batch, args.seed, device) for o in objs}
    times = _time_interleaved(fns, args.repeats, args.warmup, device)
    med = {o: statistics.median(v) for o, v in times.items()}
    lines = [f"### One full training minibatch (ELBO step + prior step; TFBind8 shape L = 8, C = 4; default model; "
             f"batch {args.batch})", "", "| objective | median ms | min ms | / Gaussian prior (medians) | / Gaussian prior (minimums) |",
             "|---|---|---|---|---|"]
    for o in objs:
        lines.append(f"| {o} | {_fmt_ms(med[o])} | {_fmt_ms(min(times[o]))} | {med[o] / med['gaussian']:.2f} | "
                     f"{min(times[o]) / min(times['gaussian']):.2f} |")
        rows.append({"table": "full_step", "objective": o, "median_s": med[o], "ratio_to_gaussian": med[o] / med["gaussian"]})
    tables.append("\n".join(lines) + "\n")

    uname = " ".join(platform.uname())
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):  # the path inside the repository, whatever folder holds the clone
        script = script.relative_to(REPO)
    cmd = "python " + " ".join([script.as_posix(), *sys.argv[1:]])
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    head = [
        "# Prior-update cost: N²CE vs NCE vs NWJ vs MLE", "",
        f"- command: `{cmd}`",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: `{uname}`; {os.cpu_count()} cores; load average at start "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s); device `{device}`, GPU: {gpu}; "
        f"{args.repeats} interleaved rounds after {args.warmup} warm-up rounds; medians.", "",
    ]
    text = "\n".join(head) + "\n" + "\n".join(tables) + NOTES
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "device": str(device), "gpu": gpu,
                                                    "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
