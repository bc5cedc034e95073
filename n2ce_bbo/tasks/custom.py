"""Your own tasks: from arrays, CSV or NPZ files (no pickle), or an object of the real ``design_bench`` package.

Example::

    import numpy as np
    from n2ce_bbo.tasks import from_csv, make, register_csv

    task = from_csv("my_designs.csv", y_column="score")          # every other column is a design feature
    register_csv("MyDesigns-v0", "my_designs.csv", y_column="score")
    task = make("MyDesigns-v0")                                  # the file is read when the task is made
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import DataNotFoundError, InvalidDataError
from n2ce_bbo.tasks.base import Oracle, Task
from n2ce_bbo.tasks.data_dir import load_npz
from n2ce_bbo.tasks.registry import register

PathLike = str | os.PathLike[str]


def _existing(path: PathLike, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataNotFoundError(f"{what} file {str(p)!r} does not exist.")
    return p


def from_csv(
    path: PathLike,
    y_column: str | int = "y",
    x_columns: Sequence[str | int] | None = None,
    *,
    num_classes: int | None = None,
    name: str | None = None,
    delimiter: str = ",",
    oracle: Oracle | None = None,
) -> Task:
    """A task from a CSV file with a header row: one design per row, one score column.

    Args:
        path: the CSV file.
        y_column: the score column, by header name or 0-based index.
        x_columns: design columns (names or indices); default every column but ``y_column``.
        num_classes: set it when the design columns hold integer token ids in ``[0, num_classes)``.
        name: task name; default the file's stem.
        delimiter: field separator.
        oracle: optional true objective for scoring proposals.

    Example:
        ``from_csv("designs.csv", y_column="tc", num_classes=None)`` for a file whose header is ``a,b,c,tc``.

    Raises:
        DataNotFoundError: the file does not exist.
        InvalidDataError: no header or rows, unknown columns, non-numeric cells (named by line and column),
            NaN/inf, ragged rows, out-of-range tokens.
    """
    p = _existing(path, "CSV")
    with p.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise InvalidDataError(f"CSV file {str(p)!r} needs a header row and at least one data row.")
    header = [h.strip() for h in rows[0]]

    def col(c: str | int) -> int:
        if isinstance(c, int):
            if not -len(header) <= c < len(header):
                raise InvalidDataError(f"CSV file {str(p)!r} has {len(header)} columns; column {c} does not exist.")
            return c % len(header)
        if c not in header:
            raise InvalidDataError(f"CSV file {str(p)!r} has no column {c!r}; its columns are {header}.")
        return header.index(c)

    yi = col(y_column)
    xi = [col(c) for c in x_columns] if x_columns is not None else [i for i in range(len(header)) if i != yi]
    if not xi:
        raise InvalidDataError(f"CSV file {str(p)!r} has no design columns besides the score column.")
    data = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InvalidDataError(f"CSV file {str(p)!r} line {r} has {len(row)} fields, the header has {len(header)}.")
        for c, cell in enumerate(row):
            try:
                data[r - 2, c] = float(cell)
            except ValueError:
                raise InvalidDataError(
                    f"CSV file {str(p)!r} line {r}, column {header[c]!r}: {cell!r} is not a number."
                ) from None
    x = data[:, xi]
    if num_classes is not None:
        x = _as_tokens(x, "x")
    return Task.from_arrays(x, data[:, yi], oracle=oracle, num_classes=num_classes, name=name or p.stem,
                            description=f"user data from {p.name}")


def _as_tokens(x: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(x)):
        raise InvalidDataError(f"{what} holds NaN or inf among its tokens.")
    if not np.all(x == np.round(x)):
        raise InvalidDataError(f"{what} holds non-integer values, but token designs must be integer ids.")
    return x.astype(np.int64)


def from_npz(
    path: PathLike,
    x_key: str = "x",
    y_key: str = "y",
    *,
    num_classes: int | None = None,
    name: str | None = None,
    oracle: Oracle | None = None,
) -> Task:
    """A task from an ``.npz`` archive holding designs and scores (read without pickle).

    Example:
        ``np.savez("data.npz", x=x, y=y); task = from_npz("data.npz", num_classes=4)``

    Raises:
        DataNotFoundError: the file does not exist.
        CorruptDataError: the archive is unreadable or lacks ``x_key`` / ``y_key``.
        InvalidDataError: the arrays are malformed (see :meth:`Task.from_arrays`).
    """
    p = _existing(path, "NPZ")
    d = load_npz(p, [x_key, y_key])
    return Task.from_arrays(d[x_key], d[y_key], oracle=oracle, num_classes=num_classes, name=name or p.stem,
                            description=f"user data from {p.name}")


def from_design_bench(
    db_task: Any,
    *,
    name: str | None = None,
    y_full_min: float | None = None,
    y_full_max: float | None = None,
    use_oracle: bool = True,
) -> Task:
    """Wrap a task of the real ``design_bench`` package (duck-typed; ``design_bench`` need not be installed here).

    Uses ``db_task.x``, ``db_task.y``, ``db_task.is_discrete``, ``db_task.num_classes`` (discrete tasks),
    ``db_task.predict`` (the oracle) and ``db_task.dataset_name`` (for the name). The normalisation range is
    ``y_full_min`` / ``y_full_max`` when given, else the full dataset's range when ``db_task`` exposes it
    (``dataset_min_output`` / ``dataset_max_output`` on the task or ``db_task.dataset``), else the training rows'.

    Example::

        import design_bench
        task = from_design_bench(design_bench.make("TFBind8-Exact-v0"))

    Raises:
        InvalidDataError: ``db_task`` lacks ``x``/``y``, a discrete task lacks ``num_classes``, or it is in logits
            form (call ``db_task.map_to_integers()`` first).
    """
    for attr in ("x", "y"):
        if not hasattr(db_task, attr):
            raise InvalidDataError(f"from_design_bench needs an object with .x and .y; {type(db_task).__name__} has no .{attr}.")
    if getattr(db_task, "is_logits", False):
        raise InvalidDataError("The design_bench task is in logits form: call db_task.map_to_integers() first.")
    is_discrete = bool(getattr(db_task, "is_discrete", False))
    num_classes = None
    if is_discrete:
        num_classes = getattr(db_task, "num_classes", None)
        if num_classes is None:
            raise InvalidDataError("A discrete design_bench task must expose num_classes.")
        num_classes = int(num_classes)
    predict = getattr(db_task, "predict", None) if use_oracle else None
    oracle = None
    if callable(predict):
        def oracle(x: np.ndarray) -> np.ndarray:
            return np.asarray(predict(x.astype(np.int32) if is_discrete else x.astype(np.float32)))

    def _full(attr: str) -> float | None:
        for obj in (db_task, getattr(db_task, "dataset", None)):
            v = getattr(obj, attr, None) if obj is not None else None
            if v is not None:
                try:
                    return float(np.asarray(v).reshape(-1)[0])
                except (TypeError, ValueError, IndexError):
                    return None
        return None

    lo = y_full_min if y_full_min is not None else _full("dataset_min_output")
    hi = y_full_max if y_full_max is not None else _full("dataset_max_output")
    task_name = name or str(getattr(db_task, "dataset_name", None) or "design_bench")
    return Task.from_arrays(
        np.asarray(db_task.x), np.asarray(db_task.y), oracle=oracle, num_classes=num_classes, name=task_name,
        y_full_min=lo, y_full_max=hi, description="wrapped design_bench task",
        oracle_note="design_bench's own oracle" if oracle is not None else "",
    )


def _kind(num_classes: int | None) -> str:
    return "discrete" if num_classes is not None else "continuous"


def register_arrays(name: str, x: np.ndarray, y: np.ndarray, *, overwrite: bool = False, **kwargs: Any) -> None:
    """Register in-memory arrays as task ``name`` (checked now, so errors show at registration).

    ``kwargs`` go to :meth:`Task.from_arrays` (``oracle``, ``num_classes``, ...).
    """
    task = Task.from_arrays(x, y, name=name, **kwargs)

    def factory(data_dir: PathLike | None = None) -> Task:
        return task

    register(name, factory, kind=_kind(task.num_classes), description=task.description, needs_data=False,  # type: ignore[arg-type]
             overwrite=overwrite, design_shape=task.input_shape, num_classes=task.num_classes,
             train_rows=task.dataset_size, oracle_note=task.oracle_note)


def register_csv(name: str, path: PathLike, *, overwrite: bool = False, **kwargs: Any) -> None:
    """Register a CSV file as task ``name``; it is read by ``make(name)``. ``kwargs`` go to :func:`from_csv`."""

    def factory(data_dir: PathLike | None = None) -> Task:
        return from_csv(path, name=name, **kwargs)

    register(name, factory, kind=_kind(kwargs.get("num_classes")), description=f"user CSV {Path(path).name}",  # type: ignore[arg-type]
             needs_data=False, overwrite=overwrite)


def register_npz(name: str, path: PathLike, *, overwrite: bool = False, **kwargs: Any) -> None:
    """Register an NPZ file as task ``name``; it is read by ``make(name)``. ``kwargs`` go to :func:`from_npz`."""

    def factory(data_dir: PathLike | None = None) -> Task:
        return from_npz(path, name=name, **kwargs)

    register(name, factory, kind=_kind(kwargs.get("num_classes")), description=f"user NPZ {Path(path).name}",  # type: ignore[arg-type]
             needs_data=False, overwrite=overwrite)
