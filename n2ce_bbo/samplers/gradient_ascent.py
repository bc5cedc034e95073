"""Deterministic gradient ascent over a batch of independent chains, in a continuous space or on
softmax-relaxed token logits.

Each chain maximises its own objective: the optimisers are element-wise (Adam, SGD), so ascending
``objective(z).sum()`` moves every chain exactly as if it were optimised alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, overload

import torch
from torch import Tensor

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.samplers.langevin import _check_chains

Objective = Callable[[Tensor], Tensor]


def _make_optimizer(param: Tensor, optimizer: str, lr: float) -> torch.optim.Optimizer:
    if optimizer == "adam":
        return torch.optim.Adam([param], lr=lr, maximize=True, foreach=False)
    if optimizer == "sgd":
        return torch.optim.SGD([param], lr=lr, maximize=True, foreach=False)
    raise InvalidDataError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}.")


def _check_bounds(bounds: Tensor | None, z0: Tensor) -> Tensor | None:
    if bounds is None:
        return None
    bounds = torch.as_tensor(bounds, device=z0.device, dtype=z0.dtype)
    if bounds.shape != (2, z0.shape[1]):
        raise InvalidDataError(f"bounds must have shape (2, {z0.shape[1]}), got {tuple(bounds.shape)}.")
    if bool((bounds[0] > bounds[1]).any()):
        raise InvalidDataError("bounds: every lower bound (row 0) must be <= its upper bound (row 1).")
    return bounds


def gradient_ascent(
    objective: Objective,
    z0: Tensor,
    n_steps: int,
    lr: float,
    *,
    optimizer: Literal["adam", "sgd"] = "adam",
    bounds: Tensor | None = None,
    return_trajectory: bool = False,
) -> Tensor:
    """Maximise ``objective`` from every starting point independently.

    Args:
        objective: ``z [n, d] -> [n]`` values to maximise, differentiable; rows independent.
        z0: ``[n, d]`` starting points (float); computation happens on ``z0.device``.
        n_steps: number of optimiser steps.
        lr: learning rate (units of ``z`` per step for Adam, roughly).
        optimizer: ``"adam"`` or ``"sgd"``.
        bounds: optional ``[2, d]`` box (row 0 lower, row 1 upper); ``z0`` and every iterate are
            projected (clamped) onto it.
        return_trajectory: also keep every iterate.

    Returns:
        ``[n, d]`` final points, or ``[n_steps + 1, n, d]`` (projected ``z0`` first) with the trajectory.
    """
    _check_chains(z0, n_steps, lr)
    box = _check_bounds(bounds, z0)
    z = z0.detach().clone()
    if box is not None:
        z = torch.maximum(torch.minimum(z, box[1]), box[0])
    z.requires_grad_(True)
    opt = _make_optimizer(z, optimizer, lr)
    traj = [z.detach().clone()] if return_trajectory else None
    for _ in range(n_steps):
        opt.zero_grad(set_to_none=True)
        with torch.enable_grad():
            val = objective(z)
            if val.shape != (z.shape[0],):
                raise InvalidDataError(f"objective must return shape [{z.shape[0]}], got {tuple(val.shape)}.")
            val.sum().backward()
        opt.step()
        if box is not None:
            with torch.no_grad():
                z.copy_(torch.maximum(torch.minimum(z, box[1]), box[0]))
        if traj is not None:
            traj.append(z.detach().clone())
    if traj is not None:
        return torch.stack(traj)
    return z.detach()


def smoothed_logits(tokens: Tensor, num_classes: int, smoothing: float) -> Tensor:
    """Starting logits for token designs: ``[n, L]`` tokens -> ``[n, L, C]`` logits
    ``log(smoothing * one_hot + (1 - smoothing) / C)`` (Design-Bench's ``map_to_logits`` with soft interpolation)."""
    one_hot = torch.nn.functional.one_hot(tokens.long(), num_classes).float()
    return torch.log(smoothing * one_hot + (1.0 - smoothing) / num_classes)


@overload
def token_logit_ascent(
    score_from_probs: Callable[[Tensor], Tensor], logits0: Tensor, n_steps: int, lr: float, *,
    optimizer: Literal["adam", "sgd"] = ..., temperature: float = ..., return_logits: Literal[False] = ...,
    return_trajectory: bool = ...,
) -> Tensor: ...


@overload
def token_logit_ascent(
    score_from_probs: Callable[[Tensor], Tensor], logits0: Tensor, n_steps: int, lr: float, *,
    optimizer: Literal["adam", "sgd"] = ..., temperature: float = ..., return_logits: Literal[True],
    return_trajectory: bool = ...,
) -> tuple[Tensor, Tensor]: ...


def token_logit_ascent(
    score_from_probs: Callable[[Tensor], Tensor],
    logits0: Tensor,
    n_steps: int,
    lr: float,
    *,
    optimizer: Literal["adam", "sgd"] = "adam",
    temperature: float = 1.0,
    return_logits: bool = False,
    return_trajectory: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Design-space ascent for token designs through a softmax relaxation.

    The relaxed design is ``probs = softmax(logits / temperature)`` over the last axis; the logits are
    moved by gradient ascent on ``score_from_probs(probs)`` and the result is decoded by argmax.

    Args:
        score_from_probs: ``probs [n, L, C] -> [n]`` scores to maximise (for example a surrogate applied
            to one-hot-like inputs), differentiable; rows independent.
        logits0: ``[n, L, C]`` initial logits (for example :func:`smoothed_logits` of starting designs).
        n_steps: number of optimiser steps.
        lr: learning rate on the logits.
        optimizer: ``"adam"`` or ``"sgd"``.
        temperature: softmax temperature (> 0); lower values make the relaxation closer to one-hot.
        return_logits: also return the final logits.
        return_trajectory: decode every iterate, not only the last.

    Returns:
        ``[n, L]`` int64 tokens (argmax per position), or ``[n_steps + 1, n, L]`` with the trajectory
        (``logits0`` decoded first); with ``return_logits`` the pair ``(tokens, logits [..., L, C])``.
    """
    if logits0.dim() != 3:
        raise InvalidDataError(f"logits0 must have shape [n, L, C], got {tuple(logits0.shape)}.")
    if not temperature > 0:
        raise InvalidDataError(f"temperature must be > 0, got {temperature}.")
    n, L, C = logits0.shape

    def objective(flat: Tensor) -> Tensor:
        probs = torch.softmax(flat.view(-1, L, C) / temperature, dim=-1)
        return score_from_probs(probs)

    flat = gradient_ascent(objective, logits0.reshape(n, L * C), n_steps, lr, optimizer=optimizer,
                           return_trajectory=return_trajectory)
    logits = flat.view(*flat.shape[:-1], L, C)
    tokens = logits.argmax(dim=-1)
    if return_logits:
        return tokens, logits
    return tokens
