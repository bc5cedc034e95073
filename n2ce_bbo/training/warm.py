"""Warm starts: retrain a latent-EBM surrogate on more rows starting from an earlier one's weights.

A campaign adds a few measured rows per round; retraining from scratch repeats what the previous model already
learnt. :func:`~n2ce_bbo.training.trainer.train_surrogate` with ``init_from=previous`` instead

1. builds a fresh surrogate of the same settings and copies the previous weights into it (the architecture must
   match: same ``model`` / ``prior`` settings and design shape, else :class:`~n2ce_bbo.errors.ConfigError`);
2. keeps the previous **standardisation frame** (:func:`adopt_frame`): ``y_mean`` / ``y_std`` and, for continuous
   designs, ``x_mean`` / ``x_std`` stay those of the rows the first (cold) fit saw, so the weights keep meaning what
   they learnt. Only the best training score (``y_max_standardized``, where proposals aim) is recomputed from every
   row, and the design box is the new data's. The new rows are standardised in the old frame; when they no longer
   fit it (:func:`frame_drift`) the caller should refit cold, which recomputes every statistic;
3. trains with a fresh optimiser (no optimiser state is kept between rounds) for ``train.warm_fraction`` of the
   minibatches a cold fit on the same rows would run (:func:`warm_steps`), with the cold fit's row order and noise
   streams.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.builder import data_facts, surrogate_facts

#: The new rows' scores, standardised in the previous frame, must keep a mean within this many units of 0 ...
MAX_MEAN_SHIFT = 1.0
#: ... and a standard deviation within this factor of 1; otherwise :func:`frame_drift` asks for a cold refit.
MAX_STD_RATIO = 2.0


def warm_steps(cold_steps: int, fraction: float) -> int:
    """Minibatches of a warm start: ``ceil(fraction · cold_steps)``, at least 1.

    Args:
        cold_steps: what a cold fit on the same rows would run (after ``train.max_steps``).
        fraction: ``train.warm_fraction``, in (0, 1].
    """
    return max(1, math.ceil(float(fraction) * int(cold_steps)))


def frame_drift(previous: LatentEBMSurrogate, y: np.ndarray) -> str | None:
    """Why the previous standardisation frame no longer fits the scores ``y [n]`` (raw units), or ``None``.

    The frame fits while ``(y - y_mean) / y_std`` (previous statistics) has a mean within :data:`MAX_MEAN_SHIFT`
    of 0 and a standard deviation within a factor :data:`MAX_STD_RATIO` of 1.
    """
    z = previous.standardize_y(np.asarray(y, dtype=np.float64).reshape(-1))
    mean, std = float(z.mean()), float(z.std())
    if abs(mean) > MAX_MEAN_SHIFT:
        return (f"the scores' mean moved {mean:+.2f} standard deviations of the first fit's scores "
                f"(more than {MAX_MEAN_SHIFT:g})")
    if std > MAX_STD_RATIO or std < 1.0 / MAX_STD_RATIO:
        return f"the scores' spread is {std:.2f} times the first fit's (outside 1/{MAX_STD_RATIO:g}..{MAX_STD_RATIO:g})"
    return None


def adopt_frame(surrogate: LatentEBMSurrogate, previous: LatentEBMSurrogate, data: OfflineData,
                y_all: np.ndarray) -> dict[str, Any]:
    """Copy ``previous``'s weights and standardisation frame into the fresh ``surrogate`` (see the module docstring).

    Args:
        surrogate: freshly built with the settings of this fit (on the CPU or its device).
        previous: the surrogate to start from.
        data: the rows of this fit (its design box is used).
        y_all: every score of this fit ``[n]`` (raw units): the best one is where proposals aim.

    Returns:
        What was kept: ``{"y_mean", "y_std", "y_max_standardized", "frame": "previous"}``.

    Raises:
        ConfigError: the previous surrogate has another architecture or design shape.
    """
    if surrogate_facts(previous) != data_facts(data):
        raise ConfigError("a warm start needs a previous surrogate of the same design shape "
                          f"({surrogate_facts(previous)} vs {data_facts(data)}); refit cold.")
    state = {k: v.detach().to("cpu").clone() for k, v in previous.state_dict().items()}
    try:
        surrogate.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError("a warm start needs a previous surrogate with the same model and prior settings; "
                          f"its weights do not fit ({str(exc).splitlines()[0]}); refit cold.") from exc
    y = np.asarray(y_all, dtype=np.float64).reshape(-1)
    mean, std = previous.y_mean, previous.y_std
    surrogate.y_stats.copy_(torch.tensor([mean, std, (float(y.max()) - mean) / std]))
    if surrogate.has_bounds and data.bounds is not None:
        surrogate.bounds.copy_(torch.as_tensor(np.asarray(data.bounds, dtype=np.float32)))
    return {"frame": "previous", "y_mean": mean, "y_std": std,
            "y_max_standardized": float(surrogate.y_stats[2])}
