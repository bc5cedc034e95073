"""``FittedModel.fit(..., warm_start=previous)``: when a refit starts warm, and why it is cold otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.workflow.data import load_data, offline_data
from n2ce_bbo.workflow.model import FittedModel
from n2ce_bbo.workflow.warm import MAX_GROWTH, plan_warm_start

from .conftest import TINY, dna_rows

pytestmark = pytest.mark.usefixtures("one_thread")
FAST = {**TINY, "train": {"max_steps": 20, "batch_size": 64}, "rehearsal": {"enabled": False}}


@pytest.fixture(scope="module")
def previous() -> FittedModel:
    seqs, ys = dna_rows(150)
    return FittedModel.fit(load_data((seqs[:100], ys[:100])), "n2ce", FAST, seed=0, device="cpu")


def _plan(previous: FittedModel, n: int, method: str = "n2ce", config: dict | None = None,
          scale: float = 1.0) -> tuple[bool, str]:
    seqs, ys = dna_rows(n)
    data = load_data((seqs, [scale * y for y in ys])).data
    runner = make_method(method, config if config is not None else FAST, seed=0, device="cpu")
    plan = plan_warm_start(previous, method, runner, offline_data(data))
    return plan.warm, plan.reason


def test_when_a_refit_is_warm_or_cold(previous: FittedModel) -> None:
    assert previous.history["warm_start"] == {"used": False, "reason": "no previous model", "cold_rows": 100,
                                              "steps": 20}
    assert _plan(previous, 130) == (True, "")
    assert _plan(previous, 130, "gaussian")[1] == "the previous model is 'n2ce', not 'gaussian'"
    assert "baselines refit cold" in _plan(previous, 130, "grad", {})[1]
    assert "settings differ" in _plan(previous, 130, config={**FAST, "model": {**TINY["model"], "hidden": 48}})[1]
    assert "the first fit's" in _plan(previous, 130, scale=5.0)[1]  # the standardisation frame no longer fits
    warm, reason = _plan(previous, int(MAX_GROWTH * 100))
    assert not warm and "2 times or more the 100 of the last cold fit" in reason


def test_warm_refit_records_its_steps_and_the_chain_s_cold_rows(previous: FittedModel) -> None:
    seqs, ys = dna_rows(150)
    warm = FittedModel.fit(load_data((seqs[:140], ys[:140])), "n2ce", FAST, seed=0, device="cpu",
                           warm_start=previous)
    ws = warm.history["warm_start"]
    assert ws["used"] and ws["steps"] == 5 and ws["cold_steps"] == 20 and ws["cold_rows"] == 100
    assert warm.method.rehearsal["reused"] and "not rerun" in warm.method.rehearsal["reused_note"]
    assert warm.propose(4, seed=0).x.shape == (4, 6)
    # the chain remembers the last cold fit: 200 rows are twice its 100, so the next refit is cold
    new = [s for s in dna_rows(400, seed=3)[0] if s not in set(seqs)][:50]
    again = FittedModel.fit(load_data((seqs + new, ys + [1.0] * 50)), "n2ce", FAST, seed=0, device="cpu",
                            warm_start=warm)
    assert not again.history["warm_start"]["used"] and again.history["warm_start"]["cold_rows"] == again.data.n
    assert np.isfinite(again.history["loss"]).all()
