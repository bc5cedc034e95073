"""Langevin throughput: chain-steps per second on a latent model of the default size.

The log-density is that of p(z | y*) of the package's latent-EBM surrogate at its default sizes, untrained
(throughput does not depend on the weights): latent d = 16, value head, and an EBM prior of K = 6 stage
networks (f = sum of stages), float32.

Usage::

    .venv/bin/python benchmarks/sampler_throughput.py [--chains 100 1000 10000 100000] [--repeats 3] \
        [--device all|cpu|cuda] [--out benchmarks/results/sampler_throughput]

``--device all`` (the default) runs on the CPU, and also on CUDA when available; ``cpu`` or ``cuda`` runs on that
device alone (``cuda`` fails when there is none). Prints a table and writes ``<out>.{md,json}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from n2ce_bbo.samplers import langevin  # noqa: E402

LATENT = 16


def build_model() -> tuple[nn.Module, str]:
    """The package's latent-EBM surrogate at the default sizes, for TFBind8-shaped designs (untrained)."""
    from n2ce_bbo.training.builder import DataFacts, build_surrogate
    from n2ce_bbo.training.settings import LatentEBMConfig

    cfg = LatentEBMConfig()
    model = build_surrogate(cfg, DataFacts(design_dim=8, is_discrete=True, num_classes=4))
    m = cfg.model
    desc = (f"n2ce_bbo LatentEBMSurrogate, default sizes (untrained): d_z = {m.latent_dim}, value head width "
            f"{m.hidden} x {m.depth}, K = {cfg.prior.K} prior stages of width {m.prior_hidden} x {m.prior_depth}")
    return model, desc


def measure(model: nn.Module, device: torch.device, n: int, steps: int, repeats: int) -> float:
    """Median chain-steps per second over ``repeats`` runs (after one warm-up run)."""
    model = model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator(device=device)
    gen.manual_seed(0)
    z0 = torch.randn(n, LATENT, generator=gen, device=device)

    def lp(z: torch.Tensor) -> torch.Tensor:
        return model.log_p_z_given_y(z, 3.0, 1.0, 1.0)

    def once(k: int) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        langevin(lp, z0, k, 0.1, generator=gen)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    once(2)
    rates = [n * steps / once(steps) for _ in range(repeats)]
    return statistics.median(rates)


def select_devices(choice: str) -> list[torch.device]:
    """The devices to time for ``--device``: ``all`` is the CPU plus CUDA when available."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
    if choice == "all":
        return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    return [torch.device(choice)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chain-steps", type=float, default=2e5, help="target chain-steps per CPU timing run")
    ap.add_argument("--device", default="all", choices=["all", "cpu", "cuda"],
                    help="all: the CPU, plus CUDA when available (default); cpu or cuda: that device alone")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "sampler_throughput"))
    args = ap.parse_args()

    torch.manual_seed(0)
    model, model_desc = build_model()
    devices = select_devices(args.device)
    rows = []
    for dev in devices:
        for n in args.chains:
            budget = args.chain_steps * (50 if dev.type == "cuda" else 1)
            steps = int(min(100, max(3, budget // n)))
            rate = measure(model, dev, n, steps, args.repeats)
            rows.append({"device": dev.type, "chains": n, "steps_per_run": steps, "chain_steps_per_s": rate,
                         "s_per_step": n / rate})
            print(f"{dev.type:5s} chains={n:>7d} steps={steps:>3d}  {rate:14,.0f} chain-steps/s  {n / rate * 1e3:9.2f} ms/step",
                  flush=True)

    uname = " ".join(platform.uname())
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "uname": uname,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "model": model_desc,
        "repeats": args.repeats,
    }
    lines = [
        "# Langevin sampler throughput",
        "",
        f"- command: `{meta['command']}`",
        f"- machine: `{uname}`; {meta['cpu_cores']} CPU cores (torch threads {meta['torch_threads']}); GPU: {gpu}",
        f"- torch {torch.__version__}; date {meta['date']}",
        f"- model: {model_desc}; latent d = {LATENT}; float32; one step = forward + backward of log p(z | y*)",
        f"- median of {args.repeats} timed runs after a warm-up run",
        "",
        "| device | chains | steps per run | chain-steps / s | ms / step |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['device']} | {r['chains']:,} | {r['steps_per_run']} | {r['chain_steps_per_s']:,.0f} | "
                     f"{r['s_per_step'] * 1e3:.2f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
