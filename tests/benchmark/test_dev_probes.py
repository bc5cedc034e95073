"""The probes of ``benchmarks/dev_probes.py`` (seeds >= 100 only); its tasks are tested in ``tests/tasks/test_dev.py``."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from n2ce_bbo.tasks import dev

from .scripts import load_script


@pytest.fixture(scope="module")
def probes() -> ModuleType:
    return load_script("dev_probes")


def test_probes_use_the_package_dev_tasks(probes: ModuleType) -> None:
    assert probes.make_dev_task is dev.make_dev_task
    for name in ("PairFieldOracle", "EpistasisOracle", "make_pair_field", "make_epistasis", "_site_and_neighbour"):
        assert not hasattr(probes, name)


def test_reported_seeds_are_refused(probes: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        probes.main(["--log", str(tmp_path / "log.jsonl"), "evaluate", "PairFieldDev-3-5", "3"])
    assert not (tmp_path / "log.jsonl").exists()


@pytest.mark.slow
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
