"""The development tasks and probes of ``benchmarks/dev_probes.py`` (seeds >= 100 only)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dev_probes.py"


@pytest.fixture(scope="module")
def probes() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_probes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dev_probes"] = module
    spec.loader.exec_module(module)
    return module


def test_pair_field_maximum_is_exact(probes: ModuleType) -> None:
    task = probes.make_pair_field(length=5, num_classes=3, seed=100, n_rows=200)
    every = np.array(list(itertools.product(range(3), repeat=5)))
    assert task.predict(every).max() == pytest.approx(task.y_full_max, rel=1e-5)
    data = task.offline_data()
    assert np.allclose(task.predict(data.x), data.y)  # PairField labels are the oracle's, without noise
    assert abs(len(data.x) - 100) <= 1  # the bottom half of 200 rows (the median row itself may tie)


def test_epistasis_task_keeps_rows_below_observed_80th_percentile(probes: ModuleType) -> None:
    task = probes.make_epistasis(length=12, num_classes=4, seed=101, n_rows=2000)
    data = task.offline_data()
    assert data.x.shape == (1600, 12)
    clean = task.predict(data.x).reshape(-1)
    noisy = data.y.reshape(-1)
    assert not np.allclose(clean, noisy)  # training labels carry noise, the oracle does not
    assert np.array_equal(task.predict(data.x), task.predict(data.x))
    assert np.corrcoef(clean, noisy)[0, 1] > 0.5
    assert task.y_full_min <= clean.min() and clean.max() <= task.y_full_max
    other = probes.make_epistasis(length=12, num_classes=4, seed=102, n_rows=2000)
    assert not np.allclose(other.predict(data.x), task.predict(data.x))  # the seed draws the function


def test_reported_seeds_are_refused(probes: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        probes.main(["--log", str(tmp_path / "log.jsonl"), "evaluate", "PairFieldDev-3-5", "3"])
    assert not (tmp_path / "log.jsonl").exists()


def test_ensemble_probe_records_every_ranking(probes: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    tiny = json.dumps({"train": {"max_steps": 20, "min_steps": 10}})
    probes.main(["--log", str(log), "--set", tiny, "ensemble", "PairFieldDev-3-6", "100",
                 "--members", "2", "--mlps", "1", "--corr", "--min-hamming", "1"])
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["ranking"] for r in rows] == ["n2ce0", "n2ce1", "mean2", "mean2-std", "mlp0", "mean_all"]
    for r in rows:
        assert 0.0 <= r["p50"] <= r["p100"] <= 1.0 + 1e-6
        assert -1.0 <= r["spearman_fresh"] <= 1.0
