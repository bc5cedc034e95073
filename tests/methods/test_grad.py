"""The gradient-ascent baselines (methods/grad.py: grad, grad-ensemble) reach better designs than the data."""

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

REG = {"hidden_sizes": [64, 64], "epochs": 30, "batch_size": 64, "lr": 3e-3}
SMALL: dict[str, Any] = {"regressor": REG, "n_steps": 200}
Fn = Callable[[np.ndarray], np.ndarray]


def _run(data: OfflineData, name: str = "grad", **cfg: Any) -> Any:
    method = make_method(name, {**SMALL, **cfg}, seed=0, device="cpu")
    method.fit(data)
    return method.propose(12)


def test_grad_beats_training_data_on_quadratic(cont_data: OfflineData, quadratic: Fn) -> None:
    prop = _run(cont_data)
    assert quadratic(prop.x).max() > float(cont_data.y.max()) + 0.1
    assert not RowSet(cont_data.x).mask(prop.x).any()  # nothing proposed is a training design
    assert np.all(np.diff(prop.scores) <= 1e-9)  # best first


def test_grad_token_ascent_reaches_the_optimum(tok_data: OfflineData, count2: Fn) -> None:
    prop = _run(tok_data)
    # Adam on the logits takes every start to the optimum (all six tokens 2), which is not in the data (plain SGD
    # steps on the logits through the softmax used to leave every argmax where it started)
    assert count2(prop.x[:1]).item() == 6
    # the batch is that one new design, then trajectory states, training rows after every new design
    in_train = RowSet(tok_data.x, dtype=np.int64).mask(prop.x)
    assert not in_train[0] and all(b or not a for a, b in zip(in_train, in_train[1:], strict=False))


def test_grad_ensemble_uses_its_members(tok_data: OfflineData, count2: Fn) -> None:
    prop = _run(tok_data, "grad-ensemble", n_members=2)
    assert count2(prop.x).max() >= 4


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="n_stepz"):
        make_method("grad", {"n_stepz": 3})
    with pytest.raises(ConfigError, match=r"GradientAscent\.smoothing must be a finite number > 0 and <= 1"):
        make_method("grad", {"smoothing": 1.5})
