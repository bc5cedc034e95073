"""Where a result came from (n2ce_bbo.provenance)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo import provenance
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.provenance import PACKAGE_DIR, canonical_json, config_hash, read_source_state, source_state, versions


def test_versions_name_the_packages_and_the_device_without_importing_botorch() -> None:
    v = versions("cpu")
    assert v["n2ce_bbo"] == n2ce_bbo.__version__ and v["device"] == "cpu"
    assert {"torch", "numpy", "botorch", "python", "machine", "cuda"} <= set(v)
    assert versions()["device"] in {"cpu", "cuda"}
    assert v["botorch"] != "not installed"


def test_source_state_of_this_checkout_is_read_once_per_process(monkeypatch) -> None:
    provenance._cached_source_state.cache_clear()
    calls: list[list[str]] = []
    real_run = provenance.subprocess.run

    def counting_run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(provenance.subprocess, "run", counting_run)
    try:
        first = source_state()
        n = len(calls)
        assert source_state() == first and len(calls) == n  # cached: no second git call
        first["commit"] = "changed"
        assert source_state()["commit"] != "changed"  # each call returns a fresh dict
    finally:
        provenance._cached_source_state.cache_clear()
    assert set(first) == {"commit", "dirty", "source_note"}
    if first["commit"] is not None:  # this checkout is a git repository (an installed copy need not be)
        assert len(source_state()["commit"]) == 40 and isinstance(source_state()["dirty"], bool)


def test_git_absent_or_no_repository_records_nulls_and_says_why(tmp_path, monkeypatch) -> None:
    missing = read_source_state(PACKAGE_DIR, git=str(tmp_path / "no-such-git"))
    assert missing["commit"] is None and missing["dirty"] is None
    assert "git not found" in missing["source_note"]

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    folder = tmp_path / "pkg"
    folder.mkdir()
    outside = read_source_state(folder)
    assert outside["commit"] is None and outside["dirty"] is None and "git state unknown" in outside["source_note"]
    nowhere = read_source_state(tmp_path / "absent")
    assert nowhere["commit"] is None and "not a folder" in nowhere["source_note"]


def test_git_that_hangs_or_fails_records_nulls(tmp_path, monkeypatch) -> None:
    def hang(cmd, *args, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 0))

    monkeypatch.setattr(provenance.subprocess, "run", hang)
    state = read_source_state(PACKAGE_DIR, timeout_s=0.5)
    assert state["commit"] is None and state["dirty"] is None and "longer than 0.5 s" in state["source_note"]

    def fail(cmd, *args, **kwargs):
        return subprocess.CompletedProcess(cmd, 128, stdout="", stderr="fatal: detected dubious ownership\n")

    monkeypatch.setattr(provenance.subprocess, "run", fail)
    state = read_source_state(PACKAGE_DIR)
    assert state["commit"] is None and "dubious ownership" in state["source_note"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dirty_means_changes_under_the_source_folder_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    pkg = repo / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    (repo / "README").write_text("hi\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                       capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert read_source_state(pkg) == {"commit": head, "dirty": False, "source_note": None}
    (repo / "README").write_text("changed outside the package\n")
    (repo / "runs").mkdir()
    (repo / "runs" / "cell.json").write_text("{}")
    assert read_source_state(pkg)["dirty"] is False
    (pkg / "new.py").write_text("y = 2\n")  # untracked code counts
    state = read_source_state(pkg)
    assert state["commit"] == head and state["dirty"] is True and "new.py" in state["source_note"]
    # a copy of the package that the repository does not track (say, in an ignored virtual environment)
    copy = repo / "venv" / "pkg"
    copy.mkdir(parents=True)
    (copy / "__init__.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("venv/\n")
    assert read_source_state(copy)["commit"] is None


def test_config_hash_ignores_key_order_and_tells_configs_apart() -> None:
    a = {"config": {"prior": {"M": 10, "K": 6}, "train": {"epochs": 5}}, "task_kwargs": {}, "budget": 128}
    b = {"budget": 128, "task_kwargs": {}, "config": {"train": {"epochs": 5}, "prior": {"K": 6, "M": 10}}}
    h = config_hash(a)
    assert h == config_hash(b) and len(h) == 16 and int(h, 16) >= 0
    assert h == hashlib.sha256(canonical_json(a).encode()).hexdigest()[:16]
    assert canonical_json(a) == canonical_json(b) and " " not in canonical_json(a)
    assert config_hash({**a, "budget": 64}) != h
    assert config_hash({**a, "config": {"prior": {"M": 20, "K": 6}, "train": {"epochs": 5}}}) != h
    assert config_hash({**a, "task_kwargs": {"max_samples": 10000}}) != h
    assert config_hash({"v": np.float64(0.5), "t": (1, 2)}) == config_hash({"v": 0.5, "t": [1, 2]})
    with pytest.raises(ConfigError, match="canonical JSON"):
        config_hash({"f": object()})
    with pytest.raises(ConfigError, match="keys must be strings"):
        config_hash({1: "a"})
