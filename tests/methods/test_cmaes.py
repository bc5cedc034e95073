"""The CMA-ES baseline (methods/cmaes.py): new designs from its runs, as good as the best training rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods import make_method
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL: dict[str, Any] = {"regressor": {"hidden_sizes": [64, 64], "epochs": 30, "batch_size": 64, "lr": 3e-3},
                         "n_restarts": 2, "max_iters": 15}
Fn = Callable[[np.ndarray], np.ndarray]


def _run(data: OfflineData) -> Any:
    method = make_method("cmaes", SMALL, seed=0, device="cpu")
    method.fit(data)
    return method.propose(12)


@pytest.mark.slow
def test_continuous_runs_propose_new_designs(cont_data: OfflineData) -> None:
    prop = _run(cont_data)
    assert not RowSet(cont_data.x).mask(prop.x).any()
    assert np.all(np.diff(prop.scores) <= 1e-9)  # best first
    assert prop.info["n_restarts"] == 2 and prop.info["n_evaluated"] >= 12


def test_token_runs_match_the_best_training_rows(tok_data: OfflineData, count2: Fn) -> None:
    prop = _run(tok_data)
    assert not RowSet(tok_data.x, dtype=np.int64).mask(prop.x).any()
    assert count2(prop.x).max() >= 3


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="sigma0"):
        make_method("cmaes", {"sigma0": -1.0})
    with pytest.raises(ConfigError, match="popsize"):
        make_method("cmaes", {"popsize": 1})
