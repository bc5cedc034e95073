"""Running a trained method's proposer under the user's constraints and the data-derived filters: the step of
:meth:`~n2ce_bbo.workflow.model.FittedModel.propose` between "the method is trained" and "the batch is checked".

Every method's proposals pass the same filters (:mod:`n2ce_bbo.methods.filters`: designs outside the data's pair
support dropped, the batch spaced), so that a table compares surrogates, not filters:

* a method that applies them itself while it searches (``applies_filters``: the latent-EBM methods) proposes
  ``budget`` designs, and its batch is only checked here (an unsupported design would be dropped and counted);
* any other method is asked for a ranking longer than the budget (:meth:`~n2ce_bbo.methods.base.Method.propose_ranked`:
  :data:`RANKED_FACTOR` times the budget for a method that ranks its candidates itself, :data:`OVERSAMPLE` times
  for one that only has ``propose``), and the batch is the filters' choice from it, in the method's order.

Constraints work the same way: a method that reads them honours them while it searches; any other is asked for more
designs and the allowed ones are kept in its order. Either way a last guard drops any design that breaks one.
When the filters are off (``filters: {pair_support: false, min_hamming: 1, min_distance: 0}``) or cannot change
anything, and there are no constraints to filter, a method proposes exactly as it would alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from n2ce_bbo.config import deep_merge, to_dict
from n2ce_bbo.constraints import Constraints
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.methods.base import Method
from n2ce_bbo.methods.filters import FILTERS_KEY, ProposalFilters, filters_from, moved_filter_keys
from n2ce_bbo.methods.selection import RowSet

#: A method that has only ``propose`` (no ranking of its own) is asked for this many times the budget, then filtered
#: (by the constraints it does not read, or by the data-derived filters).
OVERSAMPLE = 4
#: A method that implements ``propose_ranked`` gives a ranking this many times the budget to the filters.
RANKED_FACTOR = 32


def ranking_length(method: Method, budget: int) -> int:
    """How many ranked designs the run path asks ``method`` for when it filters them."""
    own = type(method).propose_ranked is not Method.propose_ranked
    return (RANKED_FACTOR if own else OVERSAMPLE) * budget


def run_proposer(method: Method, budget: int, constraints: Constraints) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(x [n, ...], scores [n] float64, info)``: ``method``'s batch, every design honouring ``constraints`` and
    the data-derived filters (``n`` may fall short of ``budget`` when too few designs pass; ``info["filters"]``
    says how many were ruled out and how many are missing)."""
    filters = method.data_filters()
    by_run_path = filters.active and not method.applies_filters
    unread = not method.reads_constraints and not constraints.is_empty
    if by_run_path or unread:
        p = method.propose_ranked(budget, ranking_length(method, budget))
    else:
        p = method.propose(budget)
    x, s = np.asarray(p.x), np.asarray(p.scores, dtype=np.float64).reshape(-1)
    info = dict(p.info)
    if unread:
        info["constraints"] = "filtered after proposing (this method does not read them)"
    if not constraints.is_empty:
        ok = constraints.allowed(x)  # a last guard: no proposal may break a constraint
        x, s = x[ok], s[ok]
    if by_run_path:
        data = method._require_fit()
        last = RowSet(data.x, dtype=x.dtype) if getattr(method.config, "exclude_training", False) else None
        x, s, facts = filters.select(x, s, budget, last=last)
        info[FILTERS_KEY] = {"applied_by": "run path", **facts}
        return x, s, info
    if unread:
        x, s = x[:budget], s[:budget]  # a longer ranking was asked for the constraints' sake
    ok = filters.feasible(x)  # a method that filters itself: its batch is checked (more than Q stays an error)
    info[FILTERS_KEY] = {"applied_by": "method" if method.applies_filters else "none (no rule applies)",
                         "n_ruled_out": int((~ok).sum()),
                         "n_banned_pairs": None if filters.support is None else filters.support.n_banned,
                         "spacing": filters.settings.min_spacing(filters.is_discrete),
                         "n_unsupported_in_batch": 0, "shortfall": max(budget - int(ok.sum()), 0)}
    return x[ok], s[ok], info


def filter_warning(info: Mapping[str, Any], n: int, budget: int) -> str | None:
    """The warning a batch of ``n`` designs (for ``budget``) deserves from its ``info["filters"]`` facts: unsupported
    designs used to complete it, or a batch the filters left short; ``None`` when neither."""
    facts = info.get(FILTERS_KEY) or {}
    used = int(facts.get("n_unsupported_in_batch") or 0)
    if used:
        return (f"{used} of the {n} designs hold a neighbouring token pair the training designs never contain "
                "(the method ranked too few designs without one to fill the batch; filters.fill_unsupported=false "
                "keeps them out and returns a short batch).")
    if n < budget and facts.get("n_ruled_out"):
        return (f"only {n} of the {budget} requested designs pass the data-derived filters "
                "(result.info['filters'] says how many were ruled out).")
    return None


def proposal_settings(method: Method, config: Mapping[str, Any] | None,
                      filters: Mapping[str, Any] | ProposalFilters | None = None,
                      ) -> tuple[dict[str, Any] | None, ProposalFilters]:
    """A proposal's overrides split into the method's own (``propose.*``) and its filters: ``method.filters`` with
    ``config["filters"]``, then ``filters`` (some keys, or a whole :class:`ProposalFilters`), applied. The filter
    keys once in ``propose`` (``propose.min_hamming`` and co.) are read as ``filters.*`` with a DeprecationWarning.

    Raises:
        ConfigError: an unknown or invalid filter key.
    """
    rest = moved_filter_keys(config) if config else {}
    found = rest.pop(FILTERS_KEY, None)
    if "propose" in rest and not rest["propose"]:
        rest.pop("propose")
    chosen = method.filters
    for given in (found, filters):
        if isinstance(given, ProposalFilters):
            chosen = given
        elif given is not None:
            if not isinstance(given, Mapping):
                raise ConfigError(f"expected a mapping, got {given!r}.", key=FILTERS_KEY)
            chosen = filters_from(deep_merge(to_dict(chosen), dict(given)))
    return rest or None, chosen


def min_spacing(method: Method, schema: DesignSchema) -> float:
    """The spacing the proposals aim at (Hamming positions or box diagonals): the method's filters'."""
    return method.filters.min_spacing(schema.is_discrete)
