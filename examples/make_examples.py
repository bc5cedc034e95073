"""Write the two small synthetic tables used by the README's tour (seeded; rerun to reproduce them).

* ``dna_activity.csv``: 300 DNA sequences of length 10 (``sequence``) and a measured ``activity`` that rewards
  ``GC`` pairs and a ``G`` at position 0, with noise;
* ``alloys.csv``: 200 compositions (fractions of ``cu``, ``ni``, ``al``, ``ti``), an annealing temperature
  ``anneal_c`` and a measured ``hardness`` that peaks inside the box, with noise.

Neither is real data: they exist so the tour's commands run as written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def dna_activity(s: str) -> float:
    """The noise-free activity of a DNA sequence: ``GC`` pairs, a ``G`` at position 0 and ``G`` letters reward it,
    ``TT`` pairs cost (``dna`` adds Gaussian noise of std 0.3; ``measure_dna.py`` plays the lab with it)."""
    return s.count("GC") + 0.8 * (s[0] == "G") + 0.3 * s.count("G") - 0.2 * s.count("TT")


def dna(n: int = 300, length: int = 10, seed: int = 0) -> str:
    """``sequence,activity`` rows."""
    rng = np.random.default_rng(seed)
    seqs: list[str] = []
    while len(seqs) < n:
        s = "".join(rng.choice(list("ACGT"), length, p=[0.3, 0.2, 0.2, 0.3]))
        if s not in seqs:
            seqs.append(s)
    rows = ["sequence,activity"]
    for s in seqs:
        act = dna_activity(s) + rng.normal(0, 0.3)
        rows.append(f"{s},{act:.3f}")
    return "\n".join(rows) + "\n"


def alloys(n: int = 200, seed: int = 1) -> str:
    """``cu,ni,al,ti,anneal_c,hardness`` rows."""
    rng = np.random.default_rng(seed)
    frac = rng.dirichlet([2.0, 2.0, 1.0, 1.0], size=n)
    temp = rng.uniform(300, 900, size=n)
    best = np.array([0.35, 0.30, 0.20, 0.15])
    hard = 300 - 900 * ((frac - best) ** 2).sum(1) - 1e-4 * (temp - 650) ** 2 + rng.normal(0, 3, size=n)
    rows = ["cu,ni,al,ti,anneal_c,hardness"]
    rows += [f"{a:.4f},{b:.4f},{c:.4f},{d:.4f},{t:.1f},{h:.2f}" for (a, b, c, d), t, h in zip(frac, temp, hard, strict=True)]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    (HERE / "dna_activity.csv").write_text(dna())
    (HERE / "alloys.csv").write_text(alloys())
    print("wrote", HERE / "dna_activity.csv", "and", HERE / "alloys.csv")
