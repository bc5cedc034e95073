"""The one-call API: train a method on offline data, propose designs, and (when possible) score them.

The oracle is called only after the proposals are final, by :func:`evaluate`.

A method owes ``budget`` (Q) distinct designs. :func:`optimize` checks what came back: a repeated design is
kept once (its first, best-ranked copy), so duplicates never weigh twice in a percentile; more than Q
designs is an error. A batch with fewer than Q distinct designs is scored as it is (the percentiles are over
the designs that exist, not padded), and the result says so: ``n_proposed`` (returned, repeats included),
``n_unique`` (distinct), ``shortfall`` (``Q - n_unique``) and ``short_batch`` in ``result.json``, and a warning
line in :meth:`Result.summary`.
"""

from __future__ import annotations

import csv
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.methods.selection import first_occurrences
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.utils import atomic_write_bytes, atomic_write_json, ensure_writable_dir


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
        in_distribution: ``[Q]`` how data-like each proposal is: the percentile (0-100) of its prior log-density
            among the training designs (latent-EBM methods), or ``None``.
        novelty: ``[Q]`` distance of each proposal to its nearest training design (Hamming positions, or box
            diagonals for continuous designs), or ``None``.
        batch: diversity and novelty summary (:func:`n2ce_bbo.workflow.metrics.batch_report`).
        constraints: one line per constraint the proposals honour.
        train_log: the trainer's per-step losses (rows of ``train_log.csv``).
        reference: ``(train_x, train_y)`` for the report figure (not saved).
        n_returned: how many designs the method returned, repeats included (``None``: ``len(x)``).
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
    novelty: np.ndarray | None = None
    batch: dict[str, Any] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    train_log: list[dict[str, Any]] = field(default_factory=list)
    reference: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    n_returned: int | None = None

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
            "best_training_y": self.best_training_y, "task_kwargs": self.task_kwargs,
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
        out["constraints"] = self.constraints
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
        elif self.predicted is None:
            lines.append("no oracle: designs are ranked by the surrogate only")
        lines.append(f"time: train {self.train_s:.1f} s, propose {self.propose_s:.1f} s, evaluate {self.eval_s:.2f} s")
        return "\n".join(lines)

    def save(self, out_dir: str | Path, plot: bool = True) -> Path:
        """Write ``designs.csv``, ``designs.npz``, ``result.json``, ``report.png`` (when ``plot`` and the training
        data is known) and ``train_log.csv`` (when there is one) into ``out_dir``, each atomically."""
        out = ensure_writable_dir(out_dir)
        arrays: dict[str, Any] = {"x": self.x, "surrogate_scores": self.surrogate_scores}
        for name in ("predicted", "in_distribution", "novelty", "oracle_scores"):
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name))
        if self.oracle_scores is not None:
            arrays["normalized_scores"] = np.asarray(self.normalized_scores)
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(out / "designs.npz", buf.getvalue())
        atomic_write_bytes(out / "designs.csv", self._csv().encode())
        atomic_write_json(out / "result.json", self.to_dict())
        if self.train_log:
            atomic_write_bytes(out / "train_log.csv", train_log_csv(self.train_log).encode())
        if plot and self.reference is not None:
            from n2ce_bbo.workflow.figure import write_report_figure

            unit = "positions" if "Hamming" in str(self.batch.get("unit", "")) else "box diagonals"
            write_report_figure(
                out / "report.png", schema=self.schema, train_x=self.reference[0], train_y=self.reference[1],
                x=self.x, predicted=self.predicted, novelty=self.novelty, oracle=self.oracle_scores,
                title=f"{self.method} on {self.task}: {self.x.shape[0]} proposals (seed {self.seed})", novelty_unit=unit,
            )
        return out

    def _csv(self) -> str:
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        if self.schema is not None:
            design_header, cells = self.schema.design_header(), self.schema.design_cells(self.x)
        else:
            design_header = [f"x{i}" for i in range(self.x.shape[1])]
            cells = [[v.item() for v in row] for row in self.x]
        columns: list[tuple[str, np.ndarray | None]] = [
            (f"predicted_{self.target}", self.predicted), ("in_distribution", self.in_distribution),
            ("distance_to_training", self.novelty), ("surrogate_score", self.surrogate_scores),
            ("oracle_score", self.oracle_scores), ("normalized_score", self.normalized_scores),
        ]
        present = [(name, np.asarray(v)) for name, v in columns if v is not None]
        writer.writerow(["rank", *design_header, *(name for name, _ in present)])
        for i in range(self.x.shape[0]):
            writer.writerow([i + 1, *cells[i], *(_cell(v[i]) for _, v in present)])
        return buf.getvalue()


def _cell(v: Any) -> Any:
    f = float(v)
    return f"{f:.6g}" if np.isfinite(f) else ""


def train_log_csv(rows: list[dict[str, Any]]) -> str:
    """The trainer's per-step loss records as CSV text (one row per logged step)."""
    import io

    buf = io.StringIO()
    keys = list(rows[0]) if rows else []
    writer = csv.writer(buf)
    writer.writerow(keys)
    for r in rows:
        writer.writerow([f"{r[k]:.6g}" if isinstance(r[k], float) else r[k] for k in keys])
    return buf.getvalue()


def versions() -> dict[str, str]:
    """Versions of the packages that shape results, and machine facts."""
    import botorch

    import n2ce_bbo

    return {
        "n2ce_bbo": n2ce_bbo.__version__, "torch": torch.__version__, "numpy": np.__version__,
        "botorch": botorch.__version__, "python": platform.python_version(), "machine": platform.platform(),
        "cuda": torch.version.cuda or "none", "device": "cuda" if torch.cuda.is_available() else "cpu",
    }


def evaluate(task: Task, x: np.ndarray) -> dict[str, Any]:
    """Score final proposals with the task's oracle: raw and normalised scores and their percentiles."""
    raw = task.predict(x).reshape(-1).astype(np.float64)
    norm = task.normalize(raw).reshape(-1)
    return {
        "oracle_scores": raw, "normalized_scores": norm,
        "p100": float(np.max(norm)), "p50": float(np.percentile(norm, 50)),
        "p100_raw": float(np.max(raw)), "p50_raw": float(np.percentile(raw, 50)),
    }


def distinct_batch(x: np.ndarray, scores: np.ndarray, budget: int, method: str) -> tuple[np.ndarray, np.ndarray, int]:
    """A method's proposal as a batch of distinct designs: the first (best-ranked) copy of each design is kept.

    Args:
        x: ``[n, ...]`` validated designs, best first.
        scores: ``[n]`` the method's scores of them.
        budget: Q, the most designs a method may return.
        method: the method's name, for messages.

    Returns:
        ``(x [m, ...], scores [m] float64, n)``: the ``m <= n`` distinct designs with their scores, and ``n``.

    Raises:
        InvalidDataError: more than ``budget`` designs, or not one score per design.
    """
    n = int(x.shape[0])
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != n:
        raise InvalidDataError(f"method {method!r} returned {n} designs but {scores.shape[0]} scores.")
    if n > budget:
        raise InvalidDataError(f"method {method!r} returned {n} designs for a budget of {budget}.")
    keep = first_occurrences(x) if n else np.zeros(0, dtype=np.int64)
    return x[keep], scores[keep], n


def resolve_task(
    task_or_arrays: Task | str | tuple[np.ndarray, np.ndarray],
    *,
    data_dir: str | Path | None = None,
    num_classes: int | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    run_seed: int | None = None,
) -> Task:
    """A Task from a Task, a registered name, or an ``(x, y)`` pair of the user's own data.

    With ``run_seed``, a registered task whose data is drawn per run (TFBind10's subset) is drawn with that seed
    unless ``task_kwargs`` fixes it (:func:`n2ce_bbo.tasks.registry.task_options_for_run`).
    """
    if isinstance(task_or_arrays, Task):
        return task_or_arrays
    if isinstance(task_or_arrays, str):
        from n2ce_bbo.tasks import make
        from n2ce_bbo.tasks.registry import task_options_for_run

        options = dict(task_kwargs or {})
        if run_seed is not None:
            options = task_options_for_run(task_or_arrays, options, run_seed)
        return make(task_or_arrays, data_dir=data_dir, **options)
    if isinstance(task_or_arrays, tuple) and len(task_or_arrays) == 2:
        x, y = task_or_arrays
        return Task.from_arrays(x, y, num_classes=num_classes, name="custom")
    raise TypeError("task_or_arrays must be a Task, a registered task name, or an (x, y) tuple of arrays.")


def optimize(
    task_or_arrays: Task | str | tuple[np.ndarray, np.ndarray],
    method: str = "n2ce",
    budget: int = 128,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    *,
    data_dir: str | Path | None = None,
    num_classes: int | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    parallel: ParallelSpec | None = None,
    verbose: bool = False,
) -> Result:
    """Propose ``budget`` designs for a task (or your own data) with ``method``.

    Args:
        task_or_arrays: a :class:`Task`, a registered task name (see ``n2ce_bbo.list_tasks()``), or ``(x, y)``
            arrays of your own data (``x``: ``[n, d]`` floats, or ``[n, L]`` integer tokens with ``num_classes``).
        method: a registered method name (``n2ce``, ``nce``, ``mle``, ``gaussian``, ``grad``, ...).
        budget: number of designs to propose (Q; 128 in the Design-Bench protocol).
        seed: seed of every random choice.
        config: overrides of the method's configuration (nested mapping).
        data_dir: Design-Bench data folder (else ``N2CE_BBO_DATA_DIR``).
        num_classes: token vocabulary size when ``x`` holds token designs.
        task_kwargs: extra arguments of the task factory (for example ``max_samples``). A task drawn per run
            (TFBind10's ``max_samples`` subset) is drawn with ``seed`` unless these set its ``seed``.
        device: ``"cpu"``, ``"cuda"``; default: CUDA when available.
        parallel: how to spread the proposal work (Ray workers; sequential by default).
        verbose: show progress.

    Returns:
        A :class:`Result`; oracle scores and normalised percentiles are filled when the task has an oracle.
    """
    if not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InvalidDataError(f"budget must be a positive integer, got {budget!r}.")
    used_options: dict[str, Any] = {}
    if isinstance(task_or_arrays, str):  # a registered name: the options it is built with, run-seeded ones included
        from n2ce_bbo.tasks.registry import task_options_for_run

        used_options = task_options_for_run(task_or_arrays, task_kwargs, int(seed))
    task = resolve_task(task_or_arrays, data_dir=data_dir, num_classes=num_classes,
                        task_kwargs=used_options if isinstance(task_or_arrays, str) else task_kwargs)
    runner = make_method(method, config, seed=seed, device=device, parallel=parallel, verbose=verbose)
    data = task.offline_data()

    t0 = time.perf_counter()
    runner.fit(data)
    t1 = time.perf_counter()
    proposal = runner.propose(int(budget))
    t2 = time.perf_counter()

    x, scores, n_returned = distinct_batch(task.validate_designs(proposal.x, name="proposed designs"),
                                           proposal.scores, int(budget), method)
    result = Result(
        task=task.name, method=method, seed=int(seed), budget=int(budget), x=x, surrogate_scores=scores,
        best_training_y=float(np.max(task.y)), task_kwargs=used_options, train_s=t1 - t0, propose_s=t2 - t1,
        config=runner.config_dict(), info=dict(proposal.info),
        versions={**versions(), "device": str(getattr(runner, "device", "cpu"))},  # the device this run used
        n_returned=n_returned,
    )
    if task.has_oracle:
        t3 = time.perf_counter()
        evaluation = evaluate(task, x)  # proposals are final: only now is the oracle consulted
        result.eval_s = time.perf_counter() - t3
        for key, value in evaluation.items():
            setattr(result, key, value)
    return result
