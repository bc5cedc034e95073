"""``n2ce_bbo.fit`` and ``n2ce_bbo.load``: the Python side of ``n2ce-bbo fit`` / ``propose`` / ``score``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.dataset import DesignData, from_arrays, read_training_table
from n2ce_bbo.io.schema import continuous_schema, token_schema
from n2ce_bbo.io.tables import CSV_SUFFIXES, PARQUET_SUFFIXES
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.workflow.model import FittedModel


def task_data(task: Task) -> tuple[DesignData, np.ndarray | None, str]:
    """A registered task's training rows as :class:`DesignData` (columns ``x0 ...``), its box and name."""
    schema = token_schema(task.input_shape[0], int(task.num_classes or 0)) if task.is_discrete else \
        continuous_schema(task.input_shape[0])
    x = np.asarray(task.x).astype(np.int64) if task.is_discrete else np.asarray(task.x, dtype=np.float32)
    y = np.asarray(task.y, dtype=np.float64).reshape(-1)
    return DesignData(x, y, schema, task.name, [], int(x.shape[0])), task.bounds, task.name


def load_data(
    data: Any,
    target: str | int | None = None,
    *,
    features: Sequence[str | int] | None = None,
    design_column: str | int | None = None,
    alphabet: str | None = None,
    header: bool | None = None,
    num_classes: int | None = None,
    data_dir: str | Path | None = None,
) -> tuple[DesignData, np.ndarray | None, str]:
    """``(training data, continuous design box or None, name)`` from any input :func:`fit` accepts.

    Raises:
        InvalidDataError, DataNotFoundError, UnknownTaskError: unreadable or unknown input.
    """
    if isinstance(data, DesignData):
        return data, None, Path(data.source).stem or "custom"
    if isinstance(data, Task):
        return task_data(data)
    if isinstance(data, (str, Path)):
        p = Path(data).expanduser()
        if p.suffix.lower() in CSV_SUFFIXES or p.suffix.lower() in PARQUET_SUFFIXES or p.exists():
            if target is None:
                raise InvalidDataError(f"{p.name}: say which column holds the score (target=..., --target).")
            d = read_training_table(p, target=target, features=features, design_column=design_column,
                                    alphabet=alphabet, header=header)
            return d, None, p.stem
        from n2ce_bbo.tasks import make

        return task_data(make(str(data), data_dir=data_dir))
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        names = [str(f) for f in features] if features else None
        d = from_arrays(x, y, num_classes=num_classes, alphabet=alphabet, feature_names=names,
                        target=str(target) if target is not None else "y")
        return d, None, "custom"
    raise InvalidDataError("data must be a table file, an (x, y) pair, a Task, or a registered task name; "
                           f"got {type(data).__name__}.")


def fit(
    data: Any,
    target: str | int | None = None,
    *,
    features: Sequence[str | int] | None = None,
    design_column: str | int | None = None,
    alphabet: str | None = None,
    header: bool | None = None,
    num_classes: int | None = None,
    method: str = "n2ce",
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
    progress: bool = False,
    parallel: ParallelSpec | None = None,
    data_dir: str | Path | None = None,
) -> FittedModel:
    """Train a method on your data once; then ``model.propose(...)``, ``model.score(...)``, ``model.save(...)``.

    Args:
        data: a table file (``.csv``, ``.tsv``, ``.parquet``) with ``target``; an ``(x, y)`` pair (``x``: numbers
            ``[n, d]``, token ids ``[n, L]`` with ``num_classes``, or a list of sequence strings); a
            :class:`~n2ce_bbo.tasks.base.Task`; or a registered task name.
        target: the score column of a table (name or 0-based index); the score's name for arrays.
        features: continuous design columns (default: every column but the target); names for arrays.
        design_column: the column of sequence strings (designs are then sequences).
        alphabet: ``"dna"``, ``"rna"``, ``"protein"`` or a string of letters (default: inferred from the data).
        header: whether the table's first line is a header (``None``: detected, never eating data).
        num_classes: token vocabulary size for integer token arrays.
        method: a registered method (saving and scoring need a latent-EBM one: n2ce, nce, mle, gaussian).
        config: overrides of the method's settings.
        seed: training seed (and default proposal seed).
        device: ``"cpu"`` / ``"cuda"``; default CUDA when available.
        verbose: print training losses.
        progress: show a progress display on stderr.
        parallel: Ray workers for the proposal chains.
        data_dir: Design-Bench data folder (registered Design-Bench tasks).

    Example:
        >>> model = n2ce_bbo.fit("activity.csv", target="score", design_column="sequence")  # doctest: +SKIP
    """
    d, bounds, name = load_data(data, target, features=features, design_column=design_column, alphabet=alphabet,
                                header=header, num_classes=num_classes, data_dir=data_dir)
    return FittedModel.fit(d, method, config, seed=seed, device=device, verbose=verbose, show_progress=progress,
                           parallel=parallel, bounds=bounds, name=name)


def load(path: str | Path, device: str | torch.device | None = None) -> FittedModel:
    """A model folder written by ``model.save(path)`` or ``n2ce-bbo fit --out path`` (checked, no retraining)."""
    return FittedModel.load(path, device=device)
