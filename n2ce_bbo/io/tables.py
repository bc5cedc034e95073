"""Reading a user's table (CSV, TSV, or Parquet when ``pyarrow`` is installed) as text cells.

The delimiter of a ``.csv``/``.txt`` file is detected among ``,`` ``;`` tab ``|`` (:func:`detect_delimiter`; a
spreadsheet's semicolon export reads as it is), ``.tsv``/``.tab`` files are tab-separated, and ``sep`` (the CLI's
``--sep``) says it outright. Every error about columns names the delimiter used.

Header detection never eats data. With ``header=None`` (automatic) the first line is a header only when

* it holds every column name the caller asked for (``--target score`` finds ``score`` in it), or
* some column is numeric on every other line but not on the first (``x1,x2,y`` over numbers).

Otherwise the first line is data; if it was in fact a header, parsing it fails with an error that names
line 1 and suggests ``--header``. ``header=True`` / ``False`` says it outright.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import DataNotFoundError, InvalidDataError

CSV_SUFFIXES = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
#: The delimiters detected in a ``.csv``/``.txt`` file, in the order that wins a tie (see :func:`detect_delimiter`).
DELIMITERS = (";", "\t", "|", ",")
#: Names ``--sep`` accepts besides the character itself.
SEP_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
#: Lines of a file the delimiter is detected from.
SNIFF_LINES = 100


@dataclass(frozen=True)
class Table:
    """A table of text cells.

    Attributes:
        source: the file's path (for messages).
        header: column names, or ``None`` when the file has no header line.
        rows: the data rows, each a list of ``width`` stripped cells.
        labels: where each data row sits in the file (``"line 7"``; ``"row 3"`` for Parquet).
        sep: the delimiter the file was read with (``None`` for Parquet).
    """

    source: str
    header: list[str] | None
    rows: list[list[str]]
    labels: list[str]
    sep: str | None = None

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.rows)

    @property
    def width(self) -> int:
        """Number of columns."""
        return len(self.header) if self.header is not None else (len(self.rows[0]) if self.rows else 0)

    @property
    def name(self) -> str:
        """The file name, for messages."""
        return Path(self.source).name

    def sep_note(self) -> str:
        """`` (read with delimiter ';'; pass --sep to change it)`` for messages about columns; ``""`` for Parquet."""
        return f" (read with delimiter {describe_sep(self.sep)}; pass --sep to change it)" if self.sep else ""

    def column_name(self, j: int) -> str:
        """The name of column ``j`` (``"column 2"`` without a header)."""
        return self.header[j] if self.header is not None else f"column {j}"

    def column_label(self, j: int) -> str:
        """Column ``j`` for messages: its quoted name, or its 0-based index without a header."""
        return repr(self.header[j]) if self.header is not None else str(j)

    def column_index(self, ref: str | int, what: str = "column") -> int:
        """The 0-based index of a column given by name (header) or 0-based index.

        Raises:
            InvalidDataError: no such column; the message lists the columns (or explains the missing header).
        """
        if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()
                                    and (self.header is None or ref.strip() not in self.header)):
            j = int(ref)
            if not 0 <= j < self.width:
                raise InvalidDataError(f"{self.name}: {what} {j} does not exist; the table has {self.width} columns "
                                       f"(indices start at 0){self.sep_note()}.")
            return j
        name = str(ref).strip()
        if self.header is None:
            first = (self.sep or ",").join(self.rows[0]) if self.rows else ""
            raise InvalidDataError(
                f"{self.name}: no {what} named {name!r}: the file has no header line (its first line, {first!r}, "
                f"reads as data{self.sep_note()}). Pass --header if the first line is a header, or give a 0-based "
                "column index."
            )
        if name not in self.header:
            raise InvalidDataError(f"{self.name}: no {what} named {name!r}; its columns are {self.header}"
                                   f"{self.sep_note()}.")
        return self.header.index(name)

    def cells(self, j: int) -> list[str]:
        """The cells of column ``j``, one per data row."""
        return [r[j] for r in self.rows]

    def numbers(self, j: int, what: str = "column", *, allow_missing: bool = False) -> np.ndarray:
        """Column ``j`` as float64 ``[n]``.

        Args:
            j: column index.
            what: how to name the column in errors (``"target column"``).
            allow_missing: empty cells and ``nan`` become NaN instead of an error (the caller reports them).

        Raises:
            InvalidDataError: a cell is not a number (named by line and column), or is empty / NaN when not allowed.
        """
        out = np.empty(self.n_rows, dtype=np.float64)
        col = self.column_label(j)
        for i, row in enumerate(self.rows):
            cell = row[j]
            if cell == "":
                if not allow_missing:
                    raise InvalidDataError(f"{self.name}, {self.labels[i]}, {what} {col}: the cell is empty.")
                out[i] = math.nan
                continue
            try:
                out[i] = float(cell)
            except ValueError:
                hint = ""
                if i == 0 and self.header is None:
                    hint = f" If line 1 is a header, pass --header{self.sep_note()}."
                raise InvalidDataError(
                    f"{self.name}, {self.labels[i]}, {what} {col}: {cell!r} is not a number.{hint}"
                ) from None
            if not allow_missing and not math.isfinite(out[i]):
                raise InvalidDataError(f"{self.name}, {self.labels[i]}, {what} {col}: {cell!r} is not finite.")
        return out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def detect_header(first: Sequence[str], rest: Sequence[Sequence[str]], names: Sequence[str] = ()) -> bool:
    """Whether ``first`` is a header line (see the module docstring for the rule).

    Args:
        first: the first line's cells.
        rest: the other lines' cells.
        names: column names the caller will look up (integer-like names are ignored).
    """
    wanted = [n for n in names if n and not n.strip().isdigit()]
    cells = [c.strip() for c in first]
    if wanted and all(n in cells for n in wanted):
        return True
    if not rest:
        # One line alone is a header when nothing on it is a number (the caller then reports a header without
        # data); a one-row table of data has a number somewhere (its score).
        return not any(_is_number(c) for c in cells if c)
    for j, cell in enumerate(cells):
        if not cell or _is_number(cell):
            continue
        column = [r[j].strip() for r in rest if j < len(r) and r[j].strip()]
        if column and all(_is_number(c) for c in column):
            return True
    return False


def describe_sep(sep: str | None) -> str:
    """A delimiter for messages: ``';'``, ``tab``."""
    return "tab" if sep == "\t" else repr(sep)


def parse_sep(spec: str | None) -> str | None:
    """``--sep``: one character (``;``), or ``comma``, ``semicolon``, ``tab`` (or ``\\t``), ``pipe``; ``None`` stays
    ``None`` (detect).

    Raises:
        InvalidDataError: anything else (several characters, a quote, a letter or digit, a line break).
    """
    if spec is None:
        return None
    sep = SEP_NAMES.get(spec.strip().lower(), spec) if spec.strip() else spec
    if len(sep) != 1 or sep in "\"'\r\n" or sep.isalnum():
        raise InvalidDataError(f"--sep {spec!r} is not a delimiter: give one character such as ';' or '|', or "
                               "comma, semicolon, tab, pipe.")
    return sep


def detect_delimiter(lines: Sequence[str], default: str = ",") -> str:
    """The delimiter of a text table, from its first lines.

    Each of :data:`DELIMITERS` splits the non-blank ``lines`` (quotes respected); it fits when every line gets
    the same number of fields, more than one. The fitting delimiter with the most fields wins, a tie going to
    the first in :data:`DELIMITERS` (``;`` before ``,``: a semicolon file often holds decimal commas). When
    none fits (one column, or ragged lines), ``default``.
    """
    text = [ln for ln in lines if ln.strip()]
    best, best_width = default, 1
    for sep in DELIMITERS:
        try:
            widths = {len(cells) for cells in csv.reader(text, delimiter=sep)}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = sep, width
    return best


def read_table(path: str | Path, *, header: bool | None = None, names: Sequence[str] = (),
               sep: str | None = None) -> Table:
    """Read a CSV / TSV (or Parquet) file as a :class:`Table`.

    Args:
        path: the file; ``.csv``/``.txt`` (delimiter detected), ``.tsv``/``.tab`` (tab), ``.parquet``/``.pq``.
        header: ``True``: the first line is a header; ``False``: it is data; ``None``: detect (never eats data).
        names: the column names the caller will look up (they help the detection).
        sep: the delimiter of a text file (one character, or a name :func:`parse_sep` reads); ``None``: detected
            for ``.csv``/``.txt``, tab for ``.tsv``/``.tab``. Parquet files ignore it.

    Raises:
        DataNotFoundError: the file does not exist.
        InvalidDataError: unsupported suffix, an empty file, a header line and no data rows, rows of unequal
            width (named by line), duplicate column names, a bad ``sep``.
    """
    p = Path(path).expanduser()
    delimiter = parse_sep(sep)
    if not p.is_file():
        raise DataNotFoundError(f"data file {str(p)!r} does not exist.")
    suffix = p.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(p)
    if suffix not in CSV_SUFFIXES:
        raise InvalidDataError(f"{p.name}: unsupported file type {p.suffix!r}; use .csv, .tsv or .parquet.")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
        if delimiter is None:
            default = CSV_SUFFIXES[suffix]
            first_lines = list(itertools.islice(io.StringIO(text, newline=""), SNIFF_LINES))
            delimiter = detect_delimiter(first_lines, default) if default == "," else default
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        raw: list[tuple[int, list[str]]] = []
        for cells in reader:
            if any(c.strip() for c in cells):
                raw.append((reader.line_num, [c.strip() for c in cells]))
    except UnicodeDecodeError as exc:
        raise InvalidDataError(f"{p.name} is not a UTF-8 text file ({exc.reason} at byte {exc.start}).") from exc
    except csv.Error as exc:
        raise InvalidDataError(f"{p.name} is not a valid CSV file: {exc}.") from exc
    if not raw:
        raise InvalidDataError(f"{p.name} is empty.")
    note = Table(str(p), None, [], [], delimiter).sep_note()
    width = len(raw[0][1])
    for line, cells in raw:
        if len(cells) != width:
            raise InvalidDataError(f"{p.name}, line {line}: {len(cells)} fields, but line {raw[0][0]} has {width}"
                                   f"{note}.")
    has_header = detect_header(raw[0][1], [c for _, c in raw[1:]], names) if header is None else header
    head = raw[0][1] if has_header else None
    body = raw[1:] if has_header else raw
    if head is not None:
        _check_header(p.name, head, note)
        if not body:
            raise InvalidDataError(f"{p.name} has a header line ({delimiter.join(head)}) but no data rows{note}.")
    return Table(str(p), head, [c for _, c in body], [f"line {n}" for n, _ in body], delimiter)


def _check_header(name: str, head: Sequence[str], note: str = "") -> None:
    if any(not h for h in head):
        raise InvalidDataError(f"{name}: the header line has an empty column name ({head}){note}.")
    dup = sorted({h for h in head if list(head).count(h) > 1})
    if dup:
        raise InvalidDataError(f"{name}: the header names the column(s) {dup} more than once{note}.")


def _read_parquet(p: Path) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InvalidDataError(f"{p.name}: reading Parquet files needs pyarrow (pip install pyarrow); "
                               "or save the table as CSV.") from exc
    try:
        tab = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise InvalidDataError(f"{p.name} is not a readable Parquet file: {exc}") from exc
    head = [str(c) for c in tab.column_names]
    _check_header(p.name, head)
    cols = [tab.column(c).to_pylist() for c in tab.column_names]
    rows = [["" if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in r] for r in zip(*cols, strict=True)]
    if not rows:
        raise InvalidDataError(f"{p.name} has columns ({','.join(head)}) but no data rows.")
    return Table(str(p), head, rows, [f"row {i + 1}" for i in range(len(rows))])
