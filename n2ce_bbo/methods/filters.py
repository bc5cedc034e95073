"""The data-derived filters every method's proposals pass, the same for every method, so that a results table
compares surrogates, not filters: the ``filters`` section of every method's settings (:class:`ProposalFilters`).

Both rules are read from the training data alone (no oracle):

* **feasibility** (``pair_support``, token designs): a design that contains a neighbouring pair of tokens the
  training designs never contain although it would be expected at least ``pair_support_min_expected`` times (a
  structural zero, :mod:`.support`) goes after every supported one. Supported designs fill the batch first; only
  when the method's ranking holds fewer than the budget are its best unsupported designs used, in its order, to
  complete it (``fill_unsupported``, on by default, so every method's batch keeps Q designs and its median stays
  comparable; such a batch is reported, ``info["filters"]["n_unsupported_in_batch"]`` and a warning). With
  ``fill_unsupported: false`` an unsupported design never enters the batch, which is then short
  (``result.shortfall``).
* **spacing** (``min_hamming`` positions for token designs, ``min_distance`` box diagonals for continuous ones): the
  batch is picked greedily in the method's own order, a design kept only when it is that far from every design kept
  so far. A soft rule: when too few designs are that far apart, the skipped ones complete the batch in the method's
  order (and only then the training rows the method ranks last, :func:`~.selection.select_top_indices`).

The run path (:func:`n2ce_bbo.workflow.proposing.run_proposer`) applies them after the method proposes, having asked
it for a longer ranking than the budget (:meth:`~n2ce_bbo.methods.base.Method.propose_ranked`). A method with
``applies_filters`` (the latent EBM) applies the same :class:`DataFilters` itself while it searches (its candidates
are moved, scored and spaced under them), and the run path only checks its batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from n2ce_bbo.config import from_dict, require
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.selection import RowSet, box_diagonal, first_occurrences, select_top_indices
from n2ce_bbo.methods.support import PairSupport, fit_pair_support
from n2ce_bbo.tasks.base import OfflineData

#: The key of the filters in every method's settings (taken out before the method's own ``Config`` is built).
FILTERS_KEY = "filters"


@dataclass(frozen=True)
class ProposalFilters:
    """The data-derived filters of a method's proposals (the ``filters`` section; see the module docstring).

    Attributes:
        pair_support: token designs: drop a design that contains a neighbouring pair of tokens the training designs
            never contain although it would be expected at least ``pair_support_min_expected`` times
            (:mod:`n2ce_bbo.methods.support`). Chosen on development Ehrlich functions
            (benchmarks/results/dev/probes_2026-11-30.md).
        pair_support_min_expected: that expected-count threshold (seeing none by chance then has probability at
            most ``exp(-10)``).
        min_hamming: token designs: a design joins the batch only when it differs in at least this many positions
            from every design kept before it (1: no spacing). 3 re-decided on development tasks and kept
            (benchmarks/results/dev/decisions.md), as was ``min_distance``.
        min_distance: continuous designs: the same spacing in units of the design box's diagonal (0.01: 1 % of
            the diagonal; 0: no spacing).
        fill_unsupported: when the method's ranking holds fewer supported designs than the budget, complete the
            batch with its best unsupported ones (in its order; counted in ``info["filters"]``), rather than
            return a short batch. On by default: a batch of Q keeps every method's median comparable, and a cell
            whose method finds no supported design still scores (as it would unfiltered) instead of failing;
            chosen on development Ehrlich functions (benchmarks/results/dev/filters.md).
    """

    pair_support: bool = True
    pair_support_min_expected: float = 10.0
    min_hamming: int = 3
    min_distance: float = 0.01
    fill_unsupported: bool = True

    def __post_init__(self) -> None:
        require(above=0, pair_support_min_expected=self.pair_support_min_expected)
        require(at_least=1, min_hamming=self.min_hamming)
        require(at_least=0, min_distance=self.min_distance)
        for key in ("pair_support", "fill_unsupported"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"must be true or false, got {getattr(self, key)!r}.", key=key)

    def min_spacing(self, is_discrete: bool) -> float:
        """The spacing rule for this design kind: ``min_hamming`` positions for tokens, else ``min_distance``."""
        return float(self.min_hamming) if is_discrete else float(self.min_distance)

    def fit(self, data: OfflineData) -> DataFilters:
        """The filters read from ``data``: its pair support (token designs, when enabled) and its box diagonal."""
        support = None
        if data.is_discrete and self.pair_support:
            support = fit_pair_support(data.x, int(data.num_classes or 2), self.pair_support_min_expected)
        scale = 1.0 if data.is_discrete else box_diagonal(data.bounds, data.x)
        return DataFilters(self, bool(data.is_discrete), support, scale)


#: Every filter off: what a method proposed before the filters were the framework's.
NO_FILTERS = ProposalFilters(pair_support=False, min_hamming=1, min_distance=0.0)


def filters_from(value: ProposalFilters | Mapping[str, Any] | None, path: str = FILTERS_KEY) -> ProposalFilters:
    """:class:`ProposalFilters` from a mapping of overrides of the defaults (``None``: the defaults).

    Raises:
        ConfigError: an unknown key or an invalid value, named with ``path``.
    """
    if isinstance(value, ProposalFilters):
        return value
    return from_dict(ProposalFilters, value, path=path)


def moved_filter_keys(config: Mapping[str, Any], section: str = "propose") -> dict[str, Any]:
    """``config`` with the filter keys it still gives under ``section`` (``propose.pair_support``,
    ``propose.pair_support_min_expected``, ``propose.min_hamming``, ``propose.min_distance``: the latent-EBM
    method's keys before the filters were every method's) moved into ``filters``, with a DeprecationWarning.

    Raises:
        ConfigError: a key is given in both places.
    """
    inner = config.get(section)
    if not isinstance(inner, Mapping):
        return dict(config)
    old = sorted(k for k in inner if k in ProposalFilters.__dataclass_fields__)
    if not old:
        return dict(config)
    out = dict(config)
    given = dict(out.get(FILTERS_KEY) or {})
    both = sorted(k for k in old if k in given)
    if both:
        raise ConfigError(f"give {both} once, under '{FILTERS_KEY}' (the '{section}' keys are their old place).")
    warnings.warn(f"{', '.join(f'{section}.{k}' for k in old)} moved to the '{FILTERS_KEY}' section, which every "
                  f"method reads; read as {', '.join(f'{FILTERS_KEY}.{k}' for k in old)}.", DeprecationWarning,
                  stacklevel=3)
    out[section] = {k: v for k, v in inner.items() if k not in old}
    out[FILTERS_KEY] = {**given, **{k: inner[k] for k in old}}
    return out


@dataclass(frozen=True)
class DataFilters:
    """:class:`ProposalFilters` read from one training set.

    Attributes:
        settings: the filters' settings.
        is_discrete: token designs (else continuous).
        support: the data's pair support (token designs with ``pair_support``), or ``None``.
        distance_scale: the unit of ``min_distance``: the design box's diagonal (1.0 for token designs).
    """

    settings: ProposalFilters
    is_discrete: bool
    support: PairSupport | None
    distance_scale: float

    @property
    def min_hamming(self) -> int:
        """The Hamming spacing of token designs (1, none, for continuous designs)."""
        return int(self.settings.min_hamming) if self.is_discrete else 1

    @property
    def min_distance(self) -> float:
        """The spacing of continuous designs in box diagonals (0, none, for token designs)."""
        return 0.0 if self.is_discrete else float(self.settings.min_distance)

    @property
    def rules_out(self) -> bool:
        """Whether any design can be ruled out (a pair support that bans at least one pair)."""
        return self.support is not None and self.support.n_banned > 0

    @property
    def spaces(self) -> bool:
        """Whether a spacing rule applies."""
        return self.min_hamming > 1 or self.min_distance > 0

    @property
    def active(self) -> bool:
        """Whether the filters can change a ranking at all (else a method's batch passes untouched)."""
        return self.rules_out or self.spaces

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` bool: which designs ``x [n, ...]`` the pair support allows (every one without a support)."""
        if self.support is None or not len(x):
            return np.ones(len(x), dtype=bool)
        return self.support.allowed(x)

    def select(self, x: np.ndarray, scores: np.ndarray, budget: int, *, last: RowSet | None = None,
               ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """A method's ranking ``x [n, ...]`` (best first) with its scores ``[n]`` filtered into a batch.

        The supported designs are walked in the given order and spaced (the skipped ones, then the designs of
        ``last`` (training rows the method ranks last), complete a batch that is short of ``budget``); then, with
        ``fill_unsupported``, the distinct unsupported designs in the given order complete it.

        Returns:
            ``(x [m, ...], scores [m] float64, facts)`` with ``m <= budget``; ``facts``: ``n_ranked`` (``n``),
            ``n_ruled_out`` (unsupported designs in the ranking), ``n_unsupported_in_batch``, ``n_banned_pairs``,
            ``spacing`` and ``shortfall`` (``budget - m``).
        """
        x = np.asarray(x)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        ok = self.feasible(x)
        chosen = np.zeros(0, dtype=np.int64)
        if ok.any():
            kept = np.flatnonzero(ok)
            order = -np.arange(len(kept), dtype=np.float64)  # the method's own order, as a score select_top keeps
            chosen = kept[select_top_indices(x[kept], order, budget, exclude=last, min_hamming=self.min_hamming,
                                             min_distance=self.min_distance, distance_scale=self.distance_scale)]
        n_filled = 0
        if self.settings.fill_unsupported and len(chosen) < budget and not ok.all():
            out = np.flatnonzero(~ok)
            extra = out[first_occurrences(x[out])][: budget - len(chosen)]
            chosen, n_filled = np.concatenate([chosen, extra]), int(len(extra))
        facts = {"n_ranked": int(len(x)), "n_ruled_out": int((~ok).sum()), "n_unsupported_in_batch": n_filled,
                 "n_banned_pairs": None if self.support is None else self.support.n_banned,
                 "spacing": self.settings.min_spacing(self.is_discrete), "shortfall": max(budget - len(chosen), 0)}
        return x[chosen], scores[chosen], facts
