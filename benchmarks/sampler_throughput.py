"""Langevin throughput: chain-steps per second on a latent model of the default size.

The log-density is that of p(z | y*) for the default latent-EBM surrogate shape, untrained (throughput
does not depend on the weights): latent d = 16, a value head MLP 16 -> 256 -> 256 -> 1 and an EBM prior
of K = 6 stage MLPs 16 -> 128 -> 128 -> 1 (f = sum of stages), SiLU activations, float32. When the
package's own surrogate builder is importable (``n2ce_bbo.models.latent_ebm.build_default_surrogate``)
it is used instead and the table says so.

Usage::

    .venv/bin/python benchmarks/sampler_throughput.py [--chains 100 1000 10000 100000] [--repeats 3]

Runs on the CPU, and also on CUDA when available; prints a table and writes
benchmarks/results/sampler_throughput.{md,json}.
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


def _mlp(d_in: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 1))


class StandInSurrogate(nn.Module):
    """Value head and K-stage EBM prior at the default sizes; ``log_p_z_given_y`` as in METHOD.md §3."""

    def __init__(self, latent: int = LATENT, value_width: int = 256, prior_width: int = 128, k: int = 6) -> None:
        super().__init__()
        self.latent_dim = latent
        self.value_head = _mlp(latent, value_width)
        self.stages = nn.ModuleList(_mlp(latent, prior_width) for _ in range(k))

    def value(self, z: torch.Tensor) -> torch.Tensor:
        return self.value_head(z).squeeze(1)

    def prior_f(self, z: torch.Tensor) -> torch.Tensor:
        return torch.stack([s(z).squeeze(1) for s in self.stages]).sum(0)

    def log_p_z_given_y(self, z: torch.Tensor, y_star: float, value_weight: float, prior_weight: float) -> torch.Tensor:
        resid = y_star - self.value(z)
        return -0.5 * (z**2).sum(1) + prior_weight * self.prior_f(z) - value_weight * 0.5 * resid**2 / 0.1


def build_model() -> tuple[nn.Module, str]:
    try:
        from n2ce_bbo.models.latent_ebm import build_default_surrogate  # type: ignore[import-not-found]

        return build_default_surrogate(latent_dim=LATENT), "n2ce_bbo default surrogate (untrained)"
    except ImportError:
        return StandInSurrogate(), "stand-in: value MLP 16-256-256-1 + 6 prior stages 16-128-128-1 (untrained)"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chain-steps", type=float, default=2e5, help="target chain-steps per CPU timing run")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "sampler_throughput"))
    args = ap.parse_args()

    torch.manual_seed(0)
    model, model_desc = build_model()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
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
