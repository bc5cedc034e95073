"""Constraints every proposal must honour: fixed sequence positions, excluded designs, bounds on features, a
mutation budget (at most K substitutions from a parent; :mod:`n2ce_bbo.mutations`), outcome constraints (a
second measured column predicted to stay above a floor; :mod:`n2ce_bbo.workflow.outcomes` fits their models).

A :class:`Constraints` offers two pure operations on a batch of candidate designs:

* :meth:`Constraints.project` moves each candidate to the nearest design that satisfies the *fixed*, *bounds*
  and *mutation budget* constraints (tokens: fixed positions set, then mutations beyond the budget reverted to the
  nearest parent's letters; continuous: clipped into the bounds);
* :meth:`Constraints.allowed` says which candidates satisfy every constraint, exclusions and outcome constraints
  included (an outcome constraint is a prediction: a design is allowed when its models predict it satisfied).

Proposers project their candidates, keep the allowed ones, and select from those, so no proposal can break
a constraint; when too few allowed designs exist the batch is shorter and the shortfall is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import InvalidDataError, NoFeasibleDesignError
from n2ce_bbo.io.dataset import read_designs
from n2ce_bbo.io.fasta import is_fasta, read_fasta_records
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import read_table
from n2ce_bbo.mutations import MutationBudget, build_budget


@dataclass(frozen=True)
class Constraints:
    """Constraints on proposed designs.

    Attributes:
        fixed: token designs: ``{position: token id}`` (0-based positions) that every proposal must hold.
        excluded: ``[m, L]`` / ``[m, d]`` designs never to propose (for example those already tested).
        lower: continuous designs: ``[d]`` lower bounds (``-inf`` where unbounded), in the data's units.
        upper: continuous designs: ``[d]`` upper bounds (``+inf`` where unbounded).
        mutations: token designs: at most K substitutions from the nearest parent (``--max-mutations``).
        outcomes: outcome constraints (``--outcome expression>=0.5``) as a filter with ``allowed(x) -> bool [n]``
            (predicted to satisfy every one), ``describe()`` and ``to_json()`` (lists): an
            :class:`~n2ce_bbo.workflow.outcomes.OutcomeModels`, which a fitted model adds when it proposes.
    """

    fixed: Mapping[int, int] = field(default_factory=dict)
    excluded: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    mutations: MutationBudget | None = None
    outcomes: Any = None

    @property
    def is_empty(self) -> bool:
        """No constraint at all."""
        return not self.fixed and (self.excluded is None or not len(self.excluded)) and \
            self.lower is None and self.upper is None and self.mutations is None and self.outcomes is None

    def check(self, *, is_discrete: bool, dim: int, num_classes: int | None) -> None:
        """Check the constraints fit a design space.

        Raises:
            InvalidDataError: fixed positions on continuous designs or out of range, bounds on tokens or of the
                wrong length, lower above upper, excluded designs of another shape.
        """
        if self.fixed and not is_discrete:
            raise InvalidDataError("fixed positions apply to sequence / token designs; use bounds for features.")
        for pos, tok in self.fixed.items():
            if not 0 <= int(pos) < dim:
                raise InvalidDataError(f"fixed position {pos} is outside 0..{dim - 1} (positions start at 0).")
            if num_classes is not None and not 0 <= int(tok) < num_classes:
                raise InvalidDataError(f"fixed token {tok} at position {pos} is outside 0..{num_classes - 1}.")
        for name, b in (("lower", self.lower), ("upper", self.upper)):
            if b is None:
                continue
            if is_discrete:
                raise InvalidDataError("bounds apply to continuous designs; use fixed positions for sequences.")
            if np.asarray(b).shape != (dim,):
                raise InvalidDataError(f"{name} bounds need {dim} values (one per feature), got {np.asarray(b).size}.")
            if np.isnan(b).any():
                raise InvalidDataError(f"{name} bounds hold NaN.")
        if self.lower is not None and self.upper is not None and (np.asarray(self.lower) > np.asarray(self.upper)).any():
            j = int(np.flatnonzero(np.asarray(self.lower) > np.asarray(self.upper))[0])
            raise InvalidDataError(f"feature {j}: lower bound {self.lower[j]:g} exceeds upper bound {self.upper[j]:g}.")
        if self.excluded is not None and len(self.excluded) and np.asarray(self.excluded).shape[1:] != (dim,):
            raise InvalidDataError(f"excluded designs must have {dim} values each, got shape {np.asarray(self.excluded).shape}.")
        if self.mutations is not None:
            if not is_discrete:
                raise InvalidDataError("a mutation budget (--max-mutations) applies to sequence / token designs.")
            self.mutations.check(dim, num_classes)

    def project(self, x: np.ndarray) -> np.ndarray:
        """Candidates ``[n, ...]`` moved onto the fixed positions and the mutation budget (fixed positions kept) /
        into the bounds (a copy; same dtype)."""
        x = np.array(x, copy=True)
        if self.fixed and x.size:
            pos = np.fromiter(self.fixed.keys(), dtype=np.int64)
            x[:, pos] = np.fromiter(self.fixed.values(), dtype=np.int64).astype(x.dtype)
        if self.mutations is not None and x.size:
            x = self.mutations.project(x, keep=list(self.fixed))
        if self.lower is not None or self.upper is not None:
            lo = -np.inf if self.lower is None else np.asarray(self.lower)
            hi = np.inf if self.upper is None else np.asarray(self.upper)
            x = np.clip(x, lo, hi).astype(x.dtype)
        return x

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """Which of the candidates ``[n, ...]`` satisfy every constraint: bool ``[n]``."""
        x = np.asarray(x)
        if not x.shape[0]:
            return np.ones(0, dtype=bool)
        ok = self._holds_fixed(x)
        if self.mutations is not None:
            ok &= self.mutations.allowed(x)
        if self.lower is not None:
            ok &= (x >= np.asarray(self.lower, dtype=x.dtype)).all(axis=1)
        if self.upper is not None:
            ok &= (x <= np.asarray(self.upper, dtype=x.dtype)).all(axis=1)
        if self.excluded is not None and len(self.excluded):
            banned = {r.tobytes() for r in np.ascontiguousarray(np.asarray(self.excluded).astype(x.dtype))}
            rows = np.ascontiguousarray(x.reshape(x.shape[0], -1))
            ok &= np.fromiter((r.tobytes() not in banned for r in rows), dtype=bool, count=rows.shape[0])
        if self.outcomes is not None and ok.any():  # the models predict only the designs still allowed
            idx = np.flatnonzero(ok)
            ok[idx] = self.outcomes.allowed(x[idx])
        return ok

    def require_feasible(self, schema: DesignSchema) -> None:
        """Fail at once when no design of ``schema`` can satisfy the constraints, as far as that is certain without
        searching: every token design the fixed positions allow is excluded, or the bounds leave one point of a
        continuous space and it is excluded.

        Raises:
            NoFeasibleDesignError: naming the constraints and the reason.
        """
        budget = self.mutations
        if budget is not None and budget.fixed_cost(dict(self.fixed)) > budget.max_mutations:
            raise self.no_design_error(schema, f"the fixed positions differ from every parent at more than "
                                               f"{budget.max_mutations} positions")
        if budget is not None and budget.max_mutations == 0 and not self.allowed(budget.parents).any():
            raise self.no_design_error(schema, "with --max-mutations 0 only the parents themselves are allowed, and "
                                               "none of them holds the fixed positions or each is excluded")
        if self.excluded is None or not len(self.excluded):
            return
        if schema.is_discrete:
            space = int(schema.vocabulary or 0) ** (schema.dim - len(self.fixed))
            if len(self.excluded) < space:
                return
            ex = np.asarray(self.excluded).astype(np.int64)
            hit = np.unique(ex[self._holds_fixed(ex)], axis=0).shape[0]  # the excluded designs the fixed allow
            if hit >= space:
                allow = "the fixed positions allow" if self.fixed else "the design space holds"
                raise self.no_design_error(schema, f"{allow} {space} design{'s' if space != 1 else ''} and the "
                                                   f"excluded designs include {'all of them' if space != 1 else 'it'}")
        elif self.lower is not None and self.upper is not None and np.array_equal(self.lower, self.upper):
            point = np.asarray(self.lower, dtype=np.float32).reshape(1, -1)
            if not self.allowed(point)[0]:
                raise self.no_design_error(schema, "the bounds leave one design, and it is excluded")

    def _holds_fixed(self, x: np.ndarray) -> np.ndarray:
        """Which token designs ``x [n, L]`` hold every fixed position: bool ``[n]``."""
        ok = np.ones(x.shape[0], dtype=bool)
        for pos, tok in self.fixed.items():
            ok &= x[:, int(pos)] == tok
        return ok

    def no_design_error(self, schema: DesignSchema | None, reason: str = "") -> NoFeasibleDesignError:
        """The error when no design is left: it names the constraints and ``reason`` (default: every candidate
        broke them) and says how to loosen them."""
        if self.is_empty:
            return NoFeasibleDesignError(f"the method proposed no designs{': ' + reason if reason else ''}.")
        why = reason or "every candidate the method found broke them"
        return NoFeasibleDesignError(
            f"no design satisfies the constraints ({'; '.join(self.describe(schema))}): {why}. Nothing was proposed; "
            "loosen them (fewer --fix positions, a shorter --exclude table, wider --lower/--upper bounds, a larger "
            "--max-mutations, looser --outcome limits or a lower --outcome-probability)."
        )

    def describe(self, schema: DesignSchema | None = None) -> list[str]:
        """One short line per constraint, for summaries."""
        out = []
        if self.fixed:
            if schema is not None and schema.kind == "sequence":
                letters = schema.alphabet.letters  # type: ignore[union-attr]
                items = [f"{p}={letters[t]}" for p, t in sorted(self.fixed.items())]
            else:
                items = [f"{p}={t}" for p, t in sorted(self.fixed.items())]
            out.append("fixed positions " + ", ".join(items))
        if self.excluded is not None and len(self.excluded):
            out.append(f"{len(self.excluded)} excluded designs")
        if self.lower is not None or self.upper is not None:
            names = list(schema.columns) if schema is not None else None
            d = len(self.lower if self.lower is not None else self.upper)  # type: ignore[arg-type]
            parts = []
            for j in range(d):
                lo = -np.inf if self.lower is None else float(self.lower[j])
                hi = np.inf if self.upper is None else float(self.upper[j])
                if np.isfinite(lo) or np.isfinite(hi):
                    parts.append(f"{lo:g} <= {names[j] if names else f'x{j}'} <= {hi:g}")
            out.append("bounds " + ", ".join(parts))
        if self.mutations is not None:
            out.append(self.mutations.describe(schema))
        if self.outcomes is not None:
            out += self.outcomes.describe()
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record of the constraints (excluded designs counted, not listed)."""
        return {
            "fixed": {str(k): int(v) for k, v in sorted(self.fixed.items())},
            "n_excluded": 0 if self.excluded is None else len(self.excluded),
            "lower": None if self.lower is None else [float(v) if np.isfinite(v) else None for v in self.lower],
            "upper": None if self.upper is None else [float(v) if np.isfinite(v) else None for v in self.upper],
            "mutations": None if self.mutations is None else self.mutations.to_json(),
            "outcomes": None if self.outcomes is None else self.outcomes.to_json(),
        }


# ---------------------------------------------------------------------------- parsing user options


def parse_fixed(specs: Sequence[str], schema: DesignSchema) -> dict[int, int]:
    """``["0=G", "5=A"]`` (or ``"0=G,5=A"``) -> ``{0: id of G, 5: id of A}``; token designs take ids (``"0=2"``).

    Raises:
        InvalidDataError: malformed entries, positions outside the design, letters outside the alphabet,
            continuous designs, one position fixed twice to different letters.
    """
    out: dict[int, int] = {}
    for spec in specs:
        for item in (s.strip() for s in spec.split(",")):
            if not item:
                continue
            if "=" not in item:
                raise InvalidDataError(f"--fix {item!r}: use POSITION=LETTER, for example 0=G (positions start at 0).")
            pos_s, val = (t.strip() for t in item.split("=", 1))
            if not pos_s.isdigit():
                raise InvalidDataError(f"--fix {item!r}: the position {pos_s!r} is not a non-negative integer.")
            pos = int(pos_s)
            if schema.kind == "continuous":
                raise InvalidDataError("--fix applies to sequence designs; bound continuous features with "
                                       "--lower / --upper.")
            if pos >= schema.dim:
                raise InvalidDataError(f"--fix {item!r}: position {pos} is outside the designs' 0..{schema.dim - 1}.")
            if schema.kind == "sequence":
                tok = schema.alphabet.index(val)  # type: ignore[union-attr]
            else:
                if not val.isdigit() or int(val) >= int(schema.num_classes or 0):
                    raise InvalidDataError(f"--fix {item!r}: {val!r} is not a token id in 0..{int(schema.num_classes or 0) - 1}.")
                tok = int(val)
            if out.get(pos, tok) != tok:
                raise InvalidDataError(f"--fix fixes position {pos} twice, to different letters.")
            out[pos] = tok
    return out


def parse_bounds(specs: Sequence[str], schema: DesignSchema, which: str) -> np.ndarray | None:
    """``--lower``/``--upper`` values: one comma-separated list with a value per feature (empty = unbounded),
    or ``NAME=VALUE`` items naming features. Returns ``[d]`` floats with ``∓inf`` where unbounded, or ``None``.

    Raises:
        InvalidDataError: non-numbers, unknown feature names, a list of the wrong length, sequence designs.
    """
    items = [s.strip() for spec in specs for s in spec.split(",")] if specs else []
    if not specs:
        return None
    if schema.kind != "continuous":
        raise InvalidDataError(f"--{which} applies to continuous designs; fix sequence positions with --fix.")
    fill = -np.inf if which == "lower" else np.inf
    out = np.full(schema.dim, fill)
    named = [i for i in items if "=" in i]
    if named and len(named) != len([i for i in items if i]):
        raise InvalidDataError(f"--{which}: give either NAME=VALUE items or one value per feature, not a mix.")
    if named:
        for item in named:
            name, val = (t.strip() for t in item.split("=", 1))
            if name not in schema.columns:
                raise InvalidDataError(f"--{which} {item!r}: no feature named {name!r}; features are {list(schema.columns)}.")
            out[schema.columns.index(name)] = _number(val, f"--{which} {item!r}")
        return out
    if len(items) != schema.dim:
        raise InvalidDataError(f"--{which}: {len(items)} values for {schema.dim} features ({', '.join(schema.columns)}); "
                               "give one per feature (empty for none) or NAME=VALUE items.")
    for j, val in enumerate(items):
        if val:
            out[j] = _number(val, f"--{which} value {j + 1}")
    return out


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InvalidDataError(f"{what}: {text!r} is not a number.") from None
    if np.isnan(v):
        raise InvalidDataError(f"{what}: NaN is not a bound.")
    return v


def read_bounds_file(path: str | Path, schema: DesignSchema) -> tuple[np.ndarray, np.ndarray]:
    """A bounds file: a CSV with columns ``feature,lower,upper``, one row per bounded feature (empty = none).

    Raises:
        DataNotFoundError, InvalidDataError: a missing file, unknown features, non-numbers.
    """
    table = read_table(path, header=True)
    cols = [table.column_index(c, "column") for c in ("feature", "lower", "upper")]
    lower, upper = np.full(schema.dim, -np.inf), np.full(schema.dim, np.inf)
    if schema.kind != "continuous":
        raise InvalidDataError(f"{table.name}: bounds apply to continuous designs.")
    for row, label in zip(table.rows, table.labels, strict=True):
        name, lo, hi = (row[c] for c in cols)
        if name not in schema.columns:
            raise InvalidDataError(f"{table.name}, {label}: no feature named {name!r}; features are {list(schema.columns)}.")
        j = schema.columns.index(name)
        if lo:
            lower[j] = _number(lo, f"{table.name}, {label}, lower")
        if hi:
            upper[j] = _number(hi, f"{table.name}, {label}, upper")
    return lower, upper


def build_constraints(
    schema: DesignSchema,
    *,
    fix: Sequence[str] = (),
    exclude: str | Path | np.ndarray | Sequence[str] | None = None,
    lower: Sequence[str] | np.ndarray | None = None,
    upper: Sequence[str] | np.ndarray | None = None,
    bounds_file: str | Path | None = None,
    header: bool | None = None,
    parents: Sequence[str] | np.ndarray | None = None,
    parents_file: str | Path | None = None,
    max_mutations: int | None = None,
) -> Constraints:
    """Constraints from user options, checked against ``schema``.

    Args:
        schema: the designs' schema.
        fix: ``POSITION=LETTER`` items (sequences) or ``POSITION=ID`` (tokens).
        exclude: a table file of designs never to propose (same columns as the data; the score is optional), a
            FASTA file of them,
            or the designs themselves (strings for sequences, or an array).
        lower, upper: ``--lower``/``--upper`` items (see :func:`parse_bounds`) or ``[d]`` arrays.
        bounds_file: a ``feature,lower,upper`` CSV (combined with ``lower``/``upper``: the tighter bound wins).
        header: whether the exclude file has a header line (``None``: detect).
        parents, parents_file, max_mutations: a mutation budget: at most ``max_mutations`` substitutions from the
            nearest parent; parents as strings (or ``[P, L]`` token ids) and/or a FASTA file or one-column table
            (see :func:`n2ce_bbo.mutations.build_budget`).

    Raises:
        InvalidDataError: any malformed option (see the parsers).
    """
    fixed = parse_fixed(list(fix), schema) if fix else {}
    lo = _bound_values(lower, schema, "lower")
    hi = _bound_values(upper, schema, "upper")
    if bounds_file is not None:
        flo, fhi = read_bounds_file(bounds_file, schema)
        lo = flo if lo is None else np.maximum(lo, flo)
        hi = fhi if hi is None else np.minimum(hi, fhi)
    excluded = _excluded(exclude, schema, header)
    budget = build_budget(schema, parents=parents, parents_file=parents_file, max_mutations=max_mutations)
    cons = Constraints(fixed, excluded, lo, hi, budget)
    cons.check(is_discrete=schema.is_discrete, dim=schema.dim, num_classes=schema.vocabulary)
    return cons


def _bound_values(v: Sequence[str] | np.ndarray | None, schema: DesignSchema, which: str) -> np.ndarray | None:
    if v is None:
        return None
    if isinstance(v, np.ndarray) or (isinstance(v, (list, tuple)) and v and not isinstance(v[0], str)):
        arr = np.asarray(v, dtype=np.float64).reshape(-1)
        if schema.kind != "continuous":
            raise InvalidDataError(f"{which} bounds apply to continuous designs.")
        return arr
    return parse_bounds(list(v), schema, which)


def _excluded(exclude: Any, schema: DesignSchema, header: bool | None) -> np.ndarray | None:
    if exclude is None:
        return None
    if isinstance(exclude, (str, Path)) and is_fasta(exclude) and schema.kind == "sequence":
        records = read_fasta_records(exclude)
        return schema.alphabet.encode([r.sequence for r in records], column="excluded designs",  # type: ignore[union-attr]
                                      rows=[r.label for r in records], source=Path(exclude).name)
    if isinstance(exclude, (str, Path)):
        x, _ = read_designs(exclude, schema, header=header)
        return x
    if schema.kind == "sequence" and isinstance(exclude, (list, tuple)) and all(isinstance(s, str) for s in exclude):
        return schema.alphabet.encode(list(exclude), column="excluded designs") if exclude else None  # type: ignore[union-attr]
    arr = np.asarray(exclude)
    return arr.astype(np.float32 if schema.kind == "continuous" else np.int64).reshape(arr.shape[0], -1)
