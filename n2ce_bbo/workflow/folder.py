"""The model folder written by ``n2ce-bbo fit`` / :meth:`FittedModel.save`, in safe formats only::

    MODEL_DIR/
      model.json     format + version, method name and resolved config, seed, design schema (columns,
                     alphabet, target), design box, data facts, package versions
      surrogate/     the surrogate's checkpoint (:mod:`n2ce_bbo.training.checkpoint`: JSON config, torch state
                     dict read with ``weights_only=True``)
      data.npz       training designs ``x`` and scores ``y`` (read with ``allow_pickle=False``)
      train_log.csv  the trainer's per-step losses (for people; not read back)
      calibration.json  how often the 68 % / 95 % predictive intervals covered rows held out at fit time, or why
                     that was not measured (for people; the same record is in model.json's rehearsal)
      design_model/  only when the candidate score gives the design-space value model a share: its ensemble's state
                     dicts and settings (:mod:`n2ce_bbo.methods.latent_ebm.design_model`)
      outcomes/      only with outcome constraints: their ensembles' state dicts, settings and measured training
                     values (:mod:`n2ce_bbo.workflow.outcome_store`); such a folder has format version 3
      SHA256SUMS     the sha256 of every other file, model.json included (``sha256sum -c SHA256SUMS`` reads it)

The folder is written under a temporary name next to its destination and renamed into place, so an
interrupted save never leaves a half-written model; an older model folder at the destination is replaced,
any other non-empty folder is refused. Loading checks the format version first, then every file against
``SHA256SUMS`` (:func:`verify_files`): a file modified after saving (a setting edited in model.json or
surrogate/config.json, truncated weights), a listed file missing, or a file the save did not write (hidden
files such as ``.DS_Store`` aside) is refused, so a folder is used exactly as it was saved or not at all. A
missing, corrupt or incompatible folder raises a typed error that names the file (exit status 2 in the CLI).
Folders of format version 1 (no ``SHA256SUMS``) are refused with a request to refit. Version 3 is version 2 plus
``outcomes/``: written only when the model has outcome constraints, so an older n2ce_bbo refuses such a folder
rather than propose without them, and still reads every folder without them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
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
from n2ce_bbo.methods.latent_ebm import LatentEBMMethod
from n2ce_bbo.methods.latent_ebm.config import OLD_REHEARSAL_KEY, pinned_saved_config
from n2ce_bbo.methods.latent_ebm.design_model import load_design_model, save_design_model
from n2ce_bbo.methods.latent_ebm.uncertainty import not_measured
from n2ce_bbo.methods.registry import get_method
from n2ce_bbo.provenance import versions
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.checkpoint import load_checkpoint, save_surrogate
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, resolve_device
from n2ce_bbo.workflow.outcome_store import load_outcomes, save_outcomes
from n2ce_bbo.workflow.outcomes import OutcomeModels
from n2ce_bbo.workflow.result import train_log_csv

FORMAT = "n2ce_bbo.fitted_model"
FORMAT_VERSION = 2
#: The version of a folder with outcome models (``outcomes/``); folders without them stay version 2.
OUTCOMES_FORMAT_VERSION = 3
MANIFEST = "model.json"
CALIBRATION = "calibration.json"
CHECKSUMS = "SHA256SUMS"
#: Files every model folder lists in :data:`CHECKSUMS`.
REQUIRED_FILES = (MANIFEST, "data.npz", "surrogate/config.json")
_SUM_LINE = re.compile(r"(?P<sha>[0-9a-f]{64}) [ *](?P<name>.+)")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_model(path: str | Path, *, method_name: str, method: LatentEBMMethod, data: DesignData,
               offline: OfflineData, seed: int, history: dict[str, Any], fit_s: float, name: str,
               outcomes: OutcomeModels | None = None) -> Path:
    """Write a trained latent-EBM method, its training data and its outcome models (when any) to ``path``.

    Raises:
        OutputError: ``path`` is a file, a non-empty folder that is not a model folder, or cannot be written.
    """
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
        kept_history = {k: v for k, v in history.items() if k != "config"}
        save_surrogate(method.surrogate, method.config.surrogate, tmp / "surrogate", history=_jsonable(kept_history))
        buf = io.BytesIO()
        np.savez_compressed(buf, x=np.ascontiguousarray(offline.x), y=np.asarray(data.y, dtype=np.float64))
        blob = buf.getvalue()
        atomic_write_bytes(tmp / "data.npz", blob)
        if history.get("step_log"):
            atomic_write_bytes(tmp / "train_log.csv", train_log_csv(history["step_log"]).encode())
        calibration = method.rehearsal.get("calibration") or not_measured("the fit recorded no calibration")
        atomic_write_json(tmp / CALIBRATION, _jsonable(calibration))
        if outcomes is not None:
            save_outcomes(outcomes, tmp, data.outcomes)
        if method.design_model is not None:
            save_design_model(method.design_model, method.config.design_model, tmp)
        bounds = offline.bounds
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION if outcomes is None else OUTCOMES_FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "name": name,
            "method": method_name,
            "seed": seed,
            "config": method.config_dict(),
            "schema": data.schema.to_json(),
            "bounds": None if bounds is None else np.asarray(bounds, dtype=np.float64).tolist(),
            "data": {
                "source": data.source, "rows": data.n, "rows_read": data.n_read,
                "y_min": float(np.min(data.y)), "y_max": float(np.max(data.y)),
                "y_mean": float(np.mean(data.y)), "notes": list(data.notes),
            },
            "method_state": {"rehearsal": _jsonable(method.rehearsal)},
            "fit_s": round(fit_s, 3),
            "versions": versions(),
            **({} if outcomes is None else {"outcomes": _jsonable(outcomes.to_json())}),
        }
        atomic_write_json(tmp / MANIFEST, manifest)
        atomic_write_bytes(tmp / CHECKSUMS, checksums(tmp).encode())  # last: it covers every file above
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


def _files(folder: Path) -> list[str]:
    """The folder's files as sorted POSIX paths relative to it, hidden ones (``.DS_Store``) and
    :data:`CHECKSUMS` left out."""
    rel = (f.relative_to(folder) for f in folder.rglob("*") if f.is_file())
    return sorted(r.as_posix() for r in rel if not any(part.startswith(".") for part in r.parts)
                  and r.as_posix() != CHECKSUMS)


def checksums(folder: str | Path) -> str:
    """The text of :data:`CHECKSUMS` for ``folder``: ``<sha256>  <path>`` per file (the ``sha256sum`` format)."""
    p = Path(folder)
    return "".join(f"{_sha((p / name).read_bytes())}  {name}\n" for name in _files(p))


def verify_files(path: str | Path) -> None:
    """Check every file of the model folder ``path`` against its :data:`CHECKSUMS`.

    Raises:
        CorruptDataError: no or a malformed checksum list, a listed file missing, unreadable or modified (the
            message names it), a file the list does not hold, or a required file not listed.
    """
    p = Path(path)
    where = f"model folder {str(p)!r}"
    try:
        text = (p / CHECKSUMS).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorruptDataError(f"{where} has no {CHECKSUMS} (the sha256 of each of its files, written by "
                               "n2ce-bbo fit): it is incomplete or was modified; refit the model.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptDataError(f"{where}: {CHECKSUMS} cannot be read ({exc}).") from exc
    listed: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        m = _SUM_LINE.fullmatch(line)
        if line.strip() and (m is None or m["name"].startswith("/") or ".." in PurePosixPath(m["name"]).parts):
            raise CorruptDataError(f"{where}: {CHECKSUMS} line {i} is not '<sha256>  <file>': the folder is corrupt.")
        if m is not None:
            listed[m["name"]] = m["sha"]
    for name, digest in listed.items():
        try:
            data = (p / name).read_bytes()
        except FileNotFoundError:
            raise CorruptDataError(f"{where}: {name} is missing (listed in {CHECKSUMS}); refit the model.") from None
        except OSError as exc:
            raise CorruptDataError(f"{where}: {name} cannot be read ({exc.strerror or exc}).") from exc
        if _sha(data) != digest:
            raise CorruptDataError(
                f"{where}: {name} fails its sha256 check: it was modified (or truncated) after the model was saved. "
                "A model folder is used exactly as saved: restore the file, or refit to change settings (propose.* "
                "settings can be given to n2ce-bbo propose)."
            )
    unlisted = [n for n in _files(p) if n not in listed]
    missing = [n for n in REQUIRED_FILES if n not in listed]
    if unlisted:
        one = len(unlisted) == 1
        raise CorruptDataError(f"{where}: {', '.join(unlisted)} {'is' if one else 'are'} not listed in {CHECKSUMS}: "
                               f"added after the model was saved; remove {'it' if one else 'them'}.")
    if missing:
        raise CorruptDataError(f"{where}: {CHECKSUMS} does not list {', '.join(missing)}: the folder is not as "
                               "saved; refit the model.")


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
    if manifest.get("version") not in (FORMAT_VERSION, OUTCOMES_FORMAT_VERSION):
        written = (manifest.get("versions") or {}).get("n2ce_bbo", "an unknown version")
        unchecked = " (its files carry no checksums, so edits to them would go unnoticed)" \
            if manifest.get("version") == 1 else ""
        raise IncompatibleModelError(
            f"model folder {str(p)!r} has format version {manifest.get('version')!r} (written by n2ce_bbo {written})"
            f"{unchecked}; this n2ce_bbo reads versions {FORMAT_VERSION} and {OUTCOMES_FORMAT_VERSION}: refit the "
            "model with this version."
        )
    for key, kind in (("method", str), ("config", dict), ("schema", dict), ("seed", int)):
        if not isinstance(manifest.get(key), kind):
            raise CorruptDataError(f"{str(mpath)!r} lacks a valid {key!r} entry: the model folder is corrupt.")
    return manifest


@dataclass
class SavedModel:
    """What a model folder holds, checked and read back (no training).

    Attributes:
        method_name: the registered method name.
        config: the method's resolved configuration.
        seed: the training seed.
        surrogate: the trained surrogate, on the requested device.
        history: its training history.
        rehearsal: the rehearsal's outcome recorded at fit time (``None`` when absent).
        data: the training data with its schema.
        offline: the optimiser's view of it.
        fit_s: seconds the training took.
        outcomes: the outcome models (:class:`~n2ce_bbo.workflow.outcomes.OutcomeModels`), or ``None``.
        design_model: the design-space value model (:mod:`n2ce_bbo.methods.latent_ebm.design_model`), or ``None``.
    """

    method_name: str
    config: dict[str, Any]
    seed: int
    surrogate: Any
    history: dict[str, Any]
    rehearsal: dict[str, Any] | None
    data: DesignData
    offline: OfflineData
    fit_s: float
    outcomes: OutcomeModels | None = None
    design_model: Any = None


def read_model(path: str | Path, device: str | torch.device | None = None) -> SavedModel:
    """Read the model folder ``path`` (no training).

    Raises:
        DataNotFoundError, CorruptDataError, IncompatibleModelError: see :func:`read_manifest` and
            :func:`verify_files` (any file modified, missing or added after saving); also weights that do not load,
            a method this version does not know.
    """
    p = Path(path)
    manifest = read_manifest(p)
    verify_files(p)
    try:
        schema = DesignSchema.from_json(manifest["schema"])
    except InvalidDataError as exc:
        raise CorruptDataError(f"model folder {str(p)!r}: {exc}") from exc
    try:
        get_method(manifest["method"])
    except (ConfigError, UnknownMethodError) as exc:
        raise IncompatibleModelError(f"model folder {str(p)!r} holds settings this n2ce_bbo does not accept: {exc}") from exc
    try:
        with np.load(p / "data.npz", allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    except (ValueError, KeyError, OSError) as exc:
        raise CorruptDataError(f"model folder {str(p)!r}: data.npz is unreadable: {exc}") from exc
    surrogate, _, _, history = load_checkpoint(p / "surrogate", device=resolve_device(device))
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
    rehearsal = state.get("rehearsal", state.get(OLD_REHEARSAL_KEY)) if isinstance(state, dict) else None
    facts = manifest.get("data") or {}
    outcomes, values = load_outcomes(p, device=resolve_device(device))
    design_model = load_design_model(p, device=resolve_device(device))
    if (outcomes is None) != (manifest["version"] == FORMAT_VERSION):
        raise CorruptDataError(f"model folder {str(p)!r}: its format version {manifest['version']} and its "
                               f"{'lack of ' if outcomes is None else ''}outcomes/ disagree.")
    data = DesignData(off.x, np.asarray(y, dtype=np.float64), schema, str(facts.get("source", "")), [],
                      int(facts.get("rows_read", x.shape[0])), list(facts.get("notes", [])), values)
    return SavedModel(manifest["method"], pinned_saved_config(manifest["config"]), int(manifest["seed"]), surrogate,
                      history or {}, rehearsal, data, off, float(manifest.get("fit_s", 0.0)), outcomes, design_model)
