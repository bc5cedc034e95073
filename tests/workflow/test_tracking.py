"""``--mlflow``: fits, proposals, benchmark cells and campaign rounds logged to a real local MLflow folder store,
read back with MLflow's own client; where runs go; and the message when MLflow is not installed."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

import n2ce_bbo
from n2ce_bbo.benchmark import run_suite, suite_from_dict
from n2ce_bbo.benchmark.suite import Cell
from n2ce_bbo.cli import build_parser, main
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.workflow.run_logs import log_round
from n2ce_bbo.workflow.tracking import (
    DEFAULT_EXPERIMENT,
    EXPERIMENT_ENV,
    FILE_STORE_ENV,
    INSTALL_HINT,
    NULL_TRACKER,
    TRACKING_ENV,
    flatten,
    open_tracker,
    tracker_from_args,
)

from .conftest import TINY, as_overrides, dna_rows, write_dna_csv

pytestmark = pytest.mark.usefixtures("one_thread")
T = as_overrides(TINY)


@pytest.fixture(scope="module", autouse=True)
def clean_env() -> Iterator[None]:
    """No MLflow variables from the caller's shell; whatever the tests set is undone afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        for name in (FILE_STORE_ENV, TRACKING_ENV, EXPERIMENT_ENV):
            mp.setenv(name, "placeholder")  # recorded, so that the next line's removal is undone too
            mp.delenv(name)
        yield


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tracking") / "mlruns"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, store: Path) -> tuple[Path, Path]:
    """A DNA table and the model folder `n2ce-bbo fit --mlflow STORE` made from it."""
    root = tmp_path_factory.mktemp("tracked-fit")
    data, model = root / "activity.csv", root / "model"
    write_dna_csv(data)
    assert main(["fit", "--data", str(data), "--target", "score", "--design-column", "sequence", "--alphabet", "dna",
                 "--out", str(model), "--quiet", "--device", "cpu", "--mlflow", str(store), *T]) == 0
    return data, model


def _client(store: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=store.resolve().as_uri())


def _runs(store: Path, kind: str) -> list[Any]:
    client = _client(store)
    experiment = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    assert experiment is not None
    return list(client.search_runs([experiment.experiment_id], filter_string=f"tags.`n2ce_bbo.kind` = '{kind}'"))


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id, path)}


def _read_artifact(client: MlflowClient, run_id: str, path: str, dst: Path) -> bytes:
    return Path(client.download_artifacts(run_id, path, str(dst))).read_bytes()


def test_fit_command_logs_settings_data_losses_and_the_model_files(fitted: tuple[Path, Path], store: Path,
                                                                    tmp_path: Path) -> None:
    _, model = fitted
    assert [r.info.status for r in _runs(store, "fit")] == ["FINISHED"]
    run = _runs(store, "fit")[0]
    params = run.data.params
    assert run.info.run_name == "fit activity"
    assert params["method"] == "n2ce" and params["seed"] == "0"
    assert (params["data.rows"], params["data.kind"], params["data.target"], params["data.length"]) == \
           ("150", "sequence", "score", "6")
    manifest = json.loads((model / "model.json").read_text())
    assert {k: v for k, v in params.items() if k.startswith("config.")} == \
           {k: str(v) for k, v in flatten(manifest["config"], "config.").items()}  # the resolved settings
    assert params["config.train.max_steps"] == "60"
    assert run.data.metrics["train/steps"] == 60 and run.data.metrics["fit_s"] > 0

    client = _client(store)
    with (model / "train_log.csv").open(newline="") as fh:
        logged = list(csv.DictReader(fh))
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [int(r["step"]) for r in logged]
    # train_log.csv keeps 6 significant digits (result.py writes ``:.6g``): compare to half a unit of the 6th
    assert [m.value for m in history] == pytest.approx([float(r["loss"]) for r in logged], rel=5e-6)
    assert _artifacts(client, run.info.run_id, "model") == {"model/model.json", "model/calibration.json",
                                                            "model/train_log.csv"}
    assert _read_artifact(client, run.info.run_id, "model/model.json", tmp_path) == (model / "model.json").read_bytes()


def test_propose_command_logs_the_batch_report_and_its_files(fitted: tuple[Path, Path], store: Path,
                                                             tmp_path: Path) -> None:
    _, model = fitted
    out = tmp_path / "batch"
    assert main(["propose", "--model", str(model), "--budget", "8", "--seed", "3", "--out", str(out), "--quiet",
                 "--device", "cpu", "--mlflow", str(store), *as_overrides({"propose": TINY["propose"]})]) == 0
    (run,) = _runs(store, "propose")
    assert run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    assert (params["budget"], params["seed"], params["model"], params["acquisition"]) == ("8", "3", str(model), "mean")
    assert params["config.propose.n_chains"] == "128"
    result = json.loads((out / "result.json").read_text())
    assert metrics["n_unique"] == 8 and metrics["propose_s"] > 0
    assert metrics["predicted/max"] == pytest.approx(result["predicted"]["best"])
    assert metrics["batch/novelty/min"] == pytest.approx(result["batch"]["novelty"]["min"])
    client = _client(store)
    assert _artifacts(client, run.info.run_id) == {"designs.csv", "result.json", "report.png"}
    assert _read_artifact(client, run.info.run_id, "designs.csv", tmp_path) == (out / "designs.csv").read_bytes()


@pytest.mark.slow
def test_benchmark_logs_one_run_per_cell_under_the_suite_run(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    config = {**TINY, "rehearsal": {"enabled": False}}
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps({"name": "tracked", "budget": 8, "seeds": [0], "tasks": ["Branin-Exact-v0"],
                                 "methods": [{"name": "n2ce", "label": "tiny", "config": config}]}))
    assert main(["benchmark", str(suite), "--out", str(tmp_path / "run"), "--workers", "0",
                 "--mlflow", str(store)]) == 0
    (parent,) = _runs(store, "benchmark")
    (cell,) = _runs(store, "cell")
    record = json.loads(next((tmp_path / "run" / "cells").glob("*.json")).read_text())
    assert parent.data.params["suite"] == "tracked" and parent.data.metrics["cells_ok"] == 1
    assert cell.data.tags["mlflow.parentRunId"] == parent.info.run_id and cell.info.status == "FINISHED"
    assert {k: cell.data.params[k] for k in ("task", "label", "method", "seed", "budget")} == \
           {"task": "Branin-Exact-v0", "label": "tiny", "method": "n2ce", "seed": "0", "budget": "8"}
    assert cell.data.params["config.train.max_steps"] == "60"
    for key in ("p100", "p50", "p100_raw", "p50_raw"):
        assert cell.data.metrics[key] == pytest.approx(record[key])
    assert _artifacts(_client(store), cell.info.run_id) == {"cell.json"}


def _failing_cell(cell: Cell) -> dict[str, Any]:
    raise ValueError(f"boom in {cell.cell_id}")


def test_a_failed_cell_run_ends_failed_with_its_error(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    suite = suite_from_dict({"name": "t", "budget": 8, "seeds": [0], "cell_retries": 0, "tasks": ["Branin-Exact-v0"],
                             "methods": ["n2ce"]})
    run_suite(suite, tmp_path / "run", workers=0, cell_fn=_failing_cell, progress=False,
              tracking=open_tracker(str(store)))
    (parent,) = _runs(store, "benchmark")
    (cell,) = _runs(store, "cell")
    assert parent.info.status == "FINISHED" and parent.data.metrics["cells_failed"] == 1
    assert cell.info.status == "FAILED" and "boom in" in cell.data.tags["n2ce_bbo.error"]


def test_api_fit_and_campaign_rounds(tmp_path: Path) -> None:
    """``n2ce_bbo.fit(..., mlflow=URI)`` logs without a model folder; :func:`log_round` nests each round under the
    campaign's run and draws the measured numbers on it round after round."""
    store = tmp_path / "mlruns"
    seqs, ys = dna_rows(150)
    config = {**TINY, "train": {**TINY["train"], "max_steps": 20}}
    model = n2ce_bbo.fit((seqs, ys), config=config, device="cpu", mlflow=str(store))
    (fit,) = _runs(store, "fit")
    client = _client(store)
    assert fit.data.params["data.rows"] == "150" and fit.data.metrics["train/steps"] == 20
    assert [m.step for m in client.get_metric_history(fit.info.run_id, "train/loss")] == \
           [r["step"] for r in model.history["step_log"]]
    assert _artifacts(client, fit.info.run_id, "model") == {"model/train_log.csv", "model/calibration.json"}

    tracker = open_tracker(str(store))
    result = model.propose(8, seed=1)
    with tracker.run("lab", kind="campaign") as campaign:
        ids = [log_round(tracker, 1, result, {"n_measured": 10, "best": 2.5, "plate": "P1"}, fit=model,
                         campaign="lab", parent=campaign),
               log_round(tracker, 2, None, {"n_measured": 18, "best": 3.0}, campaign="lab", parent=campaign)]
    (parent,) = _runs(store, "campaign")
    rounds = {r.info.run_id: r for r in _runs(store, "round")}
    assert set(rounds) == set(ids)
    first = rounds[ids[0]]
    assert first.data.tags["mlflow.parentRunId"] == parent.info.run_id and first.data.tags["n2ce_bbo.round"] == "1"
    assert first.data.metrics["measured/best"] == 2.5 and first.data.params["measured.plate"] == "P1"
    assert first.data.params["budget"] == "8" and first.data.params["proposal.seed"] == "1"  # the fit's seed is 0
    assert {"designs.csv", "result.json", "report.png"} <= _artifacts(client, first.info.run_id)
    assert [(m.step, m.value) for m in client.get_metric_history(parent.info.run_id, "measured/best")] == \
           [(1, 2.5), (2, 3.0)]


def test_campaign_commands_log_each_round_under_one_campaign_run(tmp_path: Path) -> None:
    """``campaign init | propose | add --mlflow``: three processes' worth of commands find the campaign's run again
    (one run, not one per command), nest a round run per step under it and draw the best measured value on it
    round after round."""
    store, data, folder = tmp_path / "mlruns", tmp_path / "activity.csv", tmp_path / "campaign"
    write_dna_csv(data, n=120, length=7)
    track = f"--mlflow={store}"
    assert main(["campaign", "init", "--data", str(data), "--target", "score", "--design-column", "sequence",
                 "--alphabet", "dna", "--dir", str(folder), "--quiet", "--device", "cpu", track, *T]) == 0
    for _ in range(2):
        proposed = tmp_path / "round.csv"
        assert main(["campaign", "propose", "--dir", str(folder), "--budget", "4", "--out", str(proposed), "--quiet",
                     "--device", "cpu", track]) == 0
        with proposed.open() as f:
            seqs = [row["sequence"] for row in csv.DictReader(f)]
        measured = tmp_path / "measured.csv"
        measured.write_text("sequence,score\n" + "".join(f"{s},{s.count('G') + 0.1 * s.count('C')}\n" for s in seqs))
        assert main(["campaign", "add", "--dir", str(folder), str(measured), "--quiet", "--device", "cpu", track]) == 0

    client = _client(store)
    (parent,) = _runs(store, "campaign")
    rounds = _runs(store, "round")
    assert len(rounds) == 5  # init, then propose and add twice
    assert {r.data.tags["mlflow.parentRunId"] for r in rounds} == {parent.info.run_id}
    assert sorted(r.data.tags["n2ce_bbo.round"] for r in rounds) == ["0", "1", "1", "2", "2"]
    with_fit = [r for r in rounds if "train/steps" in r.data.metrics]
    assert len(with_fit) == 3 and all("model/model.json" in _artifacts(client, r.info.run_id, "model")
                                      for r in with_fit)  # the first fit and each refit
    with_batch = [r for r in rounds if "budget" in r.data.params]
    assert len(with_batch) == 2 and all("designs.csv" in _artifacts(client, r.info.run_id) for r in with_batch)
    best = client.get_metric_history(parent.info.run_id, "measured/best")
    status = n2ce_bbo.Campaign.open(folder).status()
    assert {m.step: m.value for m in best} == {r.round: r.best for r in status}
    assert parent.data.params["method"] == "n2ce"


def _args(*extra: str) -> Any:
    return build_parser().parse_args(["fit", "--data", "a.csv", "--target", "y", "--out", "m", *extra])


def test_where_runs_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(TRACKING_ENV, (tmp_path / "from-env").as_uri())
    assert tracker_from_args(_args()) is NULL_TRACKER  # no --mlflow: nothing, even with the variable set
    assert tracker_from_args(_args("--mlflow")).uri == (tmp_path / "from-env").as_uri()
    assert tracker_from_args(_args("--mlflow", "here")).uri == (tmp_path / "here").as_uri()
    args = _args("--mlflow", "prior.M=10", "train.max_steps=5")  # argparse took an override for the URI
    assert tracker_from_args(args).uri == (tmp_path / "from-env").as_uri()
    assert args.overrides == ["prior.M=10", "train.max_steps=5"]
    monkeypatch.delenv(TRACKING_ENV)
    assert tracker_from_args(_args("--mlflow")).uri == (tmp_path / "mlruns").as_uri()
    assert open_tracker(None) is NULL_TRACKER and open_tracker(False) is NULL_TRACKER


def test_missing_mlflow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "activity.csv"
    write_dna_csv(data)
    assert main(["fit", "--data", str(data), "--target", "score", "--design-column", "sequence",
                 "--out", str(tmp_path / "model"), "--quiet", "--mlflow", *T]) == 2
    err = capsys.readouterr().err
    assert "--mlflow" in err and INSTALL_HINT in err
    assert not (tmp_path / "model").exists() and not (tmp_path / "mlruns").exists()
    with pytest.raises(ConfigError, match="n2ce-bbo\\[mlflow\\]"):
        n2ce_bbo.fit(data, target="score", design_column="sequence", mlflow=True)

