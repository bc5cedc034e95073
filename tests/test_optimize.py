"""optimize(): the batch a method returns is checked (Q distinct designs) before the oracle scores it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods import registry
from n2ce_bbo.methods.base import Method, Proposal
from n2ce_bbo.methods.selection import distinct_batch
from n2ce_bbo.tasks.base import OfflineData, Task
from n2ce_bbo.workflow.api import optimize


@dataclass
class RepeatConfig:
    """Settings of the fake method.

    Attributes:
        n_distinct: distinct designs per batch.
        n_rows: rows returned: the distinct designs, then copies of the best one.
    """

    n_distinct: int = 4
    n_rows: int = 8


class RepeatingMethod(Method):
    """Returns ``n_distinct`` designs, best first, then the best one again until ``n_rows`` rows."""

    Config = RepeatConfig

    def fit(self, data: OfflineData) -> None:
        self.data = data

    def propose(self, budget: int) -> Proposal:
        cfg = self.config
        base = np.linspace(0.9, 0.0, cfg.n_distinct, dtype=np.float32)[:, None].repeat(2, axis=1)
        idx = np.concatenate([np.arange(cfg.n_distinct), np.zeros(cfg.n_rows - cfg.n_distinct, dtype=np.int64)])
        return Proposal(x=base[idx], scores=-idx.astype(np.float64))


@pytest.fixture
def repeating() -> Iterator[str]:
    """The fake method registered under a test-only name (removed again afterwards), its batch spacing off: these
    tests check the batch a method returns, which the data-derived filters would otherwise choose from."""
    registry.register_method("test-repeating", RepeatingMethod, {"filters": {"min_distance": 0.0}}, "repeats designs")
    yield "test-repeating"
    registry._METHODS.remove("test-repeating")


def _task() -> Task:
    x = np.random.default_rng(0).uniform(0, 1, size=(50, 2)).astype(np.float32)
    return Task.from_arrays(x, x.sum(1), oracle=lambda z: z.sum(1), name="sum2", y_full_min=0.0, y_full_max=2.0)


def test_full_batch_is_not_flagged(repeating: str) -> None:
    r = optimize(_task(), method=repeating, budget=8, config={"n_distinct": 8, "n_rows": 8})
    assert r.n_unique == 8 and r.shortfall == 0
    d = r.to_dict()
    assert d["n_proposed"] == 8 and d["shortfall"] == 0 and d["short_batch"] is False
    assert "short batch" not in r.summary()


def test_duplicates_are_dropped_and_the_short_batch_flagged(repeating: str, tmp_path: Path) -> None:
    r = optimize(_task(), method=repeating, budget=8, config={"n_distinct": 3, "n_rows": 8})
    assert r.x.shape == (3, 2) and r.surrogate_scores.tolist() == [0.0, -1.0, -2.0]  # first copies, best first
    # percentiles over the three distinct designs (normalised 0.9, 0.45, 0); the five copies of the best
    # design would have lifted p50 to 0.9 had they counted
    assert r.p100 == pytest.approx(0.9) and r.p50 == pytest.approx(0.45)
    assert r.shortfall == 5
    assert "short batch: 3 distinct designs for a budget of 8" in r.summary()
    saved = json.loads((r.save(tmp_path, plot=False) / "result.json").read_text())
    assert saved["n_proposed"] == 8 and saved["n_unique"] == 3
    assert saved["shortfall"] == 5 and saved["short_batch"] is True


def test_duplicates_do_not_inflate_the_median(repeating: str) -> None:
    # 2 distinct designs, the best one returned 7 times: counting copies would put p50 at the best score
    r = optimize(_task(), method=repeating, budget=8, config={"n_distinct": 2, "n_rows": 2})
    r_dup = optimize(_task(), method=repeating, budget=8, config={"n_distinct": 2, "n_rows": 8})
    assert r_dup.p50 == r.p50 < r_dup.p100
    assert r.shortfall == r_dup.shortfall == 6


def test_more_designs_than_the_budget_is_an_error(repeating: str) -> None:
    with pytest.raises(InvalidDataError, match="returned 9 designs for a budget of 8"):
        optimize(_task(), method=repeating, budget=8, config={"n_distinct": 9, "n_rows": 9})


def test_distinct_batch_checks_scores() -> None:
    x = np.array([[1.0], [1.0], [2.0]])
    kept, scores, n = distinct_batch(x, np.array([3.0, 2.0, 1.0]), 4, "m")
    assert kept.tolist() == [[1.0], [2.0]] and scores.tolist() == [3.0, 1.0] and n == 3
    with pytest.raises(InvalidDataError, match="3 designs but 2 scores"):
        distinct_batch(x, np.zeros(2), 4, "m")
