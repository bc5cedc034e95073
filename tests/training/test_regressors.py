"""Fitting the baselines' MLP regressors (training/regressors.py): they fit, they are deterministic for a seed,
the ensemble is the mean of its members."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.models.regressors import MLPRegressor, RegressorEnsemble
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.regressors import (
    RegressorConfig,
    fit_data_surrogate,
    fit_ensemble,
    fit_regressor,
    fit_surrogate,
)

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = RegressorConfig(hidden_sizes=[64, 64], epochs=40, batch_size=64, lr=3e-3)


def _r2(pred: np.ndarray, y: np.ndarray) -> float:
    return 1.0 - float(np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2))


@pytest.fixture(scope="module")
def quad() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(300, 2)).astype(np.float32) * np.array([1.0, 10.0], dtype=np.float32)
    y = -(x[:, 0] - 0.5) ** 2 - (x[:, 1] / 10 + 0.3) ** 2 + 100.0
    return x, y.astype(np.float32)


@pytest.fixture(scope="module")
def tokens() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(300, 6))
    return x, (x == 2).sum(axis=1).astype(np.float32)


def test_continuous_fit_r2(quad: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = quad
    model = fit_regressor(x, y, SMALL, seed=0)
    assert _r2(model.predict(x), y) > 0.9
    # standardisation is learned from the data (column 1 has 10x the spread of column 0)
    assert model.x_std[1] / model.x_std[0] > 5


def test_token_fit_r2_and_relaxed_inputs(tokens: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = tokens
    model = fit_regressor(x, y, SMALL, seed=0, num_classes=4)
    assert _r2(model.predict(x), y) > 0.9
    onehot = model.encode(x[:5])
    assert onehot.shape == (5, 6, 4)
    # probability inputs give the same as one-hot at the vertices, and gradients flow through softmax
    logits = (10.0 * onehot).clone().requires_grad_(True)
    out = model(torch.softmax(logits, -1))
    out.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    np.testing.assert_allclose(model.to_raw_y(model(onehot)).detach().numpy(), model.predict(x[:5]), rtol=1e-5, atol=1e-5)


def test_deterministic_for_seed(quad: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = quad
    cfg = RegressorConfig(hidden_sizes=[32], epochs=3, batch_size=64)
    a = fit_regressor(x, y, cfg, seed=3).predict(x)
    b = fit_regressor(x, y, cfg, seed=3).predict(x)
    c = fit_regressor(x, y, cfg, seed=4).predict(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_ensemble_is_mean_of_members(tokens: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = tokens
    cfg = RegressorConfig(hidden_sizes=[32], epochs=2, batch_size=64)
    ens = fit_ensemble(x, y, cfg, n_members=3, seed=0, num_classes=4)
    assert isinstance(ens, RegressorEnsemble) and len(ens.members) == 3
    member_preds = np.stack([m.predict(x) for m in ens.members])
    assert not np.allclose(member_preds[0], member_preds[1])  # different seeds
    np.testing.assert_allclose(ens.predict(x), member_preds.mean(0), rtol=1e-6)
    z = ens.encode(x)
    np.testing.assert_allclose(
        ens(z).detach().numpy(), torch.stack([m(z) for m in ens.members]).mean(0).detach().numpy(), rtol=1e-6
    )
    assert isinstance(fit_surrogate(x, y, cfg, 1, 0, num_classes=4), MLPRegressor)


def test_errors() -> None:
    with pytest.raises(ConfigError):
        RegressorConfig(hidden_sizes=[])
    with pytest.raises(InvalidDataError):
        fit_regressor(np.array([[0, 5]]).repeat(3, 0), np.zeros(3), SMALL, num_classes=4)
    with pytest.raises(InvalidDataError):
        fit_regressor(np.zeros((3, 2), dtype=np.float32), np.array([0.0, np.nan, 1.0]), SMALL)
    with pytest.raises(InvalidDataError):
        RegressorEnsemble([])


def test_fit_data_surrogate_reads_tokens_as_tokens(tokens: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = tokens
    data = OfflineData(x=x, y=y.reshape(-1, 1), is_discrete=True, num_classes=4)
    cfg = RegressorConfig(hidden_sizes=[16], epochs=1, batch_size=64)
    one = fit_data_surrogate(data, cfg, 1, seed=0, device="cpu")
    assert isinstance(one, MLPRegressor) and one.feature_shape == (x.shape[1], 4)
    assert isinstance(fit_data_surrogate(data, cfg, 2, seed=0, device="cpu"), RegressorEnsemble)
