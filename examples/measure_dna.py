"""A stand-in for the lab of the README's campaign: "measure" the DNA designs of a ``designs.csv``.

The activity is ``examples/make_examples.py``'s formula for ``dna_activity.csv`` (``dna_activity``) plus the same
Gaussian noise (std 0.3), seeded, so a campaign on ``dna_activity.csv`` measures its proposals the way the table's
rows were made. Not a real assay: it exists so the README's campaign runs as written.

    python examples/measure_dna.py runs/round1.csv runs/round1_measured.csv [--first 12] [--seed 1]

Writes ``sequence,activity`` for the first ``--first`` designs (all by default); the others stay pending.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from make_examples import dna_activity


def main() -> None:
    """Read the designs, write their measured activity."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("designs", help="a designs.csv with a 'sequence' column (what `campaign propose --out` writes)")
    p.add_argument("out", help="the measured table to write (sequence,activity)")
    p.add_argument("--first", type=int, default=None, help="measure only the first N designs (the rest stay pending)")
    p.add_argument("--seed", type=int, default=1, help="seed of the measurement noise")
    args = p.parse_args()
    with open(args.designs, newline="") as fh:
        seqs = [row["sequence"] for row in csv.DictReader(fh)][: args.first]
    rng = np.random.default_rng(args.seed)
    lines = ["sequence,activity"] + [f"{s},{dna_activity(s) + rng.normal(0, 0.3):.3f}" for s in seqs]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"measured {len(seqs)} designs of {args.designs}: wrote {args.out}")


if __name__ == "__main__":
    main()
