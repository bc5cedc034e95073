"""The ``n2ce-bbo`` command line, end to end on tiny settings."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.cli import main

TINY = [
    "model.latent_dim=2", "model.hidden=32", "model.prior_hidden=32", "prior.K=1", "prior.M=10",
    "train.epochs=1", "train.max_steps=20", "propose.n_chains=64", "propose.sampler.n_steps=5", "propose.chain_chunk=64",
]


def test_tasks_and_methods_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "Branin-Exact-v0" in out and "TFBind8-Exact-v0" in out
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("n2ce", "nce", "mle", "gaussian", "grad", "grad-ensemble", "cmaes", "bo-qei"):
        assert name in out


@pytest.mark.slow
def test_optimize_embedded_task_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["optimize", "--task", "Branin-Exact-v0", "--budget", "16", "--seed", "1", "--out", str(out),
                 "--quiet", *TINY])
    assert code == 0
    for name in ("designs.npz", "designs.csv", "result.json", "report.png", "train_log.csv", "model/model.json"):
        assert (out / name).is_file(), name
    result = json.loads((out / "result.json").read_text())
    assert result["method"] == "n2ce" and result["budget"] == 16
    assert result["config"]["prior"]["M"] == 10 and result["config"]["train"]["max_steps"] == 20
    assert 0.0 <= result["p100"] <= 1.0 + 1e-6
    with np.load(out / "designs.npz", allow_pickle=False) as z:
        assert z["x"].shape == (16, 2)
    assert "100th percentile" in capsys.readouterr().out


@pytest.mark.slow
def test_optimize_own_csv_data_needs_no_oracle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(300, 6))
    y = (x == 2).sum(axis=1, keepdims=True).astype(float)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", fmt="%d")
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    out = tmp_path / "mine"
    code = main(["optimize", "--x", str(tmp_path / "x.csv"), "--y", str(tmp_path / "y.csv"), "--num-classes", "4",
                 "--budget", "8", "--out", str(out), "--quiet", *TINY])
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["p100"] is None  # no oracle for the user's own data
    with np.load(out / "designs.npz", allow_pickle=False) as z:
        assert z["x"].shape == (8, 6) and z["x"].min() >= 0 and z["x"].max() < 4


def test_user_errors_exit_2_with_a_named_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--task", "Branin-Exactt-v0", "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert "Branin-Exact-v0" in capsys.readouterr().err  # close match suggested
    assert main(["optimize", "--task", "Branin-Exact-v0", "--out", str(tmp_path / "b"), "train.epoch=3"]) == 2
    assert "train.epoch" in capsys.readouterr().err
    assert main(["optimize", "--task", "Branin-Exact-v0", "--out", str(tmp_path / "c"), "train.epochs=many"]) == 2
    assert "train.epochs" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["optimize", "--task", "Branin-Exact-v0", "--out", str(locked / "run"), "--quiet"]) == 2
    finally:
        locked.chmod(stat.S_IRWXU)
    assert "writ" in capsys.readouterr().err


def test_output_path_that_is_a_file_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["optimize", "--task", "Branin-Exact-v0", "--out", str(blocker), "--quiet"]) == 2
    assert str(blocker) in capsys.readouterr().err


def test_config_show_prints_the_resolved_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--method", "n2ce"]) == 0
    out = capsys.readouterr().out
    assert "propose:" in out and "M: 100" in out


@pytest.mark.slow
def test_benchmark_narrowed_to_methods_and_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: tiny\nbudget: 8\nn_seeds: 3\ntasks: [Branin-Exact-v0]\nmethods:\n"
        "  - {name: gaussian, config: {model: {latent_dim: 2, hidden: 16}, train: {epochs: 1, max_steps: 10},"
        " propose: {n_chains: 32, chain_chunk: 32, sampler: {n_steps: 3}}}}\n"
        "  - {name: n2ce, config: {model: {latent_dim: 2, hidden: 16}, prior: {K: 1}, train: {epochs: 1, max_steps: 10},"
        " propose: {n_chains: 32, chain_chunk: 32, sampler: {n_steps: 3}}}}\n"
    )
    out = tmp_path / "bench"
    assert main(["benchmark", str(suite), "--out", str(out), "--workers", "0", "--methods", "gaussian",
                 "--seeds", "2"]) == 0
    with (out / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["task"], r["method"], r["n_seeds"]) for r in rows] == [("Branin-Exact-v0", "gaussian", "2")]
    assert main(["benchmark", str(suite), "--out", str(tmp_path / "b2"), "--methods", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_seeds_option_takes_a_count_or_explicit_seeds(tmp_path: Path) -> None:
    """``--seeds 2`` keeps the suite's first two seeds; ``--seeds 102,103`` / ``102-103`` runs those instead."""
    import argparse

    from n2ce_bbo.benchmark.suite import load_suite
    from n2ce_bbo.cli import _narrow_suite, parse_seeds
    from n2ce_bbo.errors import ConfigError

    assert parse_seeds("2") == 2
    assert parse_seeds("102,103") == parse_seeds("102-103") == [102, 103]
    assert parse_seeds("100-101, 105") == [100, 101, 105]
    for bad in ("a", "103-102", "100,100", "1-", "-3"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)

    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text("name: tiny\nbudget: 8\nseeds: [100, 101, 102]\ntasks: [Branin-Exact-v0]\n"
                          "methods: [grad]\n")

    def narrowed(seeds: str | None) -> list[int]:
        args = argparse.Namespace(tasks=None, methods=None, seeds=seeds)
        return list(_narrow_suite(load_suite(suite_file), args).seeds)

    assert narrowed(None) == [100, 101, 102]
    assert narrowed("2") == [100, 101]
    assert narrowed("103-104") == [103, 104]
    with pytest.raises(ConfigError, match=">= 1"):
        narrowed("0")


def test_benchmark_list_shows_the_shipped_suites_from_any_folder(tmp_path: Path) -> None:
    """The installed entry point, run outside the repository, finds the suites inside the package."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("n2ce-bbo")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "n2ce_bbo.cli"]
    proc = subprocess.run([*cmd, "benchmark", "--list"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("quick", "design_bench", "ablation", "branin"):
        assert f"\n{name} " in proc.stdout
    assert "2 task(s) x 4 method(s) x 2 seed(s), Q = 128" in proc.stdout  # quick


def test_benchmark_without_suite_or_out_is_a_named_user_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmark", "--out", str(tmp_path / "a")]) == 2
    assert "needs a suite" in capsys.readouterr().err
    assert main(["benchmark", "quick"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["benchmark", "quik", "--out", str(tmp_path / "b")]) == 2
    assert "Did you mean 'quick'" in capsys.readouterr().err
