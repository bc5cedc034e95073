"""A user's training data (designs and one score per design) from a table, a pair of files, or arrays.

Every reader returns a :class:`DesignData`: designs in the form methods use, the scores, and the
:class:`~n2ce_bbo.io.schema.DesignSchema` that maps them back to the user's columns. Bad input raises
:class:`~n2ce_bbo.errors.InvalidDataError` naming the line and column: a letter outside the alphabet,
sequences of unequal length, a missing target column, a header line without data, missing or NaN scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import DataWarning, InvalidDataError
from n2ce_bbo.io.alphabets import Alphabet, infer_alphabet, parse_alphabet
from n2ce_bbo.io.lengths import one_length, one_length_table
from n2ce_bbo.io.measured import merge_measured, read_measured
from n2ce_bbo.io.numeric import as_designs, load_npy, read_scores
from n2ce_bbo.io.schema import (
    DesignSchema,
    continuous_schema,
    encode_column,
    infer_column_alphabet,
    sequence_schema,
    token_schema,
)
from n2ce_bbo.io.tables import Table, read_table

#: Fewer training rows than this get a warning: a surrogate learns little from them.
FEW_ROWS = 50


@dataclass(frozen=True)
class DesignData:
    """Training designs and scores with their schema.

    Attributes:
        x: designs: float32 ``[n, d]`` or int64 token ids ``[n, L]``.
        y: scores, float64 ``[n]``; higher is better.
        schema: the columns the designs came from (and are written back to).
        source: the file name, or ``"arrays"``.
        labels: where each row came from (``"line 7"``), for messages.
        n_read: rows read, before duplicate designs were merged.
        notes: facts worth telling the user (duplicates merged, ...).
        outcomes: measured columns besides the score, ``{column: float64 [n]}``, NaN where a row has no value
            (read only when asked for: outcome constraints, :mod:`n2ce_bbo.io.measured`).
    """

    x: np.ndarray
    y: np.ndarray
    schema: DesignSchema
    source: str = "arrays"
    labels: list[str] = field(default_factory=list)
    n_read: int = 0
    notes: list[str] = field(default_factory=list)
    outcomes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of (distinct) training designs."""
        return int(self.x.shape[0])


def _check_scores(y: np.ndarray, labels: Sequence[str], where: str, target: str) -> np.ndarray:
    bad = ~np.isfinite(y)
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = ", ".join(labels[i] for i in idx[:5]) + (", ..." if idx.size > 5 else "")
        raise InvalidDataError(
            f"{where}: target column {target!r} is missing, NaN or infinite in {idx.size} row"
            f"{'s' if idx.size != 1 else ''} ({shown}); remove those rows or fill in their scores."
        )
    return y


def _check_rows(n: int, where: str) -> None:
    if n < 2:
        raise InvalidDataError(f"{where}: {n} data row{'s' if n != 1 else ''}; at least 2 are needed.")


def read_training_table(
    path: str | Path,
    *,
    target: str | int,
    features: Sequence[str | int] | None = None,
    design_column: str | int | None = None,
    alphabet: str | Alphabet | None = None,
    header: bool | None = None,
    sep: str | None = None,
    length: int | None = None,
    outcomes: Sequence[str] = (),
) -> DesignData:
    """Designs and scores from one table (CSV, TSV or Parquet), one design per row.

    Args:
        path: the file.
        target: the score column (name, or 0-based index).
        features: continuous design columns; default every column but the target and the ``outcomes``.
        design_column: the column of sequence strings (then designs are sequences, not features).
        alphabet: ``"dna"``, ``"rna"``, ``"protein"``, a string of letters, an :class:`Alphabet`, or ``None`` to
            infer it when the data's letters fit one cleanly (:func:`~n2ce_bbo.io.alphabets.infer_alphabet`).
        header: ``True``/``False`` says whether the first line is a header; ``None`` detects it (see
            :mod:`n2ce_bbo.io.tables`).
        sep: the delimiter of a text table (``None``: detected; see :func:`~n2ce_bbo.io.tables.read_table`).
        length: sequences: keep only the rows of this length (``None``: all must share one length; see
            :func:`~n2ce_bbo.io.lengths.one_length`).
        outcomes: measured columns to read besides the score (``DesignData.outcomes``; missing cells are NaN).

    Raises:
        DataNotFoundError: the file does not exist.
        InvalidDataError: see the module docstring; also an outcome column that does not exist or is a design /
            target column (:func:`~n2ce_bbo.io.measured.read_measured`).
    """
    if design_column is not None and features:
        raise InvalidDataError("give either a design column (sequences) or feature columns, not both.")
    names = [str(target)] + [str(f) for f in features or []] + ([str(design_column)] if design_column is not None else [])
    names += [str(o) for o in outcomes]
    table = read_table(path, header=header, names=names, sep=sep)
    jt = table.column_index(target, "target column")
    notes: list[str] = []
    if design_column is not None:
        table, _, note = one_length_table(table, table.column_index(design_column, "design column"), length)
        notes += [note] if note else []
    elif length is not None:
        raise InvalidDataError("--length keeps the sequences of one length; it needs --design-column.")
    y = _check_scores(table.numbers(jt, "target column", allow_missing=True), table.labels, table.name,
                      table.column_name(jt))
    target_name = table.column_name(jt) if table.header is not None else "y"
    if design_column is not None:
        js = table.column_index(design_column, "design column")
        if js == jt:
            raise InvalidDataError(f"{table.name}: the design column and the target column are the same column.")
        alpha = _table_alphabet(alphabet, table, js)
        x = encode_column(alpha, table, js)
        column = table.column_name(js) if table.header is not None else "sequence"
        schema = sequence_schema(alpha, x.shape[1], column, target_name)
        if table.header is None:
            schema = replace(schema, positions=(js,))
    else:
        if alphabet is not None:
            raise InvalidDataError("--alphabet needs --design-column (the column of sequences).")
        skip = {jt, *(table.column_index(o, "outcome column") for o in outcomes)}
        cols = [table.column_index(f, "feature column") for f in features] if features else \
            [j for j in range(table.width) if j not in skip]
        if not cols:
            raise InvalidDataError(f"{table.name} has no design columns besides the target column{table.sep_note()}.")
        if jt in cols:
            raise InvalidDataError(f"{table.name}: the target column {table.column_label(jt)} is also a feature column.")
        _hint_text_columns(table, cols)
        x = np.stack([table.numbers(j, "feature column") for j in cols], axis=1).astype(np.float32)
        names_out = [table.column_name(j) for j in cols] if table.header is not None else [f"x{i}" for i in range(len(cols))]
        schema = continuous_schema(len(cols), names_out, target_name)
        if table.header is None:
            schema = replace(schema, positions=tuple(cols))
    _check_rows(table.n_rows, table.name)
    taken = {jt: "target column", **({js: "design column"} if design_column is not None else
                                     {j: "feature column" for j in cols})}
    measured = read_measured(table, [str(o) for o in outcomes], taken) if outcomes else {}
    return DesignData(x, y, schema, table.name, list(table.labels), table.n_rows, notes, measured)


def _alphabet(spec: str | Alphabet | None, cells: Sequence[str], column: str) -> Alphabet:
    if isinstance(spec, Alphabet):
        return spec
    return infer_alphabet(cells, column=column) if spec is None else parse_alphabet(spec)


def _table_alphabet(spec: str | Alphabet | None, table: Table, j: int) -> Alphabet:
    """``spec``, or the alphabet inferred from column ``j`` (errors name its lines)."""
    return infer_column_alphabet(table, j) if spec is None else _alphabet(spec, [], table.column_name(j))


def _hint_text_columns(table: Table, cols: Sequence[int]) -> None:
    """A clear error when a would-be numeric feature column holds text (sequences need --design-column)."""
    for j in cols:
        cells = [c for c in table.cells(j)[:50] if c]
        text = [c for c in cells if not _is_float(c)]
        if cells and len(text) == len(cells):
            raise InvalidDataError(
                f"{table.name}: column {table.column_label(j)} holds text ({text[0]!r}, ...), not numbers"
                f"{table.sep_note()}. If it holds "
                f"sequences, pass --design-column {table.column_name(j) if table.header else j} (and --alphabet)."
            )


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_xy_files(
    x_path: str | Path,
    y_path: str | Path,
    *,
    num_classes: int | None = None,
    alphabet: str | Alphabet | None = None,
    header: bool | None = None,
    sep: str | None = None,
    length: int | None = None,
) -> DesignData:
    """Designs and scores from two files (``--x FILE --y FILE``), ``.csv`` or ``.npy`` (read without pickle).

    ``x``: numbers ``[n, d]``, token ids ``[n, L]`` with ``num_classes``, or one column of sequence strings with
    ``alphabet``. A CSV header line keeps its column names (``header`` says whether ``x`` has one; ``y``'s is
    always detected). ``y``: one score per row. ``sep``: the delimiter of both CSV files (``None``: detected).
    ``length``: sequences of several lengths keep only this one (see :func:`~n2ce_bbo.io.lengths.one_length`).

    Raises:
        DataNotFoundError: a file does not exist.
        InvalidDataError: malformed files, different row counts, NaN scores.
    """
    xp, yp = Path(x_path), Path(y_path)
    if alphabet is not None and num_classes is not None:
        raise InvalidDataError("give --alphabet (sequence strings) or --num-classes (token ids), not both.")
    y, y_labels, target = read_scores(yp, sep)
    notes: list[str] = []
    if xp.suffix.lower() == ".npy":
        x = load_npy(xp, "--x")
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2:
            raise InvalidDataError(f"{xp.name}: designs must be [n, d], got shape {x.shape}.")
        labels = [f"row {i + 1}" for i in range(x.shape[0])]
        schema = token_schema(x.shape[1], num_classes, target=target) if num_classes is not None else \
            continuous_schema(x.shape[1], target=target)
        if alphabet is not None:
            raise InvalidDataError(f"{xp.name}: --alphabet reads sequence strings from a CSV file, not from .npy.")
        x = as_designs(x, schema, xp.name)
    else:
        table = read_table(xp, header=header, sep=sep)
        labels = list(table.labels)
        if alphabet is not None or (table.width == 1 and num_classes is None and not _is_float(table.rows[0][0])
                                    and not _is_float(table.rows[-1][0])):
            if table.width != 1:
                raise InvalidDataError(f"{xp.name}: sequence designs must be one column of strings, "
                                       f"found {table.width} columns{table.sep_note()}.")
            if length is not None:  # rows are dropped from both files
                _same_count(table.n_rows, y.shape[0], xp, yp)
            table, keep, note = one_length_table(table, 0, length)
            y, y_labels, notes = y[keep], [y_labels[i] for i in keep], [note] if note else []
            alpha = _table_alphabet(alphabet, table, 0)
            x = encode_column(alpha, table, 0)
            schema = sequence_schema(alpha, x.shape[1], table.header[0] if table.header else "sequence", target)
        else:
            names = table.header
            if num_classes is not None:
                schema = token_schema(table.width, num_classes, names, target)
            else:
                schema = continuous_schema(table.width, names, target)
            x = schema.designs_from_table(table, list(range(table.width)))
    if length is not None and schema.kind != "sequence":
        raise InvalidDataError("--length keeps the sequences of one length; --x holds no sequence strings.")
    _same_count(x.shape[0], y.shape[0], xp, yp)
    _check_scores(y, y_labels, yp.name, target)
    _check_rows(x.shape[0], xp.name)
    return DesignData(x, y, schema, xp.name, labels, x.shape[0], notes)


def _same_count(n_x: int, n_y: int, xp: Path, yp: Path) -> None:
    if n_x != n_y:
        raise InvalidDataError(f"{xp.name} holds {n_x} designs but {yp.name} holds {n_y} scores.")


def from_arrays(
    x: object,
    y: object,
    *,
    num_classes: int | None = None,
    alphabet: str | Alphabet | None = None,
    feature_names: Sequence[str] | None = None,
    target: str = "y",
    design_column: str = "sequence",
    length: int | None = None,
) -> DesignData:
    """Designs and scores from Python objects.

    Args:
        x: ``[n, d]`` numbers, ``[n, L]`` token ids (with ``num_classes``), or ``n`` strings (sequences; the
            alphabet is ``alphabet`` or inferred).
        y: ``n`` scores.
        num_classes: token vocabulary size for integer token designs.
        alphabet: alphabet of string designs.
        feature_names: names of continuous / token columns (default ``x0 ...``).
        target: the score's name.
        design_column: the name of the sequence column in outputs.
        length: string designs of several lengths keep only this one (see :func:`~n2ce_bbo.io.lengths.one_length`).

    Raises:
        InvalidDataError: malformed arrays, NaN scores, unequal lengths, letters outside the alphabet.
    """
    yv = np.asarray(y, dtype=np.float64).reshape(-1)
    seqs = _as_strings(x)
    notes: list[str] = []
    if seqs is not None:
        if len(seqs) != yv.shape[0]:
            raise InvalidDataError(f"{len(seqs)} designs but {yv.shape[0]} scores.")
        keep, note = one_length(seqs, [f"row {i + 1}" for i in range(len(seqs))], source="designs",
                                column=design_column, length=length)
        seqs, yv, notes = [seqs[i] for i in keep], yv[keep], [note] if note else []
        alpha = _alphabet(alphabet, seqs, design_column)
        xa = alpha.encode(seqs, column=design_column)
        schema = sequence_schema(alpha, xa.shape[1], design_column, target)
    else:
        if alphabet is not None or length is not None:
            raise InvalidDataError("alphabet and length are for designs given as strings.")
        xa = np.asarray(x)
        if xa.ndim == 1:
            xa = xa.reshape(-1, 1)
        if xa.ndim != 2 or not np.issubdtype(xa.dtype, np.number):
            raise InvalidDataError(f"designs must be a numeric [n, d] array or a list of strings, got {xa.dtype} "
                                   f"of shape {xa.shape}.")
        schema = token_schema(xa.shape[1], num_classes, feature_names, target) if num_classes is not None else \
            continuous_schema(xa.shape[1], feature_names, target)
        xa = as_designs(xa, schema, "designs")
    labels = [f"row {i + 1}" for i in range(xa.shape[0])]
    if xa.shape[0] != yv.shape[0]:
        raise InvalidDataError(f"{xa.shape[0]} designs but {yv.shape[0]} scores.")
    _check_scores(yv, labels, "scores", target)
    _check_rows(xa.shape[0], "designs")
    return DesignData(xa, yv, schema, "arrays", labels, xa.shape[0], notes)


def _as_strings(x: object) -> list[str] | None:
    if isinstance(x, str):
        raise InvalidDataError("designs must be a list of strings or an array, not one string.")
    if isinstance(x, np.ndarray):
        return [str(s) for s in x.reshape(-1)] if x.dtype.kind in "US" else None
    if isinstance(x, (list, tuple)) and x and all(isinstance(s, str) for s in x):
        return list(x)
    return None


def read_designs(path: str | Path, schema: DesignSchema, *, header: bool | None = None,
                 sep: str | None = None) -> tuple[np.ndarray, Table]:
    """Designs of a known schema from a table (for ``score --data`` and ``--exclude``); other columns are kept
    in the returned table. ``sep``: the delimiter of a text table (``None``: detected).

    Raises:
        DataNotFoundError, InvalidDataError: see :func:`read_training_table`.
    """
    table = read_table(path, header=header, names=schema.lookup_names(), sep=sep)
    return schema.designs_from_table(table), table


def merge_duplicates(data: DesignData) -> DesignData:
    """Designs that appear more than once become one row with the mean of their scores.

    A :class:`~n2ce_bbo.errors.DataWarning` says how many there were when their scores differ; the note is also
    recorded in ``notes``.
    """
    flat = np.ascontiguousarray(data.x.reshape(data.n, -1))
    _, first, inverse, counts = np.unique(flat, axis=0, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if counts.max() <= 1:
        return data
    sums = np.bincount(inverse, weights=data.y, minlength=first.size)
    means = sums / counts
    spread = np.zeros(first.size)
    np.maximum.at(spread, inverse, np.abs(data.y - means[inverse]))
    order = np.sort(first)
    group_of_row = inverse[order]
    n_dup_groups = int((counts > 1).sum())
    n_conflict = int((spread > 1e-12 * np.maximum(1.0, np.abs(means))).sum())
    example = ""
    if n_conflict:
        g = int(np.flatnonzero(spread > 1e-12 * np.maximum(1.0, np.abs(means)))[0])
        rows = np.flatnonzero(inverse == g)
        shown = [f"{data.labels[i]}: {data.y[i]:.4g}" for i in rows[:3]] if data.labels else []
        example = f" (for example {data.schema.format_design(flat[rows[0]])} at {'; '.join(shown)})"
    note = (f"{int(counts[counts > 1].sum())} rows repeat {n_dup_groups} design{'s' if n_dup_groups != 1 else ''}"
            + (f", {n_conflict} of them with different scores{example}" if n_conflict else "")
            + "; each design is trained on once, with the mean of its scores.")
    if n_conflict:
        warnings.warn(note, DataWarning, stacklevel=2)
    labels = [data.labels[i] for i in order] if data.labels else []
    outcomes = {k: v[group_of_row] for k, v in merge_measured(data.outcomes, inverse, first.size).items()}
    return replace(data, x=data.x[order], y=means[group_of_row], labels=labels, notes=[*data.notes, note],
                   outcomes=outcomes)
