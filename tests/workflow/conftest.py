"""Shared tiny data and settings for the workflow tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: Small latent-EBM settings: seconds per fit.
TINY = {
    "model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 32},
    "prior": {"K": 2, "M": 10},
    "train": {"max_steps": 60, "batch_size": 64},
    "propose": {"n_chains": 128, "sampler": {"n_steps": 10}, "chain_chunk": 128, "refine_top": 64, "refine_rounds": 2},
    "design_model": {"n_members": 2, "ascent_steps": 20, "regressor": {"epochs": 3}},  # the ascent on, as by default
}


def as_overrides(cfg: dict, prefix: str = "") -> list[str]:
    """``{"train": {"max_steps": 60}}`` -> ``["train.max_steps=60"]``."""
    out: list[str] = []
    for k, v in cfg.items():
        out += as_overrides(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}={v}"]
    return out


def dna_rows(n: int = 150, length: int = 6, seed: int = 0) -> tuple[list[str], list[float]]:
    """Random DNA strings and a score that counts G's (higher with more G)."""
    rng = np.random.default_rng(seed)
    seqs = sorted({"".join(rng.choice(list("ACGT"), length)) for _ in range(3 * n)})[:n]
    return seqs, [float(s.count("G") + 0.1 * s.count("C")) for s in seqs]


def write_dna_csv(path: Path, n: int = 150, length: int = 6) -> tuple[list[str], list[float]]:
    """A ``sequence,score`` CSV of :func:`dna_rows`."""
    seqs, ys = dna_rows(n, length)
    path.write_text("sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True)))
    return seqs, ys


@pytest.fixture(scope="session")
def dna_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150-row DNA table (length 6)."""
    p = tmp_path_factory.mktemp("dna") / "activity.csv"
    write_dna_csv(p)
    return p
