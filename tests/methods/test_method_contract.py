"""The contract every registered method keeps (BoTorch-style: one test, every method).

Each method fits and proposes on tiny continuous and tiny token data with tiny settings (the plumbing, not the
optimum): ``Q`` distinct designs of the right shape, dtype and range, one finite score each, and the same
designs and scores again for the same seed. A new built-in method needs a row in ``TINY``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from n2ce_bbo.methods import list_methods, make_method
from n2ce_bbo.tasks.base import OfflineData

pytestmark = pytest.mark.usefixtures("one_thread")

Q = 8
_LATENT: dict[str, Any] = {
    "model": {"latent_dim": 2, "hidden": 16, "depth": 1, "prior_hidden": 16, "prior_depth": 1},
    "prior": {"K": 2, "mle_langevin_steps": 5},
    "train": {"epochs": 1, "batch_size": 100},
    "propose": {"n_chains": 64, "chain_chunk": 32, "sampler": {"n_steps": 5}, "refine_rounds": 1,
                "refine_top": 8, "refine_samples": 2},
}
_REGRESSOR = {"hidden_sizes": [16], "epochs": 2, "batch_size": 100}
TINY: dict[str, dict[str, Any]] = {
    "n2ce": _LATENT, "nce": _LATENT, "mle": _LATENT, "gaussian": _LATENT,
    "grad": {"regressor": _REGRESSOR, "n_steps": 10},
    "grad-ensemble": {"regressor": _REGRESSOR, "n_steps": 10, "n_members": 2},
    "cmaes": {"regressor": _REGRESSOR, "n_restarts": 2, "max_iters": 4},
    "bo-qei": {"n_train": 40, "q": 4, "mc_samples": 8, "num_restarts": 1, "raw_samples": 8, "maxiter": 3,
               "fit_maxiter": 10, "pool_size": 64, "pool_parents": 8, "acq_pool": 16},
}


def _propose(name: str, data: OfflineData, seed: int) -> Any:
    method = make_method(name, TINY[name], seed=seed, device="cpu")
    method.fit(data)
    return method.propose(Q)


@pytest.mark.parametrize("kind", ["continuous", "tokens"])
@pytest.mark.parametrize("name", list_methods())
def test_method_contract(name: str, kind: str, cont_data: OfflineData, tok_data: OfflineData) -> None:
    assert name in TINY, f"method {name!r} has no tiny settings in this test: add a row to TINY"
    data = cont_data if kind == "continuous" else tok_data
    prop = _propose(name, data, seed=1)
    x, scores = prop.x, prop.scores
    assert x.shape == (Q, data.dim)
    assert np.unique(x, axis=0).shape[0] == Q, "the batch holds repeated designs"
    if data.is_discrete:
        assert x.dtype == np.int64 and x.min() >= 0 and x.max() < int(data.num_classes or 0)
    else:
        assert data.bounds is not None
        assert x.dtype == np.float32 and np.all(x >= data.bounds[0]) and np.all(x <= data.bounds[1])
    assert scores.shape == (Q,) and np.all(np.isfinite(scores))
    assert isinstance(prop.info, dict)
    again = _propose(name, data, seed=1)
    np.testing.assert_array_equal(again.x, x)
    np.testing.assert_array_equal(again.scores, scores)
