"""Where task data lives: resolving the data folder, finding files in either layout, loading them safely.

Resolution order for the data folder: an explicit ``data_dir`` argument, else the environment variable
``N2CE_BBO_DATA_DIR``, else :class:`~n2ce_bbo.errors.DataNotFoundError` naming both.

Two layouts are accepted under that folder (see :data:`LAYOUT_ROOTS`):

* the compact files of the project's data folder (``tfbind8/tf_bind_8.npz``, ``tfbind10/...``, ``superconductor/...``);
* Design-Bench's own shard layout (``tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy`` ...), either directly in the folder
  or in a ``design_bench_data/`` folder inside it.

Every array is loaded with ``allow_pickle=False``; an unreadable file raises
:class:`~n2ce_bbo.errors.CorruptDataError` naming it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import CorruptDataError, DataNotFoundError
from n2ce_bbo.registry import import_target

ENV_VAR = "N2CE_BBO_DATA_DIR"
CACHE_ENV_VAR = "N2CE_BBO_CACHE_DIR"
HOW_TO_SET = f"set {ENV_VAR} or pass --data-dir (data_dir=... in Python)"
LAYOUT_ROOTS: tuple[str, ...] = ("", "design_bench_data")


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The data folder if one is configured (argument, else ``$N2CE_BBO_DATA_DIR``), else ``None``.

    Does not check that the folder exists.
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "")
    return Path(env).expanduser() if env else None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None, *, task: str | None = None) -> Path:
    """The data folder: explicit ``data_dir`` > ``$N2CE_BBO_DATA_DIR``; it must exist.

    Raises:
        DataNotFoundError: none configured, or the configured folder does not exist.
    """
    who = f"Task {task!r} needs" if task else "This needs"
    path = find_data_dir(data_dir)
    if path is None:
        raise DataNotFoundError(f"{who} the Design-Bench data folder, but none is configured: {HOW_TO_SET}.")
    if not path.is_dir():
        source = "data_dir argument" if data_dir is not None and str(data_dir) != "" else f"${ENV_VAR}"
        raise DataNotFoundError(f"{who} the data folder {str(path)!r} (from the {source}), which does not exist: {HOW_TO_SET}.")
    return path


def find_file(root: Path, candidates: Sequence[str]) -> Path | None:
    """The first existing file among ``candidates`` (paths relative to ``root`` or to ``root/design_bench_data``)."""
    for rel in candidates:
        for sub in LAYOUT_ROOTS:
            p = root / sub / rel if sub else root / rel
            if p.is_file():
                return p
    return None


def find_shards(root: Path, folder: str, stem: str) -> tuple[list[Path], list[Path]] | None:
    """Design-Bench shards ``<folder>/<stem>-x-{0..}.npy`` and ``-y-{0..}.npy`` under ``root`` (either layout root).

    Returns the x and y shard paths in shard order (consecutive from 0), or ``None`` when shard 0 is absent.

    Raises:
        CorruptDataError: the x and y shard counts differ.
    """
    for sub in LAYOUT_ROOTS:
        base = (root / sub / folder) if sub else (root / folder)
        if not (base / f"{stem}-x-0.npy").is_file():
            continue
        xs: list[Path] = []
        ys: list[Path] = []
        i = 0
        while (base / f"{stem}-x-{i}.npy").is_file():
            xs.append(base / f"{stem}-x-{i}.npy")
            ys.append(base / f"{stem}-y-{i}.npy")
            i += 1
        missing = [str(p) for p in ys if not p.is_file()]
        if missing or (base / f"{stem}-y-{i}.npy").is_file():
            raise CorruptDataError(
                f"Design-Bench shards in {str(base)!r} are incomplete: {len(xs)} x shard(s) but the y shards differ "
                f"(missing: {missing[:3] or 'none'}; extra y shard {i} present: {(base / f'{stem}-y-{i}.npy').is_file()})."
            )
        return xs, ys
    return None


def load_npy(path: Path) -> np.ndarray:
    """Load one ``.npy`` array without pickle.

    Raises:
        CorruptDataError: the file cannot be read as a plain numeric array.
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated file, bad header, object array, ...
        raise CorruptDataError(f"Data file {str(path)!r} cannot be read ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(arr, np.ndarray):
        raise CorruptDataError(f"Data file {str(path)!r} is not a single .npy array.")
    return arr


def load_npz(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Load the named arrays of an ``.npz`` archive without pickle.

    Raises:
        CorruptDataError: the archive is unreadable, a key is missing, or an array cannot be decoded.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise CorruptDataError(
                    f"Data file {str(path)!r} lacks array(s) {missing}; it holds {sorted(z.files)}."
                )
            return {k: z[k] for k in keys}
    except CorruptDataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CorruptDataError(f"Data file {str(path)!r} cannot be read ({type(exc).__name__}: {exc}).") from exc


def _writable(path: Path) -> bool:
    """Writable for this process *and* not marked read-only (root ignores mode bits; we honour them)."""
    try:
        return os.access(path, os.W_OK | os.X_OK) and bool(path.stat().st_mode & 0o222)
    except OSError:
        return False


def resolve_cache_dir(data_dir: Path | None, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder for derived files (the fitted forest): explicit ``cache_dir`` > ``<data_dir>/cache`` when writable >
    ``$N2CE_BBO_CACHE_DIR`` > ``~/.cache/n2ce_bbo``. The folder is created if needed."""
    if cache_dir is not None:
        p = Path(cache_dir).expanduser()
        p.mkdir(parents=True, exist_ok=True)
        return p
    if data_dir is not None:
        p = data_dir / "cache"
        if (p.is_dir() and _writable(p)) or (not p.exists() and data_dir.is_dir() and _writable(data_dir)):
            try:
                p.mkdir(exist_ok=True)
                return p
            except OSError:
                pass
    env = os.environ.get(CACHE_ENV_VAR, "")
    p = Path(env).expanduser() if env else Path.home() / ".cache" / "n2ce_bbo"
    p.mkdir(parents=True, exist_ok=True)
    return p


def data_status(source: Callable[[Path], str | None], data_dir: str | os.PathLike[str] | None) -> tuple[bool, str]:
    """``(found, text)`` for listings: where a task's files were found in the data folder, or what to set.

    Args:
        source: ``source(root) -> description | None`` of the task's files under the folder ``root`` (loads nothing).
        data_dir: the folder given (``None``: ``$N2CE_BBO_DATA_DIR``).
    """
    root = find_data_dir(data_dir)
    if root is None:
        return False, f"missing: {HOW_TO_SET}"
    if not root.is_dir():
        return False, f"missing: folder {str(root)!r} does not exist; {HOW_TO_SET}"
    try:
        src = source(root)
    except CorruptDataError as exc:
        return False, f"unusable: {exc}"
    return (True, f"found: {src}") if src else (False, f"missing in {str(root)!r}: {HOW_TO_SET}")


@dataclass(frozen=True)
class FolderCheck:
    """``check(data_dir) -> (found, text)`` for listings (:func:`data_status`), with the task's ``source(root)``
    function given as a ``"package.module:attribute"`` path and imported only when the check runs."""

    source: str

    def __call__(self, data_dir: str | os.PathLike[str] | None) -> tuple[bool, str]:
        """Where the task's files were found under ``data_dir``, or what to set."""
        return data_status(import_target(self.source), data_dir)
