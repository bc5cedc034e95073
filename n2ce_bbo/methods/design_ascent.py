"""Gradient ascent in design space on a design-space surrogate's prediction: the search of the ``grad`` baselines
(:mod:`n2ce_bbo.methods.grad`), and the latent-EBM method's ascent candidates (``design_model.ascent_starts``,
:mod:`n2ce_bbo.methods.latent_ebm.method`), one implementation for both.

Continuous designs move in the surrogate's standardised ``x`` space, clipped to the task's box; token designs move
their logits (``log(smoothing · one_hot + (1 - smoothing) / C)`` at the start), the surrogate reads
``softmax(logits)`` and each iterate is decoded by argmax. The step is ``lr · sqrt(input size)`` when scaled (the
input size is ``d``, or ``L · C`` for tokens), Design-Bench's scaling.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from n2ce_bbo.methods.selection import clip_to_bounds
from n2ce_bbo.models.regressors import Surrogate, standardised_bounds
from n2ce_bbo.samplers.gradient_ascent import gradient_ascent, smoothed_logits, token_logit_ascent
from n2ce_bbo.tasks.base import OfflineData

AscentOptimizer = Literal["sgd", "adam", "auto"]


def ascent_lr(data: OfflineData, lr: float, scale: bool = True) -> float:
    """The step size: ``lr``, times ``sqrt(d)`` (continuous) or ``sqrt(L · C)`` (tokens) when ``scale``."""
    size = data.dim * (data.num_classes or 1)
    return lr * (math.sqrt(size) if scale else 1.0)


def ascent_optimizer(data: OfflineData, optimizer: AscentOptimizer) -> Literal["sgd", "adam"]:
    """The optimiser for ``data``: ``optimizer``, or for ``"auto"`` plain gradient steps on continuous designs
    (Design-Bench's update) and Adam on token logits (through the softmax, plain steps are too small to change an
    argmax in 200 steps)."""
    if optimizer != "auto":
        return optimizer
    return "adam" if data.is_discrete else "sgd"


def ascent_trajectory(model: Surrogate, starts: np.ndarray, data: OfflineData, *, n_steps: int, lr: float,
                      optimizer: AscentOptimizer = "auto", smoothing: float = 0.6, scale_lr: bool = True,
                      device: str | torch.device = "cpu") -> np.ndarray:
    """Ascend ``model``'s prediction from every start independently.

    Args:
        model: a fitted design-space surrogate (:class:`~n2ce_bbo.models.regressors.Surrogate`); its parameters
            are not changed.
        starts: ``[n, d]`` raw continuous designs or ``[n, L]`` tokens.
        data: the offline data (its design kind, size, classes and box).
        n_steps: ascent steps.
        lr: base step size (scaled by :func:`ascent_lr`).
        optimizer: ``"sgd"``, ``"adam"`` or ``"auto"`` (:func:`ascent_optimizer`).
        smoothing: weight of the one-hot in the starting token probabilities.
        scale_lr: scale the step by the square root of the input size.
        device: where token logits live.

    Returns:
        ``[n_steps + 1, n, ...]``: raw float32 designs clipped to the box (continuous) or int64 argmax tokens;
        entry 0 is the start.
    """
    model.eval()
    grads = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        step = ascent_lr(data, lr, scale_lr)
        opt = ascent_optimizer(data, optimizer)
        if data.is_discrete:
            assert data.num_classes is not None
            logits0 = smoothed_logits(torch.as_tensor(starts.astype(np.int64), device=device), data.num_classes,
                                      smoothing)
            tokens = token_logit_ascent(model, logits0, n_steps, step, optimizer=opt, return_trajectory=True)
            return tokens.cpu().numpy().astype(np.int64)
        z0 = model.encode(starts)
        box = standardised_bounds(model, data.bounds)
        traj = gradient_ascent(model, z0, n_steps, step, optimizer=opt, bounds=box, return_trajectory=True)
        raw = model.decode_continuous(traj.reshape(-1, traj.shape[-1])).detach().cpu().numpy()
        return clip_to_bounds(raw, data.bounds).reshape(traj.shape)
    finally:
        for p, g in zip(model.parameters(), grads, strict=True):
            p.requires_grad_(g)
