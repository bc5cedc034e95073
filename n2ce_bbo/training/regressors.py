"""Training the baselines' MLP regressors: one network, an ensemble, or either from offline data.

Each regressor (:class:`~n2ce_bbo.models.regressors.MLPRegressor`) is fitted by mean squared error on standardised
scores with Adam; every random choice (initial weights, batch order, input noise) is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from n2ce_bbo.config import require
from n2ce_bbo.errors import ConfigError, InvalidDataError, NonFiniteLossError
from n2ce_bbo.models.mlp import Activation
from n2ce_bbo.models.regressors import MLPRegressor, RegressorEnsemble, Surrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import derive_seed


@dataclass
class RegressorConfig:
    """Settings of one MLP regressor.

    Attributes:
        hidden_sizes: widths of the hidden layers (Design-Bench: ``[2048, 2048]``).
        activation: hidden non-linearity.
        epochs: passes over the training rows (Design-Bench: 50 to 100).
        batch_size: rows per Adam step (Design-Bench: 128).
        lr: Adam learning rate.
        weight_decay: Adam (L2) weight decay.
        input_noise_std: std of Gaussian noise added to standardised continuous inputs while training
            (Design-Bench's ``continuous_noise_std``); ignored for tokens.
    """

    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    activation: Activation = "leaky_relu"
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    input_noise_std: float = 0.0

    def __post_init__(self) -> None:
        if not self.hidden_sizes:
            raise ConfigError("must list at least one hidden layer width.", key="hidden_sizes")
        require(at_least=1, hidden_sizes=min(self.hidden_sizes))  # the narrowest layer
        require(at_least=1, epochs=self.epochs, batch_size=self.batch_size)
        require(above=0, lr=self.lr)
        require(at_least=0, weight_decay=self.weight_decay, input_noise_std=self.input_noise_std)


def _standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def _check_xy(x: np.ndarray, y: np.ndarray, num_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise InvalidDataError(f"need x [n, d] and y [n] with n >= 2, got x {x.shape} and y {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise InvalidDataError("y has NaN or infinite values.")
    if num_classes is not None:
        if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() >= num_classes:
            raise InvalidDataError(f"token designs must be integers in 0..{num_classes - 1}.")
    elif not np.all(np.isfinite(x)):
        raise InvalidDataError("x has NaN or infinite values.")
    return x, y


def fit_regressor(
    x: np.ndarray,
    y: np.ndarray,
    config: RegressorConfig | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    *,
    num_classes: int | None = None,
) -> MLPRegressor:
    """Train one :class:`MLPRegressor` by mean squared error on standardised scores.

    Args:
        x: ``[n, d]`` continuous designs, or ``[n, L]`` integer tokens (then ``num_classes`` is required).
        y: ``[n]`` or ``[n, 1]`` scores (higher is better).
        config: training settings (defaults of :class:`RegressorConfig` when ``None``).
        seed: seeds the initial weights and the batch order (deterministic on CPU).
        device: where to train.
        num_classes: token vocabulary size ``C`` for token designs; ``None`` for continuous designs.

    Returns:
        The trained regressor in eval mode, on ``device``.

    Raises:
        InvalidDataError: malformed ``x`` / ``y``.
        NonFiniteLossError: training diverged.
    """
    cfg = config or RegressorConfig()
    x, y = _check_xy(x, y, num_classes)
    device = torch.device(device)
    y_mean = float(y.mean())
    y_std = float(y.std()) if y.std() > 1e-12 else 1.0
    gen = torch.Generator().manual_seed(derive_seed(seed, "regressor"))
    torch.manual_seed(derive_seed(seed, "regressor-init"))
    if num_classes is not None:
        model = MLPRegressor((x.shape[1], num_classes), cfg.hidden_sizes, cfg.activation, y_mean=y_mean, y_std=y_std)
    else:
        xm, xs = _standardisation(x.astype(np.float64))
        model = MLPRegressor(
            (x.shape[1],), cfg.hidden_sizes, cfg.activation,
            x_mean=torch.from_numpy(xm), x_std=torch.from_numpy(xs), y_mean=y_mean, y_std=y_std,
        )
    model.to(device)
    z_all = model.encode(x)
    t_all = torch.as_tensor((y - y_mean) / y_std, dtype=torch.float32, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = z_all.shape[0]
    model.train()
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            zb = z_all[idx]
            if cfg.input_noise_std > 0 and num_classes is None:
                zb = zb + cfg.input_noise_std * torch.randn(zb.shape, generator=gen).to(device)
            loss = torch.mean((model(zb) - t_all[idx]) ** 2)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"regressor loss is {loss.item()} at epoch {epoch}, step {i // cfg.batch_size}.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    return model


def fit_ensemble(
    x: np.ndarray,
    y: np.ndarray,
    config: RegressorConfig | None = None,
    n_members: int = 5,
    seed: int = 0,
    device: str | torch.device = "cpu",
    *,
    num_classes: int | None = None,
) -> RegressorEnsemble:
    """Train ``n_members`` regressors with seeds ``derive_seed(seed, i)`` and return their mean."""
    if n_members < 1:
        raise InvalidDataError(f"n_members must be >= 1, got {n_members}.")
    members = [
        fit_regressor(x, y, config, derive_seed(seed, "member", i), device, num_classes=num_classes)
        for i in range(n_members)
    ]
    return RegressorEnsemble(members)


def fit_surrogate(
    x: np.ndarray,
    y: np.ndarray,
    config: RegressorConfig | None = None,
    n_members: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    *,
    num_classes: int | None = None,
) -> Surrogate:
    """One regressor when ``n_members == 1`` (seeded by ``seed``), else a :func:`fit_ensemble` of them."""
    if n_members == 1:
        return fit_regressor(x, y, config, seed, device, num_classes=num_classes)
    return fit_ensemble(x, y, config, n_members, seed, device, num_classes=num_classes)


def fit_data_surrogate(
    data: OfflineData, config: RegressorConfig, n_members: int, seed: int, device: str | torch.device
) -> Surrogate:
    """:func:`fit_surrogate` on offline rows (seed ``derive_seed(seed, "surrogate")``; tokens as tokens)."""
    return fit_surrogate(
        data.x, data.y.reshape(-1), config, n_members, derive_seed(seed, "surrogate"), device,
        num_classes=data.num_classes if data.is_discrete else None,
    )
