"""The Python front door: ``n2ce_bbo.optimize``, ``n2ce_bbo.fit`` and ``n2ce_bbo.load``.

Every run, whoever starts it (these functions, the ``n2ce-bbo`` commands, a benchmark cell), takes one path::

    load_data -> FittedModel.fit -> FittedModel.propose -> score_with_oracle (a task with an oracle only)

so what the benchmark reports is what a user's ``fit`` + ``propose`` returns for the same data, seed and settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from n2ce_bbo.constraints import Constraints
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.workflow.data import TrainingData, load_data
from n2ce_bbo.workflow.model import FittedModel, is_latent_ebm
from n2ce_bbo.workflow.outcomes import OutcomeSpec, outcome_spec
from n2ce_bbo.workflow.prediction import acquisition_overrides, with_propose_overrides
from n2ce_bbo.workflow.result import Result, score_with_oracle
from n2ce_bbo.workflow.run_logs import log_fit, log_proposal
from n2ce_bbo.workflow.tracking import Tracker, open_tracker


def propose_for(model: FittedModel, source: TrainingData, budget: int, *, seed: int,
                constraints: Constraints | None = None, progress: bool = False, acquisition: str | None = None,
                ucb_beta: float | None = None) -> Result:
    """``model``'s batch for ``source``'s data, scored by the task's oracle when the source has one
    (``acquisition``, ``ucb_beta``: see :meth:`FittedModel.propose`)."""
    result = model.propose(budget, seed=seed, constraints=constraints, show_progress=progress,
                           acquisition=acquisition, ucb_beta=ucb_beta)
    result.task_kwargs = dict(source.task_options)
    return score_with_oracle(result, source.task)


def optimize(
    task_or_arrays: Any,
    method: str = "n2ce",
    budget: int = 128,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    *,
    data_dir: str | Path | None = None,
    num_classes: int | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    parallel: ParallelSpec | None = None,
    verbose: bool = False,
    progress: bool = False,
    acquisition: str | None = None,
    ucb_beta: float | None = None,
    mlflow: bool | str | Tracker | None = None,
) -> Result:
    """Fit ``method`` and propose ``budget`` designs for a task (or your own data), in one call.

    Args:
        task_or_arrays: a :class:`~n2ce_bbo.tasks.base.Task`, a registered task name (``n2ce_bbo.list_tasks()``),
            ``(x, y)`` arrays of your own data (``x``: ``[n, d]`` floats, or ``[n, L]`` integer tokens with
            ``num_classes``), or anything else :func:`~n2ce_bbo.workflow.data.load_data` reads.
        method: a registered method name (``n2ce``, ``nce``, ``mle``, ``gaussian``, ``grad``, ...).
        budget: number of designs to propose (Q; 128 in the Design-Bench protocol).
        seed: seed of every random choice.
        config: overrides of the method's configuration (nested mapping).
        data_dir: Design-Bench data folder (else ``N2CE_BBO_DATA_DIR``).
        num_classes: token vocabulary size when ``x`` holds token designs.
        task_kwargs: extra arguments of the task factory (for example ``max_samples``). A task drawn per run
            (TFBind10's ``max_samples`` subset) is drawn with ``seed`` unless these set its ``seed``.
        device: ``"cpu"``, ``"cuda"``; default: CUDA when available.
        parallel: how to spread the proposal work (Ray workers; sequential by default).
        verbose: print the training losses.
        progress: one progress display per phase on stderr.
        acquisition: what the proposal ranks candidates by: ``"mean"`` (the predicted score; the configured
            ``propose.acquisition`` when ``None``, ``"mean"`` by default), ``"ucb"`` (mean + ``ucb_beta`` · std) or
            ``"ei"`` (expected improvement); ``ucb`` / ``ei`` need a latent-EBM method (else ConfigError, before
            any training).
        ucb_beta: ``β`` of ``ucb`` (``None``: the configured ``propose.ucb_beta``, 1.0 by default).
        mlflow: log the run to MLflow (``docs/tracking.md``): ``True`` (``$MLFLOW_TRACKING_URI``, else
            ``./mlruns``), a URI or folder, or a :class:`~n2ce_bbo.workflow.tracking.Tracker`; ``None``: nothing.

    Returns:
        A :class:`~n2ce_bbo.workflow.result.Result`; oracle scores and normalised percentiles are filled when the
        task has an oracle.
    """
    budget = check_budget(budget)
    check_acquisition(method, config, acquisition, ucb_beta)
    tracker = open_tracker(mlflow)
    source = load_data(task_or_arrays, num_classes=num_classes, data_dir=data_dir, task_kwargs=task_kwargs,
                       run_seed=int(seed))
    with tracker.run(f"optimize {source.name}", kind="optimize") as run:
        model = FittedModel.fit(source, method, config, seed=seed, device=device, verbose=verbose,
                                show_progress=progress, parallel=parallel)
        result = propose_for(model, source, budget, seed=int(seed), progress=progress, acquisition=acquisition,
                             ucb_beta=ucb_beta)
        log_fit(run, model, task_options=source.task_options)
        log_proposal(run, result)
    return result


def check_acquisition(method: str, config: Mapping[str, Any] | None, acquisition: str | None,
                      ucb_beta: float | None) -> None:
    """Refuse, before any training, an acquisition ``method`` cannot use (``ucb`` / ``ei`` without a latent-EBM
    method) or an invalid one.

    Raises:
        ConfigError: see :func:`~n2ce_bbo.workflow.prediction.acquisition_overrides`.
    """
    if acquisition is None and ucb_beta is None:
        return
    runner = make_method(method, config, seed=0, device="cpu")
    overrides = acquisition_overrides(method, is_latent_ebm(runner), None, acquisition, ucb_beta)
    if overrides:
        with_propose_overrides(runner, overrides)  # validates the values (e.g. a negative ucb_beta)


def fit(
    data: Any,
    target: str | int | None = None,
    *,
    features: Sequence[str | int] | None = None,
    design_column: str | int | None = None,
    alphabet: str | None = None,
    header: bool | None = None,
    sep: str | None = None,
    num_classes: int | None = None,
    method: str = "n2ce",
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
    progress: bool = False,
    parallel: ParallelSpec | None = None,
    data_dir: str | Path | None = None,
    values: str | Path | None = None,
    id_column: str | int | None = None,
    length: int | None = None,
    mlflow: bool | str | Tracker | None = None,
    outcomes: Sequence[str] | OutcomeSpec | None = None,
    outcome_probability: float | None = None,
) -> FittedModel:
    """Train a method on your data once; then ``model.propose(...)``, ``model.score(...)``, ``model.save(...)``.

    Args:
        data: a table file (``.csv``, ``.tsv``, ``.parquet``) with ``target``; a FASTA file (``.fasta``, ``.fa``,
            ..., ``.gz``) with ``target=VALUE`` in each header or with ``values``; an ``(x, y)`` pair (``x``: numbers
            ``[n, d]``, token ids ``[n, L]`` with ``num_classes``, or a list of sequence strings); a pair of file
            paths; a :class:`~n2ce_bbo.tasks.base.Task`; or a registered task name.
        target: the score column of a table (name or 0-based index); the score's name for arrays.
        features: continuous design columns (default: every column but the target); names for arrays.
        design_column: the column of sequence strings (designs are then sequences).
        alphabet: ``"dna"``, ``"rna"``, ``"protein"`` or a string of letters (default: inferred when the data's
            letters fit one cleanly; a few stray letters such as ``N`` in DNA are an error naming them).
        header: whether the table's first line is a header (``None``: detected, never eating data).
        sep: the table's delimiter (``";"``, ``"tab"``, ...; ``None``: detected among ``, ; tab |``).
        num_classes: token vocabulary size for integer token arrays.
        method: a registered method (saving and scoring need a latent-EBM one: n2ce, nce, mle, gaussian).
        config: overrides of the method's settings.
        seed: training seed (and default proposal seed).
        device: ``"cpu"`` / ``"cuda"``; default CUDA when available.
        verbose: print training losses.
        progress: show a progress display on stderr.
        parallel: Ray workers for the proposal chains.
        data_dir: Design-Bench data folder (registered Design-Bench tasks).
        values: FASTA data: a table of scores keyed by record id (its ``id_column``; default its first column).
        id_column: the ``values`` table's record-id column.
        length: sequences of several lengths: keep only those of this length (default: one length is required).
        mlflow: log the fit to MLflow (``docs/tracking.md``): ``True`` (``$MLFLOW_TRACKING_URI``, else
            ``./mlruns``), a URI or folder, or a :class:`~n2ce_bbo.workflow.tracking.Tracker`; ``None``: nothing.
        outcomes: outcome constraints on measured columns of the table, e.g. ``["expression>=0.5"]`` (``>=`` or
            ``<=``): a model of each column is fitted alongside and every proposal is predicted to meet them
            (:mod:`n2ce_bbo.workflow.outcomes`); rows without a value in a column are left out of its model only.
        outcome_probability: a proposal's predicted probability of meeting every outcome constraint must be at
            least this (default 0.5: the predicted value is on the right side of the limit). ``config["outcome"]``
            holds the outcome models' settings (:class:`~n2ce_bbo.workflow.outcomes.OutcomeSettings`).

    Example:
        >>> model = n2ce_bbo.fit("activity.csv", target="score", design_column="sequence")  # doctest: +SKIP
        >>> model = n2ce_bbo.fit("assay.csv", target="activity", design_column="sequence",
        ...                      outcomes=["expression>=0.5"])  # doctest: +SKIP
    """
    config = dict(config or {})
    spec = outcome_spec(outcomes, outcome_probability, config.pop("outcome", None))  # fails before any reading
    source = load_data(data, target, features=features, design_column=design_column, alphabet=alphabet,
                       header=header, sep=sep, num_classes=num_classes, data_dir=data_dir, run_seed=seed,
                       values=values, id_column=id_column, length=length, outcomes=spec.columns if spec else ())
    with open_tracker(mlflow).run(f"fit {source.name}", kind="fit") as run:
        model = FittedModel.fit(source, method, config or None, seed=seed, device=device, verbose=verbose,
                                show_progress=progress, parallel=parallel, outcomes=spec)
        log_fit(run, model, task_options=source.task_options)
    return model


def load(path: str | Path, device: str | torch.device | None = None) -> FittedModel:
    """A model folder written by ``model.save(path)`` or ``n2ce-bbo fit --out path`` (checked, no retraining)."""
    return FittedModel.load(path, device=device)
