"""The outcome of a run: :class:`Result` (designs, scores, predictions, batch report), how it is written, and the
oracle's scores of its designs for a task that has an oracle.

Every run path builds its :class:`Result` in one place, :meth:`n2ce_bbo.workflow.model.FittedModel.propose`; a
task's oracle is consulted only afterwards, by :func:`score_with_oracle`, once the proposals are final.

A method owes ``budget`` (Q) distinct designs. A repeated design is kept once (its first, best-ranked copy), so
duplicates never weigh twice in a percentile; a batch with fewer than Q distinct designs is scored as it is (the
percentiles are over the designs that exist, not padded), and the result says so: ``n_proposed`` (returned,
repeats included), ``n_unique`` (distinct), ``shortfall`` (``Q - n_unique``) and ``short_batch`` in
``result.json``, and a warning line in :meth:`Result.summary`.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import Table
from n2ce_bbo.methods.selection import first_occurrences
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, ensure_writable_dir
from n2ce_bbo.workflow.figure import write_report_figure


@dataclass
class Result:
    """Outcome of one optimisation run.

    Attributes:
        task, method, seed, budget: what was run.
        x: ``[Q, ...]`` proposed designs, best first (Q < budget only when too few distinct allowed designs
            exist; see :attr:`shortfall`).
        surrogate_scores: ``[Q]`` the method's own scores of its proposals (its ranking, method-specific units).
        oracle_scores: ``[Q]`` raw oracle scores (``None`` when the task has no oracle).
        normalized_scores: ``[Q]`` oracle scores normalised over the task's full data (or ``None``).
        p100, p50: 100th / 50th percentile of the normalised scores (``None`` without an oracle); over the
            ``n_distinct`` designs when the batch is short (see :attr:`shortfall`).
        p100_raw, p50_raw: the same percentiles of the raw oracle scores.
        optimum: the oracle's known maximum in raw units (``None`` when the task does not know it).
        feasible: the share of the batch the oracle counts feasible, on tasks with hard constraints (Ehrlich's
            banned transitions; ``None`` elsewhere).
        best_training_y: the best score among the training rows (raw units).
        task_kwargs: the options the task was built with (for a registered name), the run-seeded ones included
            (TFBind10's subset ``seed`` follows the run's seed unless given).
        train_s, propose_s, eval_s: wall-clock seconds of fitting, proposing and oracle scoring.
        config: the method's fully resolved configuration.
        info: method-specific facts (JSON-ready).
        versions: package versions and machine facts.
        schema: the designs' :class:`~n2ce_bbo.io.schema.DesignSchema` (column names, alphabet), or ``None``.
        predicted: ``[Q]`` the model's predicted score of each proposal in the target's units (latent-EBM
            methods), or ``None``.
        predicted_std: ``[Q]`` float64 predictive std of ``predicted``, in the target's units (the spread of the
            value heads plus the value head's noise σ_y; latent-EBM methods), or ``None``.
        in_distribution: ``[Q]`` how data-like each proposal is: the percentile (0-100) of its prior log-density
            among the training designs (latent-EBM methods), or ``None``.
        novelty: ``[Q]`` distance of each proposal to its nearest training design (Hamming positions, or box
            diagonals for continuous designs), or ``None``.
        batch: diversity and novelty summary (:func:`n2ce_bbo.workflow.metrics.batch_report`).
        constraints: one line per constraint the proposals honour.
        train_log: the trainer's per-step losses (rows of ``train_log.csv``).
        reference: ``(train_x, train_y)`` for the report figure (not saved).
        n_returned: how many designs the method returned, repeats included (``None``: ``len(x)``).
        outcome_columns: with outcome constraints, ``{"<column>_predicted" | "<column>_std" | "<column>_p_satisfied":
            float64 [Q]}`` (the column's units; the probability that the design meets the column's limits).
        outcome_summary: with outcome constraints, one record per constrained column (its limits, the predicted
            range over the batch, the least probability of meeting them); see
            :meth:`~n2ce_bbo.workflow.outcomes.OutcomeModels.summary`.
    """

    task: str
    method: str
    seed: int
    budget: int
    x: np.ndarray
    surrogate_scores: np.ndarray
    oracle_scores: np.ndarray | None = None
    normalized_scores: np.ndarray | None = None
    p100: float | None = None
    p50: float | None = None
    p100_raw: float | None = None
    p50_raw: float | None = None
    optimum: float | None = None
    feasible: float | None = None
    best_training_y: float | None = None
    task_kwargs: dict[str, Any] = field(default_factory=dict)
    train_s: float = 0.0
    propose_s: float = 0.0
    eval_s: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    schema: Any = None
    predicted: np.ndarray | None = None
    in_distribution: np.ndarray | None = None
    predicted_std: np.ndarray | None = None
    novelty: np.ndarray | None = None
    batch: dict[str, Any] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    train_log: list[dict[str, Any]] = field(default_factory=list)
    reference: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    n_returned: int | None = None
    outcome_columns: dict[str, np.ndarray] = field(default_factory=dict)
    outcome_summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_unique(self) -> int:
        """Number of distinct proposed designs."""
        return int(first_occurrences(self.x).shape[0]) if self.x.shape[0] else 0

    @property
    def shortfall(self) -> int:
        """How many distinct designs the batch lacks: ``budget - n_unique`` (0 for a full batch)."""
        return max(self.budget - self.n_unique, 0)

    @property
    def target(self) -> str:
        """The name of the score (``"y"`` without a schema)."""
        return str(getattr(self.schema, "target", "y"))

    def designs(self) -> list[Any]:
        """The proposals as the user's designs: strings for sequences, else rows of numbers."""
        if self.schema is None:
            return [row.tolist() for row in self.x]
        cells = self.schema.design_cells(self.x)
        return [c[0] for c in cells] if self.schema.kind == "sequence" else cells

    def to_dict(self, include_designs: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (designs only when ``include_designs``)."""
        out: dict[str, Any] = {
            "task": self.task, "method": self.method, "seed": self.seed, "budget": self.budget,
            "p100": self.p100, "p50": self.p50, "p100_raw": self.p100_raw, "p50_raw": self.p50_raw,
            "optimum": self.optimum, "feasible": self.feasible, "best_training_y": self.best_training_y,
            "task_kwargs": self.task_kwargs,
            "train_s": round(self.train_s, 3), "propose_s": round(self.propose_s, 3), "eval_s": round(self.eval_s, 3),
            "n_unique": self.n_unique,
            "n_proposed": int(self.x.shape[0]) if self.n_returned is None else self.n_returned,
            "shortfall": self.shortfall, "short_batch": self.shortfall > 0,
            "config": self.config, "info": self.info, "versions": self.versions,
        }
        if self.schema is not None:
            out["design"] = {"target": self.target, "description": self.schema.describe(), **self.schema.to_json()}
        if self.batch:
            out["batch"] = self.batch
        if self.predicted is not None:
            out["predicted"] = {"best": float(np.max(self.predicted)), "median": float(np.median(self.predicted))}
            if self.predicted_std is not None and len(self.predicted_std):
                std = np.asarray(self.predicted_std, dtype=np.float64)
                out["predicted"].update(std_median=float(np.median(std)), std_min=float(np.min(std)),
                                        std_max=float(np.max(std)))
        out["constraints"] = self.constraints
        if self.outcome_summary:
            out["outcomes"] = self.outcome_summary
        if include_designs:
            out["x"] = self.x.tolist()
            out["designs"] = self.designs()
            out["surrogate_scores"] = self.surrogate_scores.tolist()
            if self.oracle_scores is not None:
                out["oracle_scores"] = self.oracle_scores.tolist()
        return out

    def summary(self) -> str:
        """A few human-readable lines."""
        n = int(self.x.shape[0])
        head = f"task {self.task} | method {self.method} | seed {self.seed} | {n} designs ({self.n_unique} distinct)"
        lines = [head]
        if self.shortfall and self.constraints:
            lines.append(f"warning: short batch: only {self.n_unique} of the {self.budget} requested designs satisfy "
                         "the constraints" + (f"; the percentiles are over those {self.n_unique}"
                                              if self.p100 is not None else ""))
        elif self.shortfall:
            lines.append(f"warning: short batch: {self.n_unique} distinct designs for a budget of {self.budget}"
                         + (f"; the percentiles are over those {self.n_unique}, not {self.budget}"
                            if self.p100 is not None else ""))
        if self.constraints:
            lines.append("constraints: " + "; ".join(self.constraints))
        if self.predicted is not None and n:
            lines.append(f"predicted {self.target}: best {np.max(self.predicted):.4g}, median "
                         f"{np.median(self.predicted):.4g}"
                         + (f" (best in training data {self.best_training_y:.4g})" if self.best_training_y is not None else ""))
            if self.feasible is not None:
                lines.append(f"feasible (the oracle's hard constraints): {self.feasible:.0%} of the batch")
            if self.predicted_std is not None:
                lines.append(f"predictive std of {self.target}: median {np.median(self.predicted_std):.3g} (from "
                             f"{np.min(self.predicted_std):.3g} to {np.max(self.predicted_std):.3g})")
        for o in self.outcome_summary:
            lines.append(f"outcome {o['constraint']}: predicted {o['column']} {o['predicted_min']:.4g} to "
                         f"{o['predicted_max']:.4g} (median {o['predicted_median']:.4g}); probability of meeting it "
                         f"at least {o['p_satisfied_min']:.2f} (kept when >= {o['probability']:g})")
        if self.in_distribution is not None and n:
            lines.append(f"in-distribution percentile (prior density among training designs): median "
                         f"{np.median(self.in_distribution):.0f}, lowest {np.min(self.in_distribution):.0f}")
        div, nov = self.batch.get("diversity", {}), self.batch.get("novelty", {})
        if div or nov:
            unit = "positions" if "Hamming" in str(self.batch.get("unit", "")) else "of the box diagonal"
            fmt = (lambda v: f"{v:g}") if unit == "positions" else (lambda v: f"{100 * v:.2g}%")
            parts = []
            if div.get("min_to_better_ranked") is not None:
                parts.append(f"closest pair {fmt(div['min_to_better_ranked'])}")
            if "n_spread" in div:
                parts.append(f"{div['n_spread']} designs at least {fmt(div['min_distance'])} from every better-ranked one")
            if nov:
                parts.append(f"distance to nearest training design {fmt(nov['min'])} to {fmt(nov['max'])} "
                             f"(median {fmt(nov['median'])})")
            lines.append(f"diversity ({unit}): " + "; ".join(parts))
        if self.p100 is not None:
            lines.append(f"normalised score: 100th percentile {self.p100:.3f}, 50th percentile {self.p50:.3f}")
            lines.append(f"raw oracle score: best {self.p100_raw:.4g}, median {self.p50_raw:.4g}"
                         + (f" (best in training data {self.best_training_y:.4g})" if self.best_training_y is not None else ""))
            if self.feasible is not None:
                lines.append(f"feasible (the oracle's hard constraints): {self.feasible:.0%} of the batch")
        elif self.predicted is None:
            lines.append("no oracle: designs are ranked by the surrogate only")
        lines.append(f"time: train {self.train_s:.1f} s, propose {self.propose_s:.1f} s, evaluate {self.eval_s:.2f} s")
        return "\n".join(lines)

    def save(self, out_dir: str | Path, plot: bool = True) -> Path:
        """Write ``designs.csv``, ``designs.npz``, ``result.json``, ``report.png`` (when ``plot`` and the training
        data is known) and ``train_log.csv`` (when there is one) into ``out_dir``, each atomically."""
        out = ensure_writable_dir(out_dir)
        arrays: dict[str, Any] = {"x": self.x, "surrogate_scores": self.surrogate_scores}
        for name in ("predicted", "predicted_std", "in_distribution", "novelty", "oracle_scores"):
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name))
        arrays.update({k: np.asarray(v) for k, v in self.outcome_columns.items()})
        if self.oracle_scores is not None:
            arrays["normalized_scores"] = np.asarray(self.normalized_scores)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(out / "designs.npz", buf.getvalue())
        atomic_write_bytes(out / "designs.csv", self._csv().encode())
        atomic_write_json(out / "result.json", self.to_dict())
        if self.train_log:
            atomic_write_bytes(out / "train_log.csv", train_log_csv(self.train_log).encode())
        if plot and self.reference is not None:
            unit = "positions" if "Hamming" in str(self.batch.get("unit", "")) else "box diagonals"
            write_report_figure(
                out / "report.png", schema=self.schema, train_x=self.reference[0], train_y=self.reference[1],
                x=self.x, predicted=self.predicted, novelty=self.novelty, oracle=self.oracle_scores,
                title=f"{self.method} on {self.task}: {self.x.shape[0]} proposals (seed {self.seed})", novelty_unit=unit,
            )
        return out

    def _csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf)
        if self.schema is not None:
            design_header, cells = self.schema.design_header(), self.schema.design_cells(self.x)
        else:
            design_header = [f"x{i}" for i in range(self.x.shape[1])]
            cells = [[v.item() for v in row] for row in self.x]
        columns: list[tuple[str, np.ndarray | None]] = [
            (f"predicted_{self.target}", self.predicted), (f"predicted_{self.target}_std", self.predicted_std),
            *self.outcome_columns.items(), ("in_distribution", self.in_distribution),
            ("distance_to_training", self.novelty), ("surrogate_score", self.surrogate_scores),
            ("oracle_score", self.oracle_scores), ("normalized_score", self.normalized_scores),
        ]
        present = [(name, np.asarray(v)) for name, v in columns if v is not None]
        writer.writerow(["rank", *design_header, *(name for name, _ in present)])
        for i in range(self.x.shape[0]):
            writer.writerow([i + 1, *cells[i], *(_cell(v[i]) for _, v in present)])
        return buf.getvalue()


@dataclass
class ScoreTable:
    """Scores of designs from a fitted model.

    Attributes:
        designs: the designs, as the user writes them (strings for sequences, rows of numbers otherwise).
        predicted: ``[n]`` predicted score, in the target's units.
        in_distribution: ``[n]`` percentile (0-100) of each design's prior log-density among the training designs:
            near 50 is as data-like as a typical training design, near 0 less than every one of them.
        log_density: ``[n]`` the unnormalised latent prior log-density ``-|μ|²/2 + f_α(μ)`` at the design's encoding.
        target: the score's name.
        table: the input table when the designs came from a file (its rows are kept in the output).
        predicted_std: ``[n]`` float64 predictive std of ``predicted``, in the target's units (``None``: no column).
        outcome_columns: with outcome constraints, ``{"<column>_predicted" | "<column>_std" | "<column>_p_satisfied":
            float64 [n]}`` (see :attr:`Result.outcome_columns`), written after the predicted score's columns.
    """

    designs: list[Any]
    predicted: np.ndarray
    in_distribution: np.ndarray
    log_density: np.ndarray
    target: str = "y"
    table: Table | None = None
    schema: DesignSchema | None = field(default=None, repr=False)
    predicted_std: np.ndarray | None = None
    outcome_columns: dict[str, np.ndarray] = field(default_factory=dict)

    def columns(self) -> tuple[list[str], list[list[Any]]]:
        """Header and rows of the output table: the input's columns (or the designs) plus the predicted score, its
        std (when known) and the in-distribution percentile."""
        std_name = [f"predicted_{self.target}_std"] if self.predicted_std is not None else []
        extra = [f"predicted_{self.target}", *std_name, *self.outcome_columns, "in_distribution"]
        if self.table is not None:
            if self.table.header is not None:
                header = list(self.table.header)
            elif self.schema is not None and self.table.width == len(self.schema.columns):
                header = list(self.schema.columns)
            else:
                header = [f"column{j}" for j in range(self.table.width)]
            keep = [j for j, h in enumerate(header) if h not in extra]
            rows = [[r[j] for j in keep] for r in self.table.rows]
            header = [header[j] for j in keep]
        else:
            header = self.schema.design_header() if self.schema is not None else ["design"]
            rows = [[d] if isinstance(d, str) else list(d) for d in self.designs]
        stds = [[f"{v:.6g}"] for v in self.predicted_std] if self.predicted_std is not None else [[]] * len(rows)
        outs = [[f"{float(v[i]):.6g}" for v in self.outcome_columns.values()] for i in range(len(rows))]
        out = [[*r, f"{p:.6g}", *sd, *o, f"{q:.1f}"]
               for r, p, sd, o, q in zip(rows, self.predicted, stds, outs, self.in_distribution, strict=True)]
        return header + extra, out

    def to_csv(self) -> str:
        """The output table as CSV text."""
        header, rows = self.columns()
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_csv` to ``path`` atomically."""
        atomic_write_bytes(path, self.to_csv().encode())
        return Path(path)


def _cell(v: Any) -> Any:
    f = float(v)
    return f"{f:.6g}" if np.isfinite(f) else ""


def train_log_csv(rows: list[dict[str, Any]]) -> str:
    """The trainer's per-step loss records as CSV text (one row per logged step)."""
    buf = io.StringIO()
    keys = list(rows[0]) if rows else []
    writer = csv.writer(buf)
    writer.writerow(keys)
    for r in rows:
        writer.writerow([f"{r[k]:.6g}" if isinstance(r[k], float) else r[k] for k in keys])
    return buf.getvalue()


def evaluate(task: Task, x: np.ndarray) -> dict[str, Any]:
    """Score final proposals with the task's oracle: raw and normalised scores and their percentiles, and the
    task's known optimum (raw units; ``None`` when unknown) so that a report can show the distance to it, and the
    share of the designs the oracle counts feasible (``None`` for a task without hard constraints)."""
    raw = task.predict(x).reshape(-1).astype(np.float64)
    norm = task.normalize(raw).reshape(-1)
    optimum = getattr(task, "optimum", None)
    return {
        "oracle_scores": raw, "normalized_scores": norm,
        "p100": float(np.max(norm)), "p50": float(np.percentile(norm, 50)),
        "p100_raw": float(np.max(raw)), "p50_raw": float(np.percentile(raw, 50)),
        "optimum": None if optimum is None else float(optimum),
        "feasible": task.feasible_fraction(x),
    }


def score_with_oracle(result: Result, task: Task | None) -> Result:
    """``result`` with the oracle's scores of its (final) designs filled in, when ``task`` has an oracle and the
    batch is not empty; otherwise ``result`` unchanged."""
    if task is None or not task.has_oracle or not len(result.x):
        return result
    t0 = time.perf_counter()
    for key, value in evaluate(task, result.x).items():
        setattr(result, key, value)
    result.eval_s = time.perf_counter() - t0
    return result
