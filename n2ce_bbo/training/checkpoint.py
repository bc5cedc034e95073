"""Save and load trained surrogates (and the trainer's resumable state) safely.

A checkpoint is a folder::

    config.json            manifest: format, the LatentEBMConfig, data-shape facts, file names + sha256
    weights-<hash>.pt      the surrogate's state dict (tensors only; ``torch.save``)
    train-<hash>.pt        optional: optimiser states and the epoch (tensors, numbers, lists, dicts)
    history-<hash>.json    optional: the training history

Data files are named by their content hash and written before the manifest, which is replaced atomically
last; files no longer referenced are then removed. An interrupted save therefore leaves the previous
checkpoint intact. Loading uses ``torch.load(..., weights_only=True)`` (no pickled code) and checks each
file's sha256; anything missing, unreadable or inconsistent raises :class:`~n2ce_bbo.errors.CorruptDataError`.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from n2ce_bbo.config import from_dict, to_dict
from n2ce_bbo.errors import ConfigError, CorruptDataError
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.training.builder import DataFacts, build_surrogate, surrogate_facts
from n2ce_bbo.training.settings import LatentEBMConfig
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, resolve_device

FORMAT = "n2ce_bbo.latent_ebm_surrogate"
VERSION = 1
MANIFEST = "config.json"


def _torch_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_surrogate(
    surrogate: LatentEBMSurrogate,
    config: LatentEBMConfig,
    path_dir: str | Path,
    *,
    train_state: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint folder (see the module docstring); returns its path.

    Args:
        surrogate: the trained model (its buffers hold the data statistics).
        config: the configuration it was built and trained with.
        path_dir: folder to write (created if needed; a previous checkpoint there is replaced).
        train_state: optional trainer state (optimiser state dicts, epoch): tensors and plain values only.
        history: optional JSON-ready training history.
    """
    path = Path(path_dir)
    path.mkdir(parents=True, exist_ok=True)
    blobs: dict[str, tuple[str, bytes]] = {}
    state = {k: v.detach().cpu() for k, v in surrogate.state_dict().items()}
    blobs["weights"] = ("pt", _torch_bytes(state))
    if train_state is not None:
        blobs["train"] = ("pt", _torch_bytes(train_state))
    if history is not None:
        blobs["history"] = ("json", json.dumps(history).encode())
    files: dict[str, dict[str, str]] = {}
    for role, (ext, data) in blobs.items():
        digest = _sha(data)
        name = f"{role}-{digest[:16]}.{ext}"
        if not (path / name).is_file() or _sha((path / name).read_bytes()) != digest:
            atomic_write_bytes(path / name, data)
        files[role] = {"name": name, "sha256": digest}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "config": to_dict(config),
        "facts": surrogate_facts(surrogate).__dict__,
        "files": files,
    }
    atomic_write_json(path / MANIFEST, manifest)
    keep = {f["name"] for f in files.values()}
    for old in path.iterdir():
        if old.is_file() and old.name.split("-")[0] in ("weights", "train", "history") and old.name not in keep:
            old.unlink(missing_ok=True)
    return path


def _read_manifest(path: Path) -> dict[str, Any]:
    mpath = path / MANIFEST
    if not path.is_dir():
        raise CorruptDataError(f"Checkpoint folder {str(path)!r} does not exist.")
    if not mpath.is_file():
        raise CorruptDataError(f"Checkpoint {str(path)!r} has no {MANIFEST} (not a checkpoint, or an interrupted save).")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"Checkpoint manifest {str(mpath)!r} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptDataError(f"{str(mpath)!r} is not a {FORMAT} checkpoint manifest.")
    if manifest.get("version") != VERSION:
        raise CorruptDataError(f"{str(mpath)!r} has format version {manifest.get('version')!r}; this code reads {VERSION}.")
    for key in ("config", "facts", "files"):
        if not isinstance(manifest.get(key), dict):
            raise CorruptDataError(f"{str(mpath)!r} lacks its {key!r} section.")
    if "weights" not in manifest["files"]:
        raise CorruptDataError(f"{str(mpath)!r} names no weights file.")
    return manifest


def _read_file(path: Path, entry: Any) -> bytes:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "/" in entry["name"]:
        raise CorruptDataError(f"Checkpoint {str(path)!r}: malformed file entry {entry!r}.")
    fpath = path / entry["name"]
    try:
        data = fpath.read_bytes()
    except OSError as exc:
        raise CorruptDataError(f"Checkpoint file {str(fpath)!r} cannot be read: {exc.strerror or exc}.") from exc
    if _sha(data) != entry.get("sha256"):
        raise CorruptDataError(f"Checkpoint file {str(fpath)!r} fails its sha256 check (truncated or modified).")
    return data


def _torch_load(data: bytes, what: str, device: torch.device | str) -> Any:
    try:
        return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable payloads
        raise CorruptDataError(f"{what} cannot be loaded safely: {exc}") from exc


def load_checkpoint(
    path_dir: str | Path, device: str | torch.device | None = None
) -> tuple[LatentEBMSurrogate, LatentEBMConfig, dict[str, Any] | None, dict[str, Any] | None]:
    """Rebuild everything in a checkpoint folder.

    Returns:
        ``(surrogate (eval mode, on device), config, train_state or None, history or None)``.

    Raises:
        CorruptDataError: missing / unreadable / modified files, or weights that do not fit the config.
    """
    path = Path(path_dir)
    dev = resolve_device(device)
    manifest = _read_manifest(path)
    saved = manifest["config"]
    if isinstance(saved.get("model"), dict) and "decoder" not in saved["model"]:
        # written before model.decoder existed: those surrogates all decode independently, whatever the default
        saved = {**saved, "model": {**saved["model"], "decoder": "independent"}}
    try:
        config = from_dict(LatentEBMConfig, saved, path="checkpoint.config")
        facts = DataFacts(**manifest["facts"])
    except (ConfigError, TypeError) as exc:
        raise CorruptDataError(f"Checkpoint {str(path)!r} has an invalid config: {exc}") from exc
    state = _torch_load(_read_file(path, manifest["files"]["weights"]), f"Weights in {str(path)!r}", "cpu")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CorruptDataError(f"Weights in {str(path)!r} are not a state dict of tensors.")
    surrogate = build_surrogate(config, facts)
    try:
        surrogate.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CorruptDataError(f"Weights in {str(path)!r} do not match its config: {exc}") from exc
    surrogate.to(dev).eval()
    train_state = None
    if "train" in manifest["files"]:
        train_state = _torch_load(_read_file(path, manifest["files"]["train"]), f"Trainer state in {str(path)!r}", dev)
    history = None
    if "history" in manifest["files"]:
        try:
            history = json.loads(_read_file(path, manifest["files"]["history"]))
        except json.JSONDecodeError as exc:
            raise CorruptDataError(f"History in {str(path)!r} is not valid JSON: {exc}") from exc
    return surrogate, config, train_state, history


def load_surrogate(path_dir: str | Path, device: str | torch.device | None = None) -> LatentEBMSurrogate:
    """The surrogate stored in a checkpoint folder, rebuilt from its JSON config, in eval mode on ``device``
    (``None``: automatic).

    Raises:
        CorruptDataError: see :func:`load_checkpoint`.
    """
    return load_checkpoint(path_dir, device)[0]


def has_checkpoint(path_dir: str | Path) -> bool:
    """Whether ``path_dir`` holds a checkpoint manifest (not whether it is valid)."""
    return (Path(path_dir) / MANIFEST).is_file()
