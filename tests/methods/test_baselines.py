"""The Design-Bench baselines (grad, grad-ensemble, cmaes, bo-qei) on tiny continuous and token tasks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import n2ce_bbo.methods.bo_qei
import n2ce_bbo.methods.cmaes
import n2ce_bbo.methods.grad  # noqa: F401  (registers the methods)
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.registry import list_methods, make_method
from n2ce_bbo.tasks.base import OfflineData

REG = {"hidden_sizes": [64, 64], "epochs": 30, "batch_size": 64, "lr": 3e-3}
SMALL: dict[str, dict[str, Any]] = {
    "grad": {"regressor": REG, "n_steps": 200},
    "grad-ensemble": {"regressor": REG, "n_steps": 200, "n_members": 2},
    "cmaes": {"regressor": REG, "n_restarts": 2, "max_iters": 15},
    "bo-qei": {"n_train": 150, "q": 4, "raw_samples": 32, "num_restarts": 2, "maxiter": 15, "pool_size": 200,
               "mc_samples": 32},
}
BUDGET = 12
OPT = np.array([0.5, -0.3])


pytestmark = pytest.mark.usefixtures("one_thread")


def quadratic(x: np.ndarray) -> np.ndarray:
    return -np.sum((np.asarray(x, dtype=np.float64) - OPT) ** 2, axis=1)


@pytest.fixture(scope="module")
def cont_data() -> OfflineData:
    """300 rows of a 2-D concave quadratic on [-2, 2]^2 with the disc of radius 0.8 around the optimum hidden."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(2000, 2)).astype(np.float32)
    x = x[quadratic(x) < -0.64][:300]
    bounds = np.array([[-2, -2], [2, 2]], dtype=np.float32)
    return OfflineData(x=x, y=quadratic(x).astype(np.float32)[:, None], is_discrete=False, bounds=bounds, name="quad")


def count2(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x) == 2).sum(axis=1).astype(np.float64)


@pytest.fixture(scope="module")
def tok_data() -> OfflineData:
    """300 distinct sequences (L=6, C=4) with at most 3 tokens equal to 2; y = count of token 2."""
    rng = np.random.default_rng(1)
    x = np.unique(rng.integers(0, 4, size=(3000, 6)), axis=0)
    x = x[count2(x) <= 3]
    x = x[rng.permutation(len(x))[:300]]
    return OfflineData(x=x, y=count2(x).astype(np.float32)[:, None], is_discrete=True, num_classes=4, name="count2")


def _run(name: str, data: OfflineData, seed: int = 0) -> Any:
    method = make_method(name, SMALL[name], seed=seed, device="cpu")
    method.fit(data)
    return method.propose(BUDGET)


def _distinct(x: np.ndarray) -> int:
    return int(np.unique(x.reshape(len(x), -1), axis=0).shape[0])


def test_registered() -> None:
    assert {"grad", "grad-ensemble", "cmaes", "bo-qei"} <= set(list_methods())


@pytest.mark.parametrize("name", list(SMALL))
def test_continuous_proposals_valid(name: str, cont_data: OfflineData) -> None:
    prop = _run(name, cont_data)
    assert prop.x.shape == (BUDGET, 2) and prop.x.dtype == np.float32
    assert prop.scores.shape == (BUDGET,) and np.all(np.isfinite(prop.scores))
    assert _distinct(prop.x) == BUDGET
    assert np.all(prop.x >= -2) and np.all(prop.x <= 2)
    assert np.all(np.diff(prop.scores) <= 1e-9)  # best first
    # nothing proposed is a training design
    train = {r.tobytes() for r in cont_data.x}
    assert not any(r.tobytes() in train for r in prop.x)


@pytest.mark.parametrize("name", list(SMALL))
def test_token_proposals_valid(name: str, tok_data: OfflineData) -> None:
    prop = _run(name, tok_data)
    assert prop.x.shape == (BUDGET, 6) and prop.x.dtype == np.int64
    assert prop.x.min() >= 0 and prop.x.max() <= 3
    assert _distinct(prop.x) == BUDGET
    train = {r.astype(np.int64).tobytes() for r in tok_data.x}
    if name.startswith("grad"):
        # Adam on the logits takes every start to the optimum on this easy task: the batch is that one new
        # design, then trajectory states (which may be training rows), ranked after every new design
        new = [r.tobytes() not in train for r in prop.x]
        assert new[0] and all(a or not b for a, b in zip(new, new[1:], strict=False))
    else:
        assert not any(r.tobytes() in train for r in prop.x)
    # every baseline finds sequences at least as good as the best training rows on this easy task
    assert count2(prop.x).max() >= 3


def test_grad_beats_training_data_on_quadratic(cont_data: OfflineData) -> None:
    prop = _run("grad", cont_data)
    assert quadratic(prop.x).max() > float(cont_data.y.max()) + 0.1


def test_grad_token_improves(tok_data: OfflineData) -> None:
    prop = _run("grad", tok_data)
    assert count2(prop.x).max() >= 4
    # the ascent reaches the optimum (all six tokens 2), which is not in the data (plain SGD steps on the logits
    # through the softmax used to leave every argmax where it started)
    assert count2(prop.x[:1]).item() == 6


@pytest.mark.parametrize("name", list(SMALL))
def test_deterministic_for_seed(name: str, tok_data: OfflineData, cont_data: OfflineData) -> None:
    data = cont_data if name == "grad" else tok_data
    a, b = _run(name, data, seed=5), _run(name, data, seed=5)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        make_method("grad", {"n_stepz": 3})
    with pytest.raises(ConfigError):
        make_method("cmaes", {"sigma0": -1.0})
    with pytest.raises(ConfigError):
        make_method("bo-qei", {"q": 0})
