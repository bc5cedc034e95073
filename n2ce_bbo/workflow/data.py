"""The first step of the run path: whatever the user gives becomes training data, one way.

:func:`load_data` accepts every form the CLI, the Python API and the benchmark use (a table file, a pair of files,
arrays, a :class:`~n2ce_bbo.tasks.base.Task` or a registered task name) and returns :class:`TrainingData`; its
:func:`offline_data` is the one place that turns a user's rows into the :class:`~n2ce_bbo.tasks.base.OfflineData`
a method sees.

A user's rows (tables, files, arrays) have their duplicate designs merged (one row each, the mean score). A task's
rows are used as the task gives them, duplicates included: that is the benchmark protocol's data, so a user who
fits a registered task gets what the benchmark measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.io.dataset import DesignData, from_arrays, merge_duplicates, read_training_table, read_xy_files
from n2ce_bbo.io.fasta import is_fasta, read_fasta
from n2ce_bbo.io.schema import continuous_schema, token_schema
from n2ce_bbo.io.tables import CSV_SUFFIXES, PARQUET_SUFFIXES
from n2ce_bbo.methods.base import Method
from n2ce_bbo.methods.latent_ebm import LatentEBMMethod
from n2ce_bbo.tasks.base import OfflineData, Task
from n2ce_bbo.tasks.registry import MIN_DEV_SEED, is_dev_task, make, make_dev, task_options_for_run


@dataclass
class TrainingData:
    """Training rows with what the run path needs to know about where they came from.

    Attributes:
        data: the designs, scores and schema.
        bounds: ``[2, d]`` box of continuous designs when the source defines one (a task), else ``None`` (then
            the data's range is used).
        name: a name for logs and results (a file's stem, or the task's name).
        task: the task when the source is one (its oracle scores the final proposals), else ``None``.
        task_options: the options a registered task was built with, run-seeded ones included.
    """

    data: DesignData
    bounds: np.ndarray | None = None
    name: str = "custom"
    task: Task | None = None
    task_options: dict[str, Any] = field(default_factory=dict)


def task_data(task: Task, options: Mapping[str, Any] | None = None) -> TrainingData:
    """A task's training rows as :class:`TrainingData` (columns ``x0 ...``, duplicates kept)."""
    schema = token_schema(task.input_shape[0], int(task.num_classes or 0)) if task.is_discrete else \
        continuous_schema(task.input_shape[0])
    x = np.asarray(task.x).astype(np.int64) if task.is_discrete else np.asarray(task.x, dtype=np.float32)
    y = np.asarray(task.y, dtype=np.float64).reshape(-1)
    return TrainingData(DesignData(x, y, schema, task.name, [], int(x.shape[0])), task.bounds, task.name, task,
                        dict(options or {}))


def _is_path(obj: object) -> bool:
    return isinstance(obj, (str, Path))


def load_data(
    source: Any,
    target: str | int | None = None,
    *,
    features: Sequence[str | int] | None = None,
    design_column: str | int | None = None,
    alphabet: str | None = None,
    header: bool | None = None,
    sep: str | None = None,
    num_classes: int | None = None,
    data_dir: str | Path | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    run_seed: int | None = None,
    values: str | Path | None = None,
    id_column: str | int | None = None,
    length: int | None = None,
    outcomes: Sequence[str] = (),
) -> TrainingData:
    """Training data from any input the run path accepts.

    Args:
        source: a table file (``.csv``, ``.tsv``, ``.parquet``; a :class:`~pathlib.Path` is always a file, a string
            one when it has a table's suffix or exists, else a task name) with ``target``; a FASTA file (``.fasta``,
            ``.fa``, ``.faa``, ``.fna``, ``.fas``, also ``.gz``; :func:`~n2ce_bbo.io.fasta.read_fasta`) whose headers
            hold ``target=VALUE``, or with ``values``; a pair of file paths (designs,
            scores; ``.csv`` or ``.npy``); an ``(x, y)`` pair of arrays (``x``: numbers ``[n, d]``, token ids
            ``[n, L]`` with ``num_classes``, or a list of sequence strings); a :class:`DesignData`; a
            :class:`Task`; or a registered task name.
        target: the score column of a table (name or 0-based index); the score's name for arrays.
        features: continuous design columns of a table (default: every column but the target and the
            ``outcomes``); names for arrays.
        design_column: the table's column of sequence strings (designs are then sequences).
        alphabet: ``"dna"``, ``"rna"``, ``"protein"`` or a string of letters (default: inferred when the data's
            letters fit one cleanly; see :func:`~n2ce_bbo.io.alphabets.infer_alphabet`).
        header: whether a table's first line is a header (``None``: detected, never eating data).
        sep: the delimiter of text tables (``";"``, ``"tab"``, ...; ``None``: detected among ``, ; tab |``).
        num_classes: token vocabulary size for integer token designs.
        data_dir: Design-Bench data folder (registered Design-Bench tasks).
        task_kwargs: options of a registered task (e.g. ``max_samples``).
        run_seed: the run's seed: a registered task drawn per run (TFBind10's subset) is drawn with it unless
            ``task_kwargs`` fixes its ``seed``.
        values: FASTA data: a table of scores keyed by record id (column ``id_column``; default its first column).
        id_column: the ``values`` table's column of record ids (name or 0-based index).
        length: sequences of several lengths: keep only the rows of this length (``None``: all must share one;
            see :func:`~n2ce_bbo.io.lengths.one_length`).
        outcomes: a table's measured columns besides the score, read from the same rows (``DesignData.outcomes``,
            NaN where a row has no value): the columns of outcome constraints (:mod:`n2ce_bbo.workflow.outcomes`).
            Only a table has them.

    Raises:
        InvalidDataError, DataNotFoundError, UnknownTaskError: unreadable or unknown input, or options that do not
            fit the source.
    """
    fasta = _is_path(source) and is_fasta(source)
    table = _is_path(source) and not fasta and (isinstance(source, Path) or Path(source).expanduser().exists()
                                                or Path(source).suffix.lower() in (*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    if outcomes and not table:
        raise InvalidDataError(f"outcome columns ({', '.join(map(str, outcomes))}) are read from a table file (--data "
                               "CSV/TSV/Parquet) with the score; this data source has no such columns.")
    if (values is not None or id_column is not None) and not fasta:
        raise InvalidDataError("values / id_column (--values, --id-column) give the scores of a FASTA file's records; "
                               "the data is not a FASTA file (.fasta, .fa, .faa, .fna, .fas).")
    if fasta:
        p = Path(source).expanduser()
        if target is None:
            raise InvalidDataError(f"{p.name}: say which value is the score (target=..., --target): a header key "
                                   "such as activity in '>v17 activity=1.25', or a column of the values table.")
        if features is not None or design_column is not None:
            raise InvalidDataError(f"{p.name}: features / design_column apply to tables; a FASTA file's designs are "
                                   "its sequences.")
        d = read_fasta(p, target=str(target), values=values, id_column=id_column, alphabet=alphabet, length=length,
                       header=header, sep=sep)
        return TrainingData(merge_duplicates(d), None, p.name.split(".")[0] or "custom")
    no_length = InvalidDataError("length (--length) keeps the sequences of one length of a file or of arrays; "
                                 "a task or DesignData is used as given.")
    if length is not None and isinstance(source, (Task, DesignData)):
        raise no_length
    if isinstance(source, Task):
        return task_data(source)
    if isinstance(source, DesignData):
        return TrainingData(merge_duplicates(source), None, Path(source.source).stem or "custom")
    if isinstance(source, tuple) and len(source) == 2 and all(_is_path(s) for s in source):
        d = read_xy_files(source[0], source[1], num_classes=num_classes, alphabet=alphabet, header=header, sep=sep,
                          length=length)
        return TrainingData(merge_duplicates(d), None, Path(source[0]).stem)
    if isinstance(source, tuple) and len(source) == 2:
        names = [str(f) for f in features] if features else None
        d = from_arrays(source[0], source[1], num_classes=num_classes, alphabet=alphabet, feature_names=names,
                        target=str(target) if target is not None else "y", length=length)
        return TrainingData(merge_duplicates(d), None, "custom")
    if _is_path(source):
        p = Path(source).expanduser()
        if isinstance(source, Path) or p.suffix.lower() in CSV_SUFFIXES or p.suffix.lower() in PARQUET_SUFFIXES \
                or p.exists():
            if target is None:
                raise InvalidDataError(f"{p.name}: say which column holds the score (target=..., --target).")
            d = read_training_table(p, target=target, features=features, design_column=design_column,
                                    alphabet=alphabet, header=header, sep=sep, length=length, outcomes=outcomes)
            return TrainingData(merge_duplicates(d), None, p.stem)
        if length is not None:
            raise no_length
        options = dict(task_kwargs or {})
        if is_dev_task(str(source)):  # built per run seed (>= 100): its oracle and rows are drawn with the seed
            if run_seed is None:
                raise ConfigError(f"{source!r} is a development task, built from the run's seed: give a seed >= "
                                  f"{MIN_DEV_SEED} (--seed).")
            if options:
                raise ConfigError(f"{source!r} is a development task; its sizes are in its name and it takes no "
                                  f"task options, got {sorted(options)}.")
            return task_data(make_dev(str(source), int(run_seed), data_dir), options)
        if run_seed is not None:
            options = task_options_for_run(str(source), options, int(run_seed))
        return task_data(make(str(source), data_dir=data_dir, **options), options)
    raise InvalidDataError("data must be a table file, a pair of files, an (x, y) pair of arrays, a Task, or a "
                           f"registered task name; got {type(source).__name__}.")


def offline_data(data: DesignData, bounds: np.ndarray | None = None, name: str = "custom") -> OfflineData:
    """The optimiser's view of ``data``; continuous designs get ``bounds`` or the data's per-feature range."""
    x = np.ascontiguousarray(data.x)
    if data.schema.is_discrete:
        return OfflineData(x=x.astype(np.int64), y=data.y.astype(np.float32).reshape(-1, 1), is_discrete=True,
                           num_classes=int(data.schema.vocabulary or 0), name=name)
    x = x.astype(np.float32)
    if bounds is None:
        lo, hi = x.min(axis=0), x.max(axis=0)
        bounds = np.stack([lo, np.where(hi > lo, hi, lo + 1.0)])
    return OfflineData(x=x, y=data.y.astype(np.float32).reshape(-1, 1), is_discrete=False,
                       bounds=np.asarray(bounds, dtype=np.float32), name=name)


def planned_steps(method: Method, n: int) -> int | None:
    """Minibatches a latent-EBM method's trainer will run on ``n`` rows (``None`` for other methods): what the
    few-rows warning of :meth:`~n2ce_bbo.workflow.model.FittedModel.fit` quotes."""
    if not isinstance(method, LatentEBMMethod):
        return None
    t = method.config.surrogate.train
    rows = n if t.max_train_rows is None else min(n, t.max_train_rows)
    per_epoch = math.ceil(rows / min(t.batch_size, rows))
    total = t.epochs_for(per_epoch, rows) * per_epoch
    return total if t.max_steps is None else min(total, t.max_steps)
