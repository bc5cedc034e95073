"""What each kind of run logs to a :class:`~n2ce_bbo.workflow.tracking.Tracker` (MLflow; see ``docs/tracking.md``).

* a fit (:func:`log_fit`): parameters (method, seed, the data's facts, the resolved settings flattened as
  ``config.<section>.<key>``), the trainer's per-step losses as metric histories ``train/<loss>`` at
  ``step=<training step>``, metrics (``fit_s``, ``train/steps``, ``calibration/coverage_68`` / ``_95``,
  ``data/y_max`` ...) and the model folder's ``model.json``, ``calibration.json``, ``train_log.csv`` (under
  ``model/``);
* a proposal (:func:`log_proposal`): parameters (budget, seed, acquisition, constraints, settings), metrics
  (``propose_s``, ``batch/diversity/*``, ``batch/novelty/*``, ``predicted/mean`` / ``max`` / ``median``, the oracle's
  ``p100`` / ``p50`` when there is one) and ``designs.csv``, ``result.json``, ``report.png``;
* a benchmark cell (:func:`log_cell`): one run nested under the suite's run, with task / label / method / seed and
  the oracle's scores;
* a campaign round (:func:`log_round`): one run nested under the campaign's run, with the round's fit, proposal
  and measured summary; the measured numbers are also logged on the campaign's run at ``step=round``, so its
  charts show them round after round.

Metric names group with ``/`` (MLflow's charts group on it), parameter names follow the settings with ``.``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.workflow.model import FittedModel
from n2ce_bbo.workflow.result import Result, train_log_csv
from n2ce_bbo.workflow.tracking import TrackedRun, Tracker, flatten, metric_value

#: Model-folder files logged with a fit, and result-folder files logged with a proposal.
FIT_FILES = ("model.json", "calibration.json", "train_log.csv")
PROPOSAL_FILES = ("designs.csv", "result.json", "report.png")


def log_new_params(run: TrackedRun, params: Mapping[str, Any], rename: str) -> None:
    """Log ``params``; a key this run already holds with another value (MLflow refuses to change one) is logged
    as ``rename + key`` instead: e.g. a proposal's seed after the fit's in one ``optimize`` run."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        held = run.params.get(key)
        out[rename + key if held is not None and held != str(value) else key] = value
    run.log_params(out)


def fit_params(model: FittedModel) -> dict[str, Any]:
    """A fit's parameters: method, seed, the data's facts and the method's resolved settings (``config.*``)."""
    data, schema = model.data, model.schema
    params: dict[str, Any] = {
        "method": model.method_name, "seed": model.seed, "data.name": model.name, "data.source": data.source,
        "data.rows": data.n, "data.rows_read": data.n_read, "data.kind": schema.kind, "data.target": schema.target,
        "data.schema": schema.describe(), "data.columns": len(schema.columns),
    }
    for key in ("length", "num_classes"):
        if getattr(schema, key, None) is not None:
            params[f"data.{key}"] = getattr(schema, key)
    config = model.method.config_dict() if hasattr(model.method, "config_dict") else {}
    params.update(flatten(config, "config."))
    return params


def log_fit(run: TrackedRun, model: FittedModel, *, folder: str | Path | None = None,
            task_options: Mapping[str, Any] | None = None) -> None:
    """Log a fitted model (see the module docstring). ``folder``: its saved model folder, whose files are logged;
    without one, ``train_log.csv`` and ``calibration.json`` are written from memory. ``task_options``: the options
    a registered task was built with (``data.task.<key>``). Nothing happens when tracking is off."""
    if run.run_id is None:
        return
    params = fit_params(model)
    params.update(flatten(dict(task_options or {}), "data.task."))
    log_new_params(run, params, "fit.")
    y = model.data.y
    metrics: dict[str, Any] = {"fit_s": model.fit_s, "data/y_min": float(y.min()), "data/y_max": float(y.max()),
                               "data/y_mean": float(y.mean())}
    history = model.history
    metrics["train/steps"] = history.get("steps")
    if history.get("loss"):
        metrics["train/final_epoch_loss"] = history["loss"][-1]
    calibration = model.calibration or {}
    metrics.update({f"calibration/{k}": v for k, v in calibration.items() if metric_value(v) is not None})
    run.log_metrics(metrics)
    if calibration.get("not_measured"):
        log_new_params(run, {"calibration.not_measured": calibration["not_measured"]}, "fit.")
    steps = list(history.get("step_log", []))
    run.log_metric_rows(steps, step_key="step", prefix="train/", skip=("epoch",))
    if folder is not None:
        for name in FIT_FILES:
            if (Path(folder) / name).is_file():
                run.log_file(Path(folder) / name, "model")
        return
    if steps:
        run.log_text(train_log_csv(steps), "model/train_log.csv")
    if model.calibration is not None:
        run.log_text(json.dumps(model.calibration, indent=2, default=str), "model/calibration.json")


def proposal_metrics(result: Result) -> dict[str, Any]:
    """A proposal's metrics: timing, batch size, diversity and novelty, predicted scores and the oracle's."""
    out: dict[str, Any] = {"propose_s": result.propose_s, "n_unique": result.n_unique, "shortfall": result.shortfall,
                           "best_training_y": result.best_training_y}
    for section in ("diversity", "novelty"):
        for key, value in (result.batch.get(section) or {}).items():
            out[f"batch/{section}/{key}"] = value
    for name, values in (("predicted", result.predicted), ("predicted_std", result.predicted_std),
                         ("in_distribution", result.in_distribution)):
        if values is not None and len(values):
            out.update({f"{name}/mean": float(values.mean()), f"{name}/max": float(values.max()),
                        f"{name}/median": float(np.median(values)), f"{name}/min": float(values.min())})
    if result.oracle_scores is not None:
        out.update(p100=result.p100, p50=result.p50, p100_raw=result.p100_raw, p50_raw=result.p50_raw,
                   eval_s=result.eval_s)
    return out


def log_proposal(run: TrackedRun, result: Result, *, folder: str | Path | None = None,
                 model_path: str | Path | None = None) -> None:
    """Log a proposal (see the module docstring). ``folder``: where ``result.save`` wrote its files (without one,
    they are written to a temporary folder for the run); ``model_path``: the model folder it came from. Nothing
    happens when tracking is off."""
    if run.run_id is None:
        return
    acquisition = (result.config.get("propose") or {}).get("acquisition") if result.config else None
    params: dict[str, Any] = {"method": result.method, "seed": result.seed, "budget": result.budget,
                              "task": result.task, "acquisition": acquisition,
                              "constraints": "; ".join(result.constraints) or "none"}
    if model_path is not None:
        params["model"] = str(model_path)
    params.update(flatten(result.config or {}, "config."))
    params.update(flatten(result.task_kwargs or {}, "data.task."))
    log_new_params(run, params, "proposal.")
    run.log_metrics(proposal_metrics(result))
    if folder is not None:
        _log_files(run, Path(folder), PROPOSAL_FILES)
        return
    with tempfile.TemporaryDirectory(prefix="n2ce-bbo-proposal-") as tmp:
        result.save(tmp)
        _log_files(run, Path(tmp), PROPOSAL_FILES)


def _log_files(run: TrackedRun, folder: Path, names: tuple[str, ...]) -> None:
    for name in names:
        if (folder / name).is_file():
            run.log_file(folder / name)


#: Numbers of a benchmark cell's record logged as the cell run's metrics.
CELL_METRICS = ("p100", "p50", "p100_raw", "p50_raw", "best_training_y", "train_s", "propose_s", "eval_s", "wall_s",
                "n_unique", "shortfall")


def log_cell(tracker: Tracker, parent: TrackedRun, record: Mapping[str, Any], *, suite: str = "") -> str | None:
    """One run for a finished benchmark cell (``record``: its cell file's contents, ``status`` ok or failed),
    nested under the suite's run ``parent``: parameters ``task``, ``label``, ``method``, ``seed``, ``budget`` and
    the resolved settings; metrics :data:`CELL_METRICS` (``p100`` / ``p50``: normalised oracle scores) and the
    batch's diversity and novelty; the record as ``cell.json``. A failed cell's run ends FAILED with its error.
    Returns the run's id (``None`` when tracking is off)."""
    if not tracker.enabled:
        return None
    name = f"{record.get('task')} {record.get('label')} seed {record.get('seed')}"
    tags = {"n2ce_bbo.suite": suite, "n2ce_bbo.cell_status": record.get("status"),
            "n2ce_bbo.config_hash": record.get("config_hash")}
    with tracker.run(name, kind="cell", parent=parent, tags=tags) as run:
        params = {k: record.get(k) for k in ("task", "label", "method", "seed", "budget")}
        params.update(flatten(record.get("config") or {}, "config."))
        params.update(flatten(record.get("task_kwargs") or {}, "data.task."))
        run.log_params(params)
        metrics = {k: record.get(k) for k in CELL_METRICS}
        batch = record.get("batch") or {}
        for section in ("diversity", "novelty"):
            metrics.update({f"batch/{section}/{k}": v for k, v in (batch.get(section) or {}).items()})
        run.log_metrics(metrics)
        run.log_text(json.dumps(record, indent=1, sort_keys=True, default=str), "cell.json")
        if record.get("status") != "ok":
            run.mark_failed(str(record.get("error") or "failed"))
        return run.run_id


def log_round(tracker: Tracker, round_index: int, result: Result | None,
              measured_summary: Mapping[str, Any] | None = None, fit: FittedModel | None = None, *, campaign: str | None = None, parent: TrackedRun | None = None,
              folder: str | Path | None = None, model_folder: str | Path | None = None) -> str | None:
    """One run for a campaign round, nested under the campaign's run ``parent`` when given.

    Args:
        tracker: where runs go (:func:`~n2ce_bbo.workflow.tracking.open_tracker`; ``NULL_TRACKER``: nothing).
        round_index: the round's number (also the ``step`` of the measured metrics on ``parent``).
        result: the round's proposed batch (``None`` for a step that only adds measurements and refits).
        measured_summary: what was measured of earlier proposals, e.g. ``{"n_measured": 96, "best": 3.2,
            "hit_rate": 0.4}``, nested mappings allowed: numbers become metrics ``measured/<key>`` (and on
            ``parent`` too, at ``step=round_index``), other values parameters ``measured.<key>``.
        fit: the round's fitted model, logged as by :func:`log_fit` (``None``: no fit this round).
        campaign: the campaign's name (run name and tag ``n2ce_bbo.campaign``).
        parent: the campaign's run (``tracker.run(name, kind="campaign")``).
        folder: the round's result folder (as :func:`log_proposal`); model_folder: its model folder.

    Returns:
        The round run's id (``None`` when tracking is off).
    """
    name = f"{campaign or 'campaign'} round {round_index}"
    tags = {"n2ce_bbo.campaign": campaign or "", "n2ce_bbo.round": round_index}
    flat = flatten(dict(measured_summary or {}))
    numbers = {f"measured/{k.replace('.', '/')}": v for k, v in flat.items() if metric_value(v) is not None}
    with tracker.run(name, kind="round", parent=parent, tags=tags) as run:
        run.log_params({"round": round_index, "campaign": campaign or "",
                        **{f"measured.{k}": v for k, v in flat.items() if metric_value(v) is None}})
        if fit is not None:
            log_fit(run, fit, folder=model_folder)
        if result is not None:
            log_proposal(run, result, folder=folder)
        run.log_metrics(numbers)
        run_id = run.run_id
    if parent is not None:
        parent.log_metrics(numbers, step=round_index)
    return run_id
