"""The README's campaign stand-in lab (examples/measure_dna.py) measures with the formula that made the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_measure_dna_plays_the_table_s_formula(tmp_path: Path) -> None:
    rows = [line.split(",") for line in (EXAMPLES / "dna_activity.csv").read_text().splitlines()[1:]]
    designs = tmp_path / "designs.csv"
    designs.write_text("rank,sequence,predicted_activity\n" + "".join(f"{i},{s},0\n" for i, (s, _) in enumerate(rows)))
    out = tmp_path / "measured.csv"
    done = subprocess.run([sys.executable, str(EXAMPLES / "measure_dna.py"), str(designs), str(out), "--first", "200"],
                          capture_output=True, text=True, check=True)
    assert "measured 200 designs" in done.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "sequence,activity" and len(lines) == 201
    measured = np.array([float(line.split(",")[1]) for line in lines[1:]])
    table = np.array([float(a) for _, a in rows[:200]])
    # both are the same noise-free activity plus independent N(0, 0.3) noise: their difference has std 0.3 * sqrt(2)
    assert abs(float(np.std(measured - table)) - 0.3 * np.sqrt(2)) < 0.06
    assert abs(float(np.mean(measured - table))) < 0.08
