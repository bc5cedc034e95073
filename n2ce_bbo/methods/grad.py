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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.methods.base import Method, Proposal, select_top
from n2ce_bbo.methods.registry import register_method
from n2ce_bbo.models.regressors import RegressorConfig, Surrogate, fit_surrogate
from n2ce_bbo.samplers.gradient_ascent import gradient_ascent
from n2ce_bbo.tasks.base import OfflineData
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
    optimizer: Literal["sgd", "adam", "auto"] = "auto"
    n_starts: int | None = None
    smoothing: float = 0.6
    exclude_training: bool = True

    def __post_init__(self) -> None:
        if self.n_members < 1:
            raise ConfigError(f"n_members must be >= 1, got {self.n_members}.")
        if self.n_steps < 0:
            raise ConfigError(f"n_steps must be >= 0, got {self.n_steps}.")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}.")
        if self.n_starts is not None and self.n_starts < 1:
            raise ConfigError(f"n_starts must be >= 1 or null, got {self.n_starts}.")
        if not 0.0 < self.smoothing <= 1.0:
            raise ConfigError(f"smoothing must lie in (0, 1], got {self.smoothing}.")


# --- helpers shared by the baselines ------------------------------------------------------------------


def top_indices(y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first (ties by row order, so deterministic)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    return np.argsort(-y, kind="stable")[: min(k, y.shape[0])]


def smoothed_logits(tokens: Tensor, num_classes: int, smoothing: float) -> Tensor:
    """``[n, L]`` tokens -> ``[n, L, C]`` logits ``log(smoothing * one_hot + (1 - smoothing) / C)``."""
    one_hot = torch.nn.functional.one_hot(tokens.long(), num_classes).float()
    return torch.log(smoothing * one_hot + (1.0 - smoothing) / num_classes)


def standardised_bounds(model: Surrogate, bounds: np.ndarray | None) -> Tensor | None:
    """The task's raw ``[2, d]`` box in the surrogate's standardised space (``None`` stays ``None``)."""
    if bounds is None:
        return None
    return model.encode(np.asarray(bounds, dtype=np.float32))


def clip_to_bounds(x: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
    """Continuous ``[n, d]`` designs clipped to the ``[2, d]`` box, as float32."""
    x = np.asarray(x, dtype=np.float32)
    if bounds is None:
        return x
    return np.clip(x, bounds[0], bounds[1]).astype(np.float32)


def select_tiered(
    tiers: Sequence[tuple[np.ndarray, np.ndarray]],
    budget: int,
    *,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct top designs, taking every new design of tier 0 before tier 1, and so on.

    Args:
        tiers: ``(x [N_i, ...], scores [N_i])`` candidate groups in order of preference (for example the
            final iterates, then earlier iterates of the same runs).
        budget: how many designs to return.
        exclude: ``[M, ...]`` designs (the training rows) to use only when the tiers hold too few new ones.

    Returns:
        ``(x [<= budget, ...], scores)``, best tier first, best score first within a tier.
    """
    tiers = [(np.asarray(x), np.asarray(s, dtype=np.float64).reshape(-1)) for x, s in tiers if len(x)]
    if not tiers:
        raise InvalidDataError("select_tiered needs at least one non-empty tier of candidates.")
    taken_x: list[np.ndarray] = []
    taken_s: list[np.ndarray] = []
    seen: set[bytes] = set()
    dtype = tiers[0][0].dtype
    if exclude is not None and len(exclude):
        ex = np.ascontiguousarray(np.asarray(exclude, dtype=dtype).reshape(len(exclude), -1))
        seen.update(row.tobytes() for row in ex)
    n_new = 0
    for x, s in tiers:
        if n_new >= budget:
            break
        flat = np.ascontiguousarray(x.reshape(len(x), -1))
        fresh = [i for i, row in enumerate(flat) if row.tobytes() not in seen]
        if not fresh:
            continue
        xt, st = select_top(x[fresh], s[fresh], budget - n_new)
        seen.update(r.tobytes() for r in np.ascontiguousarray(xt.reshape(len(xt), -1)))
        taken_x.append(xt)
        taken_s.append(st)
        n_new += len(xt)
    if n_new < budget and exclude is not None and len(exclude):
        # Too few new designs: fall back on excluded ones (training rows) found among the candidates.
        all_x = np.concatenate([x for x, _ in tiers])
        all_s = np.concatenate([s for _, s in tiers])
        chosen = {r.tobytes() for xs in taken_x for r in np.ascontiguousarray(xs.reshape(len(xs), -1))}
        rest = [i for i, r in enumerate(np.ascontiguousarray(all_x.reshape(len(all_x), -1))) if r.tobytes() not in chosen]
        if rest:
            xt, st = select_top(all_x[rest], all_s[rest], budget - n_new)
            taken_x.append(xt)
            taken_s.append(st)
    if not taken_x:
        return tiers[0][0][:0], np.zeros(0)
    return np.concatenate(taken_x)[:budget], np.concatenate(taken_s)[:budget]


def fit_data_surrogate(
    data: OfflineData, regressor: RegressorConfig, n_members: int, seed: int, device: torch.device
) -> Surrogate:
    """Fit the MLP surrogate (or ensemble) on the offline rows."""
    return fit_surrogate(
        data.x, data.y.reshape(-1), regressor, n_members, derive_seed(seed, "surrogate"), device,
        num_classes=data.num_classes if data.is_discrete else None,
    )


# --- the method ----------------------------------------------------------------------------------------


class GradientAscent(Method):
    """Gradient ascent on an MLP (or ensemble-mean) surrogate from the best training designs."""

    Config = GradConfig
    reads_constraints = True

    def fit(self, data: OfflineData) -> None:
        """Train the surrogate on the offline rows."""
        seed_everything(self.seed)
        self.model = fit_data_surrogate(data, self.config.regressor, self.config.n_members, self.seed, self.device)
        self.data = data

    def propose(self, budget: int) -> Proposal:
        """Ascend from the top ``n_starts`` training designs; return ``budget`` distinct designs.

        The final iterates come first (best predicted first); designs met earlier on the ascent paths fill
        the budget only when the final iterates hold fewer distinct new designs (token tasks).
        """
        data = self._require_fit()
        cfg = self.config
        seed_everything(derive_seed(self.seed, "propose"))
        n_starts = cfg.n_starts or budget
        starts = data.x[top_indices(data.y, n_starts)]
        model = self.model
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        if data.is_discrete:
            assert data.num_classes is not None
            traj = self._ascend_tokens(starts, data.num_classes)
        else:
            traj = self._ascend_continuous(starts, data.bounds)
        final = self._allowed_designs(self._project_designs(traj[-1]))
        earlier = self._allowed_designs(self._project_designs(traj[:-1].reshape(-1, *traj.shape[2:])))
        tiers = [(t, model.predict(t)) for t in (final, earlier) if len(t)]
        if tiers:
            x, scores = select_tiered(tiers, budget, exclude=data.x if cfg.exclude_training else None)
        else:  # the constraints left no candidate
            x, scores = final[:0], np.zeros(0)
        info = {
            "n_starts": int(len(starts)), "n_steps": cfg.n_steps, "lr_effective": self._lr(data),
            "n_members": cfg.n_members, "n_distinct_final": int(np.unique(final.reshape(len(final), -1), axis=0).shape[0]) if len(final) else 0,
        }
        return Proposal(x=x, scores=scores, info=info)

    def _optimizer(self, data: OfflineData) -> str:
        """The ascent optimiser for ``data``: the configured one, or for ``"auto"`` SGD (continuous) / Adam (tokens)."""
        if self.config.optimizer != "auto":
            return self.config.optimizer
        return "adam" if data.is_discrete else "sgd"

    def _lr(self, data: OfflineData) -> float:
        size = data.dim * (data.num_classes or 1)
        return self.config.lr * (math.sqrt(size) if self.config.scale_lr else 1.0)

    def _ascend_continuous(self, starts: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
        """``[n, d]`` raw starts -> ``[n_steps + 1, n, d]`` raw float32 iterates (clipped to the box)."""
        data = self._require_fit()
        z0 = self.model.encode(starts)
        box = standardised_bounds(self.model, bounds)
        traj = gradient_ascent(self.model, z0, self.config.n_steps, self._lr(data), optimizer=self._optimizer(data),
                               bounds=box, return_trajectory=True)
        raw = self.model.decode_continuous(traj.reshape(-1, traj.shape[-1])).detach().cpu().numpy()
        return clip_to_bounds(raw, bounds).reshape(traj.shape)

    def _ascend_tokens(self, starts: np.ndarray, num_classes: int) -> np.ndarray:
        """``[n, L]`` token starts -> ``[n_steps + 1, n, L]`` int64 argmax decodings of the logit iterates."""
        data = self._require_fit()
        n, L = starts.shape
        logits0 = smoothed_logits(torch.as_tensor(starts.astype(np.int64), device=self.device), num_classes, self.config.smoothing)

        def objective(flat: Tensor) -> Tensor:
            return self.model(torch.softmax(flat.view(-1, L, num_classes), dim=-1))

        traj = gradient_ascent(objective, logits0.reshape(n, L * num_classes), self.config.n_steps, self._lr(data),
                               optimizer=self._optimizer(data), return_trajectory=True)
        tokens = traj.view(traj.shape[0], n, L, num_classes).argmax(dim=-1)
        return tokens.cpu().numpy().astype(np.int64)


register_method("grad", GradientAscent, {}, "Gradient ascent on one MLP's prediction (Design-Bench 'Grad').")
register_method(
    "grad-ensemble", GradientAscent, {"n_members": 5},
    "Gradient ascent on the mean of an MLP ensemble (Design-Bench 'gradient ascent, mean ensemble').",
)
