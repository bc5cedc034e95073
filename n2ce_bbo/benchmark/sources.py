"""Which code computed the cells of a run folder, and which cells are stale.

Every cell record written by the runner names the code that computed it (``commit``, ``dirty``,
``source_note``: :func:`n2ce_bbo.provenance.source_state` of the process that wrote it), the hash of its resolved
settings (``config_hash``) and the package versions (``versions``). Cells written before commits were recorded
have no ``commit`` key: their code is *unknown*.

* :func:`stale_reason` says why an ``ok`` cell is stale against a commit: it records no commit, was computed at a
  dirty tree (its code cannot be checked out again), or was computed at another commit. The runner's
  ``rerun_stale`` (``n2ce-bbo benchmark ... --resume --rerun-stale``) reruns exactly these cells, judged against
  the current code's commit.
* :func:`source_mix` sums up a folder for ``n2ce-bbo report``: the commits with their cell counts, the dirty cells,
  the versions of torch / NumPy / BoTorch and the device when they differ, and the cells to rerun, judged against
  the **most recent commit**: the commit of the ``ok`` cell with the newest ``finished_at`` among the cells that
  record a commit. A folder is *mixed* when its ``ok`` cells do not all come from one clean, known commit with one
  set of those versions on one kind of device.
* The platforms (the machine string: OS and kernel build, which changes when a VM moves host) are listed when
  several computed the cells, as a note, not a mix: the same code and packages on another host differ in the last
  digits of floating point, which a chaotic search can turn into another batch, so a cell reproduces to the digit
  only on its own host; across hosts it is another draw of the same run, as valid as another seed's.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: the package versions whose differences across cells make a table mixed
PACKAGE_KEYS = ("torch", "numpy", "botorch")
#: the machine facts whose differences across cells make a table mixed: the device the cell computed on
MACHINE_KEYS = ("device",)
#: every entry of a cell's ``versions`` that must agree across a table
VERSION_KEYS = PACKAGE_KEYS + MACHINE_KEYS
#: the entry of a cell's ``versions`` that names its platform (OS and kernel build: a VM that moves host changes it);
#: several across a table are noted, not a mix (see the module docstring)
HOST_KEY = "machine"
#: how many hex digits of a commit the report shows
SHORT = 12


def short(commit: str | None) -> str:
    """The first :data:`SHORT` hex digits of ``commit``, or ``"unknown"``."""
    return commit[:SHORT] if isinstance(commit, str) and commit else "unknown"


def cell_commit(record: Mapping[str, Any]) -> str | None:
    """The commit a cell records, or ``None`` (no ``commit`` key, as in cells written before commits were
    recorded, or ``null`` where git was absent)."""
    c = record.get("commit")
    return c if isinstance(c, str) and c else None


def stale_reason(record: Mapping[str, Any], commit: str | None) -> str | None:
    """Why the ``ok`` cell ``record`` is stale against ``commit`` (the code it should have been computed by), or
    ``None`` when it is fresh: it records that commit and a clean tree.

    ``commit`` ``None`` (unknown) makes every cell stale.
    """
    own = cell_commit(record)
    if own is None:
        note = record.get("source_note")
        return "no commit recorded" + (f" ({note})" if "commit" in record and isinstance(note, str) else "")
    if record.get("dirty") is not False:
        return f"dirty tree at {short(own)}" if record.get("dirty") is True else f"dirty state unknown at {short(own)}"
    if commit is None:
        return f"commit {short(own)}; the reference commit is unknown"
    if own != commit:
        return f"commit {short(own)}, not {short(commit)}"
    return None


def _finished(record: Mapping[str, Any]) -> _dt.datetime | None:
    value = record.get("finished_at")
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


@dataclass
class SourceMix:
    """Where the ``ok`` cells of a run folder came from (see :func:`source_mix`)."""

    n_ok: int
    #: ``(commit or None, cells, newest finished_at)``, most recent first; ``None``: no commit recorded
    commits: list[tuple[str | None, int, str | None]]
    #: ids of the ``ok`` cells computed at a dirty tree (``dirty`` true)
    dirty: list[str]
    #: the most recent commit (of the newest ``finished_at`` among cells that record one), or ``None``
    reference: str | None
    #: ``name -> [(version, cells), ...]`` (most cells first), only for :data:`VERSION_KEYS` with several values
    versions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: ``(cell id, record, why)`` of every ``ok`` cell stale against :attr:`reference`, in cell-id order
    stale: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    #: ``[(platform, cells), ...]`` (most cells first) when several platforms computed the cells, else empty
    hosts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        """Whether the cells do not all come from one clean, known commit with one set of versions and device
        (several platforms alone do not make a mix: :attr:`hosts`)."""
        return (len(self.commits) > 1 or any(c is None for c, _, _ in self.commits) or bool(self.dirty)
                or bool(self.versions))


def source_mix(records: Mapping[str, Mapping[str, Any]]) -> SourceMix:
    """Sum up which code computed the ``ok`` cells of ``records`` (cell id -> record)."""
    ok = {cid: dict(r) for cid, r in records.items() if r.get("status") == "ok"}
    counts: Counter[str | None] = Counter(cell_commit(r) for r in ok.values())
    newest: dict[str | None, _dt.datetime | None] = {}
    newest_text: dict[str | None, str | None] = {}
    for r in ok.values():
        c, t = cell_commit(r), _finished(r)
        prev = newest.get(c)
        if t is not None and (prev is None or t > prev):
            newest[c], newest_text[c] = t, str(r.get("finished_at"))
    known = [c for c in counts if c is not None]
    floor = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    reference = max(known, key=lambda c: (newest.get(c) or floor, counts[c])) if known else None
    order = sorted(counts, key=lambda c: (c is None, -(newest.get(c) or floor).timestamp(), str(c)))
    commits = [(c, counts[c], newest_text.get(c)) for c in order]
    dirty = sorted(cid for cid, r in ok.items() if cell_commit(r) is not None and r.get("dirty") is True)
    versions: dict[str, list[tuple[str, int]]] = {}
    for key in VERSION_KEYS:
        vals = _values(ok.values(), key)
        if len(vals) > 1:
            versions[key] = vals
    hosts = _values(ok.values(), HOST_KEY)
    stale = [(cid, r, why) for cid, r in sorted(ok.items()) if (why := stale_reason(r, reference)) is not None]
    return SourceMix(n_ok=len(ok), commits=commits, dirty=dirty, reference=reference, versions=versions,
                     stale=stale, hosts=hosts if len(hosts) > 1 else [])


def _values(records: Any, key: str) -> list[tuple[str, int]]:
    """``[(value, cells), ...]`` of ``versions[key]`` over ``records``, most cells first."""
    vals: Counter[str] = Counter()
    for r in records:
        v = r.get("versions")
        vals[str(v.get(key, "not recorded")) if isinstance(v, dict) and v else "not recorded"] += 1
    return sorted(vals.items(), key=lambda kv: (-kv[1], kv[0]))


def seed_ranges(seeds: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0–2, 5, 7–8"``."""
    out: list[str] = []
    vals = sorted(set(seeds))
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        out.append(str(vals[i]) if i == j else f"{vals[i]}–{vals[j]}")
        i = j + 1
    return ", ".join(out)


def mix_markdown(mix: SourceMix) -> list[str]:
    """The sections ``summary.md`` shows on where its cells came from: the warning of a mixed folder, and the note
    of several platforms (no lines when neither applies)."""
    return _mix_warning(mix) + _hosts_note(mix)


def _hosts_note(mix: SourceMix) -> list[str]:
    if not mix.hosts:
        return []
    return ["## Note: cells from several machines", "",
            f"The {mix.n_ok} ok cells ran on {len(mix.hosts)} platforms: "
            + ", ".join(f"{v} ({n} cells)" for v, n in mix.hosts) + ". The same code and packages on another "
            "host differ in the last digits of floating point, which a search can turn into another batch: a cell "
            "reproduces to the digit only on the platform that ran it (its `versions.machine`); on another it is "
            "another draw of the same run.", ""]


def _mix_warning(mix: SourceMix) -> list[str]:
    if not mix.mixed or mix.n_ok == 0:
        return []
    lines = [
        "## Warning: mixed table",
        "",
        f"The {mix.n_ok} ok cells of this folder were not all computed by one clean, recorded commit of the code"
        + (" with the same package versions" if mix.versions else "")
        + ", so its rows may not be comparable with one another. Cells that record no commit (`unknown`) were "
        "written before cells recorded their commit, or where git was absent.",
        "",
        "| commit | cells | newest finished_at |",
        "|---|---|---|",
    ]
    for c, n, when in mix.commits:
        lines.append(f"| {'`' + short(c) + '`' if c else 'unknown (no commit recorded)'} | {n} | {when or '–'} |")
    lines.append("")
    if mix.dirty:
        lines += [f"{len(mix.dirty)} cell(s) were computed at a dirty tree (uncommitted changes under `n2ce_bbo/`); "
                  "their code cannot be checked out again.", ""]
    for key, vals in mix.versions.items():
        what = f"{key} versions differ" if key in PACKAGE_KEYS else f"{key} differs"
        lines += [f"{what}: " + ", ".join(f"{v} ({n} cells)" for v, n in vals) + ".", ""]
    if mix.reference is None:
        lines.append("No cell records a commit, so there is no most recent commit: every cell is to be rerun, "
                     "from a clean checkout of the commit that should stand for this table.")
    else:
        lines.append(f"The most recent commit is `{short(mix.reference)}`: the commit of the cell that finished last "
                     "(newest `finished_at`) among the cells that record a commit. The cells not on it, computed at "
                     "a dirty tree, or with no commit recorded are to be rerun:")
    lines += [
        "",
        f"{len(mix.stale)} cell(s) to rerun"
        + (":" if mix.stale else " (only the package versions or device differ; rerun in one environment on one "
                                  "kind of device to unify them)."),
        "",
    ]
    if mix.stale:
        groups: dict[tuple[str, str, str], list[int]] = {}
        for _, r, why in mix.stale:
            groups.setdefault((str(r.get("task")), str(r.get("label")), why), []).append(int(r.get("seed", -1)))
        lines += ["| task | method | seeds | why |", "|---|---|---|---|"]
        for (task, label, why), seeds in groups.items():
            lines.append(f"| {task} | {label} | {seed_ranges(seeds)} | {why.replace('|', '/')} |")
        lines += ["", "From a clean checkout of the commit the table should stand for, "
                  "`n2ce-bbo benchmark SUITE --out DIR --resume --rerun-stale` reruns exactly the cells not on "
                  "that commit (or dirty, or with no commit recorded), then rewrites this report."]
    return [*lines, ""]


def commits_of(records: Sequence[Mapping[str, Any]]) -> str:
    """The short commits of ``records`` for a table cell, ``+dirty`` marking a dirty tree, ``unknown`` for none
    recorded; distinct values joined by spaces, in first-seen order."""
    seen = [short(cell_commit(r)) + ("+dirty" if cell_commit(r) and r.get("dirty") is True else "")
            for r in records]
    return " ".join(dict.fromkeys(seen))
