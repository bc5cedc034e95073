"""n2ce_bbo: offline black-box optimisation with energy-based latent surrogates trained by Noisier NCE.

Quick start::

    import n2ce_bbo
    result = n2ce_bbo.optimize("Branin-Exact-v0", method="n2ce", budget=128, seed=0)
    print(result.summary())

Your own table, trained once and used many times::

    model = n2ce_bbo.fit("activity.csv", target="score", design_column="sequence", alphabet="dna")
    model.propose(64, seed=1, fix=["0=G"]).save("runs/batch1")
    model.save("models/activity"); n2ce_bbo.load("models/activity").score(["ACGTACGT"])
"""

from __future__ import annotations

from n2ce_bbo.campaign import Campaign
from n2ce_bbo.methods import ParallelSpec, list_methods, make_method, register_method
from n2ce_bbo.provenance import PACKAGE_VERSION as __version__
from n2ce_bbo.tasks import OfflineData, Task, list_tasks, make, register
from n2ce_bbo.workflow import FittedModel, Result, evaluate, fit, load, optimize

__all__ = [
    "__version__", "Task", "OfflineData", "make", "register", "list_tasks", "optimize", "evaluate", "Result",
    "list_methods", "make_method", "register_method", "ParallelSpec", "fit", "load", "FittedModel",
    "Campaign",
]
