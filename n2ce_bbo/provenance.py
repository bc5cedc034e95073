"""Where a result came from: the code that computed it (git commit and whether the tree was dirty), a hash of
its resolved settings, the versions of the packages that shape it and the machine it ran on.

* :func:`source_state` reads ``git rev-parse HEAD`` and ``git status --porcelain`` once per process, on this
  package's own source folder (``n2ce_bbo/``): ``commit`` is the checked-out commit, ``dirty`` whether any file
  under ``n2ce_bbo/`` differs from it (changed, staged, deleted or untracked; ignored files such as
  ``__pycache__`` do not count; files outside the package, such as tests, docs or run folders, do not count).
  When git or the repository is absent (an installed wheel, a copy without ``.git``, git failing or timing out)
  both are ``None`` and ``source_note`` says why; it never raises.
* :func:`config_hash` is the first 16 hex digits of the sha256 of an object's canonical JSON (sorted keys, no
  spaces), so it does not depend on key order.
* :func:`versions` names the package versions and the machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import ConfigError

#: This package's version (also ``n2ce_bbo.__version__``).
PACKAGE_VERSION = "0.1.0"


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(device: str | torch.device | None = None) -> dict[str, str]:
    """Versions of the packages that shape results, and machine facts (``device``: the one a run computed on;
    default: CUDA when torch sees it, else the CPU). Reads installed metadata: imports no optional package."""
    return {
        "n2ce_bbo": PACKAGE_VERSION, "torch": torch.__version__, "numpy": np.__version__,
        "botorch": _installed("botorch"), "python": platform.python_version(), "machine": platform.platform(),
        "cuda": torch.version.cuda or "none",
        "device": str(device) if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"),
    }


#: this package's source folder: the code whose git state :func:`source_state` reads
PACKAGE_DIR = Path(__file__).resolve().parent
#: seconds each git command may take before the state is recorded as unknown
GIT_TIMEOUT_S = 5.0
#: git variables that would point git at another repository than the one holding the package
_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


class _GitUnavailable(Exception):
    """A git command could not tell the source state (the message says why)."""


def _git(args: list[str], cwd: Path, git: str, timeout_s: float) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env["LC_ALL"] = "C"
    try:
        proc = subprocess.run([git, "--no-optional-locks", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise _GitUnavailable(f"git not found ({git!r})") from exc
    except subprocess.TimeoutExpired as exc:
        raise _GitUnavailable(f"`git {' '.join(args)}` took longer than {timeout_s:g} s") from exc
    except OSError as exc:
        raise _GitUnavailable(f"git could not run: {exc}") from exc
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
        raise _GitUnavailable(f"`git {' '.join(args)}` failed: {first}")
    return proc.stdout


def read_source_state(directory: str | Path = PACKAGE_DIR, *, git: str = "git",
                      timeout_s: float = GIT_TIMEOUT_S) -> dict[str, Any]:
    """The git state of the code in ``directory`` (uncached; :func:`source_state` caches it for the package).

    Args:
        directory: a source folder; its files decide ``dirty``, and it must hold an ``__init__.py`` tracked by
            the repository around it (so a copy installed inside another repository's ignored folder, such as a
            virtual environment, is not mistaken for that repository's code).
        git: the git executable.
        timeout_s: the limit of each git command.

    Returns:
        ``{"commit": str | None, "dirty": bool | None, "source_note": str | None}``: the full commit hash and
        whether files under ``directory`` differ from it; both ``None`` when they cannot be read, and then
        ``source_note`` says why. When dirty, ``source_note`` names up to 5 of the differing files.
    """
    where = Path(directory)
    try:
        if not where.is_dir():
            raise _GitUnavailable(f"{str(where)!r} is not a folder")
        commit = _git(["rev-parse", "--verify", "HEAD"], where, git, timeout_s).strip()
        if not commit:
            raise _GitUnavailable("`git rev-parse HEAD` printed nothing")
        if (where / "__init__.py").is_file() and not _git(["ls-files", "--", "__init__.py"], where, git,
                                                          timeout_s).strip():
            raise _GitUnavailable(f"{str(where)!r} is not tracked by the git repository around it")
        status = _git(["status", "--porcelain", "--untracked-files=all", "--", "."], where, git, timeout_s)
    except _GitUnavailable as exc:
        return {"commit": None, "dirty": None, "source_note": f"git state unknown: {exc}"}
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    note = None
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        note = f"uncommitted changes in {len(changed)} file(s): {shown}"
    return {"commit": commit, "dirty": bool(changed), "source_note": note}


@functools.cache
def _cached_source_state() -> tuple[tuple[str, Any], ...]:
    return tuple(read_source_state().items())


def source_state() -> dict[str, Any]:
    """:func:`read_source_state` of this package's source folder, read once per process (a fresh dict each call).

    ``{"commit": ..., "dirty": ..., "source_note": ...}``; ``commit`` and ``dirty`` are ``None`` (and
    ``source_note`` says why) when the package does not run from a git checkout.
    """
    return dict(_cached_source_state())


def _canonical_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set, frozenset)):
        return sorted(o, key=repr) if isinstance(o, (set, frozenset)) else list(o)
    if isinstance(o, Path):
        return str(o)
    raise ConfigError(f"config_hash: a value of type {type(o).__name__} ({o!r}) has no canonical JSON form.")


def canonical_json(obj: Any) -> str:
    """``obj`` as canonical JSON: sorted keys, no spaces, ASCII; tuples as lists, NumPy scalars as numbers
    (``1`` and ``1.0`` stay different, as JSON writes them; NaN and infinities are written as ``NaN`` /
    ``Infinity``).

    Raises:
        ConfigError: ``obj`` holds a value with no JSON form, or a non-string dictionary key.
    """
    def check(o: Any) -> None:
        if isinstance(o, dict):
            bad = [k for k in o if not isinstance(k, str)]
            if bad:
                raise ConfigError(f"config_hash: dictionary keys must be strings, got {bad[0]!r}.")
            for v in o.values():
                check(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                check(v)

    check(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_canonical_default)


def config_hash(obj: Any) -> str:
    """The first 16 hex digits of the sha256 of ``obj``'s :func:`canonical_json`: equal for equal settings
    whatever their key order, different (with overwhelming probability) for different ones.

    Raises:
        ConfigError: ``obj`` has no canonical JSON form.
    """
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()[:16]
