"""A run's outcome and the oracle's scores of it (n2ce_bbo.workflow.result)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.selection import distinct_batch
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.workflow.result import Result, evaluate, score_with_oracle, train_log_csv


def _result(x: np.ndarray, budget: int = 4) -> Result:
    return Result(task="t", method="m", seed=0, budget=budget, x=x, surrogate_scores=np.arange(len(x), dtype=float))


def test_oracle_scores_are_added_only_for_a_task_with_an_oracle() -> None:
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    task = Task.from_arrays(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), [0.0, 2.0, 4.0],
                            oracle=lambda z: z.sum(1))
    scored = score_with_oracle(_result(x), task)
    np.testing.assert_allclose(scored.oracle_scores, [1.0, 2.0])
    assert scored.p100 == pytest.approx(0.5) and scored.p50_raw == pytest.approx(1.5)
    assert evaluate(task, x)["p100_raw"] == pytest.approx(2.0)
    assert score_with_oracle(_result(x), None).p100 is None
    assert score_with_oracle(_result(x), Task.from_arrays(x, [0.0, 1.0])).p100 is None  # no oracle
    assert score_with_oracle(_result(x[:0]), task).p100 is None  # nothing to score


def test_a_short_batch_is_recorded_and_written(tmp_path: Path) -> None:
    r = _result(np.array([[0.0, 1.0], [1.0, 1.0]]), budget=4)
    d = r.to_dict(include_designs=True)
    assert d["shortfall"] == 2 and d["short_batch"] and d["x"] == [[0.0, 1.0], [1.0, 1.0]]
    assert "short batch" in r.summary()
    r.train_log = [{"step": 1, "loss": 0.5}]
    r.save(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "result.json").read_text())["n_unique"] == 2
    assert (tmp_path / "out" / "designs.csv").read_text().splitlines()[0] == "rank,x0,x1,surrogate_score"
    assert train_log_csv(r.train_log).splitlines() == ["step,loss", "1,0.5"]


def test_the_batch_check_and_the_budget_check() -> None:
    x = np.array([[1, 2], [1, 2], [3, 4]])
    kept, scores, n = distinct_batch(x, np.array([3.0, 2.0, 1.0]), 3, "m")
    assert n == 3 and kept.tolist() == [[1, 2], [3, 4]] and scores.tolist() == [3.0, 1.0]
    with pytest.raises(InvalidDataError, match="budget of 2"):
        distinct_batch(x, np.zeros(3), 2, "m")
    with pytest.raises(InvalidDataError, match="2 scores"):
        distinct_batch(x, np.zeros(2), 3, "m")
    assert check_budget(np.int64(5)) == 5
    for bad in (0, -1, True, 2.5, "8"):
        with pytest.raises(InvalidDataError, match="--budget must be a positive integer"):
            check_budget(bad, "--budget")
