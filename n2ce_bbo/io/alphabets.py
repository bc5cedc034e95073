"""Alphabets: the letters of sequence designs, and the map between strings and integer token ids.

Named alphabets (case-insensitive: ``acgt`` reads as ``ACGT``; proposals are written in upper case)::

    dna      ACGT
    rna      ACGU
    protein  ACDEFGHIKLMNPQRSTVWY   (the 20 standard amino acids)

Any other string of at least two distinct characters is a custom alphabet, case-sensitive, in the order
given: token id ``i`` is the ``i``-th letter. Positions in sequences are 0-based everywhere.

Without ``--alphabet`` the alphabet is inferred only when the letters fit one cleanly (:func:`infer_alphabet`):
DNA with a stray ``N`` is refused with an error naming the letter and its line, never read as protein.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from n2ce_bbo.errors import InvalidDataError

NAMED_ALPHABETS: dict[str, str] = {
    "dna": "ACGT",
    "rna": "ACGU",
    "protein": "ACDEFGHIKLMNPQRSTVWY",
}

_FORBIDDEN = set(" \t\r\n,;\"'")

#: Inference refuses data whose characters are all but this share nucleotides (or amino acids) and the rest
#: stray letters (``N``, ``X``, ...), rather than guess a larger alphabet: see :func:`infer_alphabet`.
STRAY_SHARE = 0.05

#: How many rows a stray-letter error names.
_SHOWN_ROWS = 3


@dataclass(frozen=True)
class Alphabet:
    """The letters of a sequence design space.

    Attributes:
        letters: the letters in token-id order (``letters[i]`` is token ``i``).
        name: ``"dna"``, ``"rna"``, ``"protein"`` or ``None`` for a custom alphabet.
        case_sensitive: whether ``a`` and ``A`` differ (named alphabets: no).
    """

    letters: str
    name: str | None = None
    case_sensitive: bool = True

    def __post_init__(self) -> None:
        if len(self.letters) < 2:
            raise InvalidDataError(f"an alphabet needs at least two letters, got {self.letters!r}.")
        if len(set(self.letters)) != len(self.letters):
            dup = sorted({c for c in self.letters if self.letters.count(c) > 1})
            raise InvalidDataError(f"alphabet {self.letters!r} repeats the letter(s) {''.join(dup)!r}.")
        bad = sorted(set(self.letters) & _FORBIDDEN)
        if bad:
            raise InvalidDataError(f"alphabet {self.letters!r} holds separators or spaces {bad}; use letters only.")

    @property
    def size(self) -> int:
        """Number of letters C (the token vocabulary size)."""
        return len(self.letters)

    def describe(self) -> str:
        """``"dna (ACGT)"`` or ``"ACGT"``."""
        return f"{self.name} ({self.letters})" if self.name else self.letters

    def _normalise(self, text: str) -> str:
        return text if self.case_sensitive else text.upper()

    def index(self, letter: str) -> int:
        """Token id of one letter.

        Raises:
            InvalidDataError: the letter is not in the alphabet.
        """
        pos = self.letters.find(self._normalise(letter)) if len(letter) == 1 else -1
        if pos < 0:
            raise InvalidDataError(f"{letter!r} is not a letter of the alphabet {self.describe()}.")
        return pos

    def encode(
        self, sequences: Sequence[str], *, column: str = "sequence", rows: Sequence[str] | None = None,
        source: str = "",
    ) -> np.ndarray:
        """Strings of one length -> int64 token ids ``[n, L]``.

        Args:
            sequences: ``n`` strings.
            column: the column they came from (named in errors).
            rows: where each string sits in its file, for errors (``"line 7"``); default ``"row 1"``, ...
            source: the file name (named in errors).

        Raises:
            InvalidDataError: no sequences, an empty one, unequal lengths, or a letter outside the alphabet;
                the message names the line, the column, the position and the letter.
        """
        seqs = [self._normalise(s.strip()) for s in sequences]
        where = f"{source}: " if source else ""
        line_of = list(rows) if rows is not None else [f"row {i + 1}" for i in range(len(seqs))]
        if not seqs:
            raise InvalidDataError(f"{where}column {column!r} holds no sequences.")
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        values, counts = np.unique(lengths, return_counts=True)
        length = int(values[np.argmax(counts)])  # the most common length is the design length
        if length == 0 or (lengths == 0).any():
            i = int(np.flatnonzero(lengths == 0)[0])
            raise InvalidDataError(f"{where}{line_of[i]}, column {column!r}: the sequence is empty.")
        if values.size > 1:
            i = int(np.flatnonzero(lengths != length)[0])
            n_bad = int((lengths != length).sum())
            raise InvalidDataError(
                f"{where}{line_of[i]}, column {column!r}: sequence {seqs[i]!r} has length {lengths[i]}, "
                f"but {int(counts.max())} of {len(seqs)} sequences have length {length} ({n_bad} differ{'s' if n_bad == 1 else ''}); "
                "all sequences must have one length."
            )
        codes = np.array(seqs, dtype=f"<U{length}").view(np.uint32).reshape(len(seqs), length)
        table = np.full(max(int(codes.max()), max(ord(c) for c in self.letters)) + 1, -1, dtype=np.int64)
        for i, c in enumerate(self.letters):
            table[ord(c)] = i
        tokens = table[codes]
        if (tokens < 0).any():
            r, p = (int(v) for v in np.argwhere(tokens < 0)[0])
            n_bad = int((tokens < 0).any(axis=1).sum())
            raise InvalidDataError(
                f"{where}{line_of[r]}, column {column!r}: letter {sequences[r].strip()[p]!r} at position {p} "
                f"of {sequences[r].strip()!r} is not in the alphabet {self.describe()} "
                f"({n_bad} sequence{'s' if n_bad != 1 else ''} affected)."
            )
        return tokens

    def decode(self, tokens: np.ndarray) -> list[str]:
        """Token ids ``[n, L]`` -> ``n`` strings.

        Raises:
            InvalidDataError: an id outside ``0..C-1``.
        """
        t = np.asarray(tokens)
        if t.ndim != 2:
            raise InvalidDataError(f"token designs must be [n, L], got shape {t.shape}.")
        if t.size and (t.min() < 0 or t.max() >= self.size):
            raise InvalidDataError(f"token ids must lie in 0..{self.size - 1} for the alphabet {self.describe()}.")
        letters = np.array(list(self.letters))
        return ["".join(row) for row in letters[t.astype(np.int64)]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (read back by :meth:`from_json`)."""
        return {"letters": self.letters, "name": self.name, "case_sensitive": self.case_sensitive}

    @classmethod
    def from_json(cls, d: Any) -> Alphabet:
        """The alphabet described by :meth:`to_json`'s output.

        Raises:
            InvalidDataError: a malformed description.
        """
        if not isinstance(d, dict) or not isinstance(d.get("letters"), str):
            raise InvalidDataError(f"not an alphabet description: {d!r}")
        return cls(d["letters"], d.get("name"), bool(d.get("case_sensitive", True)))


def named_alphabet(name: str) -> Alphabet:
    """One of :data:`NAMED_ALPHABETS` (case-insensitive letters)."""
    return Alphabet(NAMED_ALPHABETS[name], name, case_sensitive=False)


def parse_alphabet(spec: str) -> Alphabet:
    """``"dna"``, ``"rna"``, ``"protein"`` (any case) or a custom string of letters such as ``"ACGT"``.

    A string equal to a named alphabet's letters (same order, all upper or all lower case) is that named
    alphabet, so ``--alphabet ACGT`` and ``--alphabet dna`` mean the same.

    Raises:
        InvalidDataError: fewer than two letters, a repeated letter, or separators.
    """
    key = spec.strip()
    if key.lower() in NAMED_ALPHABETS:
        return named_alphabet(key.lower())
    for name, letters in NAMED_ALPHABETS.items():
        if key.upper() == letters and key in (letters, letters.lower()):
            return named_alphabet(name)
    return Alphabet(key, None, case_sensitive=True)


def infer_alphabet(
    sequences: Sequence[str], *, column: str = "sequence", rows: Sequence[str] | None = None, source: str = "",
) -> Alphabet:
    """The alphabet of ``sequences`` when their letters fit one cleanly (case-insensitive for named ones).

    The rule, in order (shares count characters, case-insensitively):

    1. every letter is in ``dna`` (ACGT), else in ``rna`` (ACGU): that alphabet;
    2. at least ``1 - STRAY_SHARE`` (95 %) of the characters are in ACGT or in ACGU, the ambiguity code ``N``
       counted with them, but some letters fall outside: refused, since a stray ``N`` would otherwise turn
       DNA into protein and the model would propose I, D, W, ...;
    3. every letter is in ``protein``: protein;
    4. at least 95 % of the characters are amino acids, but some are not (``X``, ``B``, ``*``): refused;
    5. otherwise the sorted set of the letters, as a case-sensitive custom alphabet.

    Args:
        sequences: ``n`` strings.
        column, rows, source: the column, each string's place (``"line 7"``; default ``"row 1"``, ...) and the
            file name, named in errors as :meth:`Alphabet.encode` names them.

    Raises:
        InvalidDataError: rule 2 or 4 (the message names the stray letters and the first rows holding them, and
            says to pass ``--alphabet``), or fewer than two distinct letters.
    """
    seqs = [s.strip() for s in sequences]
    counts = Counter("".join(seqs))
    upper: Counter[str] = Counter()
    for c, k in counts.items():
        upper[c.upper()] += k
    for name in ("dna", "rna"):
        if set(upper) <= set(NAMED_ALPHABETS[name]):
            return named_alphabet(name)
    total = sum(counts.values())
    protein = set(upper) <= set(NAMED_ALPHABETS["protein"])
    nucleotide = max(("dna", "rna"), key=lambda n: sum(upper[c] for c in NAMED_ALPHABETS[n]))
    if sum(upper[c] for c in NAMED_ALPHABETS[nucleotide] + "N") >= (1 - STRAY_SHARE) * total:
        _refuse_strays(seqs, nucleotide, "protein" if protein else None, column, rows, source)
    if protein:
        return named_alphabet("protein")
    if sum(upper[c] for c in NAMED_ALPHABETS["protein"]) >= (1 - STRAY_SHARE) * total:
        _refuse_strays(seqs, "protein", None, column, rows, source)
    if len(counts) < 2:
        raise InvalidDataError(f"the sequences use fewer than two letters ({''.join(sorted(counts))!r}): "
                               "give the alphabet (--alphabet).")
    return Alphabet("".join(sorted(counts)), None, case_sensitive=True)


def _refuse_strays(seqs: Sequence[str], name: str, would_be: str | None, column: str, rows: Sequence[str] | None,
                   source: str) -> NoReturn:
    """The error of :func:`infer_alphabet`'s rules 2 and 4: most letters of ``seqs`` are in the named alphabet
    ``name``, a few are not; ``would_be`` is the named alphabet holding them all (``None``: custom)."""
    letters = set(NAMED_ALPHABETS[name])
    line_of = list(rows) if rows is not None else [f"row {i + 1}" for i in range(len(seqs))]
    stray: Counter[str] = Counter()
    hits: list[int] = []
    for i, s in enumerate(seqs):
        bad = [c for c in s if c.upper() not in letters]
        stray.update(bad)
        if bad:
            hits.append(i)
    total = sum(len(s) for s in seqs)
    share = 100.0 * (total - sum(stray.values())) / total
    shown = ", ".join(f"{line_of[i]} ({seqs[i]!r})" for i in hits[:_SHOWN_ROWS]) + \
        (f", ... ({len(hits)} rows)" if len(hits) > _SHOWN_ROWS else "")
    listed = ", ".join(f"{c!r} ({k}x)" for c, k in sorted(stray.items()))
    intended = would_be or "".join(sorted(set("".join(seqs))))
    where = f"{source}: " if source else ""
    raise InvalidDataError(
        f"{where}column {column!r}: {share:.1f}% of the letters are {named_alphabet(name).describe()}, but some "
        f"are not: {listed}, in {shown}. The alphabet is not guessed from such data (it would read as "
        f"{would_be or 'a custom alphabet'}, and proposals could use its other letters): pass --alphabet {intended} "
        f"if these letters are intended, or fix or remove those rows (--alphabet {name} then names each one left)."
    )
