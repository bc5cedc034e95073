"""MLP regressors (surrogates) for the baselines: one network, or the mean of an ensemble
(trained by :mod:`n2ce_bbo.training.regressors`).

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
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.models.mlp import make_activation

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

    x_mean: Tensor
    x_std: Tensor
    y_mean: Tensor
    y_std: Tensor

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
    def regressors(self) -> list[MLPRegressor]:
        """The members, typed (``nn.ModuleList`` only knows they are modules)."""
        return [cast(MLPRegressor, m) for m in self.members]

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one design in model space (shared by every member)."""
        return self.regressors[0].feature_shape

    @property
    def is_discrete(self) -> bool:
        """Whether the members model token designs."""
        return self.regressors[0].is_discrete

    @property
    def num_classes(self) -> int | None:
        """Token vocabulary size (``None`` for continuous designs)."""
        return self.regressors[0].num_classes

    def forward(self, z: Tensor) -> Tensor:
        """``[n, ...]`` model-space inputs -> ``[n]`` mean standardised prediction of the members."""
        return torch.stack([m(z) for m in self.members]).mean(dim=0)

    def encode(self, x: np.ndarray | Tensor) -> Tensor:
        """Raw designs to model space (the first member's standardisation, shared by all)."""
        return self.regressors[0].encode(x)

    def decode_continuous(self, z: Tensor) -> Tensor:
        """Model-space continuous inputs ``[n, d]`` back to raw design units (the first member's standardisation)."""
        return self.regressors[0].decode_continuous(z)

    def to_raw_y(self, s: Tensor) -> Tensor:
        """Standardised predictions ``[n]`` back to raw score units."""
        return self.regressors[0].to_raw_y(s)

    def predict(self, x: np.ndarray | Tensor, batch_size: int = 8192) -> np.ndarray:
        """Raw-unit mean prediction: ``[n, ...]`` -> float64 ``[n]``."""
        return np.mean([m.predict(x, batch_size) for m in self.regressors], axis=0)


Surrogate = MLPRegressor | RegressorEnsemble


def members_state(members: Sequence[MLPRegressor], prefix: str = "") -> dict[str, Tensor]:
    """Every member's state dict in one flat, tensors-only dict (on the CPU), keyed ``<prefix>m<i>.<parameter>``, for
    ``torch.save`` (read back with ``weights_only=True`` and :func:`member_from_state`)."""
    return {f"{prefix}m{i}.{k}": v.detach().cpu() for i, member in enumerate(members)
            for k, v in member.state_dict().items()}


def member_from_state(state: dict[str, Tensor], prefix: str, index: int, feature_shape: tuple[int, ...],
                      hidden_sizes: Sequence[int], activation: str) -> MLPRegressor:
    """Member ``index`` of a :func:`members_state` dict (keys ``<prefix>m<index>.``), in eval mode.

    Raises:
        RuntimeError: the stored tensors do not fit a regressor of this shape and these widths (torch's error).
    """
    net = MLPRegressor(feature_shape, hidden_sizes, activation)
    start = f"{prefix}m{index}."
    net.load_state_dict({k[len(start):]: v for k, v in state.items() if k.startswith(start)})
    return net.eval()


def standardised_bounds(model: Surrogate, bounds: np.ndarray | None) -> Tensor | None:
    """The task's raw ``[2, d]`` box in the surrogate's standardised space (``None`` stays ``None``)."""
    if bounds is None:
        return None
    return model.encode(np.asarray(bounds, dtype=np.float32))
