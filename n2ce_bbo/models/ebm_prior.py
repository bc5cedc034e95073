"""The K-stage energy-based prior correction ``f_α(z) = Σ_k f_k(z)`` (docs/method.md §1-2).

The latent prior is ``p_α(z) ∝ N(z; 0, I) · exp(f_α(z))``; stage ``f_k`` estimates the log-ratio between
neighbouring waymark distributions ``log p_{k+1}(z) / p_k(z)``, so the sum telescopes to
``log q*(z) / N(z; 0, I)``.

Two architectures:

* ``shared_trunk=False`` (default): K independent MLPs, stacked (:class:`~n2ce_bbo.models.mlp.StackedMLP`)
  so all stages run in one batched matrix product per layer;
* ``shared_trunk=True``: one trunk MLP and K linear heads. Every stage still sees its own inputs in
  training, but ``f_α(z)`` at a single ``z`` costs one trunk pass instead of K (cheaper sampling), and the
  telescoping update (:meth:`EBMPrior.waymark_outputs`) passes each of the K+1 waymarks through the trunk
  once, though the inner ones serve two stages (``(K+1)·n`` trunk rows instead of ``2K·n``).

The output layers start at zero: an untrained prior is exactly ``N(0, I)`` (``f ≡ 0``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from n2ce_bbo.models.mlp import MLP, StackedMLP, make_activation


class EBMPrior(nn.Module):
    """K stage networks ``f_k: R^d -> R``; ``forward(z) = Σ_k f_k(z)``.

    Args:
        latent_dim: d.
        num_stages: K >= 1.
        hidden: width of every hidden layer.
        depth: hidden layers per stage network (or in the shared trunk).
        shared_trunk: one trunk with K heads instead of K networks.
        activation: hidden non-linearity.
    """

    def __init__(
        self,
        latent_dim: int,
        num_stages: int,
        hidden: int = 128,
        depth: int = 2,
        shared_trunk: bool = False,
        activation: str = "silu",
    ) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError(f"EBMPrior needs num_stages >= 1, got {num_stages}")
        self.latent_dim = latent_dim
        self.num_stages = num_stages
        self.shared_trunk = shared_trunk
        if shared_trunk:
            # trunk ends with an activation; heads are a zero-initialised [hidden, K] linear map
            self.trunk = nn.Sequential(*list(MLP(latent_dim, hidden, hidden, depth=max(depth - 1, 0),
                                                 activation=activation).net), make_activation(activation))
            self.heads = nn.Linear(hidden, num_stages)
            nn.init.zeros_(self.heads.weight)
            nn.init.zeros_(self.heads.bias)
        else:
            self.stages = StackedMLP(num_stages, latent_dim, hidden, 1, depth=depth, activation=activation,
                                     zero_last=True)

    def forward(self, z: Tensor) -> Tensor:
        """``f_α(z) = Σ_k f_k(z)``: ``z [n, d] -> [n]``."""
        if self.shared_trunk:
            h = self.trunk(z)
            return h @ self.heads.weight.sum(dim=0) + self.heads.bias.sum()
        return self.stages(z).sum(dim=0).squeeze(-1)

    def all_stages(self, z: Tensor) -> Tensor:
        """Every stage at the same points: ``z [n, d] -> [n, K]``."""
        if self.shared_trunk:
            return self.heads(self.trunk(z))
        return self.stages(z).squeeze(-1).transpose(0, 1)

    def stage(self, k: int, z: Tensor) -> Tensor:
        """Stage ``f_k``: ``z [n, d] -> [n]`` (``0 <= k < K``)."""
        if not 0 <= k < self.num_stages:
            raise IndexError(f"stage index {k} out of range for K = {self.num_stages}")
        if self.shared_trunk:
            return self.trunk(z) @ self.heads.weight[k] + self.heads.bias[k]
        return self.stages.forward_one(k, z).squeeze(-1)

    def stage_outputs(self, x: Tensor) -> Tensor:
        """Stage k on its own batch, all stages at once: ``x [K, m, d] -> [K, m]`` (``out[k] = f_k(x[k])``)."""
        if x.dim() != 3 or x.shape[0] != self.num_stages:
            raise ValueError(f"stage_outputs expects [K={self.num_stages}, m, d], got {tuple(x.shape)}")
        if self.shared_trunk:
            K, m, d = x.shape
            h = self.trunk(x.reshape(K * m, d)).reshape(K, m, -1)
            return (h * self.heads.weight[:, None, :]).sum(-1) + self.heads.bias[:, None]
        return self.stages(x).squeeze(-1)

    def waymark_outputs(self, waymarks: Tensor) -> Tensor:
        """Every stage on its telescoping pair: ``waymarks [K+1, n, d] -> [K, 2n]``, row ``k`` =
        ``[f_k(waymarks[k+1]), f_k(waymarks[k])]`` (its target, then its noise samples).

        Equals ``stage_outputs`` of the stacked pairs ``[K, 2n, d]`` (tested). The shared trunk computes the
        features of each waymark once, since waymark ``k`` is stage ``k``'s noise and stage ``k-1``'s target.
        """
        K = self.num_stages
        if waymarks.dim() != 3 or waymarks.shape[0] != K + 1:
            raise ValueError(f"waymark_outputs expects [K+1={K + 1}, n, d], got {tuple(waymarks.shape)}")
        if not self.shared_trunk:
            return self.stage_outputs(torch.cat([waymarks[1:], waymarks[:-1]], dim=1))
        _, n, d = waymarks.shape
        h = self.trunk(waymarks.reshape((K + 1) * n, d)).reshape(K + 1, n, -1)
        w, b = self.heads.weight[:, None, :], self.heads.bias[:, None]
        return torch.cat([(h[1:] * w).sum(-1) + b, (h[:-1] * w).sum(-1) + b], dim=1)
