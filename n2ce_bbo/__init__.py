"""n2ce_bbo: offline black-box optimisation with energy-based latent surrogates trained by Noisier NCE.

Quick start::

    import n2ce_bbo
    result = n2ce_bbo.optimize("Branin-Exact-v0", method="n2ce", budget=128, seed=0)
    print(result.summary())
"""

from __future__ import annotations

__version__ = "0.1.0"

from n2ce_bbo.methods import ParallelSpec, list_methods, make_method, register_method  # noqa: E402
from n2ce_bbo.optimize import Result, evaluate, optimize  # noqa: E402
from n2ce_bbo.tasks import OfflineData, Task, list_tasks, make, register  # noqa: E402

__all__ = [
    "__version__", "Task", "OfflineData", "make", "register", "list_tasks", "optimize", "evaluate", "Result",
    "list_methods", "make_method", "register_method", "ParallelSpec",
]
