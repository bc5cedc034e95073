"""The baselines' MLP regressors as networks (models/regressors.py): activations, the standardised box."""

from __future__ import annotations

import numpy as np
import torch

from n2ce_bbo.models.mlp import MLP
from n2ce_bbo.models.regressors import MLPRegressor, standardised_bounds


def test_leaky_relu_slopes_are_explicit() -> None:
    # the baselines' regressors keep their 0.2 slope; the latent EBM's networks use torch's 0.01
    reg = MLPRegressor((3,), [8], "leaky_relu")
    slopes = [m.negative_slope for m in reg.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert slopes == [0.2]
    mlp = MLP(3, 8, 1, depth=1, activation="leaky_relu")
    assert [m.negative_slope for m in mlp.modules() if isinstance(m, torch.nn.LeakyReLU)] == [0.01]
    assert isinstance(MLPRegressor((3,), [8], "gelu").net[1], torch.nn.GELU)


def test_standardised_bounds_use_the_regressors_scaling() -> None:
    reg = MLPRegressor((2,), [4], x_mean=torch.tensor([1.0, -1.0]), x_std=torch.tensor([2.0, 0.5]))
    box = standardised_bounds(reg, np.array([[-1.0, -2.0], [3.0, 0.0]]))
    assert box is not None
    torch.testing.assert_close(box, torch.tensor([[-1.0, -2.0], [1.0, 2.0]]))
    assert standardised_bounds(reg, None) is None
