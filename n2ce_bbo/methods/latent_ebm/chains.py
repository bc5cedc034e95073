"""Latent chains towards ``y*``: the unit of parallel work of the latent-EBM proposer.

``n_chains`` chains are split into fixed chunks of ``chain_chunk`` chains (the split never depends on the number of
workers); chunk ``i`` draws all its randomness from ``derive_seed(seed, "chains", i)``, so the proposals are
identical for a given seed whatever the parallelism (on one device type). Each chunk runs the sampler on

    log p(z | y*) = log N(z; 0, I) + w · f_α(z) + value_weight · log N(y*; h_γ(z), σ_y²)

(Langevin or SVGD), or gradient ascent on ``value_weight · h_γ(z) + w · f_α(z)``, and decodes its final state (and
optionally ``snapshots - 1`` earlier states of the run's second half). :func:`run_chunk` is module-level so that
Ray can ship it to a worker.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.latent_ebm.config import ProposeConfig
from n2ce_bbo.methods.selection import clip_to_bounds
from n2ce_bbo.parallel import parallel_map
from n2ce_bbo.samplers import gradient_ascent, langevin, svgd
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import PhaseProgress, derive_seed


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of chains: everything a worker needs besides the surrogate (small, picklable).

    Attributes:
        index: the chunk's index (its seed stream).
        n_chains: chains in this chunk.
        seed: the chunk's seed.
        y_star: standardised target value ``y*``.
        init_z: ``[k, d]`` encodings of top designs for ``init="data"``, else ``None``.
        device: where the chunk computes.
    """

    index: int
    n_chains: int
    seed: int
    y_star: float
    init_z: np.ndarray | None
    device: str


def snapshot_steps(n_steps: int, snapshots: int) -> list[int]:
    """Trajectory indices decoded per chain: the final state and ``snapshots - 1`` earlier ones."""
    if snapshots <= 1:
        return [n_steps]
    lo = n_steps // 2
    return sorted({int(round(v)) for v in np.linspace(lo, n_steps, snapshots)})


def run_chunk(surrogate: Any, cfg: ProposeConfig, job: ChunkJob) -> dict[str, Any]:
    """Sample and decode one chunk of chains.

    Args:
        surrogate: the trained surrogate (moved to ``job.device``; gradients flow to ``z`` only).
        cfg: proposal settings.
        job: chunk index, size, seed, ``y*`` and init encodings.

    Returns:
        ``{"x": decoded designs [n_chains * n_snapshots, ...], "stats": {...}}``; non-finite chains dropped.
    """
    device = torch.device(job.device)
    surrogate = surrogate.to(device)
    surrogate.eval()
    gen = torch.Generator(device=device)
    gen.manual_seed(job.seed)
    d = int(surrogate.latent_dim)
    if job.init_z is None:
        z0 = torch.randn(job.n_chains, d, generator=gen, device=device)
    else:
        base = torch.as_tensor(job.init_z, dtype=torch.float32, device=device)
        idx = torch.arange(job.n_chains, device=device) % base.shape[0]
        z0 = base[idx] + cfg.init_noise * torch.randn(job.n_chains, d, generator=gen, device=device)

    def log_p(z: Tensor) -> Tensor:
        return surrogate.log_p_z_given_y(z, job.y_star, cfg.value_weight, cfg.prior_weight)

    def ascent_objective(z: Tensor) -> Tensor:
        return cfg.value_weight * surrogate.value(z) + cfg.prior_weight * surrogate.prior_f(z)

    sc = cfg.sampler
    keep_traj = cfg.snapshots > 1
    if sc.name == "langevin":
        out = langevin(log_p, z0, sc.n_steps, sc.step_size, generator=gen, noise_scale=sc.noise_scale,
                       grad_clip=sc.grad_clip, return_trajectory=keep_traj)
    elif sc.name == "svgd":
        out = svgd(log_p, z0, sc.n_steps, sc.step_size, group_size=sc.svgd_group_size, return_trajectory=keep_traj)
    else:
        out = gradient_ascent(ascent_objective, z0, sc.n_steps, sc.step_size, return_trajectory=keep_traj)
    states = out[snapshot_steps(sc.n_steps, cfg.snapshots)] if keep_traj else out.unsqueeze(0)
    z_final = states[-1]
    finite = torch.isfinite(states).all(dim=2)  # [S, n]
    z_all = states[finite]
    with torch.no_grad():
        final_ok = z_final[finite[-1]]
        value = surrogate.value(final_ok) if final_ok.shape[0] else torch.zeros(0, device=device)
        prior = surrogate.prior_f(final_ok) if final_ok.shape[0] else torch.zeros(0, device=device)
        x = surrogate.decode_designs(z_all) if z_all.shape[0] else None
    stats = {
        "n_nonfinite": int((~finite[-1]).sum()),
        "sum_value": float(value.sum()),
        "sum_prior_f": float(prior.sum()),
        "sum_norm": float(final_ok.norm(dim=1).sum()),
        "n_final": int(final_ok.shape[0]),
    }
    return {"x": None if x is None else np.asarray(x), "stats": stats}


def _chunk_closure(surrogate: Any, cfg: ProposeConfig) -> Callable[[ChunkJob], dict[str, Any]]:
    """A plain function ``job -> run_chunk(surrogate, cfg, job)`` (Ray's remote needs a real function)."""

    def chunk_fn(job: ChunkJob) -> dict[str, Any]:
        return run_chunk(surrogate, cfg, job)

    return chunk_fn


def _ticking(fn: Callable[[ChunkJob], dict[str, Any]], bar: PhaseProgress) -> Callable[[ChunkJob], dict[str, Any]]:
    """``fn`` that advances ``bar`` once per call."""

    def ticked(job: ChunkJob) -> dict[str, Any]:
        out = fn(job)
        bar.update()
        return out

    return ticked


def init_encodings(surrogate: Any, data: OfflineData, cfg: ProposeConfig, device: torch.device) -> np.ndarray | None:
    """``[k, d]`` encodings of the ``init_top_k`` best training designs (for ``init="data"``), else ``None``."""
    if cfg.init != "data":
        return None
    k = min(cfg.init_top_k, data.n)
    top = np.argsort(-data.y.reshape(-1), kind="stable")[:k]
    x = torch.as_tensor(data.x[top], device=device)
    with torch.no_grad():
        mu, _ = surrogate.encode(x)
    return mu.detach().float().cpu().numpy()


def sample_designs(surrogate: Any, data: OfflineData, cfg: ProposeConfig, *, seed: int, y_star: float,
                   device: torch.device, parallel: ParallelSpec, bar: PhaseProgress | None = None,
                   ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Run every chunk of chains and decode their states.

    Returns:
        ``(designs [n_candidates, ...], per-chunk results)``: int64 tokens, or float32 designs clipped to the box.
        ``bar`` advances once per chunk run in this process.

    Raises:
        InvalidDataError: every chain diverged.
    """
    if parallel.workers <= 0:
        fn, where = _chunk_closure(surrogate, cfg), str(device)
        if bar is not None:
            fn = _ticking(fn, bar)
    else:
        # Ray: ship a CPU copy of the trained module inside the function (serialised once by Ray);
        # workers compute on a GPU only when they are given one.
        where = "cuda" if (parallel.gpus_per_task > 0 and torch.cuda.is_available()) else "cpu"
        fn = _chunk_closure(copy.deepcopy(surrogate).to("cpu"), cfg)
    init_z = init_encodings(surrogate, data, cfg, device)
    jobs = [ChunkJob(i, min(cfg.chain_chunk, cfg.n_chains - start), derive_seed(seed, "chains", i), y_star, init_z,
                     where)
            for i, start in enumerate(range(0, cfg.n_chains, cfg.chain_chunk))]
    results = parallel_map(fn, jobs, workers=parallel.workers, address=parallel.address,
                           gpus_per_task=parallel.gpus_per_task)
    parts = [r["x"] for r in results if r["x"] is not None and len(r["x"])]
    if not parts:
        raise InvalidDataError("every sampler chain diverged (non-finite latent states): lower propose.sampler.step_size.")
    cand = np.concatenate(parts)
    if data.is_discrete:
        return cand.astype(np.int64), results
    return clip_to_bounds(cand, data.bounds), results


def chain_stats(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Summary of the chains' final states over every chunk (for the proposal's ``info``)."""
    n_final = sum(r["stats"]["n_final"] for r in results)
    return {
        "n_nonfinite_chains": int(sum(r["stats"]["n_nonfinite"] for r in results)),
        "mean_final_value": sum(r["stats"]["sum_value"] for r in results) / max(n_final, 1),
        "mean_final_prior_f": sum(r["stats"]["sum_prior_f"] for r in results) / max(n_final, 1),
        "mean_final_latent_norm": sum(r["stats"]["sum_norm"] for r in results) / max(n_final, 1),
    }
