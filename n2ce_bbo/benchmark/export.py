"""Export a benchmark run folder as a record that anyone can recompute: cells, suite, manifest, report.

A reported table must keep its evidence (``docs/protocol.md``, rule 5). :func:`export_run` copies into ``dest``
(for example ``benchmarks/results/design_bench/``):

* ``cells/*.json``: every readable cell record (``ok`` and ``failed``), without design arrays (the store keeps
  none today; :data:`DESIGN_KEYS` are dropped should a record hold them), so the files stay small;
* ``suite.yaml`` and ``manifest.json``: what ran, with which command, on which machine and when;
* ``summary.csv``, ``paired.csv``, ``summary.md`` and the plots, **recomputed from the exported cells** by
  :func:`~n2ce_bbo.benchmark.report.write_report`, so the record and its tables cannot disagree.

Local data folders are not part of a record: the suite's ``data_dir`` is cleared (``null`` means
``$N2CE_BBO_DATA_DIR``) and a ``--data-dir PATH`` in a recorded command becomes ``--data-dir $N2CE_BBO_DATA_DIR``.
Cell files in ``dest/cells`` that the run no longer has are removed; other files in ``dest`` are left alone.

:func:`join_runs` records several run folders as one table (the same suite run on further seeds into a new folder,
for example): their cells side by side, one suite with the union of their tasks, rows and seeds, and every run of
their manifests. A cell present in two folders with different contents is refused rather than picked silently;
cells of different commits join, and the report then flags the table as mixed, as it should.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from n2ce_bbo.benchmark.report import write_report
from n2ce_bbo.benchmark.store import CELLS_DIR, cell_path, load_cells
from n2ce_bbo.config import load_yaml
from n2ce_bbo.errors import OutputError
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, ensure_writable_dir

#: per-design arrays a record may hold (``Result.to_dict(include_designs=True)``); never exported
DESIGN_KEYS = ("x", "surrogate_scores", "oracle_scores", "normalized_scores")
DATA_DIR_PLACEHOLDER = "$N2CE_BBO_DATA_DIR"
_DATA_DIR_ARG = re.compile(r"(--data-dir)(=|\s+)(\"[^\"]*\"|'[^']*'|\S+)")


def scrub_command(command: str) -> str:
    """``command`` with the value of every ``--data-dir`` replaced by ``$N2CE_BBO_DATA_DIR``."""
    return _DATA_DIR_ARG.sub(lambda m: f"{m[1]}{m[2]}{DATA_DIR_PLACEHOLDER}", command)


def _manifest(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict):
        for run in data.get("runs", []):
            if isinstance(run, dict) and isinstance(run.get("command"), str):
                run["command"] = scrub_command(run["command"])
    return data if isinstance(data, dict) else None


def _without_designs(record: dict[str, Any]) -> dict[str, Any]:
    """A cell record without the per-design arrays of :data:`DESIGN_KEYS`."""
    return {k: v for k, v in record.items() if k not in DESIGN_KEYS}


def _write_record(out: Path, records: dict[str, dict[str, Any]], suite: dict[str, Any] | None,
                  manifest: dict[str, Any] | None) -> Path:
    """Write a record into ``out``: the cell files (removing those ``records`` lacks), the suite with its
    ``data_dir`` cleared and the manifest when given, then the report recomputed from the written cells."""
    ensure_writable_dir(out)
    (out / CELLS_DIR).mkdir(exist_ok=True)
    for cell_id, rec in sorted(records.items()):
        atomic_write_json(cell_path(out, cell_id), rec)
    for stale in (out / CELLS_DIR).glob("*.json"):
        if stale.stem not in records:
            stale.unlink()
    if suite is not None:
        suite["data_dir"] = None
        atomic_write_bytes(out / "suite.yaml", yaml.safe_dump(suite, sort_keys=False).encode())
    if manifest is not None:
        atomic_write_json(out / "manifest.json", manifest)
    write_report(out)
    return out


def _joined_suite(suites: list[dict[str, Any]]) -> dict[str, Any]:
    """One suite mapping from several: the first's settings, the union of tasks and method rows (first-seen order,
    by task name / row label) and of seeds (sorted). Rows with one label but different configs are refused."""
    joined = dict(suites[0])
    tasks: dict[str, Any] = {}
    rows: dict[str, Any] = {}
    seeds: set[int] = set()
    for suite in suites:
        for task in suite.get("tasks") or []:
            name = task.get("name") if isinstance(task, dict) else task
            tasks.setdefault(str(name), task)
        for row in suite.get("methods") or []:
            label = str(row.get("label") or row.get("name")) if isinstance(row, dict) else str(row)
            if label in rows and rows[label] != row:
                raise OutputError(f"Cannot join: the suites define method row {label!r} differently; join runs of "
                                  "one suite, or relabel the row.")
            rows.setdefault(label, row)
        seeds.update(int(s) for s in suite.get("seeds") or [])
    joined.update(tasks=list(tasks.values()), methods=list(rows.values()), seeds=sorted(seeds))
    joined.pop("n_seeds", None)
    return joined


def join_runs(run_dirs: Sequence[str | Path], dest: str | Path) -> Path:
    """Record several run folders as one table in ``dest`` (cells, joined suite and manifest, report); returns
    ``dest``.

    Raises:
        OutputError: fewer than two folders, a folder without cell results, ``dest`` among them, one cell id with
            different records in two folders, rows of one label with different configs, or ``dest`` not writable.
    """
    sources, out = [Path(d) for d in run_dirs], Path(dest)
    if len(sources) < 2:
        raise OutputError("Joining needs at least two run folders; export one with `n2ce-bbo report DIR --export`.")
    records: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    suites: list[dict[str, Any]] = []
    runs: list[Any] = []
    for src in sources:
        if out.resolve() == src.resolve():
            raise OutputError(f"Export folder {str(out)!r} is one of the joined run folders; choose another folder.")
        found, _ = load_cells(src, warn=True)
        if not found:
            raise OutputError(f"Run folder {str(src)!r} holds no cell results (cells/*.json) to join.")
        for cell_id, rec in found.items():
            kept = _without_designs(rec)
            if cell_id in records and records[cell_id] != kept:
                raise OutputError(f"Cell {cell_id!r} is in both {str(origin[cell_id])!r} and {str(src)!r} with "
                                  "different results; remove one of them before joining.")
            records[cell_id], origin[cell_id] = kept, src
        if (src / "suite.yaml").is_file():
            suites.append(load_yaml(src / "suite.yaml"))
        manifest = _manifest(src)
        if manifest is not None:
            runs.extend(manifest.get("runs", []))
    suite = _joined_suite(suites) if suites else None
    manifest = {"suite": suite.get("name"), "runs": runs} if suite is not None else None
    return _write_record(out, records, suite, manifest)


def export_run(run_dir: str | Path, dest: str | Path) -> Path:
    """Copy a run folder's evidence into ``dest`` and recompute its report there; returns ``dest``.

    Raises:
        OutputError: ``run_dir`` holds no cell results, ``dest`` is ``run_dir`` itself, or ``dest`` is not writable.
    """
    src, out = Path(run_dir), Path(dest)
    records, _ = load_cells(src, warn=True)
    if not records:
        raise OutputError(f"Run folder {str(src)!r} holds no cell results (cells/*.json) to export.")
    if out.resolve() == src.resolve():
        raise OutputError(f"Export folder {str(out)!r} is the run folder itself; choose another folder.")
    suite = load_yaml(src / "suite.yaml") if (src / "suite.yaml").is_file() else None
    # an unreadable manifest is left out rather than copied unscrubbed
    return _write_record(out, {k: _without_designs(r) for k, r in records.items()}, suite, _manifest(src))
