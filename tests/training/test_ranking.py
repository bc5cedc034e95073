"""The listwise ranking term of the value head, alone and in the trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training import train_surrogate
from n2ce_bbo.training.ranking import listnet_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_listnet_is_smallest_at_the_scores_up_to_a_shift() -> None:
    y = torch.tensor([0.3, -1.0, 2.0, 0.5, -0.2])
    p = torch.softmax(y, dim=0)
    entropy = -(p * p.log()).sum()
    assert listnet_loss(y + 3.0, y) == pytest.approx(float(entropy), abs=1e-6)
    pred = (y + 3.0).clone().requires_grad_(True)
    listnet_loss(pred, y).backward()
    assert pred.grad is not None and pred.grad.abs().max() < 1e-6
    assert listnet_loss(-y, y) > listnet_loss(0.5 * y, y) > listnet_loss(y, y)


def test_listnet_ranks_each_head_and_weighs_the_top_by_temperature() -> None:
    y = torch.tensor([0.0, 1.0, 2.0, 3.0])
    good, bad = y.clone(), y.flip(0)
    both = listnet_loss(torch.stack([good, bad]), y)
    assert both == pytest.approx(float((listnet_loss(good, y) + listnet_loss(bad, y)) / 2), abs=1e-6)
    # a swap at the bottom of the list costs less than the same swap at the top, more so at a low temperature
    bottom, top = torch.tensor([1.0, 0.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 3.0, 2.0])
    for t in (1.0, 0.3):
        assert listnet_loss(bottom, y, t) - listnet_loss(y, y, t) < listnet_loss(top, y, t) - listnet_loss(y, y, t)


@pytest.mark.parametrize("pred,y,t,err", [
    (torch.zeros(3), torch.zeros(4), 1.0, InvalidDataError),
    (torch.zeros(1), torch.zeros(1), 1.0, InvalidDataError),
    (torch.zeros(3), torch.zeros(3), 0.0, ConfigError),
    (torch.zeros(3), torch.zeros(3), float("nan"), ConfigError),
])
def test_listnet_refuses_bad_input(pred: torch.Tensor, y: torch.Tensor, t: float, err: type[Exception]) -> None:
    with pytest.raises(err):
        listnet_loss(pred, y, t)


def _data() -> OfflineData:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(256, 6)).astype(np.int64)
    y = ((x == 2).sum(1) + 0.1 * rng.normal(size=256)).astype(np.float32)[:, None]
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="tok")


def test_rank_weight_enters_the_loss_and_is_validated() -> None:
    data = _data()
    cfg = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16}, "prior": {"K": 2},
           "train": {"epochs": 2, "batch_size": 64}}
    plain, h0 = train_surrogate(data, cfg, seed=0, device="cpu")
    ranked, h1 = train_surrogate(data, {**cfg, "train": {**cfg["train"], "rank_weight": 1.0}}, seed=0, device="cpu")
    # the same first minibatch: the ranking term (at least the entropy of the batch's top-one distribution) adds
    assert h1["loss"][0] > h0["loss"][0]
    assert not all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), ranked.state_dict().values(),
                                                       strict=True))
    for bad in ({"rank_weight": -1.0}, {"rank_temperature": 0.0}):
        with pytest.raises(ConfigError):
            train_surrogate(data, {**cfg, "train": {**cfg["train"], **bad}}, seed=0, device="cpu")
