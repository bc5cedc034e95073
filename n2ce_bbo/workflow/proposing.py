"""Running a trained method's proposer under the user's constraints: the step of
:meth:`~n2ce_bbo.workflow.model.FittedModel.propose` between "the method is trained" and "the batch is checked".

A method that reads constraints (the latent-EBM methods) honours them while it searches; for any other method
:func:`run_proposer` asks for more designs and keeps the allowed ones in the method's own order. Either way a
last guard drops any design that breaks a constraint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from n2ce_bbo.constraints import Constraints
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.methods.base import Method

#: A method that does not read constraints is asked for this many times the budget, then filtered.
OVERSAMPLE_UNCONSTRAINED = 4


def run_proposer(method: Method, budget: int, constraints: Constraints) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(x [n, ...], scores [n] float64, info)`` from ``method.propose``, every design honouring ``constraints``
    (``n`` may fall short of ``budget`` when few designs are allowed)."""
    if method.reads_constraints or constraints.is_empty:
        p = method.propose(budget)
        x, s = np.asarray(p.x), np.asarray(p.scores, dtype=np.float64).reshape(-1)
        info = dict(p.info)
    else:
        p = method.propose(OVERSAMPLE_UNCONSTRAINED * budget)
        x, s = np.asarray(p.x), np.asarray(p.scores, dtype=np.float64).reshape(-1)
        keep = constraints.allowed(x)
        x, s = x[keep][:budget], s[keep][:budget]
        info = {**dict(p.info), "constraints": "filtered after proposing (this method does not read them)"}
    if constraints.is_empty:
        return x, s, info
    ok = constraints.allowed(x)  # a last guard: no proposal may break a constraint
    return x[ok], s[ok], info


def min_spacing(method: Method, schema: DesignSchema) -> float | None:
    """The spacing the method's proposer aims at (Hamming positions or box diagonals), when it has one."""
    propose: Any = getattr(method.config, "propose", None)
    return propose.min_spacing(schema.is_discrete) if hasattr(propose, "min_spacing") else None
