"""Compare the cells of two benchmark run folders: scores and the method's info, timing keys aside.

    python benchmarks/compare_cells.py RUN_BEFORE RUN_AFTER      # prints a markdown table; exit 1 when any differs
"""
import json
import sys
from pathlib import Path

TIMING = {"propose_s", "seconds", "fit_s"}
RENAMED = {"selection": "rehearsal"}


def clean(obj):
    if isinstance(obj, dict):
        return {RENAMED.get(k, k): clean(v) for k, v in obj.items() if k not in TIMING}
    return obj


a, b = Path(sys.argv[1]), Path(sys.argv[2])
rows, same_all = [], True
for fa in sorted((a / "cells").glob("*.json")):
    fb = b / "cells" / fa.name
    if not fb.exists():
        rows.append((fa.stem, "missing after", "", "", ""))
        same_all = False
        continue
    ra, rb = json.loads(fa.read_text()), json.loads(fb.read_text())
    keys = ["p100", "p50", "p100_raw", "p50_raw", "best_training_y", "n_unique"]
    scores_same = all(ra.get(k) == rb.get(k) for k in keys)
    info_same = clean(ra.get("info", {})) == clean(rb.get("info", {}))
    same_all &= scores_same and info_same
    rows.append((fa.stem, f"{ra['p100']:.6f} / {ra['p50']:.6f}", f"{rb['p100']:.6f} / {rb['p50']:.6f}",
                 "yes" if scores_same else "NO", "yes" if info_same else "NO"))
print("| cell | before p100 / p50 | after p100 / p50 | scores identical | method info identical |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print(f"\nall identical: {same_all}")
sys.exit(0 if same_all else 1)
