"""The outcome models in a model folder (:mod:`n2ce_bbo.workflow.folder`), safe formats only::

    MODEL_DIR/outcomes/
      outcomes.json  format + version, the constraints, the probability, the settings, and per column its
                     network's input shape, calibrated noise σ and held-out facts
      weights.pt     every member's state dict (tensors only; read with ``torch.load(weights_only=True)``), keyed
                     ``c<column index>.m<member>.<parameter>``
      values.npz     the measured training values per column, NaN where missing (``allow_pickle=False``)

The folder's ``SHA256SUMS`` covers these files like every other, so an edited limit or weight is refused. A
folder without ``outcomes/`` has no outcome constraint.
"""

from __future__ import annotations

import io
import json
import pickle  # only its error class: weights are read with weights_only=True
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.config import from_dict, to_dict
from n2ce_bbo.errors import ConfigError, CorruptDataError, InvalidDataError
from n2ce_bbo.models.regressors import member_from_state, members_state
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json
from n2ce_bbo.workflow.outcomes import (
    OutcomeConstraint,
    OutcomeModels,
    OutcomeRegressor,
    OutcomeSettings,
    OutcomeSpec,
)

FOLDER = "outcomes"
FORMAT = "n2ce_bbo.outcome_models"
VERSION = 1


def save_outcomes(models: OutcomeModels, folder: str | Path, values: dict[str, np.ndarray]) -> Path:
    """Write ``models`` (and the training ``values`` ``{column: float64 [n]}``) into ``folder/outcomes``."""
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    columns = models.spec.columns
    state: dict[str, torch.Tensor] = {}
    entries = []
    for c, column in enumerate(columns):
        reg = models.regressors[column]
        state.update(members_state(reg.members, f"c{c}."))
        entries.append({"column": column, "feature_shape": list(reg.members[0].feature_shape),
                        "n_members": len(reg.members), "sigma": reg.sigma, "facts": reg.facts})
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(out / "weights.pt", buf.getvalue())
    buf = io.BytesIO()
    arrays: dict[str, Any] = {f"c{c}": np.asarray(values[col], dtype=np.float64)
                              for c, col in enumerate(columns) if col in values}
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(out / "values.npz", buf.getvalue())
    atomic_write_json(out / "outcomes.json", {
        "format": FORMAT, "version": VERSION, "probability": models.spec.probability,
        "constraints": [{"column": k.column, "op": k.op, "threshold": k.threshold} for k in models.spec.constraints],
        "settings": to_dict(models.spec.settings), "models": entries,
    })
    return out


def load_outcomes(folder: str | Path, device: str | torch.device = "cpu",
                  ) -> tuple[OutcomeModels | None, dict[str, np.ndarray]]:
    """``(models, training values)`` from ``folder/outcomes`` (``(None, {})`` when the folder has none). The
    folder's checksums are checked by the caller (:func:`~n2ce_bbo.workflow.folder.read_model`).

    Raises:
        CorruptDataError: unreadable or inconsistent files.
    """
    p = Path(folder) / FOLDER
    if not p.exists():
        return None, {}
    where = f"model folder {str(folder)!r}: {FOLDER}/"
    try:
        meta = json.loads((p / "outcomes.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise CorruptDataError(f"{where}outcomes.json is not a version {VERSION} {FORMAT} record.")
        spec = OutcomeSpec(tuple(OutcomeConstraint(str(k["column"]), str(k["op"]), float(k["threshold"]))
                                 for k in meta["constraints"]), float(meta["probability"]),
                           from_dict(OutcomeSettings, meta["settings"], path="outcome"))
        state = torch.load(p / "weights.pt", map_location=device, weights_only=True)
        with np.load(p / "values.npz", allow_pickle=False) as z:
            stored = {k: z[k] for k in z.files}
    except CorruptDataError:
        raise
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError, InvalidDataError, ConfigError,
            RuntimeError, pickle.UnpicklingError) as exc:  # what torch raises for unreadable payloads
        raise CorruptDataError(f"{where} cannot be read: {exc}") from exc
    regressors, values = {}, {}
    for c, entry in enumerate(meta.get("models", [])):
        column = str(entry["column"])
        members = []
        for m in range(int(entry["n_members"])):
            try:
                net = member_from_state(state, f"c{c}.", m, tuple(entry["feature_shape"]),
                                        spec.settings.regressor.hidden_sizes, spec.settings.regressor.activation)
            except RuntimeError as exc:
                raise CorruptDataError(f"{where}weights.pt does not fit the {column!r} models: {exc}") from exc
            members.append(net.to(device))
        regressors[column] = OutcomeRegressor(column, members, float(entry["sigma"]), dict(entry.get("facts", {})))
        if f"c{c}" in stored:
            values[column] = stored[f"c{c}"]
    if sorted(regressors) != sorted(spec.columns):
        raise CorruptDataError(f"{where}outcomes.json models {sorted(regressors)} but constrains {spec.columns}.")
    return OutcomeModels(spec, regressors), values

