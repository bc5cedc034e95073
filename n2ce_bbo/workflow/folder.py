"""The model folder written by ``n2ce-bbo fit`` / :meth:`FittedModel.save`, in safe formats only::

    MODEL_DIR/
      model.json     format + version, method name and resolved config, seed, design schema (columns,
                     alphabet, target), design box, data facts, package versions, data.npz's sha256
      surrogate/     the surrogate's checkpoint (:mod:`n2ce_bbo.training.checkpoint`: JSON config, torch state
                     dict read with ``weights_only=True``, sha256-checked)
      data.npz       training designs ``x`` and scores ``y`` (read with ``allow_pickle=False``)
      train_log.csv  the trainer's per-step losses (for people; not read back)

The folder is written under a temporary name next to its destination and renamed into place, so an
interrupted save never leaves a half-written model; an older model folder at the destination is replaced,
any other non-empty folder is refused. Loading checks the format version first, then every file:
a missing, corrupt or incompatible folder raises a typed error that names it (exit status 2 in the CLI).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import (
    ConfigError,
    CorruptDataError,
    DataNotFoundError,
    IncompatibleModelError,
    InvalidDataError,
    OutputError,
    UnknownMethodError,
)
from n2ce_bbo.io.dataset import DesignData
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json

FORMAT = "n2ce_bbo.fitted_model"
FORMAT_VERSION = 1
MANIFEST = "model.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_model(model: Any, path: str | Path) -> Path:
    """Write ``model`` (a latent-EBM :class:`~n2ce_bbo.workflow.model.FittedModel`) to the folder ``path``.

    Raises:
        OutputError: ``path`` is a file, a non-empty folder that is not a model folder, or cannot be written.
    """
    from n2ce_bbo.optimize import train_log_csv, versions
    from n2ce_bbo.training.checkpoint import save_surrogate

    dest = Path(path)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"model folder {str(dest)!r} is a file.")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MANIFEST).is_file():
        raise OutputError(f"{str(dest)!r} exists and is not a model folder; refusing to overwrite it.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"model folder {str(dest)!r} cannot be written: {exc.strerror or exc}") from exc
    try:
        m = model.method
        history = {k: v for k, v in model.history.items() if k != "config"}
        save_surrogate(m.surrogate, m.config.surrogate, tmp / "surrogate", history=_jsonable(history))
        buf = io.BytesIO()
        np.savez_compressed(buf, x=np.ascontiguousarray(model.offline.x), y=np.asarray(model.data.y, dtype=np.float64))
        blob = buf.getvalue()
        atomic_write_bytes(tmp / "data.npz", blob)
        if model.history.get("step_log"):
            atomic_write_bytes(tmp / "train_log.csv", train_log_csv(model.history["step_log"]).encode())
        bounds = model.offline.bounds
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "name": model.name,
            "method": model.method_name,
            "seed": model.seed,
            "config": m.config_dict(),
            "schema": model.schema.to_json(),
            "bounds": None if bounds is None else np.asarray(bounds, dtype=np.float64).tolist(),
            "data": {
                "source": model.data.source, "rows": model.data.n, "rows_read": model.data.n_read,
                "y_min": float(np.min(model.data.y)), "y_max": float(np.max(model.data.y)),
                "y_mean": float(np.mean(model.data.y)), "notes": list(model.data.notes),
            },
            "method_state": {"selection": _jsonable(getattr(m, "selection", None))},
            "fit_s": round(model.fit_s, 3),
            "versions": versions(),
            "files": {"data": {"name": "data.npz", "sha256": _sha(blob)}},
        }
        atomic_write_json(tmp / MANIFEST, manifest)
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}"
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The checked ``model.json`` of a model folder.

    Raises:
        DataNotFoundError: the folder does not exist.
        CorruptDataError: no / unreadable ``model.json``, or it lacks a section.
        IncompatibleModelError: another format, or a format version this code does not read.
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"model folder {str(p)!r} does not exist (create one with n2ce-bbo fit ... --out).")
    if not p.is_dir():
        raise CorruptDataError(f"{str(p)!r} is a file, not a model folder.")
    mpath = p / MANIFEST
    if not mpath.is_file():
        raise CorruptDataError(f"{str(p)!r} is not a model folder: it has no {MANIFEST} (written by n2ce-bbo fit).")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"{str(mpath)!r} is not valid JSON ({exc}): the model folder is corrupt.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IncompatibleModelError(f"{str(mpath)!r} is not an n2ce_bbo model folder manifest (format "
                                     f"{manifest.get('format') if isinstance(manifest, dict) else None!r}).")
    if manifest.get("version") != FORMAT_VERSION:
        written = (manifest.get("versions") or {}).get("n2ce_bbo", "an unknown version")
        raise IncompatibleModelError(
            f"model folder {str(p)!r} has format version {manifest.get('version')!r} (written by n2ce_bbo {written}); "
            f"this n2ce_bbo reads version {FORMAT_VERSION}: refit the model with this version."
        )
    for key, kind in (("method", str), ("config", dict), ("schema", dict), ("files", dict), ("seed", int)):
        if not isinstance(manifest.get(key), kind):
            raise CorruptDataError(f"{str(mpath)!r} lacks a valid {key!r} entry: the model folder is corrupt.")
    return manifest


def load_model(path: str | Path, device: str | torch.device | None = None) -> Any:
    """Rebuild the :class:`~n2ce_bbo.workflow.model.FittedModel` saved in ``path`` (no training).

    Raises:
        DataNotFoundError, CorruptDataError, IncompatibleModelError: see :func:`read_manifest`; also a modified or
            truncated ``data.npz``, weights that do not load, a configuration or method this version rejects.
    """
    from n2ce_bbo.methods.latent_ebm import LatentEBMMethod
    from n2ce_bbo.methods.registry import make_method
    from n2ce_bbo.training.checkpoint import load_checkpoint
    from n2ce_bbo.workflow.model import FittedModel

    p = Path(path)
    manifest = read_manifest(p)
    try:
        schema = DesignSchema.from_json(manifest["schema"])
    except InvalidDataError as exc:
        raise CorruptDataError(f"model folder {str(p)!r}: {exc}") from exc
    try:
        method = make_method(manifest["method"], manifest["config"], seed=manifest["seed"], device=device)
    except (ConfigError, UnknownMethodError) as exc:
        raise IncompatibleModelError(f"model folder {str(p)!r} holds settings this n2ce_bbo does not accept: {exc}") from exc
    if not isinstance(method, LatentEBMMethod):
        raise IncompatibleModelError(f"model folder {str(p)!r} holds method {manifest['method']!r}, which cannot be loaded.")
    entry = manifest["files"].get("data")
    if not isinstance(entry, dict) or entry.get("name") != "data.npz":
        raise CorruptDataError(f"{str(p / MANIFEST)!r} does not name its data file: the model folder is corrupt.")
    try:
        blob = (p / "data.npz").read_bytes()
    except OSError as exc:
        raise CorruptDataError(f"model folder {str(p)!r}: data.npz cannot be read ({exc.strerror or exc}).") from exc
    if _sha(blob) != entry.get("sha256"):
        raise CorruptDataError(f"model folder {str(p)!r}: data.npz fails its sha256 check (truncated or modified).")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    except (ValueError, KeyError, OSError) as exc:
        raise CorruptDataError(f"model folder {str(p)!r}: data.npz is unreadable: {exc}") from exc
    surrogate, _, _, history = load_checkpoint(p / "surrogate", device=method.device)
    if surrogate.design_dim != schema.dim or x.shape[1:] != (schema.dim,) or x.shape[0] != y.shape[0]:
        raise CorruptDataError(f"model folder {str(p)!r}: its weights, data and schema disagree on the design shape.")
    bounds = manifest.get("bounds")
    off = OfflineData(
        x=x.astype(np.int64) if schema.is_discrete else x.astype(np.float32),
        y=y.astype(np.float32).reshape(-1, 1), is_discrete=schema.is_discrete,
        num_classes=schema.vocabulary if schema.is_discrete else None,
        bounds=None if bounds is None else np.asarray(bounds, dtype=np.float32), name=str(manifest.get("name", "model")),
    )
    state = manifest.get("method_state") or {}
    method.restore(off, surrogate, history or {}, state.get("selection") if isinstance(state, dict) else None)
    facts = manifest.get("data") or {}
    data = DesignData(off.x, np.asarray(y, dtype=np.float64), schema, str(facts.get("source", "")), [],
                      int(facts.get("rows_read", x.shape[0])), list(facts.get("notes", [])))
    return FittedModel(manifest["method"], method, data, off, seed=manifest["seed"], history=history or {},
                       fit_s=float(manifest.get("fit_s", 0.0)), name=off.name)
