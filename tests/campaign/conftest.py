"""A synthetic lab for the campaign tests: a seeded function of DNA sequences plays the measurements."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: Settings that make a fit take about a second (rehearsal off: the tests that need it turn it on).
TINY: dict[str, Any] = {
    "model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 32},
    "prior": {"K": 2, "M": 10},
    "train": {"max_steps": 60, "batch_size": 64},
    "propose": {"n_chains": 64, "chain_chunk": 64, "sampler": {"n_steps": 5}, "refine_rounds": 1, "refine_top": 8},
    "rehearsal": {"enabled": False},
}

_RNG = np.random.default_rng(7)
_SITE = _RNG.normal(0.0, 1.0, size=(16, 4))  # a weight per (position, letter)
_PAIR = _RNG.normal(0.0, 0.5, size=(4, 4))  # a weight per neighbouring pair of letters


def as_overrides(cfg: dict[str, Any], prefix: str = "") -> list[str]:
    """``{"train": {"max_steps": 60}}`` -> ``["train.max_steps=60"]`` (command-line overrides)."""
    out: list[str] = []
    for k, v in cfg.items():
        out += as_overrides(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}={v}"]
    return out


def lab(seq: str) -> float:
    """The synthetic lab: what measuring ``seq`` (a DNA string, length <= 16) returns; deterministic."""
    ids = ["ACGT".index(c) for c in seq]
    site = sum(_SITE[i, c] for i, c in enumerate(ids))
    pair = sum(_PAIR[a, b] for a, b in zip(ids, ids[1:], strict=False))
    return round(float(site + pair), 4)


def initial_sequences(n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` distinct random DNA strings."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        s = "".join(rng.choice(list("ACGT"), length))
        if s not in out:
            out.append(s)
    return out


def write_table(path: Path, seqs: list[str], extra: Mapping[str, str] | None = None) -> Path:
    """A ``sequence,activity`` CSV of the lab's measurements of ``seqs`` (``extra``: cells to replace, by sequence)."""
    lines = ["sequence,activity"] + [f"{s},{(extra or {}).get(s, lab(s))}" for s in seqs]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    """120 measured sequences of length 11 (4**11 designs: the sampler path, not an exhaustive search)."""
    return write_table(tmp_path / "initial.csv", initial_sequences(120, 11))
