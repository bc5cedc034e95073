"""A listwise ranking loss for the value head: the minibatch's scores as a ranking to reproduce.

Offline optimisation keeps the designs a surrogate ranks highest, so the order of its predictions matters more
than their squared error; the published leaders on TFBind10 train with ranking losses for this reason. ListNet
(Cao et al., 2007) compares the top-one probabilities of the two orders: with ``P_y = softmax(y / T)`` and
``P_h = softmax(h / T)`` over a minibatch, the loss is the cross-entropy ``-Σ_i P_y(i) log P_h(i)``, which is
smallest (at the entropy of ``P_y``) when ``h`` equals ``y`` up to a constant. It is invariant to a shift of ``h``,
so it sits beside the Gaussian value term (which fixes the scale and offset), weighted by ``train.rank_weight``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from n2ce_bbo.errors import ConfigError, InvalidDataError


def listnet_loss(pred: Tensor, y: Tensor, temperature: float = 1.0) -> Tensor:
    """ListNet cross-entropy between the top-one distributions of ``y`` and of each head's predictions.

    Args:
        pred: predictions ``[n]`` or ``[k, n]`` (``k`` value heads, each ranked on its own), standardised units.
        y: the minibatch's standardised scores ``[n]``.
        temperature: ``T`` of both softmaxes, in standardised score units; smaller weighs the top of the list more.

    Returns:
        A scalar ``[]``: the mean over heads of ``-Σ_i softmax(y/T)_i · log_softmax(pred/T)_i``.

    Raises:
        ConfigError: ``temperature`` not positive and finite.
        InvalidDataError: ``pred``'s last dimension is not ``y``'s length, or fewer than two rows.
    """
    if not (math.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"ranking temperature must be positive and finite, got {temperature}.")
    heads = pred.reshape(1, -1) if pred.dim() == 1 else pred
    if heads.dim() != 2 or heads.shape[-1] != y.shape[-1] or y.dim() != 1:
        raise InvalidDataError(f"listnet_loss: predictions {tuple(pred.shape)} do not match scores {tuple(y.shape)}.")
    if y.shape[0] < 2:
        raise InvalidDataError("listnet_loss: a ranking needs at least two rows.")
    target = torch.softmax(y / temperature, dim=-1)
    log_p = torch.log_softmax(heads / temperature, dim=-1)
    return -(target.reshape(1, -1) * log_p).sum(dim=-1).mean()
