"""Output folders are checked before any work starts: unwritable or (nearly) full disks fail at once, clearly."""

from __future__ import annotations

import os
import shutil
import stat
from collections import namedtuple
from pathlib import Path

import pytest

from n2ce_bbo import utils
from n2ce_bbo.benchmark import run_suite
from n2ce_bbo.benchmark.suite import suite_from_dict
from n2ce_bbo.errors import OutputError
from n2ce_bbo.utils import atomic_write_bytes, ensure_writable_dir

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


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_users_normal_mode(tmp_path: Path, umask: int, mode: int) -> None:
    # mkstemp's private 0600 used to make every output unreadable to colleagues on a shared drive
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "designs.csv", b"rank\n")
        atomic_write_bytes(tmp_path / "designs.csv", b"rank\n1\n")  # replacing a file, too
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "designs.csv").stat().st_mode) == mode
    assert (tmp_path / "designs.csv").read_bytes() == b"rank\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["designs.csv"]  # no temporary file left


def test_the_umask_is_read_without_changing_it() -> None:
    old = os.umask(0o027)
    try:
        assert utils.current_umask() == 0o027 and utils.current_umask() == 0o027
    finally:
        os.umask(old)
