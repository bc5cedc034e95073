"""Whether a refit may start warm from an earlier :class:`~n2ce_bbo.workflow.model.FittedModel`, and the record
of what it did (for ``FittedModel.fit(..., warm_start=previous)``; the training side is
:mod:`n2ce_bbo.training.warm`).

A warm start is used when every one of these holds, else the refit is cold and the record says why:

* both the method and the previous model are latent-EBM methods of the same name, with the same ``model`` and
  ``prior`` settings, on designs of the same shape (baselines always refit cold);
* the previous standardisation frame still fits the scores (:func:`~n2ce_bbo.training.warm.frame_drift`);
* the rows have grown less than :data:`MAX_GROWTH` times since the last cold fit (a chain of warm starts that has
  seen mostly new rows is refitted from scratch, rehearsal included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from n2ce_bbo.config import to_dict
from n2ce_bbo.methods.base import Method
from n2ce_bbo.methods.latent_ebm import LatentEBMMethod
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.warm import frame_drift

#: A warm start is refused once the training rows reach this multiple of the rows of the last cold fit.
MAX_GROWTH = 2.0


@dataclass
class WarmPlan:
    """The decision for one refit.

    Attributes:
        warm: start from ``previous``'s weights.
        reason: why it is cold (``""`` when warm).
        cold_rows: training rows of the last cold fit in the chain (this fit's rows when it is cold).
        facts: what the training recorded about the warm start (``history["warm_start"]``), once fitted.
    """

    warm: bool
    reason: str
    cold_rows: int
    facts: dict[str, Any] = field(default_factory=dict)

    def record(self, history: dict[str, Any]) -> dict[str, Any]:
        """The ``history["warm_start"]`` of the fit: ``{"used", "reason", "cold_rows", "steps", ...}``."""
        out: dict[str, Any] = {"used": self.warm, "reason": self.reason, "cold_rows": self.cold_rows,
                               "steps": history.get("steps")}
        if self.warm:
            out.update(history.get("warm_start") or {})
            out["rehearsal"] = "reused from the previous fit (not rerun)"
        return out


def plan_warm_start(previous: Any, method_name: str, runner: Method, data: OfflineData) -> WarmPlan:
    """Decide whether ``runner`` (a fresh method named ``method_name``) may refit on ``data`` starting from
    ``previous`` (a :class:`~n2ce_bbo.workflow.model.FittedModel` or ``None``); see the module docstring."""
    n = int(data.n)
    if previous is None:
        return WarmPlan(False, "no previous model", n)
    prev = previous.method
    if not isinstance(runner, LatentEBMMethod) or not isinstance(prev, LatentEBMMethod):
        return WarmPlan(False, f"{method_name!r} is not a latent-EBM method: baselines refit cold", n)
    if previous.method_name != method_name:
        return WarmPlan(False, f"the previous model is {previous.method_name!r}, not {method_name!r}", n)
    if prev.surrogate is None:
        return WarmPlan(False, "the previous model holds no surrogate", n)
    mine, theirs = runner.config.surrogate, prev.config.surrogate
    if to_dict(mine.model) != to_dict(theirs.model) or to_dict(mine.prior) != to_dict(theirs.prior):
        return WarmPlan(False, "the model / prior settings differ from the previous model's", n)
    if prev.surrogate.design_dim != data.dim or prev.surrogate.num_classes != (
            int(data.num_classes) if data.is_discrete and data.num_classes is not None else None):
        return WarmPlan(False, "the designs' shape differs from the previous model's", n)
    drift = frame_drift(prev.surrogate, data.y)
    if drift:
        return WarmPlan(False, drift, n)
    before = previous.history.get("warm_start") or {}
    cold_rows = int(before.get("cold_rows") or previous.offline.n)
    if n >= MAX_GROWTH * cold_rows:
        return WarmPlan(False, f"{n} rows are {MAX_GROWTH:g} times or more the {cold_rows} of the last cold fit", n)
    return WarmPlan(True, "", cold_rows)
