"""The latent-EBM method: train the energy-based latent surrogate, then propose designs by sampling
``p(z | y*)`` in latent space (docs/method.md §2-4).

``propose(budget)``:

1. ``y*`` = best standardised training score + ``propose.y_star_offset``.
2. ``n_chains`` chains are split into fixed chunks of ``chain_chunk`` chains (the split never depends on the
   number of workers); chunk ``i`` draws all its randomness from ``derive_seed(seed, "chains", i)``, so
   the proposals are identical for a given seed whatever the parallelism (on one device type).
3. Each chunk runs the sampler on

       log p(z | y*) = log N(z; 0, I) + w · f_α(z) + value_weight · log N(y*; h_γ(z), σ_y²)

   (Langevin or SVGD), or gradient ascent on ``value_weight · h_γ(z) + w · f_α(z)``, and decodes the
   final state (and optionally ``snapshots - 1`` earlier states of the second half of the run).
4. The decoded candidates are deduplicated, scored with ``h(μ(x)) + w · z(x)`` (value head at the encoded design
   plus ``w`` times the prior log-density at it, standardised over the training designs; ``w`` chosen by an
   oracle-free rehearsal, :class:`SelectionConfig`), and the top ``budget`` are kept, training designs last.

Token spaces small enough to enumerate (``propose.enumerate_limit``) skip steps 2-3: every design is scored.
Token designs with a neighbouring pair the data never contain although they would be expected to (a structural
zero, :mod:`~n2ce_bbo.methods.support`) are never proposed.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.methods.base import Method, Proposal, select_top
from n2ce_bbo.methods.model_selection import choose, holdout_split
from n2ce_bbo.methods.registry import register_method
from n2ce_bbo.methods.search import token_space_size, top_designs
from n2ce_bbo.methods.support import PairSupport, fit_pair_support
from n2ce_bbo.samplers import gradient_ascent, langevin, svgd
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.config import LatentEBMConfig
from n2ce_bbo.training.trainer import train_surrogate
from n2ce_bbo.utils import PhaseProgress, derive_seed


@dataclass
class ProposeConfig:
    """How designs are proposed from a trained surrogate.

    Attributes:
        sampler: ``"langevin"``, ``"svgd"`` or ``"gradient_ascent"`` (deterministic, on h + w·f).
        n_chains: total number of chains (latent samples) per ``propose`` call.
        n_steps: sampler steps per chain.
        step_size: Langevin step ``s`` / SVGD step size / gradient-ascent (Adam) learning rate, latent units.
        y_star_offset: standardised ``y*`` = best standardised training score + this offset.
        value_weight: weight of the value likelihood ``log N(y*; h(z), σ_y²)`` (or of ``h`` in gradient ascent).
        prior_weight: weight ``w`` of ``f_α`` in the sampler's target.
        score_prior_weight: weight ``w`` of the standardised in-distribution score in the candidate score, when
            :class:`SelectionConfig` does not choose it; ``None`` uses ``prior_weight``.
        continuous_score_prior_weight: the same weight for continuous designs (``None``: ``score_prior_weight``).
            On Branin (8 seeds) and Superconductor (probes) weighting ``f_α`` in the score pulled the batch back
            towards the data; on the token tasks a small weight helped.
        noise_scale: Langevin noise multiplier (1 samples the target; < 1 is a lower temperature).
        grad_clip: per-chain gradient norm clip in Langevin (``None``: none).
        init: ``"prior"`` starts chains from N(0, I); ``"data"`` from encodings of the top training designs
            (cycled over chains) plus ``init_noise`` Gaussian noise.
        init_top_k: how many of the best training designs seed ``init="data"``.
        init_noise: std of the noise added to those encodings.
        chain_chunk: chains per chunk (the unit of parallel work and of seeding).
        svgd_group_size: SVGD interaction groups within a chunk (``None``: the whole chunk).
        snapshots: states decoded per chain: the final one plus ``snapshots - 1`` evenly spaced states of
            the run's second half (more distinct candidates for the same sampling cost).
        exclude_training: rank designs already in the training data after every new design.
        fill: when the chains decode to fewer than ``budget`` distinct new designs, add neighbours of the
            best candidates (tokens: every single-position mutant; continuous: Gaussian perturbations of
            ``fill_scale`` × the bounds' width), scored like every candidate, so ``budget`` designs return.
        fill_scale: relative perturbation size of the continuous fill (and of the continuous refinement).
        refine_rounds: rounds of local search in design space on the candidate score after sampling: each
            round adds the neighbours (as for ``fill``) of the ``refine_top`` best candidates so far, scored
            like every candidate. 0 disables it.
        refine_top: candidates whose neighbours each refinement round adds.
        refine_samples: continuous designs only: perturbations per candidate per refinement round.
        min_hamming: token designs: the returned batch keeps a design only when it differs in at least this many
            positions from every better-scored design kept (a diverse batch; see :func:`select_top`); 1 keeps the
            plain top ``budget``. Ignored for continuous designs.
        min_distance: continuous designs: the same spacing in units of the design box's diagonal: a design is kept
            only when it lies at least this far from every better-scored design kept (0.01: 1 % of the diagonal;
            without it, refinement around the best candidate filled Branin's batch with copies of one point).
            0 keeps the plain top ``budget``. Ignored for token designs.
        score_batch: candidates scored per surrogate call.
        enumerate_limit: token spaces of at most this many designs (``C ** L``) are searched exhaustively: every
            design is scored and the best are selected (no sampler, refinement or fill). 0 disables it.
        pair_support: token designs: never propose a design that contains a neighbouring pair of tokens the
            training designs never contain although it would be expected at least ``pair_support_min_expected``
            times (a structural zero; see :mod:`n2ce_bbo.methods.support`).
        pair_support_min_expected: that expected-count threshold.
    """

    sampler: Literal["langevin", "svgd", "gradient_ascent"] = "langevin"
    n_chains: int = 4096
    n_steps: int = 300
    step_size: float = 0.1
    y_star_offset: float = 1.0
    value_weight: float = 1.0
    prior_weight: float = 1.0
    score_prior_weight: float | None = 0.1
    continuous_score_prior_weight: float | None = 0.0
    noise_scale: float = 1.0
    grad_clip: float | None = None
    init: Literal["prior", "data"] = "prior"
    init_top_k: int = 128
    init_noise: float = 0.1
    chain_chunk: int = 512
    svgd_group_size: int | None = None
    snapshots: int = 1
    exclude_training: bool = True
    fill: bool = True
    fill_scale: float = 0.02
    refine_rounds: int = 4
    refine_top: int = 512
    refine_samples: int = 16
    min_hamming: int = 3
    min_distance: float = 0.01
    score_batch: int = 4096
    enumerate_limit: int = 2**21
    pair_support: bool = True
    pair_support_min_expected: float = 10.0

    def __post_init__(self) -> None:
        for name in ("n_chains", "chain_chunk", "snapshots", "init_top_k", "score_batch", "refine_top",
                     "refine_samples", "min_hamming"):
            if getattr(self, name) < 1:
                raise ConfigError(f"propose.{name} must be >= 1, got {getattr(self, name)}.")
        if self.n_steps < 0:
            raise ConfigError(f"propose.n_steps must be >= 0, got {self.n_steps}.")
        if self.snapshots > 1 and self.snapshots > self.n_steps // 2 + 1:
            raise ConfigError(f"propose.snapshots ({self.snapshots}) exceeds the states in the run's second half.")
        if not self.step_size > 0:
            raise ConfigError(f"propose.step_size must be > 0, got {self.step_size}.")
        if self.refine_rounds < 0:
            raise ConfigError(f"propose.refine_rounds must be >= 0, got {self.refine_rounds}.")
        if self.noise_scale < 0 or self.init_noise < 0:
            raise ConfigError("propose.noise_scale and propose.init_noise must be >= 0.")
        if not (np.isfinite(self.min_distance) and self.min_distance >= 0):
            raise ConfigError(f"propose.min_distance must be a finite number >= 0, got {self.min_distance}.")
        if self.enumerate_limit < 0 or not self.pair_support_min_expected > 0:
            raise ConfigError("propose.enumerate_limit must be >= 0 and propose.pair_support_min_expected > 0.")


@dataclass
class SelectionConfig:
    """Oracle-free choice of the candidate score's in-distribution weight (see :mod:`~n2ce_bbo.methods.model_selection`).

    The candidate score is ``h(μ(x)) + w · z(x)``, where ``z(x)`` is the in-distribution score ``log p_α(μ(x))``
    standardised over the training designs. With ``enabled``, ``fit`` first rehearses: it hides the best
    ``top_fraction`` of the training rows and a random ``random_fraction`` of the rest, fits the surrogate on the
    other rows, and keeps the ``w`` of ``weights`` whose score ranks the hidden rows best (the mean score of its
    ``k`` first); then it fits on every row. Without (or with fewer than ``min_rows`` rows), ``w`` is
    ``propose.score_prior_weight`` (``propose.continuous_score_prior_weight`` for continuous designs).

    Attributes:
        enabled: rehearse (one extra fit on about ``1 - top_fraction - random_fraction`` of the rows).
        top_fraction: share of rows hidden as the top slice.
        random_fraction: share of rows hidden at random from the rest.
        weights: candidate values of ``w``, simplest first (the first wins ties).
        k: how many first-ranked hidden rows count (the default budget Q = 128).
        min_rows: fewer training rows: no rehearsal.
    """

    enabled: bool = True
    top_fraction: float = 0.1
    random_fraction: float = 0.1
    weights: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.3, 1.0])
    k: int = 128
    min_rows: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.top_fraction <= 0.5 or not 0 <= self.random_fraction <= 0.5:
            raise ConfigError("selection.top_fraction must be in (0, 0.5] and selection.random_fraction in [0, 0.5].")
        if not self.weights or any(not np.isfinite(w) for w in self.weights):
            raise ConfigError(f"selection.weights must be a non-empty list of finite numbers, got {self.weights!r}.")
        if self.k < 1 or self.min_rows < 1:
            raise ConfigError("selection.k and selection.min_rows must be >= 1.")


@dataclass
class LatentEBMMethodConfig(LatentEBMConfig):
    """The surrogate's configuration (``model``, ``prior``, ``train``, ...) plus ``propose`` and ``selection``."""

    propose: ProposeConfig = field(default_factory=ProposeConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    def surrogate_config(self) -> LatentEBMConfig:
        """The surrogate/training part alone, as a :class:`LatentEBMConfig`."""
        names = [f.name for f in dataclasses.fields(LatentEBMConfig)]
        return LatentEBMConfig(**{k: getattr(self, k) for k in names})


@dataclass(frozen=True)
class _ChunkJob:
    """One chunk of chains: everything a worker needs besides the surrogate (small, picklable)."""

    index: int
    n_chains: int
    seed: int
    y_star: float
    init_z: np.ndarray | None  # [k, d] encodings of top designs for init="data", else None
    device: str


def _snapshot_steps(n_steps: int, snapshots: int) -> list[int]:
    """Trajectory indices decoded per chain: the final state and ``snapshots - 1`` earlier ones."""
    if snapshots <= 1:
        return [n_steps]
    lo = n_steps // 2
    return sorted({int(round(v)) for v in np.linspace(lo, n_steps, snapshots)})


def run_chunk(surrogate: Any, cfg: ProposeConfig, job: _ChunkJob) -> dict[str, Any]:
    """Sample and decode one chunk of chains (module-level so Ray can ship it).

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

    keep_traj = cfg.snapshots > 1
    if cfg.sampler == "langevin":
        out = langevin(log_p, z0, cfg.n_steps, cfg.step_size, generator=gen, noise_scale=cfg.noise_scale,
                       grad_clip=cfg.grad_clip, return_trajectory=keep_traj)
    elif cfg.sampler == "svgd":
        out = svgd(log_p, z0, cfg.n_steps, cfg.step_size, group_size=cfg.svgd_group_size, return_trajectory=keep_traj)
    else:
        out = gradient_ascent(ascent_objective, z0, cfg.n_steps, cfg.step_size, return_trajectory=keep_traj)
    states = out[_snapshot_steps(cfg.n_steps, cfg.snapshots)] if keep_traj else out.unsqueeze(0)
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


def _chunk_closure(surrogate: Any, cfg: ProposeConfig) -> Any:
    """A plain function ``job -> run_chunk(surrogate, cfg, job)`` (Ray's remote needs a real function)."""

    def chunk_fn(job: _ChunkJob) -> dict[str, Any]:
        return run_chunk(surrogate, cfg, job)

    return chunk_fn


def _parallel_map(fn: Any, items: list[Any], workers: int, address: str | None, gpus_per_task: float) -> list[Any]:
    from n2ce_bbo.parallel import parallel_map

    return parallel_map(fn, items, workers=workers, address=address, gpus_per_task=gpus_per_task)


class LatentEBMMethod(Method):
    """Energy-based latent surrogate (ELBO + N²CE/NCE/MLE/Gaussian prior) with latent-space sampling."""

    Config = LatentEBMMethodConfig
    reads_constraints = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.surrogate: Any = None
        self.history: Any = None

    def fit(self, data: OfflineData) -> None:
        """Choose the score weight by rehearsal (when enabled), then train the surrogate on every offline row."""
        self.data = data
        t0 = time.perf_counter()
        self.selection = self._rehearse(data)
        self.surrogate, self.history = train_surrogate(
            data, self.config.surrogate_config(), seed=self.seed, device=self.device, verbose=self.verbose,
            show_progress=self.show_progress,
        )
        self._prepare_proposals(data)
        self.fit_s = time.perf_counter() - t0

    def restore(self, data: OfflineData, surrogate: Any, history: dict[str, Any] | None = None,
                selection: dict[str, Any] | None = None) -> None:
        """Make the method ready to propose from a surrogate trained earlier (a saved model), without training.

        Args:
            data: the offline rows the surrogate was trained on.
            surrogate: the trained :class:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate`.
            history: its training history.
            selection: the rehearsal's outcome recorded at fit time (``{"weight": w, ...}``); ``None``: the
                configured weight.
        """
        self.data = data
        self.surrogate = surrogate
        self.history = history or {}
        self.selection = dict(selection) if selection else {"enabled": False, "weight": self._configured_weight(data)}
        self._prepare_proposals(data)

    def _prepare_proposals(self, data: OfflineData) -> None:
        """What proposing needs besides the surrogate: density statistics and the pair support (deterministic)."""
        self.density_stats = _density_stats(self.surrogate, data.x, self.config.propose.score_batch)
        pcfg: ProposeConfig = self.config.propose
        self.support: PairSupport | None = None
        if data.is_discrete and pcfg.pair_support:
            self.support = fit_pair_support(data.x, int(data.num_classes or 2), pcfg.pair_support_min_expected)

    def _rehearse(self, data: OfflineData) -> dict[str, Any]:
        """Pick the in-distribution weight from the training rows alone (see :class:`SelectionConfig`)."""
        sel: SelectionConfig = self.config.selection
        if not sel.enabled:
            return {"enabled": False, "weight": self._configured_weight(data)}
        if data.n < sel.min_rows:
            return {"enabled": False, "weight": self._configured_weight(data),
                    "skipped": f"{data.n} training rows < selection.min_rows ({sel.min_rows})"}
        t0 = time.perf_counter()
        rseed = derive_seed(self.seed, "rehearsal")
        split = holdout_split(data.y, sel.top_fraction, sel.random_fraction, rseed)
        fit_rows = dataclasses.replace(data, x=data.x[split.fit], y=data.y[split.fit])
        rehearsal, _ = train_surrogate(fit_rows, self.config.surrogate_config(), seed=rseed, device=self.device,
                                       verbose=self.verbose, show_progress=self.show_progress,
                                       progress_desc="rehearsal training (chooses the score weight)")
        stats = _density_stats(rehearsal, fit_rows.x, self.config.propose.score_batch)
        value, density = _value_and_density(rehearsal, data.x[split.pool], stats, self.config.propose.score_batch)
        k = min(sel.k, split.top.size)
        best, table = choose([(f"{w:g}", value + w * density) for w in sel.weights],
                             data.y[split.pool].reshape(-1), k)
        return {"enabled": True, "weight": float(best), "recovery": table, "k": k, "n_fit": int(split.fit.size),
                "n_top": int(split.top.size), "n_random": int(split.random.size),
                "seconds": round(time.perf_counter() - t0, 3)}

    def _configured_weight(self, data: OfflineData) -> float:
        cfg: ProposeConfig = self.config.propose
        w_cfg = cfg.score_prior_weight
        if not data.is_discrete and cfg.continuous_score_prior_weight is not None:
            w_cfg = cfg.continuous_score_prior_weight
        return float(cfg.prior_weight if w_cfg is None else w_cfg)

    # ------------------------------------------------------------------------------------------
    def _init_encodings(self, data: OfflineData) -> np.ndarray | None:
        cfg: ProposeConfig = self.config.propose
        if cfg.init != "data":
            return None
        k = min(cfg.init_top_k, data.n)
        top = np.argsort(-data.y.reshape(-1), kind="stable")[:k]
        x = torch.as_tensor(data.x[top], device=self.device)
        with torch.no_grad():
            mu, _ = self.surrogate.encode(x)
        return mu.detach().float().cpu().numpy()

    def _jobs(self, y_star: float, init_z: np.ndarray | None, device: str) -> list[_ChunkJob]:
        cfg: ProposeConfig = self.config.propose
        jobs = []
        for i, start in enumerate(range(0, cfg.n_chains, cfg.chain_chunk)):
            n = min(cfg.chain_chunk, cfg.n_chains - start)
            jobs.append(_ChunkJob(i, n, derive_seed(self.seed, "chains", i), y_star, init_z, device))
        return jobs

    def _chunk_fn(self) -> tuple[Any, str]:
        """The function run per chunk and the device it computes on."""
        cfg: ProposeConfig = self.config.propose
        if self.parallel.workers <= 0:
            return _chunk_closure(self.surrogate, cfg), str(self.device)
        # Ray: ship a CPU copy of the trained module inside the function (serialised once by Ray);
        # workers compute on a GPU only when they are given one.
        device = "cuda" if (self.parallel.gpus_per_task > 0 and torch.cuda.is_available()) else "cpu"
        return _chunk_closure(_cpu_copy(self.surrogate), cfg), device

    def _score(self, x: np.ndarray, weight: float) -> np.ndarray:
        """Candidate score ``h(μ(x)) + weight · z(x)`` ``[n]`` (float64; z: standardised in-distribution score)."""
        value, density = _value_and_density(self.surrogate, x, self.density_stats, self.config.propose.score_batch)
        return value + weight * density

    def _enumerable(self, data: OfflineData) -> bool:
        limit = self.config.propose.enumerate_limit
        return bool(data.is_discrete and limit and token_space_size(data.dim, int(data.num_classes or 2)) <= limit)

    def _allowed(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` bool: rows of ``x`` that respect the pair support and the user's constraints."""
        ok = np.ones(x.shape[0], dtype=bool)
        if self.support is not None and len(x):
            ok &= self.support.allowed(x)
        if self.constraints is not None and len(x):
            ok &= self.constraints.allowed(x)
        return ok

    def _supported(self, x: np.ndarray) -> np.ndarray:
        """The rows of ``x`` that respect the data's neighbouring-pair support and the user's constraints."""
        return x if not len(x) else x[self._allowed(x)]

    def _project(self, x: np.ndarray) -> np.ndarray:
        """Candidates moved onto the user's fixed positions / into the user's bounds (unchanged without them)."""
        return x if self.constraints is None or not len(x) else self.constraints.project(x)

    def _score_info(self, weight: float) -> dict[str, Any]:
        return {"score_weight": weight, "selection": self.selection,
                "n_banned_pairs": None if self.support is None else self.support.n_banned,
                "density_mean": self.density_stats[0], "density_std": self.density_stats[1]}

    def _propose_exhaustive(self, data: OfflineData, budget: int, weight: float, t0: float) -> Proposal:
        """Score every design of a small token space and select the batch from the best."""
        cfg: ProposeConfig = self.config.propose
        keep = max(64 * budget, 8192)
        allowed = None if self.support is None and self.constraints is None else self._allowed
        x, scores, n_scored = top_designs(lambda xb: self._score(xb, weight), data.dim, int(data.num_classes or 2),
                                          keep, exclude=data.x if cfg.exclude_training else None, allowed=allowed,
                                          chunk=max(cfg.score_batch, 65536))
        if not len(x):  # every design is a training row or not allowed: fall back to the allowed training rows
            x = self._supported(data.x.astype(np.int64)) if self.constraints is not None else data.x.astype(np.int64)
            scores = self._score(x, weight)
        x_top, s_top = select_top(x, scores, budget, min_hamming=cfg.min_hamming)
        info = {"search": "exhaustive", "n_scored": n_scored, "n_candidates": int(x.shape[0]),
                **self._score_info(weight), "propose_s": round(time.perf_counter() - t0, 3)}
        return Proposal(x=x_top, scores=s_top, info=info)

    def propose(self, budget: int) -> Proposal:
        """Sample latent chains towards ``y*``, decode, score, deduplicate and keep the best ``budget``
        (or search a small token space exhaustively); every design honours ``self.constraints``."""
        data = self._require_fit()
        if budget < 1:
            raise InvalidDataError(f"budget must be >= 1, got {budget}.")
        cfg: ProposeConfig = self.config.propose
        t0 = time.perf_counter()
        w = float(self.selection["weight"])
        exhaustive = self._enumerable(data)
        n_units = None if exhaustive else -(-cfg.n_chains // cfg.chain_chunk) + cfg.refine_rounds
        with PhaseProgress("proposing", n_units, enabled=self.show_progress, unit="step") as bar:
            if exhaustive:
                proposal = self._propose_exhaustive(data, budget, w, t0)
            else:
                proposal = self._propose_sampled(data, budget, w, t0, bar)
            bar.note = f"{len(proposal.x)} designs" + (" (exhaustive search)" if exhaustive else "")
        return proposal

    def _propose_sampled(self, data: OfflineData, budget: int, w: float, t0: float, bar: PhaseProgress) -> Proposal:
        """The sampler path of :meth:`propose` (``bar`` advances once per chunk and per refinement round)."""
        cfg: ProposeConfig = self.config.propose
        y_star = float(self.surrogate.y_max_standardized) + cfg.y_star_offset
        fn, device = self._chunk_fn()
        if self.parallel.workers <= 0:  # in this process: tick the progress display per chunk
            fn = _ticking(fn, bar)
        jobs = self._jobs(y_star, self._init_encodings(data), device)
        results = _parallel_map(fn, jobs, self.parallel.workers, self.parallel.address, self.parallel.gpus_per_task)
        parts = [r["x"] for r in results if r["x"] is not None and len(r["x"])]
        if not parts:
            raise InvalidDataError("every sampler chain diverged (non-finite latent states): lower propose.step_size.")
        cand = np.concatenate(parts)
        if data.is_discrete:
            cand = cand.astype(np.int64)
        else:
            cand = cand.astype(np.float32)
            if data.bounds is not None:
                cand = np.clip(cand, data.bounds[0], data.bounds[1])
        cand = self._project(cand)
        _, first = np.unique(cand.reshape(cand.shape[0], -1), axis=0, return_index=True)
        uniq = cand[np.sort(first)]
        n_decoded_unique = int(uniq.shape[0])
        uniq = self._supported(uniq)
        n_unsupported = n_decoded_unique - int(uniq.shape[0])
        scores = self._score(uniq, w)
        exclude = data.x if cfg.exclude_training else None
        n_unique_sampled = int(uniq.shape[0])
        train_rows = _row_set(data.x, uniq.dtype)  # built once: the training data can have millions of rows
        n_new_sampled = n_unique_sampled - _count_in(uniq, train_rows)
        n_refined = 0
        for r in range(cfg.refine_rounds):
            # Local search on the surrogate's score in design space, from the best candidates so far.
            src = uniq[np.argsort(-scores, kind="stable")[: cfg.refine_top]]
            extra = self._supported(_drop_seen(self._project(_neighbours(
                src, data, cfg.fill_scale, cfg.refine_samples, derive_seed(self.seed, "refine", r))), uniq))
            if not len(extra):
                break
            n_refined += int(extra.shape[0])
            bar.update()
            uniq = np.concatenate([uniq, extra])
            scores = np.concatenate([scores, self._score(extra, w)])
        n_new = int(uniq.shape[0]) - _count_in(uniq, train_rows)
        n_fill = 0
        if cfg.fill and n_new < budget:
            need = budget - n_new
            per = data.dim * (int(data.num_classes or 2) - 1) if data.is_discrete else need
            n_src = min(budget, -(-4 * need // per) + 1)  # enough sources for ~4x the missing designs
            extra = self._project(_neighbours(uniq[np.argsort(-scores, kind="stable")[:n_src]], data, cfg.fill_scale,
                                              need, derive_seed(self.seed, "fill")))
            extra = self._supported(_drop_seen(extra, uniq))
            if len(extra):
                n_fill = int(extra.shape[0])
                uniq = np.concatenate([uniq, extra])
                scores = np.concatenate([scores, self._score(extra, w)])
        x_top, s_top = select_top(uniq, scores, budget, exclude=exclude,
                                  min_hamming=cfg.min_hamming if data.is_discrete else 1,
                                  min_distance=0.0 if data.is_discrete else cfg.min_distance,
                                  distance_scale=1.0 if data.is_discrete else _diagonal(data))
        n_final = sum(r["stats"]["n_final"] for r in results)
        n_train_in_top = _count_in(x_top, train_rows)
        info = {
            "y_star_standardized": y_star,
            "sampler": cfg.sampler,
            "n_chains": cfg.n_chains,
            "n_chunks": len(jobs),
            "n_candidates": int(cand.shape[0]),
            "n_unique_candidates": n_unique_sampled,
            "n_new_unique_candidates": int(n_new_sampled),
            "n_refine_candidates": n_refined,
            "n_fill_candidates": n_fill,
            "n_training_designs_in_top": n_train_in_top,
            "search": "sampler",
            "n_unsupported_decoded": n_unsupported,
            **self._score_info(w),
            "n_nonfinite_chains": int(sum(r["stats"]["n_nonfinite"] for r in results)),
            "mean_final_value": sum(r["stats"]["sum_value"] for r in results) / max(n_final, 1),
            "mean_final_prior_f": sum(r["stats"]["sum_prior_f"] for r in results) / max(n_final, 1),
            "mean_final_latent_norm": sum(r["stats"]["sum_norm"] for r in results) / max(n_final, 1),
            "propose_s": round(time.perf_counter() - t0, 3),
        }
        return Proposal(x=x_top, scores=s_top, info=info)


def _density_stats(surrogate: Any, x: np.ndarray, batch: int, max_rows: int = 20_000) -> tuple[float, float]:
    """Mean and std (nats) of ``log p_α(μ(x))`` over (an evenly spaced subset of at most ``max_rows`` of) designs."""
    step = max(1, -(-x.shape[0] // max_rows))
    _, lp = surrogate.value_and_log_density(x[::step], batch_size=batch)
    lp = lp.double().cpu().numpy()
    return float(lp.mean()), float(max(lp.std(), 1e-6))


def _value_and_density(surrogate: Any, x: np.ndarray, stats: tuple[float, float], batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``(h [n], z [n])``: predicted standardised value and in-distribution score standardised by ``stats``."""
    value, lp = surrogate.value_and_log_density(x, batch_size=batch)
    density = (lp.double().cpu().numpy() - stats[0]) / stats[1]
    return value.double().cpu().numpy(), density


def _ticking(fn: Any, bar: PhaseProgress) -> Any:
    """``fn`` that advances ``bar`` once per call."""

    def ticked(job: Any) -> Any:
        out = fn(job)
        bar.update()
        return out

    return ticked


def _diagonal(data: OfflineData) -> float:
    """Length of the diagonal of the continuous design box (the data's range without bounds)."""
    lo, hi = (data.bounds[0], data.bounds[1]) if data.bounds is not None else (data.x.min(0), data.x.max(0))
    return max(float(np.linalg.norm(np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64))), 1e-12)


def _rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(x.shape[0], -1))


def _row_set(ref: np.ndarray, dtype: np.dtype) -> set[bytes]:
    """The rows of ``ref`` (cast to ``dtype``, the candidates' dtype) as a set of bytes, for membership tests."""
    return {r.tobytes() for r in _rows(np.asarray(ref).astype(dtype))}


def _count_in(x: np.ndarray, seen: set[bytes]) -> int:
    """How many rows of ``x`` are in ``seen`` (a :func:`_row_set` built with ``x.dtype``)."""
    return int(sum(r.tobytes() in seen for r in _rows(x)))


def _drop_seen(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distinct rows of ``x`` that are not in ``ref`` (first occurrence order)."""
    seen = _row_set(ref, x.dtype)
    keep, out = set(), []
    for i, r in enumerate(_rows(x)):
        b = r.tobytes()
        if b not in seen and b not in keep:
            keep.add(b)
            out.append(i)
    return x[out]


def _neighbours(top: np.ndarray, data: OfflineData, scale: float, need: int, seed: int) -> np.ndarray:
    """Neighbours of the candidates ``top`` [k, ...] used to fill a short proposal.

    Tokens: every single-position mutant of each candidate (k·L·(C-1) rows). Continuous: ``max(need, 1)``
    Gaussian perturbations per candidate with std ``scale`` × the bounds' width, clipped to the bounds.
    """
    if data.is_discrete:
        c = int(data.num_classes or 2)
        k, L = top.shape
        mut = np.repeat(top[:, None, None, :], L, axis=1).repeat(c - 1, axis=2)  # [k, L, C-1, L]
        pos = np.arange(L)
        shift = np.arange(1, c)
        vals = (top[:, :, None] + shift[None, None, :]) % c  # [k, L, C-1]
        mut[:, pos, :, pos] = np.moveaxis(vals, 1, 0)
        return mut.reshape(-1, L).astype(np.int64)
    rng = np.random.default_rng(seed)
    lo, hi = (data.bounds[0], data.bounds[1]) if data.bounds is not None else (data.x.min(0), data.x.max(0))
    width = np.maximum(hi - lo, 1e-6)
    reps = max(need, 1)
    out = np.repeat(top, reps, axis=0) + rng.normal(size=(top.shape[0] * reps, top.shape[1])) * scale * width
    return np.clip(out, lo, hi).astype(np.float32)


def _cpu_copy(module: Any) -> Any:
    """A deep copy of ``module`` on the CPU (the original stays where it is)."""
    import copy

    return copy.deepcopy(module).to("cpu")


register_method(
    "n2ce", LatentEBMMethod, {"prior": {"objective": "n2ce", "M": 100, "K": 6}},
    "Latent EBM surrogate with a Noisier-NCE prior (M=100, K=6); Langevin sampling of p(z|y*).",
)
register_method(
    "nce", LatentEBMMethod, {"prior": {"objective": "nce", "M": 1, "K": 6}},
    "Latent EBM surrogate with a standard NCE prior (M=1, K=6); Langevin sampling of p(z|y*).",
)
register_method(
    "mle", LatentEBMMethod, {"prior": {"objective": "mle"}},
    "Latent EBM surrogate with a prior trained by short-run-Langevin maximum likelihood.",
)
register_method(
    "gaussian", LatentEBMMethod, {"prior": {"objective": "gaussian"}},
    "Latent-variable surrogate with a plain N(0, I) prior (no EBM); Langevin sampling of p(z|y*).",
)
