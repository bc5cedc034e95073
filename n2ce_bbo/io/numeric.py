"""Numeric inputs of the ``--x`` / ``--y`` files and of arrays: ``.npy`` files read without pickle, a scores file,
and the check that numbers are valid designs of a schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from n2ce_bbo.errors import DataNotFoundError, InvalidDataError
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import read_table


def read_scores(yp: Path, sep: str | None) -> tuple[np.ndarray, list[str], str]:
    """A scores file (``--y``): ``.npy`` ``[n]`` / ``[n, 1]`` or a one-column CSV -> ``(y float64 [n], row labels,
    the score's name)``.

    Raises:
        DataNotFoundError, InvalidDataError: a missing file, several columns, non-numbers, a wrong shape.
    """
    if yp.suffix.lower() == ".npy":
        y = load_npy(yp, "--y").astype(np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise InvalidDataError(f"{yp.name}: scores must be one per design ([n] or [n, 1]), got shape {y.shape}.")
        return y, [f"row {i + 1}" for i in range(y.shape[0])], "y"
    table = read_table(yp, sep=sep)  # one numeric column: its header (if any) is always detected
    if table.width != 1:
        raise InvalidDataError(f"{yp.name}: scores must be one column, found {table.width}{table.sep_note()}.")
    return table.numbers(0, "score column", allow_missing=True), list(table.labels), \
        (table.header[0] if table.header else "y")


def load_npy(p: Path, what: str) -> np.ndarray:
    """A plain numeric ``.npy`` array, read without pickle (``what``: the option named in errors, ``"--x"``).

    Raises:
        DataNotFoundError, InvalidDataError: a missing file, pickled objects, non-numbers.
    """
    if not p.is_file():
        raise DataNotFoundError(f"{what} file {str(p)!r} does not exist.")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise InvalidDataError(f"{what} file {p.name!r} is not a plain numeric .npy array: {exc}") from exc
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidDataError(f"{what} file {p.name!r} holds {arr.dtype} values, not numbers.")
    return arr


def as_designs(x: np.ndarray, schema: DesignSchema, where: str) -> np.ndarray:
    """``x [n, d]`` as the designs of ``schema``: float32 features (finite) or int64 token ids in ``0..C-1``.

    Raises:
        InvalidDataError: NaN / infinite values, or non-integer / out-of-range token ids, naming row and column.
    """
    if schema.kind == "continuous":
        x = np.asarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            r, c = (int(v) for v in np.argwhere(~np.isfinite(x))[0])
            raise InvalidDataError(f"{where}: row {r + 1}, column {c}: the design value is NaN or infinite.")
        return x
    xf = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(xf) | (xf != np.round(xf)) | (xf < 0) | (xf >= int(schema.num_classes or 0))
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidDataError(f"{where}: row {r + 1}, column {c}: {xf[r, c]:g} is not a token id in "
                               f"0..{int(schema.num_classes or 0) - 1}.")
    return xf.astype(np.int64)
