"""A campaign's history, read from its complete steps (:mod:`.store`) into typed records: the definition and
initial rows (the init step), each round's batch (propose steps) and each set of measured rows (add steps).

Everything a campaign decides is derived from these records alone: which designs are **measured** (the initial
rows and every added row), which are **pending** (proposed in some round and not measured yet), the training rows
of the next fit (initial + every added row, in the order they were added) and the model to propose from (the last
step that saved one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from n2ce_bbo.campaign.store import Step
from n2ce_bbo.errors import CorruptDataError, InvalidDataError
from n2ce_bbo.io.schema import DesignSchema

MODEL = "model"


@dataclass(frozen=True)
class Definition:
    """What the init step fixed for the whole campaign.

    Attributes:
        name: a name for results (the data file's stem).
        method: the registered method name.
        config: the method's resolved settings (every fit of the campaign uses them).
        seed: the training seed (and the default proposal seed).
        schema: the designs' schema; ``schema.target`` is the measured column.
        bounds: ``[2, d]`` design box of continuous designs when the data defined one, else ``None``.
        source: where the initial rows came from.
    """

    name: str
    method: str
    config: dict[str, Any]
    seed: int
    schema: DesignSchema
    bounds: np.ndarray | None
    source: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (read back by :func:`definition_from`)."""
        return {"name": self.name, "method": self.method, "config": self.config, "seed": self.seed,
                "schema": self.schema.to_json(), "source": self.source,
                "bounds": None if self.bounds is None else np.asarray(self.bounds, dtype=np.float64).tolist()}


def definition_from(record: dict[str, Any], where: str) -> Definition:
    """The :class:`Definition` stored in an init step's record.

    Raises:
        CorruptDataError: a malformed record.
    """
    try:
        d = record["campaign"]
        bounds = d.get("bounds")
        return Definition(str(d["name"]), str(d["method"]), dict(d["config"]), int(d["seed"]),
                          DesignSchema.from_json(d["schema"]), None if bounds is None else np.asarray(bounds),
                          str(d.get("source", "")))
    except (KeyError, TypeError, ValueError, InvalidDataError) as exc:
        raise CorruptDataError(f"campaign step {where}: its definition is malformed: {exc}") from exc


@dataclass(frozen=True)
class Batch:
    """One round's proposals (a propose step).

    Attributes:
        step: the step.
        x: the designs ``[q, ...]``, best first (rank = position + 1).
        predicted: their predicted scores ``[q]`` (raw units), ``None`` for methods without a prediction.
        predicted_std: their predictive std ``[q]`` (raw units), or ``None``.
    """

    step: Step
    x: np.ndarray
    predicted: np.ndarray | None
    predicted_std: np.ndarray | None

    @property
    def round(self) -> int:
        """The round it opened."""
        return self.step.round


@dataclass(frozen=True)
class Added:
    """Rows measured and added in one add step.

    Attributes:
        step: the step.
        x: designs ``[n, ...]``; y: their measured scores ``[n]`` (raw units).
        matched_round: the round whose proposal each row measures ``[n]``, ``-1`` for an extra design.
        rank: its rank in that round's batch ``[n]`` (1 = first), ``-1`` for an extra design.
        labels: where each row sat in the input (``"line 7"``).
        source: the input's name.
    """

    step: Step
    x: np.ndarray
    y: np.ndarray
    matched_round: np.ndarray
    rank: np.ndarray
    labels: list[str]
    source: str


@dataclass
class History:
    """Everything a campaign holds, in step order (see the module docstring)."""

    steps: list[Step]
    definition: Definition
    x0: np.ndarray
    y0: np.ndarray
    batches: list[Batch] = field(default_factory=list)
    added: list[Added] = field(default_factory=list)

    @property
    def round(self) -> int:
        """The latest round (0 before the first proposal)."""
        return self.batches[-1].round if self.batches else 0

    def measured_keys(self) -> set[tuple[int, int]]:
        """``(round, rank)`` of every proposal measured so far."""
        return {(int(r), int(k)) for a in self.added for r, k in zip(a.matched_round, a.rank, strict=True) if r >= 0}

    def pending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Proposals not measured yet: designs ``[p, ...]``, their round ``[p]`` and rank ``[p]``."""
        done = self.measured_keys()
        xs, rounds, ranks = [], [], []
        for b in self.batches:
            keep = [k for k in range(b.x.shape[0]) if (b.round, k + 1) not in done]
            xs.append(b.x[keep])
            rounds += [b.round] * len(keep)
            ranks += [k + 1 for k in keep]
        x = np.concatenate(xs) if xs else self.x0[:0]
        return x, np.asarray(rounds, dtype=np.int64), np.asarray(ranks, dtype=np.int64)

    def training_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Every measured design ``[m, ...]`` and score ``[m]``: the initial rows, then each add's rows."""
        xs = [self.x0] + [a.x.astype(self.x0.dtype) for a in self.added]
        ys = [self.y0] + [a.y for a in self.added]
        return np.concatenate(xs), np.concatenate(ys).astype(np.float64)

    def measured_where(self) -> list[str]:
        """For each row of :meth:`training_rows`, where it was measured (for messages)."""
        out = ["in the initial data"] * int(self.x0.shape[0])
        for a in self.added:
            out += [f"added by step {a.step.name} from {a.source}, {label}" for label in a.labels]
        return out

    def model_step(self) -> Step | None:
        """The last step that saved a model (``None`` for methods that cannot be saved)."""
        for s in reversed(self.steps):
            if s.kind in ("init", "add") and (s.path / MODEL).is_dir() and s.record.get("fit"):
                return s
        return None

    def feature_scale(self) -> np.ndarray | None:
        """Continuous designs: each feature's range ``[d]`` (the design box, else the measured designs'), never
        0; ``None`` for tokens."""
        if self.definition.schema.is_discrete:
            return None
        if self.definition.bounds is not None:
            lo, hi = np.asarray(self.definition.bounds, dtype=np.float64)
        else:
            x = self.training_rows()[0].astype(np.float64)
            lo, hi = x.min(axis=0), x.max(axis=0)
        width = hi - lo
        return np.where(width > 0, width, 1.0)


def _npz(step: Step, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(step.file(name), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise CorruptDataError(f"campaign step {step.name}: {name} is unreadable: {exc}") from exc


def read_history(steps: list[Step]) -> History:
    """Read the records of the complete ``steps`` (the first is the init step).

    Raises:
        CorruptDataError: a file is missing, modified or unreadable.
    """
    init = steps[0]
    definition = definition_from(init.record, init.name)
    data = _npz(init, "data.npz")
    hist = History(steps, definition, data["x"], data["y"].astype(np.float64))
    for s in steps[1:]:
        if s.kind == "propose":
            z = _npz(s, "designs.npz")
            hist.batches.append(Batch(s, z["x"], z.get("predicted"), z.get("predicted_std")))
        elif s.kind == "add":
            z = _npz(s, "measured.npz")
            labels = [str(v) for v in s.record.get("labels", [])]
            if len(labels) != z["x"].shape[0]:
                raise CorruptDataError(f"campaign step {s.name}: its record and measured.npz disagree on the rows.")
            hist.added.append(Added(s, z["x"], z["y"].astype(np.float64), z["round"].astype(np.int64),
                                    z["rank"].astype(np.int64), labels, str(s.record.get("source", ""))))
    return hist

