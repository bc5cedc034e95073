"""Design-Bench's "Grad" baselines: gradient ascent on an MLP surrogate's prediction, in design space.

* ``grad``: one MLP (Design-Bench's "gradient ascent").
* ``grad-ensemble``: the mean of an ensemble of MLPs (Design-Bench's "gradient ascent, mean ensemble").

Starting points are the top-``n_starts`` training designs (``n_starts = budget`` by default, as
Design-Bench starts from the top 128). Continuous designs move in standardised ``x`` space with a
learning rate ``lr * sqrt(d)`` (Design-Bench scales its solver learning rate by the square root of the
number of input channels) and plain gradient steps (``optimizer="sgd"``, Design-Bench's update
``x <- x + lr * grad``), projected onto the task's box. Token designs move their logits: each start is
``log(smoothing * one_hot + (1 - smoothing) / C)`` (Design-Bench's ``map_to_logits`` with soft
interpolation 0.6), the surrogate sees ``softmax(logits)`` and the result is decoded by argmax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from n2ce_bbo.config import require
from n2ce_bbo.methods.base import Proposal
from n2ce_bbo.methods.design_ascent import AscentOptimizer, ascent_lr, ascent_trajectory
from n2ce_bbo.methods.regressor_method import RegressorMethod
from n2ce_bbo.methods.selection import select_tiered, top_indices
from n2ce_bbo.training.regressors import RegressorConfig
from n2ce_bbo.utils import derive_seed, seed_everything


@dataclass
class GradConfig:
    """Settings of the gradient-ascent baselines.

    Attributes:
        regressor: the MLP surrogate's settings.
        n_members: ensemble size (1: a single MLP).
        n_steps: ascent steps.
        lr: base step size; multiplied by ``sqrt(d)`` (continuous) or ``sqrt(L * C)`` (tokens) when
            ``scale_lr`` is true.
        scale_lr: Design-Bench's learning-rate scaling by the square root of the input size.
        optimizer: ``"sgd"`` (Design-Bench's plain gradient step), ``"adam"``, or ``"auto"``: SGD for continuous
            designs, Adam for token logits (through the softmax, plain SGD steps on the logits are too small to
            change any argmax in 200 steps: the proposals were the starting training designs).
        n_starts: number of top training designs to start from (``None``: the budget).
        smoothing: weight of the one-hot in the initial token probabilities (Design-Bench: 0.6).
        exclude_training: rank re-proposed training designs after every new design.
    """

    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    n_members: int = 1
    n_steps: int = 200
    lr: float = 0.01
    scale_lr: bool = True
    optimizer: AscentOptimizer = "auto"
    n_starts: int | None = None
    smoothing: float = 0.6
    exclude_training: bool = True

    def __post_init__(self) -> None:
        require(at_least=1, n_members=self.n_members)
        require(at_least=1, optional=True, n_starts=self.n_starts)
        require(at_least=0, n_steps=self.n_steps)
        require(above=0, lr=self.lr)
        require(above=0, at_most=1, smoothing=self.smoothing)


# --- the method ----------------------------------------------------------------------------------------


class GradientAscent(RegressorMethod):
    """Gradient ascent on an MLP (or ensemble-mean) surrogate from the best training designs."""

    Config = GradConfig
    reads_constraints = True

    def propose(self, budget: int) -> Proposal:
        """Ascend from the top ``n_starts`` training designs; return ``budget`` distinct designs.

        The final iterates come first (best predicted first); designs met earlier on the ascent paths fill
        the budget only when the final iterates hold fewer distinct new designs (token tasks).
        """
        return self.propose_ranked(budget, budget)

    def propose_ranked(self, budget: int, n: int) -> Proposal:
        """The ascent of :meth:`propose` for ``budget`` (as many starts), its designs ranked as there and cut at
        ``n``: the final iterates, then the designs met earlier on the paths, then training designs."""
        data = self._require_fit()
        cfg = self.config
        seed_everything(derive_seed(self.seed, "propose"))
        n_starts = cfg.n_starts or budget
        starts = data.x[top_indices(data.y, n_starts)]
        model = self.model
        traj = ascent_trajectory(model, starts, data, n_steps=cfg.n_steps, lr=cfg.lr, optimizer=cfg.optimizer,
                                 smoothing=cfg.smoothing, scale_lr=cfg.scale_lr, device=self.device)
        final = self._allowed_designs(self._project_designs(traj[-1]))
        earlier = self._allowed_designs(self._project_designs(traj[:-1].reshape(-1, *traj.shape[2:])))
        tiers = [(t, model.predict(t)) for t in (final, earlier) if len(t)]
        if tiers:
            x, scores = select_tiered(tiers, n, exclude=data.x if cfg.exclude_training else None)
        else:  # the constraints left no candidate
            x, scores = final[:0], np.zeros(0)
        info = {
            "n_starts": int(len(starts)), "n_steps": cfg.n_steps,
            "lr_effective": ascent_lr(data, cfg.lr, cfg.scale_lr),
            "n_members": cfg.n_members, "n_distinct_final": int(np.unique(final.reshape(len(final), -1), axis=0).shape[0]) if len(final) else 0,
        }
        return Proposal(x=x, scores=scores, info=info)
