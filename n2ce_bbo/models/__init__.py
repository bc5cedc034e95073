"""Neural networks: MLP building blocks, the K-stage EBM prior and the latent EBM surrogate.

(``n2ce_bbo.models.regressors`` holds the baselines' MLP regressors; import it directly. Building a surrogate from
its settings and fitting it live in :mod:`n2ce_bbo.training`.)
"""

from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.models.mlp import MLP, StackedMLP, TokenInput

__all__ = ["EBMPrior", "LatentEBMSurrogate", "MLP", "StackedMLP", "TokenInput"]
