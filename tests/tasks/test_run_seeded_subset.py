"""TFBind10's 10,000-row subset is drawn per run: its seed follows the run's seed in optimize, the CLI and the
benchmark runner (on small fake data), unless the caller fixes it; the result records the options used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.benchmark import load_cells, run_suite, suite_from_dict
from n2ce_bbo.cli import main
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.tasks import make, register
from n2ce_bbo.tasks.design_bench import tokens_to_codes
from n2ce_bbo.tasks.registry import task_options_for_run
from n2ce_bbo.workflow.data import load_data

TASK = "TFBind10-Exact-v0"
GRAD_TINY = {"regressor": {"epochs": 1, "hidden_sizes": [8], "batch_size": 64}, "n_steps": 2}


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compact TFBind10 folder with 3,000 rows over 2,000 distinct 10-mers and a full oracle table."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("tfbind10") / "data"
    (root / "tfbind10").mkdir(parents=True)
    codes = np.sort(rng.choice(4**10, size=2_000, replace=False))
    counts = np.zeros(4**10, dtype=np.uint8)
    counts[codes] = rng.integers(1, 3, size=codes.size)
    y_values = np.sort(rng.normal(size=400)).astype(np.float32)
    y_index = rng.integers(0, y_values.size, size=int(counts.sum())).astype(np.uint16)
    np.savez_compressed(root / "tfbind10" / "tf_bind_10_pho4_full.npz", counts=counts, y_values=y_values,
                        y_index=y_index)
    np.savez_compressed(root / "tfbind10" / "tf_bind_10_pho4_oracle.npz",
                        y=rng.normal(size=(4**10, 1)).astype(np.float32))
    return root


def _codes(task: n2ce_bbo.Task) -> list[int]:
    return tokens_to_codes(task.x, 4).tolist()


def test_options_for_a_run() -> None:
    assert task_options_for_run(TASK, {"max_samples": 10_000}, 3) == {"max_samples": 10_000, "seed": 3}
    assert task_options_for_run(TASK, {"max_samples": 10_000, "seed": 7}, 3) == {"max_samples": 10_000, "seed": 7}
    assert task_options_for_run(TASK, None, 0) == {"seed": 0}
    # tasks whose data does not depend on the run keep their options as given (Superconductor's seed is its oracle's)
    assert task_options_for_run("Superconductor-RandomForest-v0", {}, 3) == {}
    assert task_options_for_run("Branin-Exact-v0", {"n_samples": 100}, 3) == {"n_samples": 100}


def test_register_checks_the_run_seed_option() -> None:
    def factory(data_dir: object = None, subset: int = 0) -> n2ce_bbo.Task:
        return make("Branin-Exact-v0")

    with pytest.raises(ConfigError, match="not an option of its factory"):
        register("RunSeeded-v0", factory, kind="continuous", description="d", needs_data=False,
                 run_seed_option="seed", overwrite=True)


def test_each_run_seed_draws_its_own_subset(fake_data: Path) -> None:
    opts = {"max_samples": 500}
    a = load_data(TASK, data_dir=fake_data, task_kwargs=opts, run_seed=1).task
    b = load_data(TASK, data_dir=fake_data, task_kwargs=opts, run_seed=2).task
    assert a is not None and b is not None
    assert a.dataset_size == b.dataset_size == 500 and _codes(a) != _codes(b)
    assert _codes(a) == _codes(make(TASK, data_dir=fake_data, max_samples=500, seed=1))
    fixed = load_data(TASK, data_dir=fake_data, task_kwargs={**opts, "seed": 5}, run_seed=2).task
    assert fixed is not None
    assert _codes(fixed) == _codes(make(TASK, data_dir=fake_data, max_samples=500, seed=5))


def test_optimize_records_the_subset_it_trained_on(fake_data: Path) -> None:
    r = n2ce_bbo.optimize(TASK, method="grad", budget=4, seed=3, config=GRAD_TINY, data_dir=fake_data,
                          task_kwargs={"max_samples": 500})
    assert r.task_kwargs == {"max_samples": 500, "seed": 3} and r.to_dict()["task_kwargs"] == r.task_kwargs
    subset = make(TASK, data_dir=fake_data, max_samples=500, seed=3)
    assert r.best_training_y == pytest.approx(float(subset.y.max()))


def test_cli_optimize_subset_follows_seed(fake_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["optimize", "--task", TASK, "--data-dir", str(fake_data), "--task-arg", "max_samples=500",
                 "--method", "grad", "--budget", "4", "--seed", "4", "--out", str(out), "--quiet",
                 "regressor.epochs=1", "regressor.hidden_sizes=[8]", "n_steps=2"]) == 0
    assert json.loads((out / "result.json").read_text())["task_kwargs"] == {"max_samples": 500, "seed": 4}
    assert main(["optimize", "--x", "x.csv", "--y", "y.csv", "--task-arg", "a=1", "--out", str(tmp_path / "b")]) == 2


def test_benchmark_cells_draw_a_subset_per_seed(fake_data: Path, tmp_path: Path) -> None:
    suite = suite_from_dict({
        "name": "t10", "budget": 4, "seeds": [0, 1], "data_dir": str(fake_data),
        "tasks": [{"name": TASK, "kwargs": {"max_samples": 500}}],
        "methods": [{"name": "grad", "config": GRAD_TINY}],
    })
    out = run_suite(suite, tmp_path / "bench", workers=0, progress=False)
    records, _ = load_cells(out)
    for seed in (0, 1):
        rec = records[f"{TASK}__grad__seed{seed}"]
        assert rec["status"] == "ok", rec.get("error")
        assert rec["task_kwargs"] == {"max_samples": 500, "seed": seed}
        assert rec["spec"]["task_kwargs"] == {"max_samples": 500}  # the suite's own settings, unchanged
