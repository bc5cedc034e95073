"""A method turns offline data into proposed designs: ``fit`` (train a surrogate) then ``propose``.

Every method (the latent EBM with its N²CE/NCE/MLE/Gaussian priors, and the baselines) implements
:class:`Method`. Methods receive :class:`~n2ce_bbo.tasks.base.OfflineData` only, never an oracle.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from n2ce_bbo.config import from_dict, to_dict
from n2ce_bbo.methods.filters import FILTERS_KEY, DataFilters, ProposalFilters, filters_from
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
    and implement :meth:`fit` and :meth:`propose`; a method that ranks more candidates than it returns also
    implements :meth:`propose_ranked`. The key ``filters`` of a mapping ``config`` is not the method's own: it sets
    :attr:`filters` (:class:`~n2ce_bbo.methods.filters.ProposalFilters`), which the run path applies to every
    method's proposals.

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
        filters: the data-derived filters of the proposals (the ``filters`` section of the settings).
    """

    Config: ClassVar[type] = object
    #: Whether :meth:`propose` honours :attr:`constraints` itself (others are filtered after proposing).
    reads_constraints: ClassVar[bool] = False
    #: Whether :meth:`propose` applies :meth:`data_filters` itself (others are filtered by the run path).
    applies_filters: ClassVar[bool] = False
    show_progress: bool = False
    constraints: Any = None
    filters: ProposalFilters = ProposalFilters()
    _data_filters: tuple[ProposalFilters, OfflineData, DataFilters] | None = None

    def __init__(
        self,
        config: Any = None,
        *,
        seed: int = 0,
        device: str | torch.device | None = None,
        parallel: ParallelSpec | None = None,
        verbose: bool = False,
    ) -> None:
        filters = None
        if config is None or isinstance(config, dict):
            config = dict(config or {})
            filters = config.pop(FILTERS_KEY, None)
            config = from_dict(self.Config, config, path=type(self).__name__)
        elif not isinstance(config, self.Config):
            raise TypeError(f"config must be a {self.Config.__name__} or a mapping, got {type(config).__name__}")
        self.config = config
        self.filters = filters_from(filters, path=f"{type(self).__name__}.{FILTERS_KEY}")
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

    def propose_ranked(self, budget: int, n: int) -> Proposal:
        """The proposal for a batch of ``budget`` as a ranking of up to ``n >= budget`` designs, best first, for the
        filters of the run path to choose the batch from.

        A method that ranks many candidates returns its ranking cut at ``n`` while searching exactly as for
        ``budget``; this default asks :meth:`propose` for ``n`` designs.
        """
        return self.propose(n)

    def data_filters(self) -> DataFilters:
        """:attr:`filters` read from the training data (computed once per setting and data set)."""
        data = self._require_fit()
        held = self._data_filters
        if held is None or held[0] != self.filters or held[1] is not data:
            held = (self.filters, data, self.filters.fit(data))
            self._data_filters = held
        return held[2]

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as a plain dict (the keys a user writes), ``filters`` included."""
        return {**to_dict(self.config), FILTERS_KEY: to_dict(self.filters)}

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
