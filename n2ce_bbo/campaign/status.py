"""Where a campaign stands, round by round: a table (:func:`round_table`, :func:`format_table`) and a figure
(:func:`write_figure`, ``campaign.png``).

Per round ``r`` (round 0 is the initial data):

* ``proposed``: designs in round ``r``'s batch; ``measured``: how many of them have been measured so far (in any
  later ``add``); ``pending``: the rest; ``extra``: rows the lab added on its own during round ``r``;
* ``best``: the best score measured up to the end of round ``r`` (the initial data and every row added by then),
  so it never decreases;
* ``mean predicted`` / ``mean measured``: over round ``r``'s measured designs, the prediction made when they were
  proposed and what was measured; ``cover 68/95``: the share of them whose measured score lies in the predicted
  ``mean ± 1 std`` / ``± 1.96 std`` interval;
* ``fit``: the last fit of the round (after its measurements): seconds, cold or warm and its steps.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.campaign.history import History
from n2ce_bbo.utils import atomic_write_bytes


@dataclass(frozen=True)
class RoundStatus:
    """One row of the status table (see the module docstring); ``None`` where nothing was measured."""

    round: int
    proposed: int
    measured: int
    pending: int
    extra: int
    best: float
    mean_predicted: float | None
    mean_measured: float | None
    coverage_68: float | None
    coverage_95: float | None
    fit_s: float | None
    fit: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def _fit_text(fit: dict[str, Any] | None) -> tuple[float | None, str]:
    if not fit:
        return None, "-"
    steps = fit.get("steps")
    if fit.get("warm"):
        return fit.get("fit_s"), f"warm {steps}/{fit.get('cold_steps')} steps"
    return fit.get("fit_s"), "cold" + (f" {steps} steps" if steps else "")


def round_fits(hist: History) -> dict[int, dict[str, Any]]:
    """The last fit recorded in each round (init and add steps; propose steps of methods refitted there)."""
    out: dict[int, dict[str, Any]] = {}
    for s in hist.steps:
        if s.record.get("fit"):
            out[s.round] = s.record["fit"]
    return out


def _coverage(y: np.ndarray, mean: np.ndarray, std: np.ndarray, z: float) -> float:
    """Share of ``y [n]`` inside ``mean ± z · std`` (all ``[n]``, raw units)."""
    return float(np.mean(np.abs(y - mean) <= z * std))


def round_table(hist: History) -> list[RoundStatus]:
    """The status table of a campaign, one row per round (0 = the initial data)."""
    fits = round_fits(hist)
    best = float(np.max(hist.y0))
    rows = []
    fit_s, fit = _fit_text(fits.get(0))
    extra0 = sum(int(a.rank.size - (a.matched_round >= 0).sum()) for a in hist.added if a.step.round == 0)
    best = max([best] + [float(np.max(a.y)) for a in hist.added if a.step.round == 0 and a.y.size])
    rows.append(RoundStatus(0, 0, int(hist.y0.size), 0, extra0, best, None, None, None, None, fit_s, fit))
    for b in hist.batches:
        r, q = b.round, int(b.x.shape[0])
        ys, pred, std = [], [], []
        for a in hist.added:
            for k in np.flatnonzero(a.matched_round == r):
                ys.append(float(a.y[k]))
                i = int(a.rank[k]) - 1
                pred.append(math.nan if b.predicted is None else float(b.predicted[i]))
                std.append(math.nan if b.predicted_std is None else float(b.predicted_std[i]))
        added_now = [a for a in hist.added if a.step.round == r]
        extra = sum(int((a.matched_round < 0).sum()) for a in added_now)
        best = max([best] + [float(np.max(a.y)) for a in added_now if a.y.size])
        y, p, s = np.asarray(ys), np.asarray(pred), np.asarray(std)
        has_pred = bool(y.size) and bool(np.isfinite(p).all())
        has_std = has_pred and bool(np.isfinite(s).all()) and bool((s > 0).all())
        c68, c95 = (_coverage(y, p, s, 1.0), _coverage(y, p, s, 1.96)) if has_std else (None, None)
        fit_s, fit = _fit_text(fits.get(r))
        rows.append(RoundStatus(
            r, q, int(y.size), q - int(y.size), extra, best,
            float(p.mean()) if has_pred else None, float(y.mean()) if y.size else None, c68, c95, fit_s, fit))
    return rows


def _num(v: float | None, fmt: str = ".4g") -> str:
    return "-" if v is None else format(v, fmt)


def format_table(rows: list[RoundStatus], target: str) -> str:
    """The table as aligned text (one line per round)."""
    head = ["round", "proposed", "measured", "pending", "extra", f"best {target}", "mean predicted", "mean measured",
            "cover 68/95", "fit s", "fit"]
    cells = []
    for r in rows:
        cover = "-" if r.coverage_68 is None else f"{r.coverage_68:.2f}/{_num(r.coverage_95, '.2f')}"
        cells.append([str(r.round) + (" (data)" if r.round == 0 else ""), str(r.proposed) if r.round else "-",
                      str(r.measured), str(r.pending) if r.round else "-", str(r.extra), _num(r.best),
                      _num(r.mean_predicted), _num(r.mean_measured), cover, _num(r.fit_s, ".1f"), r.fit])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip() for cell in cells]
    return "\n".join(lines)


def write_figure(path: str | Path, hist: History, rows: list[RoundStatus]) -> Path:
    """``campaign.png``: (left) measured scores per round with the running best, (right) predicted vs measured
    for every measured proposal (error bars: ± 1 predictive std), coloured by round. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = hist.definition.schema.target
    fig, (ax_r, ax_p) = plt.subplots(1, 2, figsize=(12, 4.8))
    rng = np.random.default_rng(0)  # jitter only
    ax_r.scatter(rng.uniform(-0.15, 0.15, hist.y0.size), hist.y0, s=6, c="0.6", label="initial data")
    cmap = plt.get_cmap("viridis")
    last = max(hist.round, 1)
    batches = {b.round: b for b in hist.batches}
    for a in hist.added:
        proposed = a.matched_round >= 0
        for r in sorted({int(v) for v in a.matched_round[proposed]}):
            ys = a.y[a.matched_round == r]
            ax_r.scatter(r + rng.uniform(-0.15, 0.15, ys.size), ys, s=18, color=cmap(r / last))
            b = batches.get(r)
            if b is not None and b.predicted is not None:
                k = a.rank[a.matched_round == r] - 1
                err = None if b.predicted_std is None else b.predicted_std[k]
                ax_p.errorbar(b.predicted[k], ys, xerr=err, fmt="o", ms=4, color=cmap(r / last), alpha=0.8,
                              label=f"round {r}")
        if (~proposed).any():
            ax_r.scatter(np.full(int((~proposed).sum()), a.step.round) + 0.25, a.y[~proposed], s=22,
                         facecolors="none", edgecolors="k", label="extra (the lab's own)")
    ax_r.step([r.round for r in rows], [r.best for r in rows], where="post", color="tab:red", lw=2,
              label="best so far")
    ax_r.set_xticks([r.round for r in rows])
    ax_r.set_xlabel("round (0 = initial data)")
    ax_r.set_ylabel(f"measured {target}")
    ax_r.set_title("measured scores per round")
    handles, labels = ax_r.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    ax_r.legend(seen.values(), seen.keys(), fontsize=8)
    lims = ax_p.get_xlim() + ax_p.get_ylim()
    if ax_p.has_data():
        lo, hi = min(lims), max(lims)
        ax_p.plot([lo, hi], [lo, hi], "k--", lw=1)
        handles, labels = ax_p.get_legend_handles_labels()
        seen = dict(zip(labels, handles, strict=True))
        ax_p.legend(seen.values(), seen.keys(), fontsize=8)
    else:
        ax_p.text(0.5, 0.5, "no measured proposal with a prediction yet", ha="center", va="center",
                  transform=ax_p.transAxes)
    ax_p.set_xlabel(f"predicted {target} (± 1 std)")
    ax_p.set_ylabel(f"measured {target}")
    ax_p.set_title("predicted vs measured")
    fig.suptitle(f"campaign {hist.definition.name}: {hist.round} round(s)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
