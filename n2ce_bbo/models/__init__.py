"""Neural networks: MLP building blocks, the K-stage EBM prior, the latent EBM surrogate and how it is built
from its settings (``builder``).

(``n2ce_bbo.models.regressors`` holds the baselines' MLP regressors; import it directly. Fitting lives in
:mod:`n2ce_bbo.training`.)
"""

from n2ce_bbo.models.builder import DataFacts, build_surrogate
from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.models.mlp import MLP, StackedMLP, TokenInput

__all__ = ["DataFacts", "build_surrogate", "EBMPrior", "LatentEBMSurrogate", "MLP", "StackedMLP", "TokenInput"]
