"""Train once, use many times: a :class:`FittedModel` is a trained method plus what it needs to read and write
the user's designs (the :class:`~n2ce_bbo.io.schema.DesignSchema`) and the training data.

::

    import n2ce_bbo

    model = n2ce_bbo.fit("activity.csv", target="score", design_column="sequence", alphabet="dna")
    result = model.propose(64, seed=1, fix=["0=G"])      # a Result: designs, predicted scores, diversity
    model.save("models/activity")
    again = n2ce_bbo.load("models/activity")             # no retraining
    scores = again.score(["ACGTACGT", "GGGTACGA"])       # predicted score and in-distribution percentile

Every method can be fitted and asked to propose; saving, loading and :meth:`FittedModel.score` need a
latent-EBM method (``n2ce``, ``nce``, ``mle``, ``gaussian``), whose surrogate predicts scores and whose prior
says how data-like a design is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from n2ce_bbo.constraints import Constraints, build_constraints
from n2ce_bbo.errors import ConfigError, DataWarning, IncompatibleModelError
from n2ce_bbo.io.dataset import FEW_ROWS, DesignData, read_designs
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.methods.base import Method, ParallelSpec
from n2ce_bbo.methods.filters import ProposalFilters
from n2ce_bbo.methods.latent_ebm import LatentEBMMethod
from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.methods.selection import distinct_batch
from n2ce_bbo.provenance import versions
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.tasks.validation import check_budget, check_designs
from n2ce_bbo.utils import PhaseProgress
from n2ce_bbo.workflow.data import TrainingData, offline_data, planned_steps
from n2ce_bbo.workflow.folder import read_model, save_model
from n2ce_bbo.workflow.metrics import batch_report, percentile_of
from n2ce_bbo.workflow.outcomes import OutcomeModels, fit_outcomes, outcome_fields, outcome_spec, with_outcomes
from n2ce_bbo.workflow.prediction import Prediction, acquisition_overrides, predict_raw, with_propose_overrides
from n2ce_bbo.workflow.proposing import filter_warning, min_spacing, proposal_settings, run_proposer
from n2ce_bbo.workflow.result import Result, ScoreTable
from n2ce_bbo.workflow.warm import plan_warm_start

#: Training designs used as the reference of the in-distribution percentile (a seeded sample when more).
MAX_REFERENCE_ROWS = 20_000


def is_latent_ebm(method: Method) -> bool:
    """Whether ``method`` is a latent-EBM method (it can be saved and can score designs)."""
    return isinstance(method, LatentEBMMethod)


class FittedModel:
    """A trained method with its data schema and training data (see the module docstring).

    Build one with :meth:`fit` (or :func:`n2ce_bbo.fit`) or :meth:`load`.

    Attributes:
        method_name: the registered method name.
        method: the trained :class:`~n2ce_bbo.methods.base.Method`.
        data: the training data with its schema (a user's duplicate designs merged when read, a task's rows as given).
        offline: the optimiser's view of it.
        seed: the training seed (and the default proposal seed).
        history: the trainer's history (latent-EBM methods; ``{}`` otherwise).
        fit_s: seconds the training took.
        name: a name for logs and results (the data file's stem, or the task's name).
        outcomes: the outcome constraints' models (:mod:`n2ce_bbo.workflow.outcomes`), honoured by every proposal.
    """

    def __init__(self, method_name: str, method: Method, data: DesignData, offline: OfflineData, *, seed: int,
                 history: dict[str, Any] | None = None, fit_s: float = 0.0, name: str = "custom",
                 outcomes: OutcomeModels | None = None) -> None:
        self.outcomes = outcomes
        self.method_name = method_name
        self.method = method
        self.data = data
        self.offline = offline
        self.seed = int(seed)
        self.history = history or {}
        self.fit_s = float(fit_s)
        self.name = name
        self._reference: np.ndarray | None = None

    # ------------------------------------------------------------------ facts
    @property
    def schema(self) -> DesignSchema:
        """The designs' schema."""
        return self.data.schema

    @property
    def is_latent_ebm(self) -> bool:
        """Whether the method is a latent-EBM method (savable; can score designs)."""
        return is_latent_ebm(self.method)

    def __repr__(self) -> str:
        return (f"FittedModel({self.method_name!r} on {self.name!r}: {self.data.n} designs, "
                f"{self.schema.describe()}, target {self.schema.target!r})")

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        data: DesignData | TrainingData,
        method: str = "n2ce",
        config: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        device: str | torch.device | None = None,
        verbose: bool = False,
        show_progress: bool = False,
        parallel: ParallelSpec | None = None,
        bounds: np.ndarray | None = None,
        name: str | None = None,
        outcomes: Any = None,
        warm_start: FittedModel | None = None,
    ) -> FittedModel:
        """Train ``method`` on ``data``.

        Args:
            data: training designs and scores, used as given (:func:`n2ce_bbo.workflow.data.load_data` merges a
                user's duplicate designs when it reads them); :class:`~n2ce_bbo.workflow.data.TrainingData` brings
                its own ``bounds`` and ``name``.
            method: a registered method name.
            config: overrides of the method's settings (nested mapping).
            seed: seed of training (and the default seed of proposals).
            device: ``"cpu"``, ``"cuda"``; default CUDA when available.
            verbose: print the training losses.
            show_progress: one progress display per phase on stderr.
            parallel: Ray workers for the proposal chains.
            bounds: ``[2, d]`` box of continuous designs (default: the data's range).
            name: a name for results (default: the data's source).
            outcomes: outcome constraints (``["expression>=0.5"]`` or an ``OutcomeSpec``; ``data.outcomes`` holds
                their columns), a model each fitted alongside (:func:`~n2ce_bbo.workflow.outcomes.fit_outcomes`).
            warm_start: an earlier model fitted on part of these rows: a latent-EBM refit starts from its weights
                for ``train.warm_fraction`` of the cold steps and reuses its rehearsal's outcome, when
                :func:`~n2ce_bbo.workflow.warm.plan_warm_start` allows it (else cold). ``history["warm_start"]``
                records what was done and why.

        Fewer than :data:`~n2ce_bbo.io.dataset.FEW_ROWS` rows give a :class:`~n2ce_bbo.errors.DataWarning`;
        the latent-EBM trainer's default length then scales with the rows (``train.steps_per_row``).
        """
        if isinstance(data, TrainingData):
            bounds = data.bounds if bounds is None else bounds
            name = name or data.name
            data = data.data
        runner = make_method(method, config, seed=seed, device=device, parallel=parallel, verbose=verbose)
        runner.show_progress = show_progress
        off = offline_data(data, bounds, name or Path(data.source).stem or "custom")
        if data.n < FEW_ROWS:
            steps = planned_steps(runner, data.n)
            warnings.warn(
                f"only {data.n} distinct training designs (fewer than {FEW_ROWS}): a surrogate learns little from so "
                "few, so treat its predicted scores with caution"
                + (f"; training runs {steps} steps, scaled to the data" if steps is not None else "") + ".",
                DataWarning, stacklevel=2,
            )
        fitted_outcomes = fit_outcomes(data, off.x, outcome_spec(outcomes), seed=seed, device=runner.device)
        plan = plan_warm_start(warm_start, method, runner, off)
        t0 = time.perf_counter()
        if plan.warm and isinstance(runner, LatentEBMMethod) and warm_start is not None:
            runner.fit_warm(off, cast(LatentEBMMethod, warm_start.method))
        else:
            runner.fit(off)
        fit_s = time.perf_counter() - t0
        history = dict(getattr(runner, "history", None) or {})
        if is_latent_ebm(runner):
            history["warm_start"] = plan.record(history)
        return cls(method, runner, data, off, seed=seed, history=history, fit_s=fit_s, name=off.name,
                   outcomes=fitted_outcomes)

    # ------------------------------------------------------------------ propose
    def constraints(
        self, *, fix: Sequence[str] = (), exclude: Any = None, lower: Any = None, upper: Any = None,
        bounds_file: str | Path | None = None, header: bool | None = None, parents: Any = None,
        parents_file: str | Path | None = None, max_mutations: int | None = None,
    ) -> Constraints:
        """Constraints for :meth:`propose` from user options (see :func:`n2ce_bbo.constraints.build_constraints`;
        ``parents`` + ``max_mutations``: at most K substitutions from the nearest parent)."""
        return build_constraints(self.schema, fix=fix, exclude=exclude, lower=lower, upper=upper,
                                 bounds_file=bounds_file, header=header, parents=parents, parents_file=parents_file,
                                 max_mutations=max_mutations)

    def propose(
        self,
        budget: int = 128,
        *,
        seed: int | None = None,
        constraints: Constraints | None = None,
        fix: Sequence[str] = (),
        exclude: Any = None,
        lower: Any = None,
        upper: Any = None,
        parents: Any = None,
        max_mutations: int | None = None,
        config: Mapping[str, Any] | None = None,
        show_progress: bool = False,
        acquisition: str | None = None,
        ucb_beta: float | None = None,
        filters: Mapping[str, Any] | ProposalFilters | None = None,
    ) -> Result:
        """Propose ``budget`` designs from the trained model (no retraining).

        Args:
            budget: Q, the number of designs.
            seed: seed of the proposal's randomness (default: the training seed).
            constraints: a :class:`~n2ce_bbo.constraints.Constraints`; or give ``fix`` / ``exclude`` / ``lower`` /
                ``upper`` / ``parents`` + ``max_mutations`` (a mutation budget) as for :meth:`constraints`.
            config: overrides of the ``propose`` section (latent-EBM methods), e.g. ``{"propose": {"n_chains": 1024}}``.
            show_progress: one progress display on stderr.
            acquisition: what candidates are ranked by (``propose.acquisition``): ``"mean"`` (the predicted score),
                ``"ucb"`` (mean + ``ucb_beta`` · std) or ``"ei"`` (expected improvement over the best training
                score); ``None``: as configured (``"mean"`` by default). ``ucb`` / ``ei`` need a latent-EBM method.
            ucb_beta: ``β`` of ``ucb`` (``None``: as configured, 1.0 by default).
            filters: overrides of the data-derived filters every method's proposals pass (the ``filters`` section,
                :class:`~n2ce_bbo.methods.filters.ProposalFilters`; also accepted as ``config["filters"]``), e.g.
                ``{"pair_support": False}``; ``None``: as fitted (on by default).

        Returns:
            A :class:`~n2ce_bbo.workflow.result.Result` (no oracle scores; ``predicted`` / ``in_distribution`` for
            latent-EBM methods). Every design honours the constraints; when fewer than ``budget`` do,
            ``result.shortfall`` says how many are missing (and a :class:`~n2ce_bbo.errors.DataWarning` too); the
            same when the filters rule out too many (``result.info["filters"]`` says how many).

        Raises:
            NoFeasibleDesignError: no design is left (none satisfies the constraints); when that is certain from
                the constraints alone (every allowed design excluded), before any sampling.
            ConfigError: ``ucb`` / ``ei`` for a method that is not a latent-EBM method.
        """
        budget = check_budget(budget)
        config = acquisition_overrides(self.method_name, self.is_latent_ebm, config, acquisition, ucb_beta)
        config, run_filters = proposal_settings(self.method, config, filters)
        if constraints is None:
            constraints = self.constraints(fix=fix, exclude=exclude, lower=lower, upper=upper, parents=parents,
                                           max_mutations=max_mutations)
        constraints = with_outcomes(constraints, self.outcomes)
        constraints.check(is_discrete=self.schema.is_discrete, dim=self.schema.dim, num_classes=self.schema.vocabulary)
        constraints.require_feasible(self.schema)
        run_seed = self.seed if seed is None else int(seed)
        m = self.method
        saved = (m.seed, m.constraints, m.show_progress, getattr(m, "config", None), m.filters)
        m.seed, m.filters = run_seed, run_filters
        m.constraints = None if constraints.is_empty else constraints
        m.show_progress = show_progress
        if config:
            m.config = with_propose_overrides(m, config)
        t0 = time.perf_counter()
        try:
            # latent-EBM methods show their own progress (per chunk of chains); others one start/end display
            with PhaseProgress("proposing", None, enabled=show_progress and not self.is_latent_ebm) as bar:
                x, scores, info = run_proposer(m, budget, constraints)
                bar.note = f"{len(x)} designs"
        finally:
            used_config, spacing = m.config_dict(), min_spacing(m, self.schema)
            m.seed, m.constraints, m.show_progress, m.filters = saved[0], saved[1], saved[2], saved[4]
            if saved[3] is not None:
                m.config = saved[3]
        propose_s = time.perf_counter() - t0
        # The batch check every run path shares: designs that fit the data, one copy of each, never more than Q.
        x = self._validate(x, name="proposed designs", allow_empty=True)
        x, scores, n_returned = distinct_batch(x, scores, budget, self.method_name)
        if not x.shape[0]:
            raise constraints.no_design_error(self.schema)
        if x.shape[0] < budget and not constraints.is_empty:
            warnings.warn(f"only {x.shape[0]} of the {budget} requested designs satisfy the constraints.",
                          DataWarning, stacklevel=2)
        elif (note := filter_warning(info, x.shape[0], budget)) is not None:
            warnings.warn(note, DataWarning, stacklevel=2)
        pred = self.predict_with_std(x) if self.is_latent_ebm and x.shape[0] else None
        predicted, predicted_std, in_dist = (None, None, None) if pred is None else (
            pred.predicted, pred.predicted_std, pred.in_distribution)
        report, nov = batch_report(x, self.offline.x, discrete=self.schema.is_discrete, bounds=self.offline.bounds,
                                   min_distance=spacing, seed=self.seed)
        return Result(
            task=self.name, method=self.method_name, seed=run_seed, budget=budget, x=x, surrogate_scores=scores,
            best_training_y=float(np.max(self.data.y)), train_s=self.fit_s, propose_s=propose_s, config=used_config,
            info=info, versions=versions(m.device), schema=self.schema, predicted=predicted,
            predicted_std=predicted_std, in_distribution=in_dist, novelty=nov, batch=report,
            constraints=constraints.describe(self.schema),
            train_log=list(self.history.get("step_log", [])), reference=(self.offline.x, self.data.y),
            n_returned=n_returned, **outcome_fields(self.outcomes, x),
        )

    # ------------------------------------------------------------------ score
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted score (target units), in-distribution percentile and prior log-density of designs
        ``x [n, ...]`` (latent-EBM methods only), each ``[n]`` float64.

        Raises:
            ConfigError: the method is not a latent-EBM method.
        """
        p = self.predict_with_std(x)
        return p.predicted, p.in_distribution, p.log_density

    def predict_with_std(self, x: np.ndarray) -> Prediction:
        """:meth:`predict` with the predictive std of each score (target units): a
        :class:`~n2ce_bbo.workflow.prediction.Prediction` of designs ``x [n, ...]`` (latent-EBM methods only).

        Raises:
            ConfigError: the method is not a latent-EBM method.
        """
        surrogate = self._surrogate()
        pred, std, logp = predict_raw(surrogate, self._validate(x))
        return Prediction(pred, std, percentile_of(logp, self._reference_log_density()), logp)

    @property
    def calibration(self) -> dict[str, Any] | None:
        """Coverage of the 68 % / 95 % predictive intervals on rows held out at fit time (the rehearsal's hidden
        rows): ``{"coverage_68", "coverage_95", "n_rows", ...}``, or with ``"not_measured"`` (the reason) and
        ``None`` coverages; ``None`` for a method without a predictive std."""
        if not self.is_latent_ebm:
            return None
        rehearsal = getattr(self.method, "rehearsal", None) or {}
        found = rehearsal.get("calibration")
        return dict(found) if isinstance(found, dict) else {
            "coverage_68": None, "coverage_95": None, "n_rows": 0,
            "not_measured": "this model was fitted before calibration was recorded"}

    def score(self, designs: Any, *, header: bool | None = None, sep: str | None = None) -> ScoreTable:
        """Score designs: a table file (the schema's columns are read; other columns are kept; ``sep`` its
        delimiter, detected when ``None``), a list of strings (sequences), or an array ``[n, ...]``.

        Raises:
            ConfigError: not a latent-EBM method. InvalidDataError / DataNotFoundError: unreadable designs.
        """
        self._require_latent("score designs")
        table = None
        if isinstance(designs, (str, Path)):
            x, table = read_designs(designs, self.schema, header=header, sep=sep)
        elif self.schema.kind == "sequence" and isinstance(designs, (list, tuple)) and designs and \
                all(isinstance(d, str) for d in designs):
            x = self.schema.alphabet.encode(list(designs), column=self.schema.columns[0])  # type: ignore[union-attr]
        else:
            x = np.asarray(designs)
        p = self.predict_with_std(x)
        cells = self.schema.design_cells(self._validate(x))
        shown = [c[0] for c in cells] if self.schema.kind == "sequence" else cells
        return ScoreTable(shown, p.predicted, p.in_distribution, p.log_density, self.schema.target, table, self.schema,
                          predicted_std=p.predicted_std, **outcome_fields(self.outcomes, x, columns_only=True))

    def _validate(self, x: Any, name: str = "designs", allow_empty: bool = False) -> np.ndarray:
        """Designs ``[n, ...]`` checked against the schema: int64 token ids in range, or finite float32 values."""
        return check_designs(x, is_discrete=self.schema.is_discrete,
                             num_classes=int(self.schema.vocabulary or 0) if self.schema.is_discrete else None,
                             feature_shape=(self.schema.dim,), name=name, allow_empty=allow_empty)

    def _reference_log_density(self) -> np.ndarray:
        if self._reference is None:
            x = self.offline.x
            if x.shape[0] > MAX_REFERENCE_ROWS:
                idx = np.random.default_rng(self.seed).choice(x.shape[0], MAX_REFERENCE_ROWS, replace=False)
                x = x[np.sort(idx)]
            self._reference = predict_raw(self._surrogate(), x)[2]
        return self._reference

    def _surrogate(self) -> Any:
        """The latent-EBM surrogate (raises for other methods)."""
        self._require_latent("score designs")
        return cast(Any, self.method).surrogate

    def _require_latent(self, what: str) -> None:
        if not self.is_latent_ebm:
            raise ConfigError(f"only the latent-EBM methods (n2ce, nce, mle, gaussian) can {what}; "
                              f"{self.method_name!r} has no prior to say how data-like a design is.")

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the model folder (see :mod:`n2ce_bbo.workflow.folder`); returns its path."""
        self._require_latent("be saved")
        m = cast(LatentEBMMethod, self.method)
        return save_model(path, method_name=self.method_name, method=m, data=self.data, offline=self.offline,
                          seed=self.seed, history=self.history, fit_s=self.fit_s, name=self.name, outcomes=self.outcomes)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device | None = None) -> FittedModel:
        """A model saved by :meth:`save` (checked: format version, file hashes, weights), ready to propose."""
        saved = read_model(path, device=device)
        method = make_method(saved.method_name, saved.config, seed=saved.seed, device=device)
        if not isinstance(method, LatentEBMMethod):
            raise IncompatibleModelError(f"model folder {str(path)!r} holds method {saved.method_name!r}, which "
                                         "cannot be loaded.")
        method.restore(saved.offline, saved.surrogate, saved.history, saved.rehearsal, saved.design_model)
        return cls(saved.method_name, method, saved.data, saved.offline, seed=saved.seed, history=saved.history,
                   fit_s=saved.fit_s, name=saved.offline.name, outcomes=saved.outcomes)

