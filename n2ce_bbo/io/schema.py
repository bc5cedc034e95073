"""The design schema: how the columns of a user's table map to the designs a method optimises, and back.

Three kinds of design:

* ``sequence``: one text column of strings of one length over an :class:`~n2ce_bbo.io.alphabets.Alphabet`;
  designs are int64 token ids ``[n, L]`` and are written back as strings in a column of the same name;
* ``tokens``: ``L`` integer columns holding token ids ``0..C-1`` (``--x FILE --num-classes C``, token tasks);
* ``continuous``: ``d`` numeric columns; designs are float32 ``[n, d]`` written back under the same names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.alphabets import Alphabet, infer_alphabet
from n2ce_bbo.io.tables import Table

Kind = Literal["sequence", "tokens", "continuous"]


@dataclass(frozen=True)
class DesignSchema:
    """Column names and design space of a dataset.

    Attributes:
        kind: ``"sequence"``, ``"tokens"`` or ``"continuous"``.
        columns: the design column(s): ``(name,)`` for sequences, else one name per feature / position.
        target: the name of the score column (``"y"`` when the input had none).
        alphabet: the letters of sequence designs.
        length: L of sequence designs.
        num_classes: C of token designs (sequences: the alphabet's size).
        positions: 0-based design column indices in a training file without a header line (so files without
            a header can be read the same way later), else ``None``.
    """

    kind: Kind
    columns: tuple[str, ...]
    target: str = "y"
    alphabet: Alphabet | None = None
    length: int | None = None
    num_classes: int | None = None
    positions: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind == "sequence" and (self.alphabet is None or self.length is None or len(self.columns) != 1):
            raise InvalidDataError("a sequence schema needs one column, an alphabet and a length.")
        if self.kind == "tokens" and (self.num_classes is None or self.num_classes < 2):
            raise InvalidDataError("a token schema needs num_classes >= 2.")
        if not self.columns:
            raise InvalidDataError("a design schema needs at least one design column.")

    # ------------------------------------------------------------------ facts
    @property
    def is_discrete(self) -> bool:
        """Token designs (sequences included)."""
        return self.kind != "continuous"

    @property
    def dim(self) -> int:
        """L (sequences, tokens) or d (continuous)."""
        return int(self.length) if self.kind == "sequence" else len(self.columns)  # type: ignore[arg-type]

    @property
    def vocabulary(self) -> int | None:
        """C for token designs, ``None`` for continuous ones."""
        if self.kind == "sequence":
            return self.alphabet.size  # type: ignore[union-attr]
        return self.num_classes

    def describe(self) -> str:
        """One line: ``"sequences of length 8 over dna (ACGT) in column 'sequence'"``."""
        if self.kind == "sequence":
            return (f"sequences of length {self.length} over {self.alphabet.describe()} "  # type: ignore[union-attr]
                    f"in column {self.columns[0]!r}")
        if self.kind == "tokens":
            return f"{len(self.columns)} token positions ({self.num_classes} classes)"
        names = ", ".join(self.columns[:6]) + (", ..." if len(self.columns) > 6 else "")
        return f"{len(self.columns)} continuous features ({names})"

    def lookup_names(self) -> list[str]:
        """Column names a file of such designs is expected to hold (for header detection)."""
        return list(self.columns)

    # ------------------------------------------------------------------ tables <-> designs
    def locate(self, table: Table) -> list[int]:
        """Indices of the design columns in ``table``.

        Raises:
            InvalidDataError: a named column is missing, or a table without a header cannot be matched.
        """
        if table.header is not None:
            return [table.column_index(c, "design column") for c in self.columns]
        if table.width == len(self.columns):
            return list(range(table.width))
        if self.positions is not None and max(self.positions) < table.width:
            return list(self.positions)
        raise InvalidDataError(
            f"{table.name} has no header line and {table.width} columns{table.sep_note()}; the designs are the "
            f"column(s) {list(self.columns)}: add a header line naming them."
        )

    def designs_from_table(self, table: Table, columns: Sequence[int] | None = None) -> np.ndarray:
        """The designs held by ``table``: int64 ``[n, L]`` tokens or float32 ``[n, d]``.

        Args:
            table: the table.
            columns: the design columns' indices (default: :meth:`locate`).

        Raises:
            InvalidDataError: a cell that does not fit (a letter outside the alphabet, a sequence of another
                length, a non-number, a token id out of range), named by line and column.
        """
        cols = list(columns) if columns is not None else self.locate(table)
        if self.kind == "sequence":
            j = cols[0]
            assert self.alphabet is not None
            x = encode_column(self.alphabet, table, j)
            if x.shape[1] != self.length:
                raise InvalidDataError(
                    f"{table.name}, column {table.column_label(j)}: sequences have length {x.shape[1]}, but these "
                    f"designs have length {self.length}."
                )
            return x
        values = np.stack([table.numbers(j, "design column") for j in cols], axis=1)
        if self.kind == "continuous":
            return values.astype(np.float32)
        return _token_ids(values, table, cols, int(self.num_classes))  # type: ignore[arg-type]

    def design_header(self) -> list[str]:
        """Column names of designs written out."""
        return list(self.columns)

    def design_cells(self, x: np.ndarray) -> list[list[Any]]:
        """Designs ``[n, ...]`` as table cells, one list per design (strings for sequences)."""
        x = np.asarray(x)
        if self.kind == "sequence":
            return [[s] for s in self.alphabet.decode(x)]  # type: ignore[union-attr]
        if self.kind == "tokens":
            return [[int(v) for v in row] for row in x]
        # the shortest decimal that reads back as the same float32 (0.3413899, not 0.34138989448547363)
        return [[float(np.format_float_positional(v, unique=True)) for v in row] for row in x.astype(np.float32)]

    def format_design(self, row: np.ndarray) -> str:
        """One design as short text (for messages)."""
        if self.kind == "sequence":
            return self.alphabet.decode(np.asarray(row).reshape(1, -1))[0]  # type: ignore[union-attr]
        vals = [f"{v:.4g}" if self.kind == "continuous" else str(int(v)) for v in np.asarray(row).reshape(-1)]
        return "(" + ", ".join(vals[:8]) + (", ..." if len(vals) > 8 else "") + ")"

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (read back by :meth:`from_json`)."""
        return {
            "kind": self.kind, "columns": list(self.columns), "target": self.target,
            "alphabet": self.alphabet.to_json() if self.alphabet is not None else None,
            "length": self.length, "num_classes": self.num_classes,
            "positions": list(self.positions) if self.positions is not None else None,
        }

    @classmethod
    def from_json(cls, d: Any) -> DesignSchema:
        """The schema described by :meth:`to_json`'s output.

        Raises:
            InvalidDataError: a malformed description.
        """
        if not isinstance(d, dict) or d.get("kind") not in ("sequence", "tokens", "continuous"):
            raise InvalidDataError(f"not a design schema: {d!r}")
        try:
            return cls(
                kind=d["kind"], columns=tuple(str(c) for c in d["columns"]), target=str(d.get("target", "y")),
                alphabet=Alphabet.from_json(d["alphabet"]) if d.get("alphabet") is not None else None,
                length=int(d["length"]) if d.get("length") is not None else None,
                num_classes=int(d["num_classes"]) if d.get("num_classes") is not None else None,
                positions=tuple(int(p) for p in d["positions"]) if d.get("positions") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDataError(f"malformed design schema {d!r}: {exc}") from exc


def encode_column(alphabet: Alphabet, table: Table, j: int) -> np.ndarray:
    """The sequences of column ``j`` as token ids ``[n, L]``; errors name the line and column, and suggest
    ``--header`` when the culprit is the first line of a file read without a header."""
    try:
        return alphabet.encode(table.cells(j), column=table.column_name(j), rows=table.labels, source=table.name)
    except InvalidDataError as exc:
        raise with_header_hint(exc, table) from None


def infer_column_alphabet(table: Table, j: int) -> Alphabet:
    """The alphabet of column ``j``'s sequences when their letters fit one cleanly (see
    :func:`~n2ce_bbo.io.alphabets.infer_alphabet`); errors name lines as :func:`encode_column`'s do.

    Raises:
        InvalidDataError: stray letters (named with their first lines), or fewer than two letters.
    """
    try:
        return infer_alphabet(table.cells(j), column=table.column_name(j), rows=table.labels, source=table.name)
    except InvalidDataError as exc:
        raise with_header_hint(exc, table) from None


def with_header_hint(exc: InvalidDataError, table: Table) -> InvalidDataError:
    """``exc``, with a ``--header`` hint when it names the first line of a file read without a header."""
    if table.header is None and table.labels and re.search(re.escape(table.labels[0]) + r"\b", str(exc)):
        return InvalidDataError(f"{exc} If {table.labels[0]} is a header, pass --header{table.sep_note()}.")
    return exc


def _token_ids(values: np.ndarray, table: Table, cols: Sequence[int], num_classes: int) -> np.ndarray:
    bad = (values != np.round(values)) | (values < 0) | (values >= num_classes)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidDataError(
            f"{table.name}, {table.labels[r]}, column {table.column_label(cols[c])}: {values[r, c]:g} is not a "
            f"token id in 0..{num_classes - 1}."
        )
    return values.astype(np.int64)


def continuous_schema(d: int, names: Sequence[str] | None = None, target: str = "y") -> DesignSchema:
    """A continuous schema with ``names`` (default ``x0 .. x{d-1}``)."""
    cols = tuple(names) if names is not None else tuple(f"x{i}" for i in range(d))
    if len(cols) != d:
        raise InvalidDataError(f"{len(cols)} feature names for {d} features.")
    return DesignSchema("continuous", cols, target)


def token_schema(length: int, num_classes: int, names: Sequence[str] | None = None, target: str = "y") -> DesignSchema:
    """A token schema of ``length`` positions named ``names`` (default ``x0 .. x{L-1}``)."""
    cols = tuple(names) if names is not None else tuple(f"x{i}" for i in range(length))
    if len(cols) != length:
        raise InvalidDataError(f"{len(cols)} column names for {length} token positions.")
    return DesignSchema("tokens", cols, target, num_classes=int(num_classes))


def sequence_schema(alphabet: Alphabet, length: int, column: str = "sequence", target: str = "y") -> DesignSchema:
    """A sequence schema: strings of ``length`` letters of ``alphabet`` in ``column``."""
    return DesignSchema("sequence", (column,), target, alphabet=alphabet, length=int(length),
                        num_classes=alphabet.size)
