"""The files a campaign step holds besides its ``step.json``: arrays read back (``.npz``, never pickled), tables
for people (``data.csv``, ``measured.csv``), the measured input as given, and the facts of a fit."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.campaign.matching import Matched, MeasuredRows
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.utils import atomic_write_bytes
from n2ce_bbo.workflow.model import FittedModel


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Arrays to a compressed ``.npz`` file, atomically (read back with ``allow_pickle=False``)."""
    buf = io.BytesIO()
    contiguous: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    np.savez_compressed(buf, **contiguous)
    atomic_write_bytes(path, buf.getvalue())


def rows_csv(schema: DesignSchema, x: np.ndarray, y: np.ndarray, labels: Sequence[str] | None = None,
             matched: Matched | None = None) -> str:
    """Designs ``[n, ...]`` and scores ``[n]`` as CSV text in the data's columns; with ``labels`` and ``matched``
    (an add's log) also where each row came from and what it measured (``status`` proposed / extra, ``round``,
    ``rank``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    extra_head = ["input_row", "status", "round", "rank"] if matched is not None else []
    w.writerow([*schema.design_header(), schema.target, *extra_head])
    for i, cells in enumerate(schema.design_cells(x)):
        more: list[Any] = []
        if matched is not None:
            r, k = int(matched.round[i]), int(matched.rank[i])
            more = [labels[i] if labels else "", "proposed" if r >= 0 else "extra", r if r >= 0 else "",
                    k if k >= 0 else ""]
        w.writerow([*cells, repr(float(y[i])), *more])
    return buf.getvalue()


def write_input(folder: Path, measured: str | Path | Sequence[Mapping[str, Any]], rows: MeasuredRows) -> str:
    """Keep the measured input as given: a file's bytes (``input.csv`` / ``.tsv`` / ``.parquet``), or rows given
    in Python as ``input.csv``; returns the file's name."""
    if isinstance(measured, (str, Path)):
        src = Path(measured).expanduser()
        name = "input" + (src.suffix.lower() or ".csv")
        atomic_write_bytes(folder / name, src.read_bytes())
        return name
    keys: list[str] = []
    for r in measured:
        keys += [str(k) for k in r if str(k) not in keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    w.writerows([["" if r.get(k) is None else r.get(k) for k in keys] for r in measured])
    atomic_write_bytes(folder / "input.csv", buf.getvalue().encode())
    return "input.csv"


def fit_facts(model: FittedModel, asked_cold: bool = False) -> dict[str, Any]:
    """What a step records about the fit of ``model``: ``rows``, ``fit_s``, ``warm``, ``steps``, ``cold_steps``
    (warm), ``reason`` (cold), the rehearsal's score ``weight`` and whether it was ``reused``."""
    ws = model.history.get("warm_start") or {}
    rehearsal = dict(getattr(model.method, "rehearsal", None) or {})
    warm = bool(ws.get("used"))
    reason = "cold refit asked for" if asked_cold else str(ws.get("reason", ""))
    return {"method": model.method_name, "rows": int(model.data.n), "fit_s": round(float(model.fit_s), 3),
            "warm": warm, "steps": model.history.get("steps"), "cold_steps": ws.get("cold_steps") if warm else None,
            "reason": "" if warm else reason, "rehearsal_reused": bool(rehearsal.get("reused")),
            "rehearsal_weight": rehearsal.get("weight"), "rehearsal_enabled": bool(rehearsal.get("enabled"))}
