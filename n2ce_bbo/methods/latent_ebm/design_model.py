"""The design-space value model beside the latent surrogate: fit, predict in the surrogate's units, save and load.

Why it exists: the latent value head ``h(μ(x))`` sees a design only through its low-dimensional encoding, and on
development tasks it ranked the latent chains' own candidates worse than an MLP ensemble fitted on the designs
themselves (benchmarks/results/dev/value_model_2026-12-05.md). With ``design_model.weights`` listing some
``β > 0``, the method fits such an ensemble (the ``grad-ensemble`` baseline's surrogate) and the candidate score's
value term becomes ``(1 - β) · h + β · m`` (:mod:`.scoring`), ``β`` chosen by the rehearsal (:mod:`.rehearsal`).

In a model folder (:mod:`n2ce_bbo.workflow.folder`) the ensemble lives in ``design_model/``: ``design_model.json``
(format, input shape, member count, settings) and ``weights.pt`` (state dicts only, read with
``weights_only=True``), both covered by the folder's checksums.
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
from n2ce_bbo.methods.latent_ebm.config import DesignModelConfig
from n2ce_bbo.models.regressors import RegressorEnsemble, Surrogate, member_from_state, members_state
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.regressors import RegressorConfig, fit_surrogate
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, derive_seed

FOLDER = "design_model"
FORMAT = "n2ce_bbo.design_model"
VERSION = 1


def fit_design_model(data: OfflineData, config: DesignModelConfig, seed: int,
                     device: str | torch.device) -> RegressorEnsemble:
    """An ensemble of ``config.n_members`` MLPs fitted on the designs ``data.x`` and scores ``data.y`` (each member
    seeded apart from ``derive_seed(seed, "design_model")``)."""
    model = fit_surrogate(data.x, data.y.reshape(-1), config.regressor, config.n_members,
                          derive_seed(seed, "design_model"), device,
                          num_classes=data.num_classes if data.is_discrete else None)
    return model if isinstance(model, RegressorEnsemble) else RegressorEnsemble([model])


def mixed_value(value: np.ndarray, design: np.ndarray, beta: float) -> np.ndarray:
    """The candidate score's value term ``(1 - β) · h + β · m`` of the value head's ``value [n]`` and the design
    model's ``design [n]`` (standardised score units); ``value`` itself when ``β = 0``."""
    return value if beta == 0 else (1.0 - beta) * value + beta * design


def design_value(model: Surrogate, surrogate: Any, x: np.ndarray, batch: int) -> np.ndarray:
    """``[n]`` float64: the model's mean prediction of the designs ``x [n, ...]`` in the latent surrogate's
    standardised score units (``(m(x) - y_mean) / y_std`` with the surrogate's ``y`` statistics), so that it mixes
    with the value head ``h``."""
    if not len(x):
        return np.zeros(0)
    return np.asarray(surrogate.standardize_y(model.predict(x, batch_size=batch)), dtype=np.float64)


def save_design_model(model: RegressorEnsemble, config: DesignModelConfig, folder: str | Path) -> Path:
    """Write ``model`` into ``folder/design_model`` (see the module docstring)."""
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(members_state(model.regressors), buf)
    atomic_write_bytes(out / "weights.pt", buf.getvalue())
    atomic_write_json(out / "design_model.json", {
        "format": FORMAT, "version": VERSION, "feature_shape": list(model.feature_shape),
        "n_members": len(model.regressors), "regressor": to_dict(config.regressor)})
    return out


def load_design_model(folder: str | Path, device: str | torch.device = "cpu") -> RegressorEnsemble | None:
    """The ensemble in ``folder/design_model`` (``None`` when the folder has none). The folder's checksums are
    checked by the caller (:func:`~n2ce_bbo.workflow.folder.read_model`).

    Raises:
        CorruptDataError: unreadable or inconsistent files.
    """
    p = Path(folder) / FOLDER
    if not p.exists():
        return None
    where = f"model folder {str(folder)!r}: {FOLDER}/"
    try:
        meta = json.loads((p / "design_model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise CorruptDataError(f"{where}design_model.json is not a version {VERSION} {FORMAT} record.")
        settings = from_dict(RegressorConfig, meta["regressor"], path="design_model.regressor")
        shape = tuple(int(s) for s in meta["feature_shape"])
        n_members = int(meta["n_members"])
        state = torch.load(p / "weights.pt", map_location=device, weights_only=True)
    except CorruptDataError:
        raise
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError, ConfigError,
            RuntimeError, pickle.UnpicklingError) as exc:  # what torch raises for unreadable payloads
        raise CorruptDataError(f"{where} cannot be read: {exc}") from exc
    members = []
    for i in range(n_members):
        try:
            members.append(member_from_state(state, "", i, shape, settings.hidden_sizes, settings.activation)
                           .to(device))
        except (RuntimeError, InvalidDataError) as exc:
            raise CorruptDataError(f"{where}weights.pt does not fit member {i}: {exc}") from exc
    if not members:
        raise CorruptDataError(f"{where}design_model.json lists no member.")
    return RegressorEnsemble(members).to(device)
