"""Design-Bench's BO-qEI baseline: batch Bayesian optimisation with a GP and q-(log-)expected improvement.

A BoTorch ``SingleTaskGP`` is fitted on a seeded subset of the offline rows (the best
``top_fraction * n_train`` rows plus random others; a GP on all 30k rows would not fit on two cores).
Proposals come in batches of ``q`` from ``qLogExpectedImprovement``:

* continuous designs: ``optimize_acqf`` over the unit box (inputs are normalised by the task's box);
* token designs: ``optimize_acqf_discrete`` over a pool of 1..``max_mutations``-point mutants of the best
  training sequences (training sequences removed), with flattened one-hot features for the GP.

No oracle is queried: as Design-Bench's BO-qEI labels its own proposals with its surrogate, each batch is
labelled with the GP's posterior mean and the GP is conditioned on those pseudo-observations ("kriging
believer") before the next batch. The proposals are ranked by their pseudo-labels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from botorch.acquisition.analytic import LogExpectedImprovement
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.gpytorch import GPyTorchModel
from botorch.optim import optimize_acqf, optimize_acqf_discrete
from botorch.sampling.normal import SobolQMCNormalSampler
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from n2ce_bbo.config import require
from n2ce_bbo.methods.base import Method, Proposal
from n2ce_bbo.methods.selection import RowSet, select_tiered, top_indices
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import derive_seed, seed_everything

DTYPE = torch.float64


@dataclass
class BOqEIConfig:
    """Settings of the BO-qEI baseline.

    Attributes:
        n_train: offline rows the GP is fitted on (all rows when there are fewer).
        top_fraction: share of those rows taken from the best scores; the rest are drawn at random.
        q: designs per acquisition batch.
        mc_samples: quasi-Monte-Carlo samples of the acquisition function.
        num_restarts, raw_samples, maxiter: ``optimize_acqf`` settings (continuous designs).
        pool_size: candidate sequences for the discrete acquisition (token designs).
        pool_parents: the best training sequences the pool mutates.
        max_mutations: at most this many positions changed per pool sequence.
        acq_pool: the pool is first narrowed to this many sequences by analytic log-EI (one cheap
            posterior of the whole pool); ``optimize_acqf_discrete`` then picks the batch of ``q`` among them
            (its batched q-posteriors cost ~1 s per 1000 choices and per design on two cores).
        max_batch_size: candidates scored at once by ``optimize_acqf_discrete``.
        fit_maxiter: L-BFGS iterations of the GP's marginal-likelihood fit (at most 2 attempts).
        exclude_training: rank re-proposed training designs after every new design.
    """

    n_train: int = 500
    top_fraction: float = 0.5
    q: int = 8
    mc_samples: int = 64
    num_restarts: int = 4
    raw_samples: int = 128
    maxiter: int = 50
    pool_size: int = 4096
    pool_parents: int = 64
    max_mutations: int = 2
    acq_pool: int = 256
    max_batch_size: int = 1024
    fit_maxiter: int = 100
    exclude_training: bool = True

    def __post_init__(self) -> None:
        require(at_least=1, n_train=self.n_train, q=self.q, mc_samples=self.mc_samples, num_restarts=self.num_restarts,
                raw_samples=self.raw_samples, maxiter=self.maxiter, pool_size=self.pool_size,
                pool_parents=self.pool_parents, max_mutations=self.max_mutations, acq_pool=self.acq_pool,
                max_batch_size=self.max_batch_size, fit_maxiter=self.fit_maxiter)
        require(at_least=0, at_most=1, top_fraction=self.top_fraction)


def gp_subset(y: np.ndarray, n_train: int, top_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Row indices for the GP: the ``round(top_fraction * n_train)`` best, then random others (sorted)."""
    n = int(y.shape[0])
    if n <= n_train:
        return np.arange(n)
    n_top = int(round(top_fraction * n_train))
    top = top_indices(y, n_top)
    rest = np.setdiff1d(np.arange(n), top)
    rand = rng.choice(rest, size=n_train - n_top, replace=False)
    return np.sort(np.concatenate([top, rand]))


def mutant_pool(
    parents: np.ndarray, num_classes: int, size: int, max_mutations: int, rng: np.random.Generator,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Up to ``size`` distinct int64 ``[P, L]`` sequences, each a parent with 1..``max_mutations`` positions changed.

    Sequences in ``exclude`` (and the parents) are left out. Fewer than ``size`` come back only when the
    mutants run out (``20 * size`` draws).
    """
    parents = np.asarray(parents, dtype=np.int64)
    L = parents.shape[1]
    seen = RowSet(parents)
    if exclude is not None:
        seen.update(exclude)
    out: list[np.ndarray] = []
    for _ in range(20):
        m = size * 2
        kids = parents[rng.integers(0, len(parents), size=m)].copy()
        n_mut = rng.integers(1, min(max_mutations, L) + 1, size=m)
        for j in range(min(max_mutations, L)):
            pos = rng.integers(0, L, size=m)
            shift = rng.integers(1, num_classes, size=m)
            act = n_mut > j
            kids[act, pos[act]] = (kids[act, pos[act]] + shift[act]) % num_classes
        for k in kids:
            if k not in seen:
                seen.add(k)
                out.append(k)
                if len(out) >= size:
                    return np.stack(out)
    return np.stack(out) if out else np.zeros((0, L), dtype=np.int64)


@torch.no_grad()
def shortlist(model: GPyTorchModel, feats: Tensor, best_f: float, k: int, chunk: int = 64) -> Tensor:
    """Indices of the ``k`` rows of ``feats [P, D]`` with the highest analytic log expected improvement
    (BoTorch's ``LogExpectedImprovement``, each row on its own), best first.

    ``chunk`` rows are scored per call as a batch of one-point posteriors, and GPyTorch broadcasts the kernel's
    work over that batch (memory grows with ``chunk × n_train × D``): 1,024 rows a call held ~10 GB on Ehrlich's
    1,024-wide one-hot inputs, 64 hold ~0.6 GB, run faster and give bitwise the same scores."""
    acq = LogExpectedImprovement(model, best_f=best_f)
    scores = torch.cat([acq(feats[i:i + chunk].unsqueeze(-2)) for i in range(0, len(feats), chunk)])
    return torch.argsort(scores, descending=True, stable=True)[: min(k, len(scores))]


class BOqEI(Method):
    """Batch BO with a GP on a subset of the data and qLogEI, labelling proposals by the GP's mean."""

    Config = BOqEIConfig

    # --- features -------------------------------------------------------------------------------------
    def _box(self, data: OfflineData) -> tuple[np.ndarray, np.ndarray]:
        if data.bounds is not None:
            lo, hi = np.asarray(data.bounds, dtype=np.float64)
        else:
            lo, hi = data.x.min(axis=0).astype(np.float64), data.x.max(axis=0).astype(np.float64)
        return lo, np.where(hi > lo, hi, lo + 1.0)

    def _features(self, x: np.ndarray) -> Tensor:
        """Raw designs -> GP inputs: ``[n, L * C]`` one-hot or ``[n, d]`` in the unit box (float64)."""
        data = self._require_fit()
        if data.is_discrete:
            assert data.num_classes is not None
            t = torch.as_tensor(np.asarray(x, dtype=np.int64))
            return torch.nn.functional.one_hot(t, data.num_classes).reshape(len(x), -1).to(DTYPE)
        lo, hi = self._box(data)
        return torch.as_tensor((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), dtype=DTYPE)

    def _designs(self, feats: Tensor) -> np.ndarray:
        """GP inputs -> raw designs: int64 ``[n, L]`` tokens or float32 ``[n, d]`` clipped to the box."""
        data = self._require_fit()
        if data.is_discrete:
            assert data.num_classes is not None
            return feats.reshape(len(feats), data.dim, data.num_classes).argmax(-1).cpu().numpy().astype(np.int64)
        lo, hi = self._box(data)
        raw = lo + feats.detach().cpu().numpy() * (hi - lo)
        return np.clip(raw, lo, hi).astype(np.float32)

    # --- Method -----------------------------------------------------------------------------------------
    def fit(self, data: OfflineData) -> None:
        """Fit the GP on a seeded subset of the offline rows (standardised scores)."""
        cfg = self.config
        self.data = data
        seed_everything(self.seed)
        rng = np.random.default_rng(derive_seed(self.seed, "bo-subset"))
        y = np.asarray(data.y, dtype=np.float64).reshape(-1)
        idx = gp_subset(y, cfg.n_train, cfg.top_fraction, rng)
        ys = y[idx]
        self.y_mean = float(ys.mean())
        self.y_std = float(ys.std()) if ys.std() > 1e-12 else 1.0
        train_x = self._features(data.x[idx])
        train_y = torch.as_tensor((ys - self.y_mean) / self.y_std, dtype=DTYPE).unsqueeze(-1)
        torch.manual_seed(derive_seed(self.seed, "bo-fit"))
        gp = SingleTaskGP(train_x, train_y, outcome_transform=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp), max_attempts=2,
                             optimizer_kwargs={"options": {"maxiter": cfg.fit_maxiter}})
        gp.eval()
        self.gp = gp
        self.best_f = float(train_y.max())
        self.n_gp_rows = int(len(idx))

    def propose(self, budget: int) -> Proposal:
        """Propose batches of ``q`` by qLogEI, conditioning on pseudo-labels, until ``budget`` designs."""
        return self.propose_ranked(budget, budget)

    def propose_ranked(self, budget: int, n: int) -> Proposal:
        """The ``budget`` designs of :meth:`propose` first, then (token designs) the rest of the mutant pool by the
        GP's mean, ``n`` in all (continuous designs: the ``budget`` designs alone)."""
        data = self._require_fit()
        cfg = self.config
        seed_everything(derive_seed(self.seed, "propose"))
        rng = np.random.default_rng(derive_seed(self.seed, "bo-pool"))
        model: GPyTorchModel = self.gp  # conditioning on pseudo-labels returns another kind of GP model
        best_f = self.best_f
        pool_feats: Tensor | None = None
        if data.is_discrete:
            assert data.num_classes is not None
            parents = data.x[top_indices(data.y, cfg.pool_parents)]
            pool = mutant_pool(parents, data.num_classes, max(cfg.pool_size, budget), cfg.max_mutations, rng,
                               exclude=data.x if cfg.exclude_training else None)
            pool_feats = self._features(pool)
        feats: list[Tensor] = []
        labels: list[Tensor] = []
        n_rounds = math.ceil(budget / cfg.q)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in range(n_rounds):
                q = min(cfg.q, budget - r * cfg.q)
                sampler = SobolQMCNormalSampler(torch.Size([cfg.mc_samples]), seed=derive_seed(self.seed, "qmc", r))
                acq = qLogExpectedImprovement(model, best_f=best_f, sampler=sampler)
                if pool_feats is not None:
                    if len(pool_feats) == 0:
                        break
                    choices = pool_feats[shortlist(model, pool_feats, best_f, cfg.acq_pool)]
                    cand, _ = optimize_acqf_discrete(acq, q=min(q, len(choices)), choices=choices,
                                                     max_batch_size=cfg.max_batch_size, unique=True)
                    keep = ~(pool_feats[:, None, :] == cand[None, :, :]).all(-1).any(-1)
                    pool_feats = pool_feats[keep]
                else:
                    d = data.dim
                    unit = torch.stack([torch.zeros(d, dtype=DTYPE), torch.ones(d, dtype=DTYPE)])
                    torch.manual_seed(derive_seed(self.seed, "acqf", r))
                    cand, _ = optimize_acqf(acq, bounds=unit, q=q, num_restarts=cfg.num_restarts,
                                            raw_samples=cfg.raw_samples, options={"maxiter": cfg.maxiter})
                cand = cand.detach()
                with torch.no_grad():
                    mean = model.posterior(cand).mean.detach()
                feats.append(cand)
                labels.append(mean.reshape(-1))
                best_f = max(best_f, float(mean.max()))
                model = cast(GPyTorchModel, model.condition_on_observations(cand, mean))  # same class back
        x_prop = self._designs(torch.cat(feats)) if feats else np.zeros((0, data.dim))
        s_prop = torch.cat(labels).cpu().numpy() * self.y_std + self.y_mean if labels else np.zeros(0)
        tiers = [(x_prop, s_prop)]
        if pool_feats is not None and len(pool_feats):
            with torch.no_grad():
                rest_mean = self.gp.posterior(pool_feats).mean.reshape(-1).cpu().numpy()
            tiers.append((self._designs(pool_feats), rest_mean * self.y_std + self.y_mean))
        x, scores = select_tiered(tiers, n, exclude=data.x if cfg.exclude_training else None)
        info = {"n_gp_rows": self.n_gp_rows, "n_rounds": len(feats), "q": cfg.q}
        return Proposal(x=x, scores=scores, info=info)
