"""The base of the baselines that fit an MLP regressor on the offline rows (gradient ascent, CMA-ES)."""

from __future__ import annotations

from n2ce_bbo.methods.base import Method
from n2ce_bbo.models.regressors import Surrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.regressors import fit_data_surrogate
from n2ce_bbo.utils import seed_everything


class RegressorMethod(Method):
    """A method whose surrogate is an MLP regressor (or an ensemble mean) of the scores.

    Its ``Config`` has ``regressor`` (:class:`~n2ce_bbo.training.regressors.RegressorConfig`) and ``n_members``;
    :meth:`fit` trains ``self.model`` and subclasses implement :meth:`propose`.
    """

    model: Surrogate

    def fit(self, data: OfflineData) -> None:
        """Train the surrogate on the offline rows (seeded by the method's seed)."""
        seed_everything(self.seed)
        self.model = fit_data_surrogate(data, self.config.regressor, self.config.n_members, self.seed, self.device)
        self.data = data
