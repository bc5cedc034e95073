"""A mutation budget: every proposal lies within ``K`` substitutions (Hamming distance) of at least one parent.

Part of :class:`~n2ce_bbo.constraints.Constraints` (its ``mutations`` field), so every method honours it:

* :meth:`MutationBudget.allowed`: a design's distance to its *nearest* parent is at most ``K``;
* :meth:`MutationBudget.project`: a candidate further away is moved onto the budget by reverting mutations
  relative to its nearest parent (ties: the first parent given). It keeps ``K`` of its mutations and reverts the
  rest. Positions the caller must keep (the ``--fix`` positions) are kept first; the other mutations are kept in
  a fixed pseudo-random order computed from the candidate's own tokens, so a candidate always projects to the same
  design, projection never increases the distance to any kept parent, and the kept mutations are spread along the
  sequence rather than crowded at its start. A candidate within the budget is left as it is.

Parents come from ``--parent SEQ`` (repeatable), ``--parents FILE`` (a FASTA file, or a table with one column of
sequences or the data's design column) or, in Python, a list of strings or an ``[P, L]`` array of token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.dataset import read_designs
from n2ce_bbo.io.fasta import is_fasta, read_fasta_records
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import read_table

#: Odd 64-bit multipliers of the order in which a candidate's mutations are kept (fixed: projection is pure).
_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


@dataclass(frozen=True, eq=False)
class MutationBudget:
    """At most ``max_mutations`` substitutions from the nearest of ``parents``.

    Attributes:
        parents: int64 token ids ``[P, L]``.
        max_mutations: K, the largest Hamming distance allowed (>= 0).
        labels: where each parent came from (``"--parent 1"``, ``"parents.fa, record p1 (line 1)"``), for messages.
    """

    parents: np.ndarray
    max_mutations: int
    labels: tuple[str, ...] = ()

    def distances(self, x: np.ndarray) -> np.ndarray:
        """Hamming distances of token designs ``x [n, L]`` to every parent: int64 ``[n, P]``."""
        x = np.asarray(x)
        return np.stack([(x != p).sum(axis=1) for p in self.parents], axis=1).astype(np.int64)

    def nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index [n], distance [n])`` of each design's nearest parent (ties: the first)."""
        d = self.distances(x)
        idx = d.argmin(axis=1)
        return idx, d[np.arange(d.shape[0]), idx]

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """Which designs ``x [n, L]`` lie within the budget: bool ``[n]``."""
        if not np.asarray(x).shape[0]:
            return np.ones(0, dtype=bool)
        return self.nearest(x)[1] <= self.max_mutations

    def project(self, x: np.ndarray, keep: Sequence[int] = ()) -> np.ndarray:
        """Designs ``x [n, L]`` moved onto the budget (a copy, same dtype; see the module docstring).

        Args:
            x: token designs.
            keep: positions never reverted (the fixed positions); when they alone differ from the nearest parent
                at more than K positions, the design stays outside the budget and :meth:`allowed` rejects it.
        """
        x = np.array(x, copy=True)
        if not x.shape[0]:
            return x
        idx, dist = self.nearest(x)
        over = np.flatnonzero(dist > self.max_mutations)
        if not over.size:
            return x
        xs, par = x[over], self.parents[idx[over]].astype(x.dtype)
        priority = _order(xs)  # uint64 [m, L]: smaller is kept first
        if len(keep):
            priority[:, np.asarray(list(keep), dtype=np.int64)] = 0
        rank = np.argsort(np.argsort(np.where(xs != par, priority, np.iinfo(np.uint64).max), axis=1, kind="stable"),
                          axis=1, kind="stable")
        revert = (xs != par) & (rank >= self.max_mutations)
        if len(keep):
            revert[:, np.asarray(list(keep), dtype=np.int64)] = False
        xs[revert] = par[revert]
        x[over] = xs
        return x

    def fixed_cost(self, fixed: dict[int, int]) -> int:
        """The fewest mutations the ``fixed`` positions force (over the parents): 0 when a parent holds them all."""
        if not fixed:
            return 0
        pos = np.fromiter(fixed.keys(), dtype=np.int64)
        tok = np.fromiter(fixed.values(), dtype=np.int64)
        return int((self.parents[:, pos] != tok).sum(axis=1).min())

    def check(self, dim: int, num_classes: int | None) -> None:
        """Check the budget fits token designs of length ``dim``.

        Raises:
            InvalidDataError: no parents, parents of another length or with ids outside ``0..C-1``, K below 0.
        """
        p = np.asarray(self.parents)
        if p.ndim != 2 or not p.shape[0]:
            raise InvalidDataError("a mutation budget needs at least one parent (--parent SEQ or --parents FILE).")
        if p.shape[1] != dim:
            raise InvalidDataError(f"the parents have length {p.shape[1]}, the designs {dim}.")
        if num_classes is not None and (p.min() < 0 or p.max() >= num_classes):
            raise InvalidDataError(f"parent token ids must lie in 0..{num_classes - 1}.")
        if self.max_mutations < 0:
            raise InvalidDataError(f"--max-mutations {self.max_mutations}: give 0 or more substitutions.")

    def describe(self, schema: DesignSchema | None = None) -> str:
        """``"at most 2 mutations from the parent ACGTAC"`` / ``"... from the nearest of 3 parents"``."""
        k = self.max_mutations
        head = f"at most {k} mutation{'s' if k != 1 else ''} (substitutions)"
        if len(self.parents) > 1:
            return f"{head} from the nearest of {len(self.parents)} parents"
        text = schema.format_design(self.parents[0]) if schema is not None else " ".join(map(str, self.parents[0]))
        return f"{head} from the parent {text if len(text) <= 60 else text[:57] + '...'}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record (the parents as token ids)."""
        return {"max_mutations": int(self.max_mutations), "parents": np.asarray(self.parents).tolist()}


def _order(x: np.ndarray) -> np.ndarray:
    """A pseudo-random priority ``uint64 [n, L]`` per position, a pure function of each row's tokens."""
    n, length = x.shape
    with np.errstate(over="ignore"):
        weights = (np.arange(1, length + 1, dtype=np.uint64) * _MIX) | np.uint64(1)
        h = (x.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)  # one hash per row
        v = h[:, None] + np.arange(length, dtype=np.uint64)[None, :] * _MIX
        v = (v ^ (v >> np.uint64(31))) * _MIX2
        v = (v ^ (v >> np.uint64(29))) * _MIX
        return v ^ (v >> np.uint64(32))


# ---------------------------------------------------------------------------- parsing user options


def build_budget(
    schema: DesignSchema,
    *,
    parents: Sequence[str] | np.ndarray | None = None,
    parents_file: str | Path | None = None,
    max_mutations: int | None = None,
) -> MutationBudget | None:
    """The mutation budget the options give (``None`` when they give none), checked against ``schema``.

    Args:
        schema: the designs' schema (sequence or token designs).
        parents: sequences (strings of the alphabet; token designs: ``"0,3,1"`` or lists of ids), or ``[P, L]``
            token ids.
        parents_file: a FASTA file, or a table of one column of sequences (or with the data's design column).
        max_mutations: K.

    Raises:
        InvalidDataError: K without parents or parents without K, continuous designs, a parent of another length
            or with letters outside the alphabet (named with its place).
    """
    given = (parents is not None and len(parents) > 0) or parents_file is not None
    if max_mutations is None:
        if given:
            raise InvalidDataError("--parent / --parents give the parents of a mutation budget; add "
                                   "--max-mutations K (max_mutations=K in Python).")
        return None
    if not given:
        raise InvalidDataError(f"--max-mutations {max_mutations} needs the parents it counts from: --parent SEQ "
                               "(repeatable) or --parents FILE (parents=[...] / parents_file= in Python).")
    if isinstance(max_mutations, bool) or not isinstance(max_mutations, (int, np.integer)) or max_mutations < 0:
        raise InvalidDataError(f"--max-mutations {max_mutations!r}: give a whole number of substitutions, 0 or more.")
    if schema.kind == "continuous":
        raise InvalidDataError("a mutation budget (--max-mutations) applies to sequence / token designs.")
    rows: list[np.ndarray] = []
    labels: list[str] = []
    if parents is not None and len(parents) > 0:
        if isinstance(parents, np.ndarray) and parents.dtype.kind in "iu":
            arr = parents.reshape(-1, schema.dim) if parents.ndim == 1 else parents
            rows += list(arr.astype(np.int64))
            labels += [f"parent {i + 1}" for i in range(arr.shape[0])]
        else:
            for i, s in enumerate(parents):
                rows.append(_encode_one(s, schema, f"--parent {i + 1} ({_short(s)})"))
                labels.append(f"--parent {i + 1}")
    if parents_file is not None:
        for label, s in _read_parents(parents_file, schema):
            rows.append(_encode_one(s, schema, label))
            labels.append(label)
    budget = MutationBudget(np.stack(rows).astype(np.int64), int(max_mutations), tuple(labels))
    budget.check(schema.dim, schema.vocabulary)
    return budget


def _short(s: object) -> str:
    text = s if isinstance(s, str) else ",".join(map(str, np.asarray(s).reshape(-1)))
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _encode_one(s: object, schema: DesignSchema, where: str) -> np.ndarray:
    """One parent as int64 token ids ``[L]``, of the designs' length and alphabet."""
    if schema.kind == "sequence":
        if not isinstance(s, str):
            raise InvalidDataError(f"{where}: a parent of sequence designs is a string of letters, not {type(s).__name__}.")
        text = s.strip()
        if len(text) != schema.dim:
            raise InvalidDataError(f"{where}: the parent has length {len(text)}; the designs have length {schema.dim}.")
        return schema.alphabet.encode([text], column="parent", rows=[where])[0]  # type: ignore[union-attr]
    ids = s.replace(";", ",").split(",") if isinstance(s, str) else list(np.asarray(s).reshape(-1))
    try:
        tok = np.array([int(str(v).strip()) for v in ids], dtype=np.int64)
    except ValueError:
        raise InvalidDataError(f"{where}: a parent of token designs is {schema.dim} comma-separated token ids.") from None
    if tok.size != schema.dim:
        raise InvalidDataError(f"{where}: the parent has {tok.size} token ids; the designs have {schema.dim}.")
    c = int(schema.num_classes or 0)
    if tok.min() < 0 or tok.max() >= c:
        raise InvalidDataError(f"{where}: token ids must lie in 0..{c - 1}.")
    return tok


def _read_parents(path: str | Path, schema: DesignSchema) -> list[tuple[str, str | np.ndarray]]:
    """``(label, sequence)`` of each parent in a FASTA file or a one-column table (token designs: ``(label, ids)``
    from a table with the data's columns)."""
    if schema.kind == "tokens":
        x, table = read_designs(path, schema)
        return [(f"{table.name}, {label}", row) for row, label in zip(x, table.labels, strict=True)]
    if is_fasta(path):
        return [(f"{Path(path).name}, {r.label}", r.sequence) for r in read_fasta_records(path)]
    table = read_table(path, names=schema.lookup_names())
    if table.header is not None and schema.columns[0] in table.header:
        j = table.header.index(schema.columns[0])
    elif table.width == 1:
        j = 0
    else:
        raise InvalidDataError(f"{table.name}: a parents table has one column of sequences, or the data's design "
                               f"column {schema.columns[0]!r}; it has {table.width} columns{table.sep_note()}.")
    if not table.n_rows:
        raise InvalidDataError(f"{table.name} holds no parents.")
    return [(f"{table.name}, {label}", row[j]) for row, label in zip(table.rows, table.labels, strict=True)]
