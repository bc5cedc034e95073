"""A method turns offline data into proposed designs: ``fit`` (train a surrogate) then ``propose``.

Every method (the latent EBM with its N²CE/NCE/MLE/Gaussian priors, and the baselines) implements
:class:`Method`. Methods receive :class:`~n2ce_bbo.tasks.base.OfflineData` only, never an oracle.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from n2ce_bbo.config import from_dict
from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import resolve_device


@dataclass
class Proposal:
    """Designs proposed by a method.

    Attributes:
        x: ``[Q, d]`` float32 or ``[Q, L]`` int64 designs, best first.
        scores: ``[Q]`` float64 surrogate scores of those designs (higher is better; method-specific units).
        info: extra facts for logs and result files (JSON-ready values).
    """

    x: np.ndarray
    scores: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParallelSpec:
    """How a method may spread independent work (chains, restarts): see :mod:`n2ce_bbo.parallel`.

    Attributes:
        workers: 0 runs everything in this process (no Ray); N >= 1 uses N Ray tasks at a time.
        address: a Ray cluster address (``None``: start or reuse a local Ray).
        gpus_per_task: GPU fraction requested per Ray task when GPUs are present.
    """

    workers: int = 0
    address: str | None = None
    gpus_per_task: float = 0.0


class Method(abc.ABC):
    """Base class of every optimisation method.

    Subclasses set ``Config`` (a dataclass of their settings, validated by :func:`n2ce_bbo.config.from_dict`)
    and implement :meth:`fit` and :meth:`propose`.

    Args:
        config: a ``Config`` instance, or a mapping of overrides of its defaults.
        seed: seed of every random choice the method makes.
        device: ``"cpu"``, ``"cuda"``, ... or ``None`` for automatic choice.
        parallel: how independent work is spread (sequential by default).
        verbose: print periodic training losses.

    Attributes set by callers after construction (both optional):
        show_progress: one progress display per phase (training, proposing) on stderr.
        constraints: a :class:`~n2ce_bbo.constraints.Constraints` every proposal must honour, or ``None``;
            methods with ``reads_constraints`` move their candidates onto them and select among the allowed ones.
    """

    Config: ClassVar[type] = object
    #: Whether :meth:`propose` honours :attr:`constraints` itself (others are filtered after proposing).
    reads_constraints: ClassVar[bool] = False
    show_progress: bool = False
    constraints: Any = None

    def __init__(
        self,
        config: Any = None,
        *,
        seed: int = 0,
        device: str | torch.device | None = None,
        parallel: ParallelSpec | None = None,
        verbose: bool = False,
    ) -> None:
        if config is None or isinstance(config, dict):
            config = from_dict(self.Config, config or {}, path=type(self).__name__)
        elif not isinstance(config, self.Config):
            raise TypeError(f"config must be a {self.Config.__name__} or a mapping, got {type(config).__name__}")
        self.config = config
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.parallel = parallel or ParallelSpec()
        self.verbose = verbose
        self.data: OfflineData | None = None

    @abc.abstractmethod
    def fit(self, data: OfflineData) -> None:
        """Train on the offline rows (no oracle is reachable from here)."""

    @abc.abstractmethod
    def propose(self, budget: int) -> Proposal:
        """Return ``budget`` designs (fewer only if the design space has fewer distinct designs)."""

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as a plain dict."""
        return dataclasses.asdict(self.config)

    def _project_designs(self, x: np.ndarray) -> np.ndarray:
        """Candidates ``[n, ...]`` moved onto the fixed positions / into the bounds of :attr:`constraints`."""
        return x if self.constraints is None or not len(x) else self.constraints.project(x)

    def _allowed_designs(self, x: np.ndarray) -> np.ndarray:
        """The candidates ``[n, ...]`` that satisfy every constraint (all of them without constraints)."""
        return x if self.constraints is None or not len(x) else x[self.constraints.allowed(x)]

    def _require_fit(self) -> OfflineData:
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__}.propose() called before fit().")
        return self.data


def select_top(
    x: np.ndarray,
    scores: np.ndarray,
    budget: int,
    *,
    exclude: np.ndarray | None = None,
    min_hamming: int = 1,
    min_distance: float = 0.0,
    distance_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicate candidates and keep the ``budget`` best by score.

    Args:
        x: ``[N, ...]`` candidate designs.
        scores: ``[N]`` their scores (higher is better); non-finite scores rank last.
        budget: how many to keep.
        exclude: optional ``[M, ...]`` designs that should rank after every new design (for example the
            training rows: re-proposing them wastes budget). They are still used when nothing else is left.
        min_hamming: token designs: walk the ranking and keep a design only when it differs in at least this many
            positions from every design kept so far (a diverse batch: near-copies of one design are skipped);
            when fewer than ``budget`` qualify, the skipped ones fill the rest in rank order. 1: plain top-``budget``.
        min_distance: continuous designs: the same with the Euclidean distance divided by ``distance_scale`` (for
            example 0.01 with the design box's diagonal as the scale: designs at least 1 % of the diagonal apart).
            0: no spacing. Use it or ``min_hamming``, not both.
        distance_scale: the unit of ``min_distance``.

    Returns:
        ``(x_top, scores_top)``: at most ``budget`` distinct designs, in the order they were kept (best first
        when ``min_hamming`` is 1).
    """
    if budget < 1:
        raise InvalidDataError(f"budget must be >= 1, got {budget}.")
    x = np.asarray(x)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if x.shape[0] != scores.shape[0]:
        raise InvalidDataError(f"{x.shape[0]} candidates but {scores.shape[0]} scores.")
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    if not x.shape[0]:
        return x, scores
    flat = np.ascontiguousarray(x.reshape(x.shape[0], -1))
    _, first = np.unique(flat, axis=0, return_index=True)
    keep = np.sort(first)
    penalty = np.zeros(keep.shape[0])
    if exclude is not None and len(exclude):
        ex = np.ascontiguousarray(np.asarray(exclude, dtype=flat.dtype).reshape(len(exclude), -1))
        seen = {row.tobytes() for row in ex}
        penalty = np.array([1.0 if flat[i].tobytes() in seen else 0.0 for i in keep])
    order = np.lexsort((-scores[keep], penalty))
    if min_hamming < 1:
        raise InvalidDataError(f"min_hamming must be >= 1, got {min_hamming}.")
    if min_distance < 0 or not distance_scale > 0:
        raise InvalidDataError(f"min_distance must be >= 0 and distance_scale > 0, got {min_distance}, {distance_scale}.")
    if min_distance > 0:
        chosen = _spaced_prefix(flat.astype(np.float64), keep[order], budget, min_distance * distance_scale)
    elif min_hamming > 1:
        chosen = _diverse_prefix(flat, keep[order], budget, min_hamming)
    else:
        chosen = keep[order[:budget]]
    return x[chosen], scores[chosen]


def _diverse_prefix(flat: np.ndarray, ranked: np.ndarray, budget: int, min_hamming: int) -> np.ndarray:
    """Greedy diverse selection over ``ranked`` row indices of ``flat`` ``[N, L]`` (see :func:`select_top`)."""
    picked: list[int] = []
    skipped: list[int] = []
    kept_rows = np.empty((budget, flat.shape[1]), dtype=flat.dtype)
    for i in ranked:
        if len(picked) == budget:
            break
        if picked and int((kept_rows[: len(picked)] != flat[i]).sum(axis=1).min()) < min_hamming:
            skipped.append(int(i))
            continue
        kept_rows[len(picked)] = flat[i]
        picked.append(int(i))
    if len(picked) < budget:
        # Not enough mutually distant designs: complete the batch with the best of the skipped ones.
        picked += skipped[: budget - len(picked)]
    return np.asarray(picked, dtype=np.int64)


def _spaced_prefix(flat: np.ndarray, ranked: np.ndarray, budget: int, min_dist: float) -> np.ndarray:
    """Greedy spacing over ``ranked`` row indices of continuous designs ``flat [N, d]``: keep a design only when
    its Euclidean distance to every design kept so far is at least ``min_dist``; then fill with the skipped ones."""
    picked: list[int] = []
    skipped: list[int] = []
    kept = np.empty((budget, flat.shape[1]))
    for i in ranked:
        if len(picked) == budget:
            break
        if picked and float(((kept[: len(picked)] - flat[i]) ** 2).sum(axis=1).min()) < min_dist**2:
            skipped.append(int(i))
            continue
        kept[len(picked)] = flat[i]
        picked.append(int(i))
    if len(picked) < budget:
        picked += skipped[: budget - len(picked)]
    return np.asarray(picked, dtype=np.int64)
