"""Registers the built-in methods (imported lazily by the registry)."""

from __future__ import annotations

from n2ce_bbo.methods import (  # noqa: F401,E402  (grad, grad-ensemble, cmaes, bo-qei)
    bo_qei,
    cmaes,
    grad,
    latent_ebm,  # noqa: F401,E402  (n2ce, nce, mle, gaussian)
)
