"""One run path: the CLI's ``optimize``, the CLI's ``fit`` + ``propose``, ``n2ce_bbo.optimize`` and a benchmark cell
on the same task, seed and settings return the same designs and scores, and a benchmark cell carries every field of
a user's result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import n2ce_bbo
from n2ce_bbo.benchmark.runner import run_suite
from n2ce_bbo.benchmark.store import load_cells
from n2ce_bbo.benchmark.suite import suite_from_dict
from n2ce_bbo.cli import main
from n2ce_bbo.workflow.data import load_data

from .conftest import TINY

TASK, METHOD, BUDGET, SEED = "Branin-Exact-v0", "n2ce", 8, 3
#: The workflow tests' tiny settings, cheaper still: every path fits the same model, so the rehearsal's second fit
#: and a long deep search would only repeat work.
SETTINGS = {**TINY, "rehearsal": {"enabled": False}, "train": {"max_steps": 30, "batch_size": 64},
            "propose": {**TINY["propose"], "explore_rounds": 3}}

pytestmark = pytest.mark.slow  # five fits and a benchmark cell: `make test`, not the fast lane


def _npz(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(folder / "designs.npz", allow_pickle=False) as z:
        return z["x"], z["surrogate_scores"]


@pytest.fixture(scope="module")
def settings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("settings") / "tiny.yaml"
    path.write_text(yaml.safe_dump(SETTINGS))
    return path


@pytest.fixture(scope="module")
def api_result() -> n2ce_bbo.Result:
    return n2ce_bbo.optimize(TASK, method=METHOD, budget=BUDGET, seed=SEED, config=SETTINGS, device="cpu")


def test_python_fit_and_propose_match_optimize(api_result: n2ce_bbo.Result) -> None:
    model = n2ce_bbo.fit(TASK, method=METHOD, config=SETTINGS, seed=SEED, device="cpu")
    result = model.propose(BUDGET, seed=SEED)
    np.testing.assert_array_equal(result.x, api_result.x)
    np.testing.assert_array_equal(result.surrogate_scores, api_result.surrogate_scores)
    np.testing.assert_array_equal(result.predicted, api_result.predicted)
    assert result.oracle_scores is None and api_result.oracle_scores is not None  # only optimize asks the oracle


def test_cli_optimize_and_fit_propose_match_the_api(api_result: n2ce_bbo.Result, settings_file: Path,
                                                     tmp_path: Path) -> None:
    common = ["--seed", str(SEED), "--config", str(settings_file), "--device", "cpu", "--quiet"]
    assert main(["optimize", "--task", TASK, "--method", METHOD, "--budget", str(BUDGET),
                 "--out", str(tmp_path / "opt"), *common]) == 0
    x, scores = _npz(tmp_path / "opt")
    np.testing.assert_array_equal(x, api_result.x)
    np.testing.assert_array_equal(scores, api_result.surrogate_scores)
    saved = json.loads((tmp_path / "opt" / "result.json").read_text())
    assert saved["p100"] == api_result.p100 and saved["p50"] == api_result.p50

    assert main(["fit", "--task", TASK, "--method", METHOD, "--out", str(tmp_path / "model"), *common]) == 0
    assert main(["propose", "--model", str(tmp_path / "model"), "--budget", str(BUDGET), "--seed", str(SEED),
                 "--device", "cpu", "--quiet", "--out", str(tmp_path / "prop")]) == 0
    x, scores = _npz(tmp_path / "prop")
    np.testing.assert_array_equal(x, api_result.x)
    np.testing.assert_array_equal(scores, api_result.surrogate_scores)


def test_a_benchmark_cell_is_the_users_result(api_result: n2ce_bbo.Result, tmp_path: Path) -> None:
    suite = suite_from_dict({"name": "one", "budget": BUDGET, "seeds": [SEED], "tasks": [{"name": TASK}],
                                   "methods": [{"name": METHOD, "config": SETTINGS}]})
    run_suite(suite, tmp_path / "run", workers=0, progress=False)
    records, _ = load_cells(tmp_path / "run")
    (cell,) = records.values()
    user = json.loads(json.dumps(api_result.to_dict()))
    assert set(user) <= set(cell), f"fields a user's result has but the cell lacks: {set(user) - set(cell)}"
    for key in ("p100", "p50", "p100_raw", "p50_raw", "best_training_y", "batch", "n_unique", "config", "design"):
        assert cell[key] == user[key], key
    assert "novelty" in cell["batch"] and "diversity" in cell["batch"]


@pytest.mark.filterwarnings("ignore::n2ce_bbo.errors.DataWarning")
def test_user_rows_are_merged_but_task_rows_are_kept_as_the_task_gives_them() -> None:
    x = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    merged = load_data((x, np.array([1.0, 3.0, 0.0, 2.0])))
    assert merged.data.n == 3 and merged.data.y.tolist() == [2.0, 0.0, 2.0]
    task = n2ce_bbo.Task.from_arrays(x, np.array([1.0, 3.0, 0.0, 2.0]))
    assert load_data(task).data.n == 4
