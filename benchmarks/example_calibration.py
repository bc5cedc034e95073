"""Final check (not a decision input): calibration of the predictive std on the two example files.

For each example file, two measurements with the default settings:

* ``full``: a fit on every row; its ``calibration.json`` record (the rehearsal's hidden rows, each judged with the
  recalibration factor chosen on the other half) and the same rows' coverage of the std as trained
  (``uncalibrated``, what the previous default gave);
* ``splits``: for each of ``--splits`` seeded 80/20 splits, a fit on 80 % of the rows, then the 95 % / 68 % interval
  coverage on the other 20 % (rows the fit never saw), with the std as the fit returns it and with the
  recalibration factor removed (before); ``pooled``: the same over every split's held-out rows together.

    .venv/bin/python benchmarks/example_calibration.py [--splits 5] [--out benchmarks/results/dev/example_calibration.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import n2ce_bbo
from n2ce_bbo.methods.latent_ebm.uncertainty import interval_coverage

EXAMPLES = {
    "dna_activity": {"path": "examples/dna_activity.csv", "target": "activity", "design_column": "sequence",
                     "alphabet": "dna"},
    "alloys": {"path": "examples/alloys.csv", "target": "hardness"},
}


def _rows(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _write(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def check(name: str, spec: dict[str, Any], tmp: Path, seeds: list[int]) -> dict[str, Any]:
    kw = {k: v for k, v in spec.items() if k != "path"}
    t0 = time.perf_counter()
    full = n2ce_bbo.fit(spec["path"], device="cpu", **kw)
    full_s = time.perf_counter() - t0
    cal = full.calibration or {}
    rows = _rows(spec["path"])
    truths, preds, stds, scales, per_split = [], [], [], [], []
    for split_seed in seeds:
        order = np.random.default_rng(split_seed).permutation(len(rows))
        n_test = len(rows) // 5
        test, train = [rows[i] for i in order[:n_test]], [rows[i] for i in order[n_test:]]
        _write(train, tmp / f"{name}_train.csv")
        _write(test, tmp / f"{name}_test.csv")
        model = n2ce_bbo.fit(str(tmp / f"{name}_train.csv"), device="cpu", **kw)
        table = model.score(str(tmp / f"{name}_test.csv"))  # the test rows' own order (duplicates merged at fit only)
        truth = np.array([float(r[spec["target"]]) for r in test])
        scale = float(model.method.surrogate.std_scale)
        std = np.asarray(table.predicted_std, dtype=np.float64)
        pred = np.asarray(table.predicted, dtype=np.float64)
        truths.append(truth), preds.append(pred), stds.append(std), scales.append(scale)
        per_split.append({"seed": split_seed, "train_rows": len(train), "test_rows": len(test), "std_scale": scale,
                          "rehearsal": model.method.rehearsal.get("skipped", "ran"),
                          "after": interval_coverage(truth, pred, std),
                          "before": interval_coverage(truth, pred, std / scale)})
    t, p, sd, sc = (np.concatenate(a) for a in (truths, preds, stds, [np.full(len(x), c) for x, c in
                                                                        zip(truths, scales, strict=True)]))
    return {"example": name, "rows": len(rows), "full_fit_s": round(full_s, 1),
            "full_calibration": {k: cal.get(k) for k in ("coverage_68", "coverage_95", "n_rows", "std_scale")},
            "full_uncalibrated": cal.get("uncalibrated", {}),
            "splits": per_split,
            "pooled": {"splits": len(seeds), "after": interval_coverage(t, p, sd),
                       "before": interval_coverage(t, p, sd / sc)}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/dev/example_calibration.json")
    ap.add_argument("--seed", type=int, default=100, help="seed of the first split")
    ap.add_argument("--splits", type=int, default=1, help="seeded 80/20 splits (seeds --seed, --seed + 1, ...)")
    args = ap.parse_args()
    seeds = list(range(args.seed, args.seed + args.splits))
    tmp = Path("runs/example_calibration")
    tmp.mkdir(parents=True, exist_ok=True)
    out = [check(name, spec, tmp, seeds) for name, spec in EXAMPLES.items()]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    Path(args.out).write_text(json.dumps({"commit": commit, "command": " ".join(["python", *sys.argv]),
                                          "results": out}, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
