"""Fully connected building blocks: a plain MLP, a *stack* of K independent MLPs evaluated in one
batched matrix product, and a token-sequence input layer.

``StackedMLP`` is what makes the K-stage EBM prior cheap: instead of K small networks called in a Python
loop (K kernel launches per layer, each on a tiny batch), its weights are ``[K, in, out]`` tensors and
one ``torch.baddbmm`` per layer evaluates every stage on its own batch ``[K, m, in] -> [K, m, out]``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

Activation = Literal["silu", "gelu", "relu", "tanh", "leaky_relu"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str, *, leaky_slope: float = 0.01) -> nn.Module:
    """The activation module called ``name`` (``"silu"``, ``"gelu"``, ``"relu"``, ``"tanh"``, ``"leaky_relu"``).

    Args:
        name: the non-linearity.
        leaky_slope: slope of ``leaky_relu`` for negative inputs (torch's default 0.01; ignored by the others).

    Raises:
        ValueError: unknown name.
    """
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}")
    if name == "leaky_relu":
        return nn.LeakyReLU(leaky_slope)
    return _ACTIVATIONS[name]()


class MLP(nn.Module):
    """``in_dim -> hidden (x depth) -> out_dim`` with an activation after each hidden layer.

    Args:
        in_dim: input width.
        hidden: width of every hidden layer.
        out_dim: output width.
        depth: number of hidden layers (0 gives a single linear map).
        activation: hidden non-linearity (smooth ``"silu"`` by default: latent gradients stay smooth for
            Langevin sampling).
        zero_last: initialise the output layer to zero (the network starts as the constant 0).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        depth: int = 2,
        activation: str = "silu",
        zero_last: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), make_activation(activation)]
            width = hidden
        last = nn.Linear(width, out_dim)
        if zero_last:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., in_dim] -> [..., out_dim]``."""
        return self.net(x)


class StackedMLP(nn.Module):
    """K independent MLPs ``in_dim -> hidden (x depth) -> out_dim`` with weights stacked along a first axis.

    Each stage is initialised like ``nn.Linear`` (uniform in ``±1/sqrt(fan_in)``), independently.

    Args:
        num: number of stacked networks K.
        in_dim, hidden, out_dim, depth, activation, zero_last: as in :class:`MLP`.
    """

    def __init__(
        self,
        num: int,
        in_dim: int,
        hidden: int,
        out_dim: int,
        depth: int = 2,
        activation: str = "silu",
        zero_last: bool = False,
    ) -> None:
        super().__init__()
        if num < 1:
            raise ValueError(f"StackedMLP needs num >= 1, got {num}")
        self.num = num
        self.act = make_activation(activation)
        widths = [in_dim] + [hidden] * depth + [out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            bound = 1.0 / math.sqrt(a)
            w = torch.empty(num, a, b).uniform_(-bound, bound)
            bias = torch.empty(num, 1, b).uniform_(-bound, bound)
            if zero_last and i == len(widths) - 2:
                w.zero_()
                bias.zero_()
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(bias))

    def forward(self, x: Tensor) -> Tensor:
        """Stage k on its own batch: ``x [K, m, in_dim] -> [K, m, out_dim]``.

        A shared batch ``x [m, in_dim]`` is accepted too (every stage on the same rows), without copying
        it K times.
        """
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w) if h.dim() == 3 else torch.matmul(h, w) + b
            if i < last:
                h = self.act(h)
        return h

    def forward_one(self, k: int, x: Tensor) -> Tensor:
        """Stage ``k`` alone: ``x [m, in_dim] -> [m, out_dim]``."""
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.addmm(b[k], h, w[k])
            if i < last:
                h = self.act(h)
        return h


class TokenInput(nn.Module):
    """First layer for token sequences: equivalent to ``Linear(L*C -> out)`` on the flattened one-hot
    encoding, computed as an embedding lookup summed over positions (cost ``O(L*out)``, not ``O(L*C*out)``).

    Args:
        length: sequence length L.
        num_classes: token values C.
        out_dim: output width.
    """

    offsets: Tensor

    def __init__(self, length: int, num_classes: int, out_dim: int) -> None:
        super().__init__()
        self.length = length
        self.num_classes = num_classes
        self.embed = nn.Embedding(length * num_classes, out_dim)
        bound = 1.0 / math.sqrt(length)  # fan-in of the one-hot layer is L active inputs
        nn.init.uniform_(self.embed.weight, -bound, bound)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.register_buffer("offsets", torch.arange(length) * num_classes, persistent=False)

    def forward(self, tokens: Tensor) -> Tensor:
        """``tokens [n, L]`` integer ids in ``0..C-1`` -> ``[n, out_dim]``."""
        return self.embed(tokens.long() + self.offsets).sum(dim=1) + self.bias
