"""The one-length rule of sequence designs, shared by every reader (tables, ``--x`` files, arrays, FASTA).

The models of this version read designs of one length ``L`` (token ids ``[n, L]``). A library of several lengths
is refused with a message that lists each length and how many rows (records) have it, most common first, and the
first row of each minority length; ``--length N`` (``length=N``) keeps only the rows of length ``N`` and says how
many were dropped. An empty sequence is an error naming its row, whatever ``length`` says.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from n2ce_bbo.errors import DataWarning, InvalidDataError
from n2ce_bbo.io.schema import with_header_hint
from n2ce_bbo.io.tables import Table

#: How many lengths a message lists before "... (k more)".
SHOWN_LENGTHS = 6


def one_length(
    sequences: Sequence[str],
    labels: Sequence[str],
    *,
    source: str,
    column: str = "sequence",
    unit: str = "rows",
    length: int | None = None,
) -> tuple[np.ndarray, str | None]:
    """The rows of ``sequences`` to keep so that every design has one length.

    Args:
        sequences: ``n`` strings (surrounding whitespace ignored, as :meth:`Alphabet.encode` ignores it).
        labels: where each string sits (``"line 7"``, ``"record v17 (line 12)"``), named in errors.
        source: the file name (``"designs"`` for arrays).
        column: the design column, named in errors.
        unit: what a row is called in messages: ``"rows"`` or ``"records"``.
        length: keep only the sequences of this length (``--length``); ``None``: all must share one length.

    Returns:
        ``(keep, note)``: int64 indices ``[m]`` of the rows kept, in order (all ``n`` when nothing is dropped), and a
        note saying what was dropped (``None`` when nothing was); a :class:`~n2ce_bbo.errors.DataWarning` says it too.

    Raises:
        InvalidDataError: an empty sequence (naming its row); several lengths without ``length`` (naming each
            length and its count, and suggesting ``--length`` with the most common one); no sequence of ``length``;
            ``length`` below 1.
    """
    lengths = np.fromiter((len(s.strip()) for s in sequences), dtype=np.int64, count=len(sequences))
    where = f"{source}, column {column!r}"
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        n_empty = int((lengths == 0).sum())
        raise InvalidDataError(f"{source}, {labels[i]}, column {column!r}: the sequence is empty"
                               + (f" ({n_empty} {unit} are empty)." if n_empty > 1 else "."))
    everything = np.arange(lengths.size, dtype=np.int64)
    if length is None:
        if np.unique(lengths).size <= 1:
            return everything, None
        top = _length_counts(lengths)[0][0]
        raise InvalidDataError(
            f"{where}: sequences have {describe_lengths(lengths, labels, unit)}; this version models one length at "
            f"a time: filter to one length, e.g. with --length {top} (length={top} in Python)."
        )
    if int(length) < 1:
        raise InvalidDataError(f"--length {length}: a sequence length is at least 1.")
    keep = np.flatnonzero(lengths == int(length))
    if not keep.size:
        raise InvalidDataError(f"{where}: no sequence has length {length} (--length {length}); the sequences have "
                               f"{describe_lengths(lengths, labels, unit)}.")
    if keep.size == lengths.size:
        return everything, None
    dropped = lengths[lengths != int(length)]
    note = (f"--length {length} kept {keep.size} of {lengths.size} {unit} of {source}; dropped {dropped.size} of "
            f"other lengths ({', '.join(f'{v}: {k}' for v, k in _length_counts(dropped))}).")
    warnings.warn(note, DataWarning, stacklevel=3)
    return keep.astype(np.int64), note


def _length_counts(lengths: np.ndarray) -> list[tuple[int, int]]:
    """``[(length, count)]``, most common first (ties: shorter first)."""
    values, counts = np.unique(lengths, return_counts=True)
    order = sorted(range(values.size), key=lambda i: (-int(counts[i]), int(values[i])))
    return [(int(values[i]), int(counts[i])) for i in order]


def describe_lengths(lengths: np.ndarray, labels: Sequence[str], unit: str = "rows") -> str:
    """``"3 lengths: 120 (812 records), 121 (40, first at line 7), 119 (3, first at line 2)"`` for ``[n]`` lengths:
    most common first; each minority length names the first row holding it."""
    counts = _length_counts(lengths)
    parts = []
    for k, (v, c) in enumerate(counts[:SHOWN_LENGTHS]):
        if k == 0:
            parts.append(f"{v} ({c} {unit})")
        else:
            first = labels[int(np.flatnonzero(lengths == v)[0])]
            parts.append(f"{v} ({c}, first at {first})")
    more = f", ... ({len(counts) - SHOWN_LENGTHS} more)" if len(counts) > SHOWN_LENGTHS else ""
    n = len(counts)
    return f"{n} length{'s' if n != 1 else ''}: " + ", ".join(parts) + more


def one_length_table(table: Table, j: int, length: int | None = None) -> tuple[Table, np.ndarray, str | None]:
    """``table`` with only the rows whose column-``j`` sequence has the one design length (see :func:`one_length`).

    Returns:
        ``(table, keep, note)``: the table (the same object when nothing is dropped), the int64 indices ``[m]`` of
        the rows kept, and the note of what was dropped (``None`` when nothing was).

    Raises:
        InvalidDataError: as :func:`one_length`, naming the table's lines (and suggesting ``--header`` when the
            first line of a file read without a header is named).
    """
    try:
        keep, note = one_length(table.cells(j), table.labels, source=table.name, column=table.column_name(j),
                                length=length)
    except InvalidDataError as exc:
        raise with_header_hint(exc, table) from None
    if keep.size == table.n_rows:
        return table, keep, note
    return replace(table, rows=[table.rows[i] for i in keep], labels=[table.labels[i] for i in keep]), keep, note
