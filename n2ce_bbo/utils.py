"""Small shared helpers: seeding, device choice, atomic file writes, progress output."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from n2ce_bbo.errors import OutputError

_UMASK_LOCK = threading.Lock()


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch CPU generator seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def derive_seed(*parts: int | str) -> int:
    """A stable 31-bit seed from a tuple of ints/strings (independent of PYTHONHASHSEED)."""
    h = 1469598103934665603
    for p in parts:
        for b in str(p).encode() + b"\x1f":
            h = ((h ^ b) * 1099511628211) % (1 << 64)
    return int(h % (2**31 - 1))


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` when given, else CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def current_umask() -> int:
    """The process's file-creation mask (e.g. ``0o022``), read without changing it where the system allows
    (``/proc/self/status`` on Linux); elsewhere set and restored at once, under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        old = os.umask(0o077)  # the most restrictive mask while it is being read
        os.umask(old)
    return old


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    The file gets the mode ``open()`` would give a new file, ``0o666 & ~umask`` (``0o644`` under the usual
    umask ``022``), so colleagues on a shared drive can read outputs; not ``mkstemp``'s private ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.chmod(tmp, 0o666 & ~current_umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n").encode())


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serialisable")


def ensure_writable_dir(path: str | Path, min_free_bytes: int = 10 * 2**20) -> Path:
    """Create ``path`` if needed and check, before any work starts, that it can be written.

    Raises:
        OutputError: the folder cannot be created or written, or has less than ``min_free_bytes`` free.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"Output folder {str(path)!r} is not writable: {exc.strerror or exc}") from exc
    free = shutil.disk_usage(path).free
    if free < min_free_bytes:
        raise OutputError(
            f"Output folder {str(path)!r} has only {free / 2**20:.1f} MiB free; "
            f"at least {min_free_bytes / 2**20:.0f} MiB is needed."
        )
    return path


class PhaseProgress:
    """One progress display for one phase of work (training, proposing), on stderr.

    In a terminal: a tqdm bar with rate and ETA while the phase runs, then one line ``"<desc>: done in 12.3 s"``.
    Elsewhere (a log file, a pipe): one line when the phase starts and one when it ends, never more, so
    captured output stays short. Disabled: silent.

    Use as a context manager, or call :meth:`close` (idempotent)::

        with PhaseProgress("training", total=5000, unit="step") as bar:
            for _ in range(5000):
                bar.update()
    """

    def __init__(self, desc: str, total: int | None, *, enabled: bool = True, unit: str = "step") -> None:
        self.desc = desc
        self.total = total
        self.enabled = enabled
        self.note = ""
        self._t0 = time.perf_counter()
        self._bar: Any = None
        self._closed = False
        if not enabled:
            return
        if _stderr_is_terminal():
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True,
                             mininterval=0.25)
        else:
            size = f" ({total} {unit}{'s' if total != 1 else ''})" if total else ""
            print(f"{desc}{size} ...", file=sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        """Advance the bar by ``n`` units."""
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        """End the phase and print its duration (plus :attr:`note`, when set)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        if self.enabled:
            note = f"; {self.note}" if self.note else ""
            print(f"{self.desc}: done in {time.perf_counter() - self._t0:.1f} s{note}", file=sys.stderr, flush=True)

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:  # an error: drop the bar without a "done" line
            self._closed = True
            if self._bar is not None:
                self._bar.close()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
