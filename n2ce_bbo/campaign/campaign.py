"""A lab campaign, round by round: propose a batch, measure it, add the results, propose again.

::

    import n2ce_bbo

    c = n2ce_bbo.Campaign.init("campaigns/dna", data="activity.csv", target="activity", design_column="sequence")
    batch = c.propose(16, out="round1.csv")     # a Result; never a design measured or still pending
    ...                                         # the lab measures round1.csv's designs
    c.add("round1_measured.csv")                # matched to the proposals; the model is refitted (warm)
    print(c.status_text()); c.plot()            # the table per round, campaign.png
    c = n2ce_bbo.Campaign.open("campaigns/dna") # later, in another process

The campaign folder (:mod:`.store`) keeps every step (the initial fit, each batch, each set of measurements and
its refit) append-only, each written atomically; :mod:`.history` reads them back, :mod:`.matching` matches measured
rows to proposals, :mod:`.status` draws the table and figure. ``docs/campaign.md`` tells the whole story.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from n2ce_bbo.campaign.history import MODEL, Definition, History, read_history
from n2ce_bbo.campaign.matching import DEFAULT_TOLERANCE, match_rows, read_measured
from n2ce_bbo.campaign.records import fit_facts, rows_csv, write_input, write_npz
from n2ce_bbo.campaign.status import RoundStatus, format_table, round_table, write_figure
from n2ce_bbo.campaign.store import STEPS, read_steps, write_step, writing
from n2ce_bbo.campaign.tracked import log_step
from n2ce_bbo.errors import DataWarning, OutputError
from n2ce_bbo.io.dataset import DesignData
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.utils import atomic_write_bytes
from n2ce_bbo.workflow.data import TrainingData, load_data
from n2ce_bbo.workflow.model import FittedModel, is_latent_ebm
from n2ce_bbo.workflow.result import Result
from n2ce_bbo.workflow.tracking import Tracker, open_tracker

FIGURE = "campaign.png"


@dataclass(frozen=True)
class AddReport:
    """What one :meth:`Campaign.add` did.

    Attributes:
        step: the step folder written.
        rows: rows added; matched: of them, measurements of proposals (per round in ``by_round``); extra: the lab's
            own designs.
        fit: the refit's facts (``warm``, ``steps``, ``cold_steps``, ``fit_s``, ``reason``, ...), or ``{}`` for a
            method refitted at the next proposal instead.
    """

    step: Path
    rows: int
    matched: int
    extra: int
    by_round: dict[int, int]
    fit: dict[str, Any]

    def summary(self) -> str:
        """Two lines for people."""
        rounds = ", ".join(f"{n} of round {r}" for r, n in sorted(self.by_round.items()))
        lines = [f"added {self.rows} measured rows: {self.matched} proposals ({rounds or 'none'}), {self.extra} extra"]
        f = self.fit
        if f.get("warm"):
            lines.append(f"refit warm in {f['fit_s']:.1f} s: {f['steps']} of a cold fit's {f['cold_steps']} steps "
                         "from the previous model, its rehearsal reused")
        elif f:
            lines.append(f"refit cold in {f['fit_s']:.1f} s ({f['steps']} steps): {f.get('reason') or 'asked for'}")
        else:
            lines.append("no refit now: this method cannot be saved, so the next propose refits it cold on every row")
        return "\n".join(lines)


class Campaign:
    """A campaign folder and the verbs that grow it: :meth:`init`, :meth:`open`, :meth:`propose`, :meth:`add`,
    :meth:`status`, :meth:`plot`.

    Attributes:
        root: the campaign folder.
        history: its complete steps, read (:class:`~n2ce_bbo.campaign.history.History`).
        notes: what was found besides complete steps (an incomplete step left by a killed command), for people.
        device: where models are fitted and used (``None``: CUDA when available).
    """

    def __init__(self, root: str | Path, device: str | torch.device | None = None) -> None:
        self.root = Path(root)
        self.device = device
        self.notes: list[str] = []
        self.history: History = self._read()
        self._model: tuple[int, FittedModel] | None = None

    # ------------------------------------------------------------------ reading
    def _read(self) -> History:
        steps, self.notes = read_steps(self.root)
        return read_history(steps)

    @property
    def definition(self) -> Definition:
        """What the init step fixed (method, settings, seed, schema)."""
        return self.history.definition

    @property
    def round(self) -> int:
        """The latest round (0 before the first proposal)."""
        return self.history.round

    def __repr__(self) -> str:
        d = self.definition
        return f"Campaign({str(self.root)!r}: {d.method} on {d.name!r}, round {self.round}, {len(self.pending())} pending)"

    def pending(self) -> list[Any]:
        """The proposals not measured yet, as the data writes them (strings for sequences)."""
        x = self.history.pending()[0]
        cells = self.definition.schema.design_cells(x)
        return [c[0] for c in cells] if self.definition.schema.kind == "sequence" else cells

    @classmethod
    def open(cls, directory: str | Path, device: str | torch.device | None = None) -> Campaign:
        """The campaign at ``directory``, at its last complete step; an incomplete step (a command killed while
        writing it) is ignored, with a :class:`~n2ce_bbo.errors.DataWarning` saying so.

        Raises:
            DataNotFoundError: no campaign there. CorruptDataError: a step was modified or is unreadable.
        """
        c = cls(directory, device)
        for note in c.notes:
            warnings.warn(f"campaign {str(c.root)!r}: {note}.", DataWarning, stacklevel=2)
        return c

    # ------------------------------------------------------------------ init
    @classmethod
    def init(cls, directory: str | Path, data: Any, target: str | int | None = None, *,
             features: Sequence[str | int] | None = None, design_column: str | int | None = None,
             alphabet: str | None = None, header: bool | None = None, sep: str | None = None,
             num_classes: int | None = None, values: str | Path | None = None, id_column: str | int | None = None,
             length: int | None = None, method: str = "n2ce", config: Mapping[str, Any] | None = None,
             seed: int = 0, device: str | torch.device | None = None, verbose: bool = False,
             show_progress: bool = False, parallel: ParallelSpec | None = None,
             mlflow: bool | str | Tracker | None = None) -> Campaign:
        """Start a campaign in the new (or empty) folder ``directory`` from initial data, and fit the first model.

        Args:
            directory: the campaign folder.
            data, target, features, design_column, alphabet, header, sep, num_classes, values, id_column, length:
                the initial rows, read as :func:`n2ce_bbo.workflow.data.load_data` reads them (or a
                :class:`~n2ce_bbo.workflow.data.TrainingData`).
            method: a registered method; the latent-EBM ones (``n2ce``, ``nce``, ``mle``, ``gaussian``) are saved
                and refitted warm, the baselines are refitted cold at every proposal.
            config: overrides of the method's settings; resolved once here and used by every fit of the campaign.
            seed: the training seed of every fit and the default proposal seed.
            device, verbose, show_progress, parallel: as for :meth:`FittedModel.fit`.
            mlflow: log round 0 (the first fit) to MLflow under the campaign's run (see :meth:`track`).

        Raises:
            OutputError: the folder holds a campaign or other files already. InvalidDataError, ConfigError, ...:
                bad data or settings, before anything is written.
        """
        root = Path(directory)
        _check_new(root)
        tracker = open_tracker(mlflow)  # a store that cannot be opened fails before the fit
        source = data if isinstance(data, TrainingData) else load_data(
            data, target, features=features, design_column=design_column, alphabet=alphabet, header=header, sep=sep,
            num_classes=num_classes, values=values, id_column=id_column, length=length, run_seed=seed)
        resolved = make_method(method, config, seed=seed, device="cpu").config_dict()  # checked before writing
        d = source.data
        definition = Definition(source.name, method, resolved, int(seed), d.schema, source.bounds, str(d.source))

        fitted: list[FittedModel] = []

        def fill(tmp: Path) -> dict[str, Any]:
            write_npz(tmp / "data.npz", x=d.x, y=np.asarray(d.y, dtype=np.float64))
            atomic_write_bytes(tmp / "data.csv", rows_csv(d.schema, d.x, d.y).encode())
            facts: dict[str, Any] = {"campaign": definition.to_json(), "rows": d.n, "notes": list(d.notes)}
            if is_latent_ebm(make_method(method, resolved, seed=seed, device="cpu")):
                model = FittedModel.fit(source, method, resolved, seed=seed, device=device, verbose=verbose,
                                        show_progress=show_progress, parallel=parallel)
                model.save(tmp / MODEL)
                facts["fit"] = fit_facts(model)
                fitted.append(model)
            return facts

        with writing(root):
            if (root / STEPS).is_dir() and any(p.name.startswith("0000-") for p in (root / STEPS).iterdir()):
                raise OutputError(f"{str(root)!r} holds a campaign already; open it (Campaign.open).")
            step = write_step(root, 0, "init", 0, fill, read_back=("data.npz",))
        c = cls(root, device)
        c.track(tracker, step.path, fit=fitted[0] if fitted else None)
        return c

    # ------------------------------------------------------------------ tracking
    def track(self, tracker: Tracker, step_path: Path, *, result: Result | None = None,
              fit: FittedModel | None = None) -> str | None:
        """Log the latest step to MLflow under the campaign's run (:func:`~n2ce_bbo.campaign.tracked.log_step`)."""
        return log_step(self, tracker, step_path, result=result, fit=fit)

    # ------------------------------------------------------------------ models
    def _training_data(self, more: tuple[np.ndarray, np.ndarray] | None = None) -> TrainingData:
        """Every measured row (and ``more`` rows being added) as the next fit's training data."""
        d = self.definition
        x, y = self.history.training_rows()
        if more is not None:
            x, y = np.concatenate([x, more[0].astype(x.dtype)]), np.concatenate([y, more[1].astype(np.float64)])
        data = DesignData(x, y, d.schema, f"campaign {d.name}", [], int(x.shape[0]))
        return TrainingData(data, d.bounds, d.name)

    def model(self, show_progress: bool = False) -> FittedModel:
        """The latest saved model (loaded once), ready to propose; for a method that cannot be saved, a cold fit
        on every measured row (not stored).

        Raises:
            CorruptDataError: the model folder was modified.
        """
        step = self.history.model_step()
        key = -1 if step is None else step.index
        if self._model is None or self._model[0] != key or step is None:
            if step is None:
                d = self.definition
                model = FittedModel.fit(self._training_data(), d.method, d.config, seed=d.seed, device=self.device,
                                        show_progress=show_progress)
            else:
                model = FittedModel.load(step.path / MODEL, device=self.device)
            self._model = (key, model)
        return self._model[1]

    # ------------------------------------------------------------------ propose
    def propose(self, budget: int = 128, seed: int | None = None, out: str | Path | None = None, *,
                fix: Sequence[str] = (), exclude: Any = None, lower: Any = None, upper: Any = None,
                bounds_file: str | Path | None = None, parents: Any = None, parents_file: str | Path | None = None,
                max_mutations: int | None = None, acquisition: str | None = None, ucb_beta: float | None = None,
                config: Mapping[str, Any] | None = None, show_progress: bool = False,
                parallel: ParallelSpec | None = None, report: bool = True,
                mlflow: bool | str | Tracker | None = None) -> Result:
        """Propose the next round's batch and record it (``steps/NNNN-roundR-propose/``: ``designs.csv`` ...).

        No design already measured (initial data, every ``add``) or still pending (proposed in an earlier round,
        not measured yet) is proposed: they join ``exclude`` in the model's constraints, which every method honours.

        Args:
            budget: designs in the batch.
            seed: the proposal's seed (default: the campaign's seed).
            out: also copy ``designs.csv`` to this file (or into this folder).
            fix, exclude, lower, upper, bounds_file, parents, parents_file, max_mutations: constraints, as for
                :meth:`FittedModel.constraints`.
            acquisition, ucb_beta, config: as for :meth:`FittedModel.propose`.
            show_progress: progress displays on stderr. parallel: Ray workers for the chains.
            report: also draw the batch's ``report.png`` (a second or two).
            mlflow: log the round (the batch, and the fit when one was made here) to MLflow (:meth:`track`).

        Raises:
            NoFeasibleDesignError: every design the constraints allow is measured, pending or excluded.
            OutputError: another command is writing to the campaign.
        """
        budget = check_budget(budget)
        tracker = open_tracker(mlflow)
        with writing(self.root):
            self.history = self._read()
            model = self.model(show_progress=show_progress)
            if parallel is not None:
                model.method.parallel = parallel
            user = None if exclude is None else model.constraints(exclude=exclude).excluded
            measured = self.history.training_rows()[0]
            pending = self.history.pending()[0]
            known = np.concatenate([a for a in (user, measured, pending) if a is not None and len(a)])
            constraints = model.constraints(fix=fix, exclude=known, lower=lower, upper=upper, bounds_file=bounds_file,
                                            parents=parents, parents_file=parents_file, max_mutations=max_mutations)
            run_seed = self.definition.seed if seed is None else int(seed)
            result = model.propose(budget, seed=run_seed, constraints=constraints, config=config,
                                   show_progress=show_progress, acquisition=acquisition, ucb_beta=ucb_beta)
            result.train_log = []  # the model's step holds the training log
            round_ = self.round + 1
            model_step = self.history.model_step()

            def fill(tmp: Path) -> dict[str, Any]:
                result.save(tmp, plot=report)
                facts = {"budget": budget, "seed": run_seed, "designs": int(result.x.shape[0]),
                         "shortfall": result.shortfall, "acquisition": acquisition or "as configured",
                         "model_step": None if model_step is None else model_step.name,
                         "excluded": {"measured": int(len(measured)), "pending": int(len(pending)),
                                      "yours": 0 if user is None else int(len(user))},
                         "constraints": constraints.describe(self.definition.schema)}
                if model_step is None:  # a method that cannot be saved was fitted here
                    facts["fit"] = fit_facts(model)
                return facts

            step = write_step(self.root, len(self.history.steps), "propose", round_, fill,
                              read_back=("designs.npz",))
            self.history = self._read()
        self.track(tracker, step.path, result=result, fit=model if model_step is None else None)
        if out is not None:
            dest = Path(out)
            dest = dest / "designs.csv" if dest.is_dir() else dest
            atomic_write_bytes(dest, (self.history.batches[-1].step.path / "designs.csv").read_bytes())
        return result

    # ------------------------------------------------------------------ add
    def add(self, measured: str | Path | Sequence[Mapping[str, Any]], *, header: bool | None = None,
            sep: str | None = None, tolerance: float = DEFAULT_TOLERANCE, cold: bool = False, verbose: bool = False,
            show_progress: bool = False, mlflow: bool | str | Tracker | None = None) -> AddReport:
        """Add measured rows and refit the model on every row (``steps/NNNN-roundR-add/``).

        Args:
            measured: a table (the design column(s) and the target column; other columns ignored) or rows as
                mappings ``{column: value}``. Every row is parsed and matched before anything is written
                (:mod:`.matching`): a row that cannot be parsed, a design already measured or given twice is an
                error naming its line, and nothing is added.
            header, sep: of the table (``None``: detected).
            tolerance: continuous designs match a proposal within this fraction of each feature's range.
            cold: refit from scratch (rehearsal included) instead of warm from the previous model.
            verbose, show_progress: training losses / progress displays on stderr.
            mlflow: log the round's measurements and refit to MLflow (:meth:`track`).

        Returns:
            An :class:`AddReport`.
        """
        tracker = open_tracker(mlflow)
        schema = self.definition.schema
        rows = read_measured(measured, schema, header=header, sep=sep)
        with writing(self.root):
            self.history = self._read()
            px, pround, prank = self.history.pending()
            matched = match_rows(rows, schema, pending_x=px, pending_round=pround, pending_rank=prank,
                                 measured_x=self.history.training_rows()[0], measured_where=self.history.measured_where(),
                                 scale=self.history.feature_scale(), tolerance=tolerance)
            d = self.definition
            refit = is_latent_ebm(make_method(d.method, d.config, seed=d.seed, device="cpu"))
            previous = self.model() if refit and not cold else None
            by_round = {int(r): int((matched.round == r).sum()) for r in np.unique(matched.round) if r >= 0}
            fitted: list[FittedModel] = []

            def fill(tmp: Path) -> dict[str, Any]:
                # the rows first: a kill during the refit leaves only this temporary folder, never a partial step
                name = write_input(tmp, measured, rows)
                write_npz(tmp / "measured.npz", x=rows.x, y=rows.y, round=matched.round, rank=matched.rank)
                atomic_write_bytes(tmp / "measured.csv", rows_csv(schema, rows.x, rows.y, rows.labels, matched).encode())
                facts: dict[str, Any] = {"source": rows.source, "input": name, "rows": rows.n, "labels": rows.labels,
                                         "matched": int((~matched.extra).sum()), "extra": int(matched.extra.sum()),
                                         "by_round": {str(k): v for k, v in by_round.items()}}
                if refit:
                    model = FittedModel.fit(self._training_data((rows.x, rows.y)), d.method, d.config, seed=d.seed, device=self.device,
                                            verbose=verbose, show_progress=show_progress, warm_start=previous)
                    model.save(tmp / MODEL)
                    facts["fit"] = fit_facts(model, asked_cold=cold)
                    fitted.append(model)
                return facts

            step = write_step(self.root, len(self.history.steps), "add", self.round, fill, read_back=("measured.npz",))
            self.history = self._read()
        self.track(tracker, step.path, fit=fitted[0] if fitted else None)
        rec = step.record
        return AddReport(step.path, rows.n, int(rec["matched"]), int(rec["extra"]), by_round, dict(rec.get("fit") or {}))

    # ------------------------------------------------------------------ status
    def status(self) -> list[RoundStatus]:
        """One row per round (0 = the initial data): proposed, measured, pending, extra, best so far, mean predicted
        vs mean measured, interval coverage, fit (see :mod:`.status`)."""
        return round_table(self.history)

    def status_text(self) -> str:
        """The status table as text, with a line per note (an incomplete step found)."""
        text = format_table(self.status(), self.definition.schema.target)
        return text + "".join(f"\nnote: {n}" for n in self.notes)

    def plot(self, path: str | Path | None = None) -> Path:
        """Write the status figure (default ``CAMPAIGN/campaign.png``); returns its path."""
        return write_figure(self.root / FIGURE if path is None else Path(path), self.history, self.status())


def _check_new(root: Path) -> None:
    """A campaign starts in a new or empty folder (an init killed before it finished may be rerun)."""
    if root.exists() and not root.is_dir():
        raise OutputError(f"{str(root)!r} is a file; a campaign needs a folder.")
    if not root.is_dir():
        return
    others = [p.name for p in root.iterdir() if p.name not in (STEPS, ".lock")]
    if others:
        raise OutputError(f"{str(root)!r} is not empty ({', '.join(sorted(others)[:3])}...); a campaign starts in a "
                          "new or empty folder.")

