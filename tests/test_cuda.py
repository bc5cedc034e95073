"""Device checks: the surrogate, the samplers, the trainer and a tiny ``optimize`` compute on the device asked for.

Every test runs twice: on the CPU (always, so the checks themselves are exercised here) and on CUDA (marked
``cuda``; skipped with its reason where torch sees no GPU). ``benchmarks/gpu_check.sh`` runs the CUDA half with
``pytest -m cuda`` on a GPU machine, beside the GPU timings; ``test_gpu_check_script`` keeps that script runnable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import n2ce_bbo
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.samplers import gradient_ascent, langevin, svgd
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training import train_surrogate

REPO = Path(__file__).resolve().parents[1]
GPU_CHECK = REPO / "benchmarks" / "gpu_check.sh"
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]
TINY: dict[str, Any] = {
    "model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16},
    "prior": {"M": 100, "K": 2},
    "train": {"epochs": 3, "max_steps": 12, "batch_size": 64},
    "propose": {"n_chains": 128, "sampler": {"n_steps": 8}, "chain_chunk": 64, "refine_rounds": 1, "refine_top": 16},
}

pytestmark = pytest.mark.usefixtures("one_thread")


def _tokens(n: int = 300, length: int = 6) -> OfflineData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(n, length)).astype(np.int64)
    y = ((x == 2).sum(1) + 0.1 * rng.normal(size=n)).astype(np.float32)[:, None]
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="tokens")


def _on(t: torch.Tensor, device: str) -> bool:
    return t.device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_surrogate_forward_and_score_on_the_device(device: str) -> None:
    torch.manual_seed(0)
    s = LatentEBMSurrogate(6, is_discrete=True, num_classes=4, latent_dim=3, hidden=16, prior_stages=2,
                           prior_hidden=8)
    s.set_data_stats(None, np.arange(20.0))
    s.to(device)
    assert all(_on(p, device) for p in s.parameters())
    x = np.random.default_rng(1).integers(0, 4, size=(20, 6))
    mu, logvar = s.encode(x)
    assert _on(mu, device) and mu.shape == (20, 3) and logvar.shape == (20, 3)
    z = torch.randn(9, 3, device=device, requires_grad=True)
    assert _on(s.decode(z), device) and s.decode(z).shape == (9, 6, 4)
    lp = s.log_p_z_given_y(z, 2.0)
    (grad,) = torch.autograd.grad(lp.sum(), z)
    assert _on(grad, device) and torch.isfinite(grad).all()
    designs = s.decode_designs(z.detach())
    assert isinstance(designs, np.ndarray) and designs.shape == (9, 6) and designs.max() < 4
    score = s.score(x, prior_weight=0.1, batch_size=7)  # several batches
    assert _on(score, device) and score.shape == (20,) and torch.isfinite(score).all()
    terms = s.elbo_terms(torch.as_tensor(x, device=device), torch.zeros(20, device=device))
    assert all(torch.isfinite(v).all() for v in terms.values())


def _gauss(mean: torch.Tensor):  # noqa: ANN202
    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((z - mean) ** 2).sum(1)

    return log_prob


@pytest.mark.parametrize("device", DEVICES)
def test_samplers_run_on_the_device(device: str) -> None:
    mean = torch.tensor([1.0, -1.0], device=device)
    lp = _gauss(mean)
    z0 = torch.randn(512, 2, generator=torch.Generator(device=device).manual_seed(0), device=device)

    def run_langevin(seed: int) -> torch.Tensor:
        return langevin(lp, z0, 200, 0.3, generator=torch.Generator(device=device).manual_seed(seed))

    z = run_langevin(1)
    assert _on(z, device) and z.shape == (512, 2)
    assert torch.allclose(z.mean(0), mean, atol=0.15)  # the target's mean
    assert torch.equal(z, run_langevin(1)) and not torch.equal(z, run_langevin(2))  # seeded on the device
    z = svgd(lp, z0[:128], 200, 0.05, group_size=64)
    assert _on(z, device) and torch.allclose(z.mean(0), mean, atol=0.2)
    bounds = torch.tensor([[-2.0, -2.0], [0.5, 2.0]], device=device)
    z = gradient_ascent(lp, z0[:32], 300, 0.1, bounds=bounds)
    # the mode (1, -1) clamped to the box: x1 stops at its upper bound 0.5
    assert _on(z, device) and torch.allclose(z, torch.tensor([0.5, -1.0], device=device).expand_as(z), atol=1e-2)


@pytest.mark.parametrize("device", DEVICES)
def test_trainer_steps_on_the_device(device: str) -> None:
    cfg = {k: v for k, v in TINY.items() if k != "propose"}  # the trainer takes the surrogate's sections only
    surrogate, history = train_surrogate(_tokens(), cfg, seed=0, device=device)
    assert history["device"].startswith(device) and history["steps"] == 12
    assert all(_on(p, device) for p in surrogate.parameters())
    assert all(np.isfinite(history[k]).all() for k in ("loss", "prior_loss"))


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("task", ["Branin-Exact-v0", "Ehrlich-Exact-v0"])
def test_tiny_optimize_on_the_device(device: str, task: str) -> None:
    # A 12-step model decodes Ehrlich designs that nearly all hold a banned neighbouring pair; with pair support on,
    # every sampled design is dropped and propose fails on the empty set (a proposer bug, reported). This test
    # checks the device path, so it keeps every decoded design.
    config = {**TINY, "filters": {"pair_support": False}}
    result = n2ce_bbo.optimize(task, method="n2ce", budget=16, seed=0, config=config, device=device)
    assert result.x.shape[0] == 16 and result.n_unique == 16
    assert result.p100 is not None and 0.0 <= result.p50 <= result.p100 <= 1.0 + 1e-9
    assert np.isfinite(result.surrogate_scores).all()
    assert result.info["n_nonfinite_chains"] == 0


def _dry_run_commands() -> list[list[str]]:
    """The commands ``gpu_check.sh --dry-run`` would run, one argument list each."""
    proc = subprocess.run(["bash", str(GPU_CHECK), "--dry-run"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PY": sys.executable, "HOME": str(REPO)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line[2:].split() for line in proc.stdout.splitlines() if line.startswith("$ ")]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_gpu_check_script() -> None:
    """``benchmarks/gpu_check.sh`` parses, plans every step, and each benchmark script accepts its options."""
    assert subprocess.run(["bash", "-n", str(GPU_CHECK)], capture_output=True, timeout=30).returncode == 0
    commands = _dry_run_commands()
    joined = [" ".join(c) for c in commands]
    for needed in ("-m pytest", "sampler_throughput.py", "prior_cost.py", "cost_scaling.py", "n2ce_bbo.cli optimize"):
        assert any(needed in c for c in joined), f"gpu_check.sh does not run {needed!r}: {joined}"
    for cmd in commands:
        scripts = [a for a in cmd if a.startswith("benchmarks/") and a.endswith(".py")]
        if not scripts:
            continue
        options = {a.split("=")[0] for a in cmd if a.startswith("--")}
        helptext = subprocess.run([sys.executable, str(REPO / scripts[0]), "--help"], capture_output=True,
                                  text=True, timeout=120, cwd=REPO).stdout
        unknown = sorted(o for o in options if not re.search(rf"{re.escape(o)}\b", helptext))
        assert not unknown, f"{scripts[0]} does not accept {unknown} (gpu_check.sh passes them)"
        assert "--device" in options and "cuda" in cmd, f"{scripts[0]} is not run on the GPU: {cmd}"


def test_cuda_tests_are_collected() -> None:
    """``pytest -m cuda`` (what gpu_check.sh runs) selects the CUDA half of this module and nothing else."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "cuda", __file__],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(ids) == 5 and all("cuda" in i for i in ids), ids
