"""MLP regressors (surrogates) for the baselines: one network, or the mean of an ensemble.

Design-Bench's gradient-ascent, CMA-ES and BO-qEI baselines all train a fully connected forward model
``f(x) -> y`` on the offline rows (Trabucco et al. 2022 use 2 hidden layers of 2048 leaky-ReLU units,
Adam at 1e-3, batch 128). The defaults here are smaller (2 x 256) so that 30k rows train in seconds on
two CPU cores; every size is configurable.

A regressor works in a *model space*:

* continuous designs ``[n, d]`` are standardised, ``z = (x - mean) / std`` (``std`` of a constant
  column is taken as 1);
* token designs ``[n, L]`` (ints in ``0..C-1``) become one-hot ``[n, L, C]`` floats, and any point of
  the probability simplex (for example ``softmax(logits)``) is a valid input, so gradients flow
  through a relaxation.

Its output is the standardised score ``(y - y_mean) / y_std``; :meth:`MLPRegressor.predict` maps raw
designs to raw-unit scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from n2ce_bbo.config import require
from n2ce_bbo.errors import ConfigError, InvalidDataError, NonFiniteLossError
from n2ce_bbo.models.mlp import Activation, make_activation
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
        require(at_least=1, **{f"hidden_sizes[{i}]": h for i, h in enumerate(self.hidden_sizes)})
        require(at_least=1, epochs=self.epochs, batch_size=self.batch_size)
        require(above=0, lr=self.lr)
        require(at_least=0, weight_decay=self.weight_decay, input_noise_std=self.input_noise_std)


#: Negative slope of the regressors' leaky ReLU. 0.2, not torch's 0.01 (the latent EBM's networks keep 0.01):
#: the baselines' surrogates have always used 0.2, and their recorded results were produced with it.
REGRESSOR_LEAKY_SLOPE = 0.2


class MLPRegressor(nn.Module):
    """A fully connected regressor on standardised / one-hot designs.

    Args:
        feature_shape: shape of one model-space input: ``(d,)`` continuous or ``(L, C)`` tokens.
        hidden_sizes: hidden layer widths.
        activation: hidden non-linearity.
        x_mean, x_std: ``[d]`` standardisation of continuous designs (ignored for tokens).
        y_mean, y_std: scalars: standardisation of the scores.
    """

    def __init__(
        self,
        feature_shape: tuple[int, ...],
        hidden_sizes: Sequence[int] = (256, 256),
        activation: str = "leaky_relu",
        *,
        x_mean: Tensor | None = None,
        x_std: Tensor | None = None,
        y_mean: float = 0.0,
        y_std: float = 1.0,
    ) -> None:
        super().__init__()
        if len(feature_shape) not in (1, 2):
            raise InvalidDataError(f"feature_shape must be (d,) or (L, C), got {feature_shape}.")
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.is_discrete = len(self.feature_shape) == 2
        in_dim = int(np.prod(self.feature_shape))
        layers: list[nn.Module] = []
        prev = in_dim
        for h in hidden_sizes:
            layers += [nn.Linear(prev, int(h)), make_activation(activation, leaky_slope=REGRESSOR_LEAKY_SLOPE)]
            prev = int(h)
        layers.append(nn.Linear(prev, 1))
        self.net = nn.Sequential(*layers)
        d = self.feature_shape[0]
        self.register_buffer("x_mean", torch.zeros(d) if x_mean is None else torch.as_tensor(x_mean, dtype=torch.float32))
        self.register_buffer("x_std", torch.ones(d) if x_std is None else torch.as_tensor(x_std, dtype=torch.float32))
        self.register_buffer("y_mean", torch.tensor(float(y_mean)))
        self.register_buffer("y_std", torch.tensor(float(y_std)))

    @property
    def num_classes(self) -> int | None:
        """Token vocabulary size ``C`` (tokens) or ``None`` (continuous)."""
        return self.feature_shape[1] if self.is_discrete else None

    def forward(self, z: Tensor) -> Tensor:
        """Standardised score of model-space inputs.

        Args:
            z: ``[n, d]`` standardised designs, or ``[n, L, C]`` one-hot / probability designs.

        Returns:
            ``[n]`` standardised predicted scores.
        """
        if tuple(z.shape[1:]) != self.feature_shape:
            raise InvalidDataError(f"expected inputs of shape [n, {', '.join(map(str, self.feature_shape))}], got {tuple(z.shape)}.")
        return self.net(z.reshape(z.shape[0], -1)).squeeze(-1)

    # --- conversions between raw designs and model space -------------------------------------------------
    def encode(self, x: np.ndarray | Tensor) -> Tensor:
        """Raw designs to model space: ``[n, d]`` floats -> standardised ``[n, d]``; ``[n, L]`` ints -> one-hot ``[n, L, C]``."""
        dev = self.x_mean.device
        if self.is_discrete:
            t = x.to(dev).long() if isinstance(x, Tensor) else torch.from_numpy(np.array(x, dtype=np.int64)).to(dev)
            return nn.functional.one_hot(t, self.feature_shape[1]).float()
        t = x.to(dev).float() if isinstance(x, Tensor) else torch.from_numpy(np.array(x, dtype=np.float32)).to(dev)
        return (t - self.x_mean) / self.x_std

    def decode_continuous(self, z: Tensor) -> Tensor:
        """Standardised ``[n, d]`` back to raw units (continuous designs only)."""
        return z * self.x_std + self.x_mean

    def to_raw_y(self, s: Tensor) -> Tensor:
        """Standardised scores to raw units."""
        return s * self.y_std + self.y_mean

    @torch.no_grad()
    def predict(self, x: np.ndarray | Tensor, batch_size: int = 8192) -> np.ndarray:
        """Raw-unit predictions of raw designs: ``[n, d]`` or ``[n, L]`` -> float64 ``[n]``."""
        was_training = self.training
        self.eval()
        out = []
        n = int(x.shape[0])
        for i in range(0, n, batch_size):
            out.append(self.to_raw_y(self(self.encode(x[i:i + batch_size]))).double().cpu())
        self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros(0)


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


class RegressorEnsemble(nn.Module):
    """The mean of several regressors trained on the same data (same standardisation).

    Its :meth:`forward`, :meth:`encode`, :meth:`predict` match :class:`MLPRegressor`'s, so a method can
    use either.

    Args:
        members: trained regressors with the same ``feature_shape``.
    """

    def __init__(self, members: Sequence[MLPRegressor]) -> None:
        super().__init__()
        if not members:
            raise InvalidDataError("an ensemble needs at least one member.")
        shapes = {m.feature_shape for m in members}
        if len(shapes) != 1:
            raise InvalidDataError(f"ensemble members disagree on feature_shape: {sorted(shapes)}.")
        self.members = nn.ModuleList(members)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one design in model space (shared by every member)."""
        return self.members[0].feature_shape

    @property
    def is_discrete(self) -> bool:
        """Whether the members model token designs."""
        return self.members[0].is_discrete

    @property
    def num_classes(self) -> int | None:
        """Token vocabulary size (``None`` for continuous designs)."""
        return self.members[0].num_classes

    def forward(self, z: Tensor) -> Tensor:
        """``[n, ...]`` model-space inputs -> ``[n]`` mean standardised prediction of the members."""
        return torch.stack([m(z) for m in self.members]).mean(dim=0)

    def encode(self, x: np.ndarray | Tensor) -> Tensor:
        """Raw designs to model space (the first member's standardisation, shared by all)."""
        return self.members[0].encode(x)

    def decode_continuous(self, z: Tensor) -> Tensor:
        """Model-space continuous inputs ``[n, d]`` back to raw design units (the first member's standardisation)."""
        return self.members[0].decode_continuous(z)

    def to_raw_y(self, s: Tensor) -> Tensor:
        """Standardised predictions ``[n]`` back to raw score units."""
        return self.members[0].to_raw_y(s)

    def predict(self, x: np.ndarray | Tensor, batch_size: int = 8192) -> np.ndarray:
        """Raw-unit mean prediction: ``[n, ...]`` -> float64 ``[n]``."""
        return np.mean([m.predict(x, batch_size) for m in self.members], axis=0)


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


Surrogate = MLPRegressor | RegressorEnsemble


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
