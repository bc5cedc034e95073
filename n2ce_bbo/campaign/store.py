"""A campaign folder on disk: an append-only list of steps, each written atomically.

::

    CAMPAIGN/
      steps/
        0000-round0-init/      step.json (the campaign: target, schema, method, settings, seed), data.npz + data.csv
                               (the initial rows), model/ (the first fit)
        0001-round1-propose/   step.json, designs.csv / designs.npz / result.json / report.png (the batch)
        0002-round1-add/       step.json, input.csv (the file as given), measured.npz + measured.csv (every row:
                               design, score, matched round and rank or "extra"), model/ (the refit)
        ...
      campaign.png             the latest ``status`` figure (derived; not part of the record)
      .lock                    held by the one command that writes

A step is built in ``steps/.NAME.tmp-PID/``; its ``step.json`` (with the sha256 of every file read back) is
written last and the folder is then renamed to ``steps/NAME``, so a step folder either is complete or does not
exist. A command killed at any moment leaves at most a ``.tmp-PID`` folder: readers ignore it (and say so) and the
next writing command, holding the lock, removes it. Steps are numbered 0, 1, 2, ... without gaps; an existing step
is never rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from n2ce_bbo.errors import CorruptDataError, DataNotFoundError, OutputError
from n2ce_bbo.provenance import versions
from n2ce_bbo.utils import atomic_write_json

FORMAT = "n2ce_bbo.campaign"
FORMAT_VERSION = 1
STEPS = "steps"
RECORD = "step.json"
LOCK = ".lock"
KINDS = ("init", "propose", "add")
_NAME = re.compile(r"^(?P<index>\d{4})-round(?P<round>\d+)-(?P<kind>init|propose|add)$")
_TMP = re.compile(r"^\.(?P<name>\d{4}-round\d+-(?:init|propose|add))\.tmp-(?P<pid>\d+)$")


@dataclass(frozen=True)
class Step:
    """One complete step of a campaign.

    Attributes:
        index: its position (0 = init).
        kind: ``"init"``, ``"propose"`` or ``"add"``.
        round: the round it belongs to (0 for init and for measurements added before the first proposal).
        path: its folder.
        record: its ``step.json``.
    """

    index: int
    kind: str
    round: int
    path: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        """The folder's name, e.g. ``0002-round1-add``."""
        return self.path.name

    def file(self, name: str) -> Path:
        """The path of a file of this step, checked against the sha256 recorded in ``step.json``.

        Raises:
            CorruptDataError: the file is missing or was modified after the step was written.
        """
        p = self.path / name
        want = (self.record.get("files") or {}).get(name)
        if want is None:
            raise CorruptDataError(f"campaign step {self.name}: {name} is not one of its recorded files.")
        if not p.is_file():
            raise CorruptDataError(f"campaign step {self.name}: {name} is missing.")
        if _sha(p) != want:
            raise CorruptDataError(f"campaign step {self.name}: {name} was modified after the step was written "
                                   "(its sha256 differs from step.json's); a campaign's steps are never edited.")
        return p


def step_name(index: int, kind: str, round_: int) -> str:
    """The folder name of a step: ``0003-round2-propose``."""
    return f"{index:04d}-round{round_}-{kind}"


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_steps(root: str | Path) -> tuple[list[Step], list[str]]:
    """The complete steps of the campaign at ``root`` in order, and a note for each incomplete one found.

    Raises:
        DataNotFoundError: ``root`` holds no campaign (no complete init step).
        CorruptDataError: a step's record is unreadable or does not match its folder, or steps are missing.
    """
    base = Path(root) / STEPS
    if not base.is_dir():
        raise DataNotFoundError(f"{str(root)!r} is not a campaign folder (no {STEPS}/; start one with "
                                "`n2ce-bbo campaign init`).")
    steps: list[Step] = []
    notes: list[str] = []
    for entry in sorted(base.iterdir()):
        tmp = _TMP.match(entry.name)
        if tmp:
            notes.append(f"an incomplete step {tmp['name']} (left by process {tmp['pid']}, killed or still running) "
                         "was found and ignored; the next propose or add removes it")
            continue
        m = _NAME.match(entry.name)
        if m is None or not entry.is_dir():
            continue  # not ours (a user's note, .DS_Store): never read
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CorruptDataError(f"campaign step {entry.name} has no {RECORD}; a step folder is renamed into place "
                                   "only once complete, so it was changed by hand.") from exc
        except (OSError, ValueError) as exc:
            raise CorruptDataError(f"campaign step {entry.name}: {RECORD} is unreadable: {exc}") from exc
        index, kind, round_ = int(m["index"]), m["kind"], int(m["round"])
        if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("index") != index or \
                record.get("kind") != kind or record.get("round") != round_:
            raise CorruptDataError(f"campaign step {entry.name}: {RECORD} does not describe this step.")
        if record.get("version") != FORMAT_VERSION:
            raise CorruptDataError(f"campaign step {entry.name} was written in format version "
                                   f"{record.get('version')!r}; this n2ce_bbo reads version {FORMAT_VERSION}.")
        steps.append(Step(index, kind, round_, entry, record))
    if not steps or steps[0].kind != "init":
        raise DataNotFoundError(f"{str(root)!r} holds no complete campaign (its init step never finished"
                                + (f": {notes[0]}" if notes else "") + "); rerun `n2ce-bbo campaign init`.")
    for i, s in enumerate(steps):
        if s.index != i:
            raise CorruptDataError(f"campaign {str(root)!r}: step {i:04d} is missing (found {s.name}); steps are "
                                   "never removed, so the folder was changed by hand.")
    return steps, notes


@contextlib.contextmanager
def writing(root: str | Path) -> Iterator[list[str]]:
    """Hold the campaign's lock while a step is written; yields the names of incomplete steps removed (left by
    killed commands: a live writer would hold the lock).

    Raises:
        OutputError: another command is writing to this campaign, or the folder cannot be written.
    """
    root = Path(root)
    try:
        (root / STEPS).mkdir(parents=True, exist_ok=True)
        fh = open(root / LOCK, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as exc:
        raise OutputError(f"campaign folder {str(root)!r} cannot be written: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"another n2ce-bbo command is writing to the campaign {str(root)!r}; wait for it to "
                              "finish (a command killed by the system releases the lock).") from None
        removed = []
        for entry in sorted((root / STEPS).iterdir()):
            if _TMP.match(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        yield removed
    finally:
        fh.close()  # releases the lock


def write_step(root: str | Path, index: int, kind: str, round_: int, fill: Callable[[Path], dict[str, Any]],
               *, read_back: tuple[str, ...] = ()) -> Step:
    """Write step ``index`` atomically (call inside :func:`writing`).

    Args:
        root: the campaign folder.
        index, kind, round_: the step's number, kind and round.
        fill: writes the step's files into the folder it is given and returns the step's facts (JSON-ready).
        read_back: the files a reader loads again; their sha256 go into ``step.json`` (checked by
            :meth:`Step.file`).

    Raises:
        OutputError: the step exists already or the folder cannot be written. Whatever ``fill`` raises (the
            temporary folder is removed first).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown step kind {kind!r}")
    base = Path(root) / STEPS
    final = base / step_name(index, kind, round_)
    if final.exists() or any(_NAME.match(p.name) and int(p.name[:4]) == index for p in base.iterdir()):
        raise OutputError(f"campaign step {index:04d} exists already in {str(root)!r}; steps are never rewritten.")
    tmp = base / f".{final.name}.tmp-{os.getpid()}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"campaign folder {str(root)!r} cannot be written: {exc.strerror or exc}") from exc
    try:
        facts = fill(tmp)
        record = {"format": FORMAT, "version": FORMAT_VERSION, "index": index, "kind": kind, "round": round_,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **facts,
                  "files": {name: _sha(tmp / name) for name in read_back}, "versions": versions()}
        atomic_write_json(tmp / RECORD, record)  # last: the step is complete once this exists and is renamed
        os.rename(tmp, final)
        _sync_dir(base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Step(index, kind, round_, final, json.loads((final / RECORD).read_text(encoding="utf-8")))


def _sync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (where the system allows opening folders)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
