"""The resumable benchmark runner: every (task, method label, seed) cell of a suite, one result file each.

Guarantees:

* each finished cell is written at once, atomically (temp name + rename), by this (driver) process, so only
  the machine running :func:`run_suite` needs write access to the run folder (Ray workers do not);
* a run killed at any moment and restarted with ``resume=True`` runs exactly the missing cells (no file, a
  corrupt file, or a ``failed`` record), repeats no finished one and loses none;
* a failing cell is retried (``suite.cell_retries``), then recorded as ``failed`` with its error and traceback
  while the other cells go on;
* the output folder is checked for writability before any work starts;
* every record names the code that computed it: ``commit`` and ``dirty`` (the git state of the driver's
  ``n2ce_bbo/`` source folder, read once per process by :func:`n2ce_bbo.provenance.source_state`; ``null`` with a
  ``source_note`` when git or the repository is absent), ``config_hash`` (of the resolved ``config``, the task
  options and the budget; :func:`n2ce_bbo.provenance.config_hash`) and ``versions``. With Ray the cell runs on a
  worker but the driver writes its record, so the recorded commit is the driver's: run workers from the same code;
* ``rerun_stale=True`` (with ``resume``) also reruns the ``ok`` cells whose recorded code is not the current one
  (another commit, a dirty tree, or no commit recorded; :func:`n2ce_bbo.benchmark.sources.stale_reason`),
  overwriting each atomically when its rerun succeeds (a failed rerun keeps the stale record). It is refused
  while the current tree is dirty or its commit unknown, unless ``allow_dirty=True``.

Do not point two runners at the same folder at the same time.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import functools
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from n2ce_bbo.benchmark.sources import short, stale_reason
from n2ce_bbo.benchmark.store import cell_files, cell_path, is_done, load_cells, temp_files
from n2ce_bbo.benchmark.suite import Cell, SuiteConfig, load_suite
from n2ce_bbo.errors import ConfigError, OutputError
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.parallel import ParallelTaskError, iter_parallel, ray_init, resolve_address
from n2ce_bbo.provenance import config_hash, source_state, versions
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, ensure_writable_dir
from n2ce_bbo.workflow.api import optimize
from n2ce_bbo.workflow.run_logs import log_cell
from n2ce_bbo.workflow.tracking import NULL_TRACKER, Tracker

CellFn = Callable[[Cell], Any]


def run_cell(cell: Cell) -> dict[str, Any]:
    """The real cell: :func:`n2ce_bbo.optimize` on one (task, method, seed), sequential inside: the run path a
    user's ``fit`` + ``propose`` takes.

    Returns:
        ``Result.to_dict()`` (``p100``, ``p50``, ``train_s``, ``propose_s``, ``config``, ``batch``, ``versions``, ...).
    """
    result = optimize(
        cell.task, method=cell.method, budget=cell.budget, seed=cell.seed, config=cell.config or None,
        data_dir=cell.data_dir, task_kwargs=cell.task_kwargs or None, parallel=ParallelSpec(workers=0),
        verbose=False,
    )
    return result.to_dict()


def _timed_cell(cell_fn: CellFn, cell: Cell) -> dict[str, Any]:
    """Run ``cell_fn(cell)`` and note wall time, host and process (runs on a Ray worker or in-process)."""
    t0 = time.perf_counter()
    out = cell_fn(cell)
    if not isinstance(out, dict) and hasattr(out, "to_dict"):
        out = out.to_dict()
    if not isinstance(out, dict):
        raise TypeError(f"the cell function must return a dict (or a Result), got {type(out).__name__}")
    return {"result": out, "wall_s": time.perf_counter() - t0, "host": socket.gethostname(), "pid": os.getpid()}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def cell_config_hash(cell: Cell, result: dict[str, Any]) -> str | None:
    """:func:`~n2ce_bbo.provenance.config_hash` of a cell's resolved settings: the result's ``config`` and
    ``task_kwargs`` (the cell's own when the result lacks them) and the budget; ``None`` when they have no JSON
    form."""
    settings = {"config": result.get("config", cell.config), "task_kwargs": result.get("task_kwargs", cell.task_kwargs),
                "budget": cell.budget}
    try:
        return config_hash(settings)
    except ConfigError:
        return None


def _ok_record(cell: Cell, timed: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    rec = dict(timed["result"])
    if not isinstance(rec.get("versions"), dict) or not rec["versions"]:
        rec["versions"] = versions()
    rec.update(
        status="ok", task=cell.task, label=cell.label, method=cell.method, seed=cell.seed, budget=cell.budget,
        spec=cell.spec(), wall_s=round(float(timed["wall_s"]), 3), host=timed["host"], finished_at=_now(),
        commit=source.get("commit"), dirty=source.get("dirty"), source_note=source.get("source_note"),
        config_hash=cell_config_hash(cell, rec),
    )
    return rec


def _failed_record(cell: Cell, err: ParallelTaskError, source: dict[str, Any]) -> dict[str, Any]:
    first = (str(err.cause).strip().splitlines() or [""])[0]
    return {
        "status": "failed", "task": cell.task, "label": cell.label, "method": cell.method, "seed": cell.seed,
        "budget": cell.budget, "spec": cell.spec(), "error": f"{type(err.cause).__name__}: {first}",
        "traceback": err.remote_traceback, "attempts": err.attempts, "finished_at": _now(),
        "commit": source.get("commit"), "dirty": source.get("dirty"), "source_note": source.get("source_note"),
    }


def _progress_line(k: int, n: int, cell: Cell, rec: dict[str, Any]) -> str:
    head = f"[{k}/{n}] {cell.task} {cell.label} seed {cell.seed}"
    if rec["status"] != "ok":
        return f"{head}: FAILED after {rec['attempts']} attempt(s): {rec['error']}"
    score = f"p100 {rec['p100']:.3f}" if isinstance(rec.get("p100"), (int, float)) else "no oracle"
    return f"{head}: {score} ({rec.get('wall_s', 0.0):.0f} s)"


def _kept_suite(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    """The suite file a run folder keeps when a run resumes into it: the suite it already records, widened by
    this run's tasks, method labels and seeds (a resume restricted with ``--tasks`` / ``--methods`` / ``--seeds``
    must not shrink the record the report reads to find missing cells). Entries this run gives anew (same task
    name or method label) take this run's settings; everything else (budget, retries, ...) is this run's."""
    try:
        old = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return new
    if not isinstance(old, dict) or old.get("name") != new.get("name"):
        return new

    def union(before: Any, now: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        now_by_key = {entry[key]: entry for entry in now}
        kept = [now_by_key.pop(entry[key], entry) for entry in before or [] if isinstance(entry, dict)
                and key in entry]
        return kept + list(now_by_key.values())

    merged = dict(new)
    merged["tasks"] = union(old.get("tasks"), new["tasks"], "name")
    merged["methods"] = union(old.get("methods"), new["methods"], "label")
    old_seeds = [s for s in old.get("seeds") or [] if isinstance(s, int)]
    merged["seeds"] = sorted(set(old_seeds) | set(new["seeds"]))
    return merged


def _manifest_entry(suite: SuiteConfig, *, resume: bool, workers: int, address: str | None,
                    n_todo: int, n_cells: int, source: dict[str, Any], rerun_stale: bool,
                    n_stale: int) -> dict[str, Any]:
    vers = versions()
    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
        "started_at": _now(), "resume": resume, "suite": suite.name, "cells_total": n_cells, "cells_to_run": n_todo,
        "rerun_stale": rerun_stale, "cells_stale": n_stale,
        "workers": workers, "ray_address": address, "host": socket.gethostname(), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "versions": vers, "source": source,
    }


def _check_rerun_stale(source: dict[str, Any], *, resume: bool, allow_dirty: bool) -> None:
    """Refuse ``rerun_stale`` without ``resume``, and at a dirty or unknown tree unless ``allow_dirty``."""
    if not resume:
        raise ConfigError("--rerun-stale (rerun_stale=True) reruns stale cells of an earlier run: it needs --resume "
                          "(resume=True).")
    if allow_dirty:
        return
    if source.get("commit") is None:
        raise ConfigError(
            "--rerun-stale refused: the current code's commit is unknown "
            f"({source.get('source_note') or 'no git state'}), so the rerun cells could not be traced to a commit "
            "and would be stale again at once. Run from a git checkout, or pass --allow-dirty (allow_dirty=True) "
            "to rerun anyway."
        )
    if source.get("dirty"):
        raise ConfigError(
            f"--rerun-stale refused: the working tree at commit {short(source['commit'])} is dirty "
            f"({source.get('source_note') or 'uncommitted changes under n2ce_bbo/'}); cells rerun from it would not "
            "be reproducible from any commit. Commit (or stash) the changes first, or pass --allow-dirty "
            "(allow_dirty=True) to rerun anyway."
        )


def _write_manifest(out: Path, entry: dict[str, Any]) -> None:
    path = out / "manifest.json"
    runs: list[dict[str, Any]] = []
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            runs = list(old.get("runs", [])) if isinstance(old, dict) else []
        except (OSError, json.JSONDecodeError):
            runs = []
    runs.append(entry)
    atomic_write_json(path, {"suite": entry["suite"], "runs": runs})


def _default_workers(address: str | None, n_todo: int) -> int:
    if address is None:
        return max(1, min(n_todo, os.cpu_count() or 1))
    import ray

    ray_init(address)
    return max(1, min(n_todo, int(ray.cluster_resources().get("CPU", 1))))


def run_suite(
    suite: SuiteConfig | str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    address: str | None = None,
    cell_fn: CellFn | None = None,
    progress: bool = True,
    data_dir: str | Path | None = None,
    rerun_stale: bool = False,
    allow_dirty: bool = False,
    tracking: Tracker | None = None,
) -> Path:
    """Run every missing cell of ``suite`` into ``out_dir``; return ``out_dir``.

    Args:
        suite: a :class:`SuiteConfig` or the path of a suite YAML.
        out_dir: the run folder (created if needed; see :mod:`n2ce_bbo.benchmark.store` for its layout).
        resume: finish an earlier run in ``out_dir``: skip cells with a valid ``ok`` record, rerun the rest.
            Without it, a folder that already holds cell files is refused.
        workers: cells run at once. 0: one after another in this process (no Ray); N >= 1: N Ray tasks;
            ``None``: every core of this machine, or every CPU of the cluster at ``address``.
        address: Ray cluster address (default ``$RAY_ADDRESS``, else a local Ray).
        cell_fn: the function run per cell (default :func:`run_cell`); tests inject a fast fake. With Ray it must
            be picklable (a module-level function).
        progress: print one line per finished cell.
        data_dir: Design-Bench data folder; overrides the suite's ``data_dir``.
        rerun_stale: with ``resume``, also rerun the ``ok`` cells whose recorded code is not the current code
            (another commit, a dirty tree, no commit recorded), overwriting each when its rerun succeeds.
        allow_dirty: let ``rerun_stale`` run although the current tree is dirty or its commit unknown.
        tracking: where to log (:func:`~n2ce_bbo.workflow.tracking.open_tracker`, MLflow): one run for this
            invocation of the suite and, nested under it, one run per cell it finishes (task, label, method, seed,
            settings, oracle scores; :func:`~n2ce_bbo.workflow.run_logs.log_cell`), logged by this driver process
            as each cell's file is written; cells already done on a resume are not logged again. ``None``: none.

    Raises:
        OutputError: ``out_dir`` is not writable, or holds cells and ``resume`` is false.
        ConfigError: the suite is invalid; (on resume) a finished cell was computed with different settings;
            ``rerun_stale`` without ``resume``, or at a dirty or unknown tree without ``allow_dirty``.
    """
    if not isinstance(suite, SuiteConfig):
        suite = load_suite(suite)
    if data_dir is not None:
        suite = copy.deepcopy(suite)
        suite.data_dir = str(data_dir)
    cell_fn = cell_fn or run_cell
    source = source_state()
    if rerun_stale:
        _check_rerun_stale(source, resume=resume, allow_dirty=allow_dirty)
    out = ensure_writable_dir(out_dir)  # before any work
    cells = suite.cells()

    if not resume and (cell_files(out) or temp_files(out)):
        raise OutputError(
            f"Output folder {str(out)!r} already holds cell results of an earlier run. Pass --resume "
            "(resume=True) to finish that run, or choose another folder."
        )
    done: set[str] = set()
    stale: dict[str, str] = {}
    if resume:
        for tmp in temp_files(out):  # leftovers of writes interrupted by a kill
            tmp.unlink(missing_ok=True)
        records, _ = load_cells(out, warn=True)
        for cell in cells:
            rec = records.get(cell.cell_id)
            if not is_done(rec):
                continue
            assert rec is not None
            if "spec" in rec and rec["spec"] != _json_roundtrip(cell.spec()):
                raise ConfigError(
                    f"cell {cell.cell_id} in {str(out)!r} was computed with different settings than the suite "
                    f"now gives it (was {rec['spec']}, now {cell.spec()}). Use another output folder, or give "
                    "the changed method a new label."
                )
            if rerun_stale and (why := stale_reason(rec, source.get("commit"))) is not None:
                stale[cell.cell_id] = why
                continue
            done.add(cell.cell_id)
    todo = [c for c in cells if c.cell_id not in done]

    address = resolve_address(address)
    if workers is None:
        workers = _default_workers(address, len(todo)) if todo else 0
    if workers < 0:
        raise ConfigError(f"workers must be >= 0, got {workers}.")

    suite_record = _kept_suite(out / "suite.yaml", suite.to_dict()) if resume else suite.to_dict()
    atomic_write_bytes(out / "suite.yaml", yaml.safe_dump(suite_record, sort_keys=False).encode())
    _write_manifest(out, _manifest_entry(suite, resume=resume, workers=workers, address=address,
                                         n_todo=len(todo), n_cells=len(cells), source=source,
                                         rerun_stale=rerun_stale, n_stale=len(stale)))
    if progress:
        skipped = f", {len(done)} already done" if done else ""
        if rerun_stale:
            skipped += f", {len(stale)} stale (not computed by commit {short(source.get('commit'))}, clean)"
        where = "sequentially" if workers == 0 else f"on {workers} Ray worker(s)" + (f" at {address}" if address else "")
        print(f"suite {suite.name}: {len(cells)} cells{skipped}; running {len(todo)} {where} -> {out}", flush=True)

    n_failed = 0
    stream = iter_parallel(
        functools.partial(_timed_cell, cell_fn), todo, workers=workers, address=address,
        gpus_per_task=suite.gpus_per_cell, max_retries=suite.cell_retries, return_exceptions=True,
        timeout_s=suite.cell_timeout_s,
    )
    tracker = tracking or NULL_TRACKER
    with tracker.run(f"benchmark {suite.name}", kind="benchmark", tags={"n2ce_bbo.suite": suite.name}) as suite_run, \
            contextlib.closing(stream):
        suite_run.log_params({"suite": suite.name, "budget": suite.budget,
                              "tasks": ",".join(t.name for t in suite.tasks),
                              "methods": ",".join(m.label for m in suite.methods), "seeds": list(suite.seeds or []),
                              "cells_total": len(cells), "cells_to_run": len(todo), "workers": workers,
                              "resume": resume, "run_folder": str(out)})
        for k, (i, outcome) in enumerate(stream, start=1):
            cell = todo[i]
            if isinstance(outcome, ParallelTaskError):
                rec = _failed_record(cell, outcome, source)
                n_failed += 1
            else:
                rec = _ok_record(cell, outcome, source)
            if rec["status"] == "ok" or cell.cell_id not in stale:
                atomic_write_json(cell_path(out, cell.cell_id), rec)
            log_cell(tracker, suite_run, rec, suite=suite.name)
            if progress:
                kept = "; kept its stale ok record" if rec["status"] != "ok" and cell.cell_id in stale else ""
                print(_progress_line(k, len(todo), cell, rec) + kept, flush=True)
        suite_run.log_metrics({"cells_ok": len(todo) - n_failed, "cells_failed": n_failed})
    if progress and todo:
        print(f"finished: {len(todo) - n_failed} ok, {n_failed} failed (run with --resume to retry failed cells)"
              if n_failed else f"finished: {len(todo)} ok", flush=True)
    return out


def _json_roundtrip(obj: Any) -> Any:
    return json.loads(json.dumps(obj))
