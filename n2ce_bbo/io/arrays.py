"""Numeric arrays from user files: ``.npy`` (never pickled objects) or delimited text (``.csv``, ``.tsv``, ``.txt``).

This is how ``n2ce-bbo optimize --x FILE --y FILE`` reads your own data; from Python::

    from n2ce_bbo.io import load_array
    x = load_array("designs.csv")     # [n, d] float64; a header row is skipped
    y = load_array("scores.npy")
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import InvalidDataError

#: File suffixes read as delimited text, with their delimiter.
TEXT_DELIMITERS = {".csv": ",", ".txt": ",", ".tsv": "\t"}


def load_array(path: str | os.PathLike[str], *, what: str = "array") -> np.ndarray:
    """Read a numeric array from ``path``.

    Args:
        path: a ``.npy`` file (loaded with ``allow_pickle=False``), or a ``.csv`` / ``.txt`` (comma) or ``.tsv``
            (tab) file of numbers; a first row that is not all numbers is taken as a header and skipped.
        what: how messages name the file (for example ``"--x"``).

    Returns:
        The array as stored (``.npy``), or a 2-D float64 array ``[rows, columns]`` (text).

    Raises:
        InvalidDataError: the file is missing, has another suffix, holds pickled objects or a non-numeric value.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidDataError(f"{what} file {str(path)!r} does not exist.")
    if p.suffix == ".npy":
        try:
            return np.load(p, allow_pickle=False)
        except ValueError as exc:
            raise InvalidDataError(f"{what} file {str(path)!r} is not a plain numeric .npy array: {exc}") from exc
    if p.suffix not in TEXT_DELIMITERS:
        raise InvalidDataError(f"{what} file {str(path)!r}: use .npy or .csv (or .tsv / .txt).")
    delimiter = TEXT_DELIMITERS[p.suffix]
    first = p.read_text().splitlines()[:1]
    skip = 0
    if first:
        try:
            [float(v) for v in first[0].split(delimiter) if v.strip()]
        except ValueError:
            skip = 1
    try:
        return np.loadtxt(p, delimiter=delimiter, skiprows=skip, ndmin=2)
    except ValueError as exc:
        raise InvalidDataError(f"{what} file {str(path)!r} holds a non-numeric value: {exc}") from exc
