"""Small shared helpers: seeding, device choice, atomic file writes, progress output."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from n2ce_bbo.errors import OutputError

T = TypeVar("T")


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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
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


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", enabled: bool = True) -> Iterator[T]:
    """Wrap an iterable in a tqdm bar (to stderr) when ``enabled``; otherwise pass it through."""
    if not enabled:
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
