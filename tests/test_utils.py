"""Output folders are checked before any work starts: unwritable or (nearly) full disks fail at once, clearly."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from n2ce_bbo.benchmark import run_suite
from n2ce_bbo.benchmark.suite import suite_from_dict
from n2ce_bbo.errors import OutputError
from n2ce_bbo.utils import ensure_writable_dir

_Usage = namedtuple("_Usage", "total used free")


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: _Usage(10**9, 10**9 - 4096, 4096))


def test_full_disk_is_refused_with_the_free_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _full_disk(monkeypatch)
    with pytest.raises(OutputError, match=r"only 0\.0 MiB free"):
        ensure_writable_dir(tmp_path / "out")


def test_path_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="not writable"):
        ensure_writable_dir(blocker / "sub")


def test_benchmark_on_a_full_disk_fails_before_any_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def cell_fn(cell: object) -> dict:
        calls.append(cell)
        return {}

    suite = suite_from_dict({"name": "s", "seeds": [0], "tasks": ["Branin-Exact-v0"], "methods": ["gaussian"]})
    _full_disk(monkeypatch)
    with pytest.raises(OutputError, match="MiB free"):
        run_suite(suite, tmp_path / "run", workers=0, cell_fn=cell_fn, progress=False)
    assert calls == []
