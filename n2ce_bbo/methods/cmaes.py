"""Design-Bench's CMA-ES baseline: the CMA evolution strategy (package ``cma``) on an MLP surrogate.

Design-Bench runs one CMA-ES from each of its top-128 training designs and keeps each run's best. Here
``n_restarts`` runs (modest by default) start from the best training designs; every design any run
evaluates is a candidate, and the ``budget`` best distinct ones by surrogate score are proposed (each
run's final population and best design are among them).

* Continuous designs: CMA-ES in the surrogate's standardised ``x`` space, within the task's box
  (``cma``'s ``BoundTransform``), initial step ``sigma0``.
* Token designs: CMA-ES over the ``L * C`` logits, started at the smoothed one-hot logits of a training
  design (as Design-Bench); a candidate is decoded by argmax and scored as that exact design (one-hot),
  so the fitness is the surrogate's score of what would be proposed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cma
import numpy as np
import torch

from n2ce_bbo.config import require
from n2ce_bbo.methods.base import Proposal
from n2ce_bbo.methods.regressor_method import RegressorMethod
from n2ce_bbo.methods.selection import clip_to_bounds, select_tiered, top_indices
from n2ce_bbo.models.regressors import standardised_bounds
from n2ce_bbo.samplers.gradient_ascent import smoothed_logits
from n2ce_bbo.training.regressors import RegressorConfig
from n2ce_bbo.utils import derive_seed, seed_everything


@dataclass
class CMAESConfig:
    """Settings of the CMA-ES baseline.

    Attributes:
        regressor: the MLP surrogate's settings.
        n_members: surrogate ensemble size (1: a single MLP).
        n_restarts: independent CMA-ES runs, each from the next-best training design.
        popsize: candidates per generation (``None``: ``cma``'s default ``4 + 3 ln(dim)``).
        max_iters: generations per run (a run also stops on ``cma``'s own criteria).
        sigma0: initial step size, in standard deviations of ``x`` (continuous designs).
        sigma0_tokens: initial step size on the logits (token designs).
        smoothing: weight of the one-hot in the initial token probabilities (Design-Bench: 0.6).
        exclude_training: rank re-proposed training designs after every new design.
    """

    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    n_members: int = 1
    n_restarts: int = 8
    popsize: int | None = None
    max_iters: int = 100
    sigma0: float = 0.5
    sigma0_tokens: float = 1.0
    smoothing: float = 0.6
    exclude_training: bool = True

    def __post_init__(self) -> None:
        require(at_least=1, n_members=self.n_members, n_restarts=self.n_restarts, max_iters=self.max_iters)
        require(at_least=2, optional=True, popsize=self.popsize)
        require(above=0, sigma0=self.sigma0, sigma0_tokens=self.sigma0_tokens)
        require(above=0, at_most=1, smoothing=self.smoothing)


class CMAES(RegressorMethod):
    """CMA-ES restarts on the surrogate's prediction; proposes the best distinct designs evaluated."""

    Config = CMAESConfig
    reads_constraints = True

    def _decode(self, sols: np.ndarray) -> np.ndarray:
        """``[m, dim]`` CMA-ES solutions -> raw designs: clipped float32 ``[m, d]`` or int64 tokens ``[m, L]``."""
        data = self._require_fit()
        if data.is_discrete:
            assert data.num_classes is not None
            return sols.reshape(len(sols), data.dim, data.num_classes).argmax(axis=-1).astype(np.int64)
        z = torch.as_tensor(sols, dtype=torch.float32, device=self.device)
        raw = self.model.decode_continuous(z).cpu().numpy()
        return clip_to_bounds(raw, data.bounds)

    def _start(self, row: np.ndarray) -> tuple[np.ndarray, float, dict]:
        """CMA-ES mean, step size and extra options for a start from one training design."""
        data = self._require_fit()
        cfg = self.config
        if data.is_discrete:
            assert data.num_classes is not None
            logits = smoothed_logits(torch.as_tensor(row[None].astype(np.int64)), data.num_classes, cfg.smoothing)
            return logits.reshape(-1).numpy().astype(np.float64), cfg.sigma0_tokens, {}
        z = self.model.encode(row[None]).cpu().numpy().reshape(-1).astype(np.float64)
        opts: dict = {}
        box = standardised_bounds(self.model, data.bounds)
        if box is not None:
            lo, hi = box.cpu().numpy().astype(np.float64)
            z = np.clip(z, lo, hi)
            opts["bounds"] = [lo.tolist(), hi.tolist()]
        return z, cfg.sigma0, opts

    def propose(self, budget: int) -> Proposal:
        """Run ``n_restarts`` CMA-ES runs and return the ``budget`` best distinct designs they evaluated."""
        return self.propose_ranked(budget, budget)

    def propose_ranked(self, budget: int, n: int) -> Proposal:
        """The runs of :meth:`propose` (they do not depend on ``budget``), the ``n`` best distinct designs."""
        data = self._require_fit()
        cfg = self.config
        seed_everything(derive_seed(self.seed, "propose"))
        starts = data.x[top_indices(data.y, cfg.n_restarts)]
        xs: list[np.ndarray] = []
        ss: list[np.ndarray] = []
        n_iters = []
        for r, row in enumerate(starts):
            mean0, sigma0, opts = self._start(np.asarray(row))
            opts.update({"seed": derive_seed(self.seed, "cma", r) + 1, "maxiter": cfg.max_iters, "verbose": -9})
            if cfg.popsize is not None:
                opts["popsize"] = cfg.popsize
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                es = cma.CMAEvolutionStrategy(mean0, sigma0, opts)
                while not es.stop():
                    sols = np.asarray(es.ask())
                    designs = self._project_designs(self._decode(sols))
                    scores = self.model.predict(designs)
                    es.tell(list(sols), list(-scores))
                    xs.append(designs)
                    ss.append(scores)
            n_iters.append(int(es.countiter))
        all_x, all_s = np.concatenate(xs), np.concatenate(ss)
        if self.constraints is not None:
            ok = self.constraints.allowed(all_x)
            all_x, all_s = all_x[ok], all_s[ok]
        if len(all_x):
            x, scores = select_tiered([(all_x, all_s)], n, exclude=data.x if cfg.exclude_training else None)
        else:  # the constraints left no candidate
            x, scores = all_x, all_s
        info = {"n_restarts": int(len(starts)), "iterations": n_iters, "n_evaluated": int(len(all_x)),
                "popsize": int(len(xs[0])) if xs else 0}
        return Proposal(x=x, scores=scores, info=info)
