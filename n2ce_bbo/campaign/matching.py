"""Measured rows -> the designs a campaign proposed.

A lab returns a table with the campaign's design column(s) and its target column (other columns are ignored:
returning ``designs.csv`` with a score column added works). :func:`read_measured` parses it completely before
anything is written; an unparseable cell is an error naming the file, its line and the column. :func:`match_rows`
then sorts every row into

* **matched**: the design of a pending proposal (proposed in some round, not measured yet); sequences and token
  designs must be equal, continuous designs equal within ``tolerance`` times each feature's range in the data
  (the nearest pending design wins);
* **extra**: a design the lab made on its own (it joins the training rows, flagged ``extra``);
* **refused**: a design already measured (in the initial data or an earlier ``add``), or a design given twice in
  the file, or two rows matching one proposal: a campaign keeps one measurement per design, so replicates are
  averaged by the lab before they are added (policy: refuse, never silently merge or drop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import Table, read_table

#: Continuous designs within this fraction of each feature's range match (``Campaign.add(tolerance=...)``).
DEFAULT_TOLERANCE = 1e-3
#: Problems listed in one error message.
SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class MeasuredRows:
    """Rows of a measured table, parsed.

    Attributes:
        x: designs ``[n, L]`` int64 tokens or ``[n, d]`` float32.
        y: measured scores ``[n]`` float64 (raw units).
        labels: where each row sits (``"line 7"``, ``"row 3"``).
        source: the file's name (or ``"rows"`` for rows given in Python).
    """

    x: np.ndarray
    y: np.ndarray
    labels: list[str]
    source: str

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.x.shape[0])


def rows_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Rows given in Python (one mapping ``{column: value}`` each) as a :class:`~n2ce_bbo.io.tables.Table`
    labelled ``row 1``, ``row 2``, ...

    Raises:
        InvalidDataError: no rows, or a row that is not a mapping.
    """
    if not rows:
        raise InvalidDataError("no measured rows were given.")
    header: list[str] = []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise InvalidDataError(f"rows, row {i + 1}: a measured row is a mapping {{column: value}}, got "
                                   f"{type(r).__name__}.")
        header += [str(k) for k in r if str(k) not in header]
    cells = [["" if r.get(h) is None else str(r.get(h)).strip() for h in header] for r in rows]
    return Table("rows", header, cells, [f"row {i + 1}" for i in range(len(rows))], None)


def read_measured(source: str | Path | Sequence[Mapping[str, Any]], schema: DesignSchema, *,
                  header: bool | None = None, sep: str | None = None) -> MeasuredRows:
    """Parse measured rows: the schema's design column(s) and its target column.

    Args:
        source: a table file (CSV / TSV / Parquet) or a list of mappings ``{column: value}``.
        schema: the campaign's design schema (its ``target`` names the score column).
        header, sep: as for every table read (``None``: detected).

    Raises:
        InvalidDataError: a missing column, or a cell that is not a design or a number, named by line and column.
        DataNotFoundError: no such file.
    """
    if isinstance(source, (str, Path)):
        table = read_table(source, header=header, names=[*schema.lookup_names(), schema.target], sep=sep)
    else:
        table = rows_table(source)
    cols = schema.locate(table)
    if schema.kind == "sequence":
        j = cols[0]
        for cell, label in zip(table.cells(j), table.labels, strict=True):
            if len(cell) != schema.length:
                raise InvalidDataError(f"{table.name}, {label}, column {table.column_label(j)}: sequence {cell!r} has "
                                       f"length {len(cell)}, but the campaign's designs have length {schema.length}.")
    x = schema.designs_from_table(table, cols)
    y = table.numbers(table.column_index(schema.target, "target column"), "target column")
    return MeasuredRows(x, y, list(table.labels), table.name)


@dataclass(frozen=True)
class Matched:
    """Where each measured row belongs.

    Attributes:
        round: the round whose proposal it measures ``[n]`` int64, ``-1`` for an extra design.
        rank: its rank in that round's ``designs.csv`` (1 = first) ``[n]`` int64, ``-1`` for an extra design.
    """

    round: np.ndarray
    rank: np.ndarray

    @property
    def extra(self) -> np.ndarray:
        """``[n]`` bool: designs the campaign did not propose."""
        return self.round < 0


class _Finder:
    """Which of ``designs [m, ...]`` a design matches: equal token rows (a hash lookup), or continuous rows within
    ``tolerance · scale`` on every feature (nearest first)."""

    def __init__(self, designs: np.ndarray, discrete: bool, scale: np.ndarray | None, tolerance: float) -> None:
        self.designs, self.discrete, self.scale, self.tolerance = designs, discrete, scale, tolerance
        self.index: dict[bytes, int] = {}
        if discrete:
            for k, row in enumerate(np.ascontiguousarray(designs.astype(np.int64))):
                self.index.setdefault(row.tobytes(), k)

    def add(self, x: np.ndarray) -> None:
        """Append one design (``[...]``)."""
        self.designs = np.concatenate([self.designs, x[None].astype(self.designs.dtype)])
        if self.discrete:
            self.index.setdefault(np.ascontiguousarray(x.astype(np.int64)).tobytes(), self.designs.shape[0] - 1)

    def find(self, x: np.ndarray) -> int | None:
        """The index of the (nearest) matching design, or ``None``."""
        if self.discrete:
            return self.index.get(np.ascontiguousarray(x.astype(np.int64)).tobytes())
        if not self.designs.shape[0]:
            return None
        assert self.scale is not None
        d = np.max(np.abs(self.designs.astype(np.float64) - x.astype(np.float64)) / self.scale, axis=1)
        k = int(np.argmin(d))
        return k if d[k] <= self.tolerance else None


def match_rows(rows: MeasuredRows, schema: DesignSchema, *, pending_x: np.ndarray, pending_round: np.ndarray,
               pending_rank: np.ndarray, measured_x: np.ndarray, measured_where: Sequence[str],
               scale: np.ndarray | None = None, tolerance: float = DEFAULT_TOLERANCE) -> Matched:
    """Match measured rows to pending proposals (see the module docstring).

    Args:
        rows: the parsed rows.
        schema: the designs' schema.
        pending_x: proposed designs not measured yet ``[p, ...]``, with their ``pending_round [p]`` and
            ``pending_rank [p]``.
        measured_x: every design measured so far ``[m, ...]`` (initial data included), with a description of where
            each was measured (``measured_where [m]``, for messages).
        scale: continuous designs: each feature's range ``[d]`` (> 0); ignored for tokens.
        tolerance: continuous designs match within ``tolerance · scale`` on every feature.

    Raises:
        InvalidDataError: any refused row (already measured, given twice, two rows for one proposal), listing
            them by line; nothing is matched then.
    """
    discrete = schema.is_discrete
    if not discrete and (scale is None or tolerance < 0):
        raise InvalidDataError("continuous designs need each feature's range and a tolerance >= 0 to be matched.")
    sc = None if discrete else np.asarray(scale, dtype=np.float64)
    seen_in_file = _Finder(rows.x[:0], discrete, sc, tolerance)
    measured = _Finder(np.asarray(measured_x), discrete, sc, tolerance)
    pending = _Finder(np.asarray(pending_x), discrete, sc, tolerance)
    problems: list[str] = []
    rnd = np.full(rows.n, -1, dtype=np.int64)
    rank = np.full(rows.n, -1, dtype=np.int64)
    taken: dict[int, int] = {}  # pending index -> the row that matched it
    for i in range(rows.n):
        x, label, shown = rows.x[i], rows.labels[i], schema.format_design(rows.x[i])
        earlier = seen_in_file.find(x)
        seen_in_file.add(x)
        if earlier is not None:
            problems.append(f"{label}: {shown} repeats {rows.labels[earlier]}")
            continue
        seen = measured.find(x)
        if seen is not None:
            problems.append(f"{label}: {shown} was already measured ({measured_where[seen]})")
            continue
        k = pending.find(x)
        if k is None:
            continue  # an extra design
        if k in taken:
            problems.append(f"{label} and {rows.labels[taken[k]]} both match {schema.format_design(pending_x[k])}, "
                            f"proposed in round {int(pending_round[k])}")
            continue
        taken[k] = i
        rnd[i], rank[i] = int(pending_round[k]), int(pending_rank[k])
    if problems:
        more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        raise InvalidDataError(
            f"{rows.source}: {len(problems)} row{'s' if len(problems) != 1 else ''} refused, nothing was added: "
            + "; ".join(problems[:SHOWN_PROBLEMS]) + more + ". A campaign keeps one measurement per design: leave "
            "rows already measured out, and average replicates into one row.")
    return Matched(rnd, rank)
