"""Measured columns besides the target, read from the same rows as the designs and the score: the columns an
outcome constraint ("keep expression >= 0.5", :mod:`n2ce_bbo.workflow.outcomes`) is about.

A measured column's cell may be missing (empty or ``nan``): the row then has no measurement of that column and is
NaN in it. The row is kept (it still trains the main surrogate on the target); the column's own model leaves it
out. An infinite cell, a cell that is not a number, or a column that is already the target, the design column or a
feature is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.tables import Table


def read_measured(table: Table, names: Sequence[str], taken: Mapping[int, str]) -> dict[str, np.ndarray]:
    """The measured columns ``names`` of ``table``: ``{name: float64 [n]}``, NaN where a row has no value.

    Args:
        table: the training table (after any row filtering, so the rows are the designs' rows).
        names: column names (or 0-based indices as text), as the user wrote them; the keys of the result.
        taken: ``{column index: role}`` of the columns already used (``"target column"``, ``"design column"``,
            ``"feature column"``); a measured column may not be one of them.

    Raises:
        InvalidDataError: no such column, a column named twice or already used, a cell that is not a number or
            is infinite (named by line).
    """
    out: dict[str, np.ndarray] = {}
    seen: dict[int, str] = {}
    for name in names:
        j = table.column_index(name, "outcome column")
        label = table.column_label(j)
        if j in taken:
            raise InvalidDataError(f"{table.name}: the outcome column {label} is the {taken[j]}; an outcome is a "
                                   "measured column besides the designs and the score.")
        if j in seen:
            raise InvalidDataError(f"{table.name}: the outcome column {label} is named twice ({seen[j]!r} and "
                                   f"{name!r}); give several limits on one column in one list, e.g. "
                                   "'expression>=0.5' and 'expression<=2'.")
        seen[j] = name
        values = table.numbers(j, "outcome column", allow_missing=True)
        inf = np.flatnonzero(np.isinf(values))
        if inf.size:
            rows = ", ".join(table.labels[i] for i in inf[:5]) + (", ..." if inf.size > 5 else "")
            raise InvalidDataError(f"{table.name}: outcome column {label} is infinite in {inf.size} row"
                                   f"{'s' if inf.size != 1 else ''} ({rows}); leave a cell empty when it was "
                                   "not measured.")
        out[name] = values
    return out


def merge_measured(values: Mapping[str, np.ndarray], inverse: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Measured columns of rows merged into groups (duplicate designs): the mean of each group's present values,
    NaN for a group without any.

    Args:
        values: ``{name: float64 [n]}`` with NaN where missing.
        inverse: ``[n]`` the group (0..n_groups-1) of each row.
        n_groups: number of groups.

    Returns:
        ``{name: float64 [n_groups]}``.
    """
    out: dict[str, np.ndarray] = {}
    for name, v in values.items():
        present = np.isfinite(v)
        sums = np.bincount(inverse, weights=np.where(present, v, 0.0), minlength=n_groups)
        counts = np.bincount(inverse, weights=present.astype(np.float64), minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    return out
