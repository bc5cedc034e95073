"""The latent-EBM method, one idea a module:

* :mod:`.config`: its settings (``propose``, ``propose.sampler``, ``rehearsal``; the surrogate's own in
  :mod:`n2ce_bbo.training.settings`);
* :mod:`.rehearsal`: the oracle-free rehearsal that chooses the candidate score's weight;
* :mod:`.chains`: latent chains towards ``y*``, in seeded chunks (the unit of parallel work);
* :mod:`.scoring`: the candidate score (value head, prior, trust) and which designs may be proposed;
* :mod:`.local_search`: refinement, fill and the portfolio batch in design space;
* :mod:`.method`: :class:`LatentEBMMethod`, the ``fit`` / ``propose`` orchestration.
"""

from n2ce_bbo.methods.latent_ebm.config import (
    LatentEBMMethodConfig,
    ProposeConfig,
    RehearsalConfig,
    SamplerConfig,
)
from n2ce_bbo.methods.latent_ebm.method import LatentEBMMethod

__all__ = ["LatentEBMMethod", "LatentEBMMethodConfig", "ProposeConfig", "RehearsalConfig", "SamplerConfig"]
