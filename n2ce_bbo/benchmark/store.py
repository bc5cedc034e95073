"""The result store of a benchmark run folder: one JSON file per (task, method label, seed) cell.

Layout of a run folder::

    suite.yaml          the resolved suite
    manifest.json       command, machine, dates and package versions of each (re)start
    cells/<task>__<label>__seed<k>.json   one record per cell, written atomically (temp name + rename)
    summary.csv, summary.md, *.png         written by :func:`n2ce_bbo.benchmark.report.write_report`

A cell record is a JSON object with at least ``status`` (``"ok"`` or ``"failed"``), ``task``, ``label``,
``method`` and ``seed``; an ``ok`` record also holds the run's :meth:`Result.to_dict` fields (``p100``, ``p50``,
``train_s``, ...), a ``failed`` one its ``error`` and ``traceback``. Records written by this version also name the
code that computed them: ``commit``, ``dirty`` and ``source_note`` (both kinds), ``config_hash`` and ``versions``
(``ok``); see :mod:`n2ce_bbo.benchmark.sources`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

CELLS_DIR = "cells"
REQUIRED_KEYS = ("status", "task", "label", "method", "seed")


def cells_dir(run_dir: str | Path) -> Path:
    """``<run_dir>/cells``."""
    return Path(run_dir) / CELLS_DIR


def cell_path(run_dir: str | Path, cell_id: str) -> Path:
    """``<run_dir>/cells/<cell_id>.json``."""
    return cells_dir(run_dir) / f"{cell_id}.json"


def cell_files(run_dir: str | Path) -> list[Path]:
    """Every cell result file (``*.json``; temporary files of interrupted writes start with ``.`` and are skipped)."""
    d = cells_dir(run_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob("*.json") if not p.name.startswith("."))


def temp_files(run_dir: str | Path) -> list[Path]:
    """Leftover temporary files of writes interrupted by a kill (``.<name>.json.<random>.tmp``)."""
    d = cells_dir(run_dir)
    return sorted(d.glob(".*.tmp")) if d.is_dir() else []


def read_cell(path: str | Path) -> dict[str, Any] | None:
    """The record in ``path``, or ``None`` when the file is unreadable, not JSON, or lacks required keys."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or any(k not in data for k in REQUIRED_KEYS):
        return None
    if data["status"] not in ("ok", "failed"):
        return None
    return data


def is_done(record: dict[str, Any] | None) -> bool:
    """Whether a record is a finished, successful cell (resume skips exactly these)."""
    return record is not None and record.get("status") == "ok"


def load_cells(run_dir: str | Path, *, warn: bool = True) -> tuple[dict[str, dict[str, Any]], list[Path]]:
    """Load every cell record of a run folder.

    Returns:
        ``(records, corrupt)``: records keyed by cell id (the file stem), and the paths of files that could not
        be read as a cell record (they count as missing for resume; a warning names them when ``warn``).
    """
    records: dict[str, dict[str, Any]] = {}
    corrupt: list[Path] = []
    for path in cell_files(run_dir):
        rec = read_cell(path)
        if rec is None:
            corrupt.append(path)
        else:
            records[path.stem] = rec
    if corrupt and warn:
        names = ", ".join(p.name for p in corrupt[:5]) + (" ..." if len(corrupt) > 5 else "")
        warnings.warn(
            f"{len(corrupt)} corrupt cell file(s) in {str(cells_dir(run_dir))!r} ignored (they count as missing and "
            f"are recomputed by --resume): {names}",
            RuntimeWarning, stacklevel=2,
        )
    return records, corrupt
