"""Training data from a FASTA file (read with Biopython's ``Bio.SeqIO``): one record a design.

Suffixes :data:`FASTA_SUFFIXES` (``.fasta .fa .faa .fna .fas``), each also gzip-compressed (``.fa.gz``).
The score of each record comes one of two ways:

* **in its header**, as ``name=value`` pairs after the record id, separated by spaces or ``;``::

      >v17 activity=1.25 expression=0.4
      ACGTTGCA...

  ``target="activity"`` (``--target activity``) picks one; other words of the header are ignored;
* **in a second table** keyed by record id (``values="scores.csv"``, ``--values scores.csv``): ``id_column``
  (``--id-column``; default the table's first column) holds the record ids, ``target`` names the score column.
  Rows of the table naming no record are ignored (a note says how many).

The designs are the sequences (design column ``sequence``), of one length (``length`` keeps one; see
:mod:`n2ce_bbo.io.lengths`), over an alphabet given or inferred as for tables
(:func:`~n2ce_bbo.io.alphabets.infer_alphabet`). Rows are labelled ``record v17 (line 12)`` in every message.
Bad input raises :class:`~n2ce_bbo.errors.InvalidDataError` naming the record: a missing, non-numeric, NaN or
infinite score, a repeated record id, a record id the values table lacks, an empty file.
"""

from __future__ import annotations

import gzip
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import DataNotFoundError, InvalidDataError
from n2ce_bbo.io.alphabets import Alphabet, infer_alphabet, parse_alphabet
from n2ce_bbo.io.dataset import DesignData
from n2ce_bbo.io.lengths import one_length
from n2ce_bbo.io.schema import sequence_schema
from n2ce_bbo.io.tables import read_table

FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fna", ".fas")
#: The design column of FASTA data (its name in outputs such as ``designs.csv``).
FASTA_COLUMN = "sequence"
#: How many offending records a message names before "...".
_SHOWN = 3


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record.

    Attributes:
        id: the first word of the header.
        description: the whole header line without ``>``.
        sequence: the sequence, its lines joined.
        line: the 1-based line of its header in the file.
    """

    id: str
    description: str
    sequence: str
    line: int

    @property
    def label(self) -> str:
        """``"record v17 (line 12)"``, for messages."""
        return f"record {self.id} (line {self.line})"

    def header_values(self) -> dict[str, str]:
        """The ``name=value`` pairs of the header after the id (spaces or ``;`` between pairs)."""
        rest = self.description[len(self.id):] if self.description.startswith(self.id) else self.description
        out: dict[str, str] = {}
        for word in re.split(r"[\s;]+", rest):
            if "=" in word:
                name, value = word.split("=", 1)
                out.setdefault(name.strip(), value.strip())
        return out


def is_fasta(path: str | Path) -> bool:
    """Whether ``path`` has a FASTA suffix (optionally followed by ``.gz``)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in FASTA_SUFFIXES


def read_fasta_records(path: str | Path) -> list[FastaRecord]:
    """Every record of a FASTA file (``.gz``: gzip-compressed), in file order, parsed by ``Bio.SeqIO``.

    Raises:
        DataNotFoundError: the file does not exist.
        InvalidDataError: unreadable text, text before the first ``>`` header, no record at all.
    """
    from Bio import SeqIO  # Biopython loads in ~0.15 s; only the FASTA path needs it

    p = Path(path).expanduser()
    if not p.is_file():
        raise DataNotFoundError(f"FASTA file {str(p)!r} does not exist.")
    try:
        text = gzip.decompress(p.read_bytes()).decode("utf-8") if p.suffix.lower() == ".gz" else \
            p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InvalidDataError(f"{p.name}: not a readable FASTA text file ({exc}).") from exc
    lines = text.splitlines()
    header_lines = [i + 1 for i, line in enumerate(lines) if line.startswith(">")]
    first_text = next((i + 1 for i, line in enumerate(lines) if line.strip()), None)
    if first_text is None:
        raise InvalidDataError(f"{p.name} is empty: it holds no FASTA records (a record is a '>ID' line, then its "
                               "sequence).")
    if not header_lines or first_text < header_lines[0]:
        raise InvalidDataError(f"{p.name}, line {first_text}: {lines[first_text - 1].strip()[:40]!r} comes before "
                               "any FASTA header; a FASTA file starts with a '>ID' line (remove that text, or give "
                               "a table of designs instead).")
    try:
        parsed = [(r.id, r.description, str(r.seq)) for r in SeqIO.parse(io.StringIO(text), "fasta")]
    except ValueError as exc:
        raise InvalidDataError(f"{p.name}: not a FASTA file Biopython can read: {str(exc).splitlines()[0]}") from exc
    if len(parsed) != len(header_lines):  # never expected: Biopython starts a record at each '>' line
        header_lines = [0] * len(parsed)
    return [FastaRecord(i, d, s, line) for (i, d, s), line in zip(parsed, header_lines, strict=True)]


def read_fasta(
    path: str | Path,
    *,
    target: str,
    values: str | Path | None = None,
    id_column: str | int | None = None,
    alphabet: str | Alphabet | None = None,
    length: int | None = None,
    header: bool | None = None,
    sep: str | None = None,
) -> DesignData:
    """Sequence designs from a FASTA file, with scores from the headers or from a values table.

    Args:
        path: the FASTA file (see :data:`FASTA_SUFFIXES`; ``.gz`` too).
        target: the score's name: a header key (``activity`` in ``>v17 activity=1.25``), or with ``values`` the
            values table's column.
        values: a table (CSV, TSV, Parquet) of scores keyed by record id; ``None``: the scores are in the headers.
        id_column: the values table's column of record ids (name or 0-based index; default its first column).
        alphabet: ``"dna"``, ``"rna"``, ``"protein"``, a string of letters, or ``None`` to infer it.
        length: keep only the records of this length (``None``: all must share one length).
        header, sep: whether the values table has a header line (``None``: detected) and its delimiter.

    Returns:
        :class:`~n2ce_bbo.io.dataset.DesignData`: ``x`` int64 ``[n, L]`` token ids, ``y`` float64 ``[n]``, a
        sequence schema with design column ``sequence`` and target ``target``, labels ``record ID (line N)``.

    Raises:
        DataNotFoundError: a missing file.
        InvalidDataError: see the module docstring; each message names the file and the record.
    """
    if not isinstance(target, str) or not target.strip():
        raise InvalidDataError(f"FASTA data: the target is a name (a header key such as activity, or a column of "
                               f"--values), not {target!r}.")
    target = target.strip()
    name = Path(path).name
    records = read_fasta_records(path)
    _unique_ids(records, name)
    labels = [r.label for r in records]
    notes: list[str] = []
    if values is None:
        if id_column is not None:
            raise InvalidDataError("--id-column names the record-id column of a --values table; give --values too.")
        y = _header_scores(records, name, target)
    else:
        y, note = _table_scores(records, name, values, target, id_column, header, sep)
        notes += [note] if note else []
    keep, note = one_length([r.sequence for r in records], labels, source=name, column=FASTA_COLUMN,
                            unit="records", length=length)
    notes += [note] if note else []
    seqs, y, labels = [records[i].sequence for i in keep], y[keep], [labels[i] for i in keep]
    if len(seqs) < 2:
        raise InvalidDataError(f"{name}: {len(seqs)} record{'s' if len(seqs) != 1 else ''}; at least 2 are needed.")
    if isinstance(alphabet, Alphabet):
        alpha = alphabet
    else:
        alpha = infer_alphabet(seqs, column=FASTA_COLUMN, rows=labels, source=name) if alphabet is None else \
            parse_alphabet(alphabet)
    x = alpha.encode(seqs, column=FASTA_COLUMN, rows=labels, source=name)
    schema = sequence_schema(alpha, x.shape[1], FASTA_COLUMN, target)
    return DesignData(x, y, schema, name, labels, len(records), notes)


def _unique_ids(records: Sequence[FastaRecord], name: str) -> None:
    seen: dict[str, FastaRecord] = {}
    for r in records:
        if r.id in seen:
            raise InvalidDataError(f"{name}, {r.label}: record id {r.id!r} repeats that of line {seen[r.id].line}; "
                                   "record ids must be unique (they name each design in messages and --values).")
        seen[r.id] = r


def _refuse(name: str, bad: Sequence[tuple[FastaRecord, str]], fix: str) -> None:
    """Raise naming the first :data:`_SHOWN` ``(record, problem)`` pairs and how many there are."""
    if not bad:
        return
    shown = "; ".join(f"{r.label}: {why}" for r, why in bad[:_SHOWN])
    more = f"; ... ({len(bad)} records in all)" if len(bad) > _SHOWN else ""
    raise InvalidDataError(f"{name}, {shown}{more}. {fix}")


def _number(text: str) -> float | str:
    """``text`` as a finite float, or the reason it is not one."""
    try:
        v = float(text)
    except ValueError:
        return f"{text!r} is not a number"
    return v if math.isfinite(v) else f"the score is {text} (NaN or infinite)"


def _header_scores(records: Sequence[FastaRecord], name: str, target: str) -> np.ndarray:
    if not any(target in r.header_values() for r in records):
        found = ", ".join(sorted(records[0].header_values())) or "none"
        raise InvalidDataError(
            f"{name}: no record's header has a value named {target!r} (the first, {records[0].label}, "
            f"'>{records[0].description}', has: {found}). Put each score in its header as {target}=VALUE "
            f"(e.g. >v17 {target}=1.25), pick another --target, or give the scores in a table keyed by record id "
            "(--values FILE --id-column COLUMN).")
    y = np.zeros(len(records))
    bad: list[tuple[FastaRecord, str]] = []
    for i, r in enumerate(records):
        pairs = r.header_values()
        if target not in pairs:
            found = ", ".join(sorted(pairs)) or "none"
            bad.append((r, f"its header {'>' + r.description!r} has no value named {target!r} (values: {found})"))
            continue
        v = _number(pairs[target])
        if isinstance(v, str):
            bad.append((r, f"{target}={pairs[target]}: {v}"))
        else:
            y[i] = v
    _refuse(name, bad, f"Give each record's score in its header as {target}=VALUE (e.g. >v17 {target}=1.25), or "
                       "in a table keyed by record id (--values FILE --id-column COLUMN).")
    return y


def _table_scores(records: Sequence[FastaRecord], name: str, values: str | Path, target: str,
                  id_column: str | int | None, header: bool | None, sep: str | None) -> tuple[np.ndarray, str | None]:
    """Each record's score from the values table (float64 ``[n]``) and a note on rows naming no record."""
    asked = [target] + ([str(id_column)] if isinstance(id_column, str) else [])
    table = read_table(values, header=header, names=asked, sep=sep)
    jt = table.column_index(target, "target column")
    ji = table.column_index(id_column, "id column") if id_column is not None else (1 if jt == 0 else 0)
    if ji == jt:
        raise InvalidDataError(f"{table.name}: the id column and the target column are the same column.")
    scores = table.numbers(jt, "target column", allow_missing=True)
    row_of: dict[str, int] = {}
    for k, rid in enumerate(table.cells(ji)):
        if rid in row_of:
            raise InvalidDataError(f"{table.name}, {table.labels[k]}: id {rid!r} repeats that of "
                                   f"{table.labels[row_of[rid]]}; each record needs one score.")
        row_of[rid] = k
    y = np.zeros(len(records))
    bad: list[tuple[FastaRecord, str]] = []
    for i, r in enumerate(records):
        at = row_of.get(r.id)
        if at is None:
            bad.append((r, f"id {r.id!r} is not in column {table.column_label(ji)} of {table.name}"))
        elif not math.isfinite(scores[at]):
            bad.append((r, f"its score in {table.name}, {table.labels[at]}, column {table.column_label(jt)} is "
                           f"{repr(table.rows[at][jt]) if table.rows[at][jt] else 'empty'}"))
        else:
            y[i] = scores[at]
    _refuse(name, bad, f"Every record needs a finite score in {table.name} (ids in column "
                       f"{table.column_label(ji)}, scores in column {table.column_label(jt)}).")
    unused = len(row_of) - len({r.id for r in records} & set(row_of))
    note = f"{unused} row{'s' if unused != 1 else ''} of {table.name} name{'s' if unused == 1 else ''} no record of " \
        f"{name}; ignored." if unused else None
    return y, note
