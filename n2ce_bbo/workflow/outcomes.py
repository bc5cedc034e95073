"""Outcome constraints: optimise the target while a second measured column stays on the right side of a limit
("maximise activity, keep expression >= 0.5").

* **Constraint.** ``"expression>=0.5"`` or ``"expression<=2"`` (:func:`parse_outcome`); several on one column make
  an interval. The column is a measured column of the training table, read from the same rows as the score
  (:mod:`n2ce_bbo.io.measured`); a row with no value in it still trains the main surrogate but not the column's
  model.
* **Model** (:func:`fit_outcome_regressor`). Per column, an ensemble of ``K`` MLP regressors (the ``grad-ensemble``
  baseline's networks, :mod:`n2ce_bbo.training.regressors`) fitted on the same designs as the main surrogate.
  The rows are split into ``K`` seeded folds and member ``k`` is trained on every fold but fold ``k``, so each row
  is held out by exactly one member. A design's prediction is the members' mean ``m(x)`` with std
  ``s(x) = sqrt(v(x) + σ²)``: ``v(x)`` the members' variance, ``σ²`` a noise term calibrated on the held-out rows,
  ``σ² = max(0, mean_j(r_j² − v(x_j)))`` with ``r_j`` row ``j``'s residual under the member that did not see it.
  On the held-out rows the predictive variance then equals the held-out squared error on average. It is a little
  conservative for the mean of the members (one member errs more than the mean of K), which is the safe side
  for a constraint. Units: the column's own.
* **Rule** (:meth:`OutcomeModels.allowed`). ``p(x) = P(lower <= value <= upper)`` under ``N(m(x), s(x)²)``
  (:func:`probability_satisfied`); a design is allowed when ``p(x) >= probability`` for every constrained column.
  The default ``probability`` 0.5 keeps the designs whose predicted mean is on the right side of a one-sided
  limit; a higher one (``--outcome-probability 0.8``) also asks for confidence.

:class:`OutcomeModels` is the filter the :class:`~n2ce_bbo.constraints.Constraints` hold (``outcomes``), so every
method's proposals honour it (:func:`with_outcomes`), and it gives the output columns ``<column>_predicted``,
``<column>_std`` and ``<column>_p_satisfied`` (:meth:`OutcomeModels.columns`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from n2ce_bbo.config import from_dict, require
from n2ce_bbo.constraints import Constraints
from n2ce_bbo.errors import DataWarning, InvalidDataError
from n2ce_bbo.io.dataset import DesignData
from n2ce_bbo.models.regressors import MLPRegressor
from n2ce_bbo.training.regressors import RegressorConfig, fit_regressor
from n2ce_bbo.utils import derive_seed

#: A measured column needs at least this many rows with a value to be modelled.
MIN_OUTCOME_ROWS = 10
#: ``{column: (mean [n], std [n], p_satisfied [n])}``, float64, the column's units (:meth:`OutcomeModels.predict`).
OutcomePrediction = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
_EXPRESSION = re.compile(r"^\s*(?P<column>.*?)\s*(?P<op>>=|<=|=>|=<|==|!=|>|<|=)\s*(?P<value>[^<>=!]*?)\s*$")


@dataclass(frozen=True)
class OutcomeConstraint:
    """One limit on a measured column: ``column >= threshold`` (``op ">="``) or ``column <= threshold``."""

    column: str
    op: str
    threshold: float

    def describe(self) -> str:
        """``"expression >= 0.5"``."""
        return f"{self.column} {self.op} {self.threshold:g}"


def parse_outcome(text: str) -> OutcomeConstraint:
    """``"expression>=0.5"`` -> ``OutcomeConstraint("expression", ">=", 0.5)`` (spaces allowed).

    Raises:
        InvalidDataError: no operator, a strict or equality operator, no column, a limit that is not a finite number.
    """
    shown = f"--outcome {text!r}"
    m = _EXPRESSION.match(str(text))
    if m is None:
        raise InvalidDataError(f"{shown}: write COLUMN>=VALUE or COLUMN<=VALUE, for example expression>=0.5.")
    op = {"=>": ">=", "=<": "<="}.get(m["op"], m["op"])
    if op not in (">=", "<="):
        raise InvalidDataError(f"{shown}: {m['op']!r} is not a limit; use >= (a floor) or <= (a ceiling), for example "
                               f"{m['column'] or 'expression'}>={m['value'] or '0.5'}.")
    if not m["column"]:
        raise InvalidDataError(f"{shown}: no column before {op}; write COLUMN{op}VALUE, for example expression{op}0.5.")
    try:
        value = float(m["value"])
    except ValueError:
        raise InvalidDataError(f"{shown}: the limit {m['value']!r} is not a number.") from None
    if not math.isfinite(value):
        raise InvalidDataError(f"{shown}: the limit must be a finite number, got {m['value']!r}.")
    return OutcomeConstraint(m["column"], op, value)


@dataclass
class OutcomeSettings:
    """How the outcome models are fitted.

    Attributes:
        n_members: ensemble size ``K``, also the number of folds (each member holds one fold out; at least 2).
        min_steps: Adam steps each member takes at least: the regressor's ``epochs`` are raised to reach it on
            small tables (500 steps of 128 rows; 20 epochs of a few hundred rows would be a few dozen steps).
        regressor: the members' network and training (``grad-ensemble``'s defaults, batch 128).
    """

    n_members: int = 5
    min_steps: int = 500
    regressor: RegressorConfig = field(default_factory=lambda: RegressorConfig(batch_size=128))

    def __post_init__(self) -> None:
        require(at_least=2, n_members=self.n_members)
        require(at_least=0, min_steps=self.min_steps)


@dataclass(frozen=True)
class OutcomeSpec:
    """What to fit: the outcome constraints, the probability a design must reach, the models' settings."""

    constraints: tuple[OutcomeConstraint, ...]
    probability: float = 0.5
    settings: OutcomeSettings = field(default_factory=OutcomeSettings)

    def __post_init__(self) -> None:
        if not 0.0 < self.probability < 1.0:
            raise InvalidDataError(f"--outcome-probability must be between 0 and 1 (exclusive), got {self.probability}.")
        for column in self.columns:
            self.limits(column)  # two limits that leave no value are an error now

    @property
    def columns(self) -> list[str]:
        """The constrained columns, in the order first named."""
        return list(dict.fromkeys(c.column for c in self.constraints))

    def limits(self, column: str) -> tuple[float, float]:
        """``(lower, upper)`` of ``column`` (``-inf`` / ``inf`` where open): the tightest of its constraints.

        Raises:
            InvalidDataError: its limits leave no value (a floor above a ceiling).
        """
        lo = max((c.threshold for c in self.constraints if c.column == column and c.op == ">="), default=-math.inf)
        hi = min((c.threshold for c in self.constraints if c.column == column and c.op == "<="), default=math.inf)
        if lo > hi:
            raise InvalidDataError(f"--outcome: {column} >= {lo:g} and {column} <= {hi:g} leave no value.")
        return lo, hi

    def describe(self, column: str) -> str:
        """``"expression >= 0.5"``, ``"0.5 <= expression <= 2"``."""
        lo, hi = self.limits(column)
        if math.isfinite(lo) and math.isfinite(hi):
            return f"{lo:g} <= {column} <= {hi:g}"
        return f"{column} >= {lo:g}" if math.isfinite(lo) else f"{column} <= {hi:g}"


def outcome_spec(outcomes: OutcomeSpec | Sequence[str | OutcomeConstraint] | None, probability: float | None = None,
                 settings: OutcomeSettings | Mapping[str, Any] | None = None) -> OutcomeSpec | None:
    """An :class:`OutcomeSpec` from expressions (``["expression>=0.5"]``), parsed constraints or a spec
    (``probability`` / ``settings`` replace its own when given); ``None`` for no outcome constraint.

    Raises:
        InvalidDataError: a bad expression, a probability outside (0, 1) or without outcomes. ConfigError: bad
            settings.
    """
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    if not outcomes:
        if probability is not None or settings:
            raise InvalidDataError(f"{'--outcome-probability' if probability is not None else 'outcome.* settings'} "
                                   "apply to --outcome constraints; none was given.")
        return None
    if isinstance(outcomes, OutcomeSpec):
        spec = outcomes
    else:
        spec = OutcomeSpec(tuple(c if isinstance(c, OutcomeConstraint) else parse_outcome(c) for c in outcomes))
    if isinstance(settings, Mapping):
        settings = from_dict(OutcomeSettings, settings, path="outcome")
    return dataclasses.replace(spec, probability=spec.probability if probability is None else float(probability),
                               settings=settings or spec.settings)


def probability_satisfied(mean: np.ndarray, std: np.ndarray, lower: float = -math.inf,
                          upper: float = math.inf) -> np.ndarray:
    """``P(lower <= value <= upper)`` of ``value ~ N(mean, std²)``: float64 ``[n]`` in [0, 1] (a zero std: 1 or 0).

    Args:
        mean, std: ``[n]`` predicted value and its std, the column's units.
        lower, upper: the limits (``-inf`` / ``inf`` where open).
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    safe = np.where(std > 0, std, 1.0)
    with np.errstate(invalid="ignore"):
        cdf = lambda t: torch.special.ndtr(torch.from_numpy((t - mean) / safe)).numpy()  # noqa: E731
        p = np.where(std > 0, cdf(np.float64(upper)) - cdf(np.float64(lower)), (mean >= lower) & (mean <= upper))
    return np.clip(p.astype(np.float64), 0.0, 1.0)


@dataclass
class OutcomeRegressor:
    """One measured column's model: ``K`` members and the calibrated noise.

    Attributes:
        column: the measured column.
        members: the ``K`` trained regressors (raw designs in, the column's units out).
        sigma: the noise std ``σ`` calibrated on the held-out rows (column units).
        facts: ``n_rows`` (with a value), ``n_missing``, ``heldout_rmse`` (each row under the member that did not
            see it), ``sigma``, ``heldout_coverage_68`` (share of held-out residuals within one predictive std).
    """

    column: str
    members: list[MLPRegressor]
    sigma: float
    facts: dict[str, Any] = field(default_factory=dict)

    def member_predictions(self, x: np.ndarray) -> np.ndarray:
        """``[K, n]`` float64 predictions of designs ``x [n, ...]``."""
        return np.stack([m.predict(x) for m in self.members]) if len(x) else np.zeros((len(self.members), 0))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mean [n], std [n])`` float64 of designs ``x [n, ...]``, the column's units."""
        preds = self.member_predictions(x)
        return preds.mean(axis=0), np.sqrt(preds.var(axis=0) + self.sigma ** 2)


def fit_outcome_regressor(x: np.ndarray, values: np.ndarray, settings: OutcomeSettings, *, seed: int,
                          device: str | torch.device = "cpu", num_classes: int | None = None,
                          column: str = "outcome") -> OutcomeRegressor:
    """Fit one column's ensemble on the rows that have a value (see the module docstring).

    Args:
        x: ``[n, d]`` float32 designs or ``[n, L]`` int64 token ids (then ``num_classes``).
        values: ``[n]`` float64 measured values, NaN where missing (those rows are left out).
        settings: ensemble size, steps, network.
        seed: seeds the folds and every member (``derive_seed(seed, "outcome", column, ...)``).

    Raises:
        InvalidDataError: fewer than :data:`MIN_OUTCOME_ROWS` rows have a value.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    has = np.isfinite(values)
    if int(has.sum()) < MIN_OUTCOME_ROWS:
        raise InvalidDataError(f"outcome column {column!r} has a value in {int(has.sum())} of {len(values)} rows; "
                               f"at least {MIN_OUTCOME_ROWS} are needed to model it.")
    xs, vs = x[has], values[has]
    n, k = len(vs), settings.n_members
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(derive_seed(seed, "outcome-folds", column)).permutation(n)] = np.arange(n) % k
    members, heldout = [], np.empty(n)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state as it was
        for i in range(k):
            rows = fold != i
            per_epoch = -(-int(rows.sum()) // settings.regressor.batch_size)
            cfg = dataclasses.replace(settings.regressor,
                                      epochs=max(settings.regressor.epochs, -(-settings.min_steps // per_epoch)))
            member = fit_regressor(xs[rows], vs[rows], cfg, derive_seed(seed, "outcome", column, i), device,
                                   num_classes=num_classes)
            members.append(member)
            heldout[~rows] = member.predict(xs[~rows])
    model = OutcomeRegressor(column, members, 0.0)
    var = model.member_predictions(xs).var(axis=0)
    resid = vs - heldout
    model.sigma = float(math.sqrt(max(0.0, float(np.mean(resid ** 2 - var)))))
    std = np.sqrt(var + model.sigma ** 2)
    model.facts = {"n_rows": n, "n_missing": int((~has).sum()), "heldout_rmse": float(np.sqrt(np.mean(resid ** 2))),
                   "sigma": model.sigma, "heldout_coverage_68": float(np.mean(np.abs(resid) <= std))}
    return model


@dataclass
class OutcomeModels:
    """The fitted outcome constraints: a design filter for :class:`~n2ce_bbo.constraints.Constraints` and the
    output columns.

    Attributes:
        spec: the constraints, probability and settings.
        regressors: ``{column: OutcomeRegressor}``, one per constrained column.
    """

    spec: OutcomeSpec
    regressors: dict[str, OutcomeRegressor]

    def predict(self, x: np.ndarray) -> OutcomePrediction:
        """``{column: (mean [n], std [n], p_satisfied [n])}`` float64 of designs ``x [n, ...]``."""
        out = {}
        for column in self.spec.columns:
            mean, std = self.regressors[column].predict(x)
            out[column] = (mean, std, probability_satisfied(mean, std, *self.spec.limits(column)))
        return out

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """Which designs ``x [n, ...]`` are predicted to satisfy every outcome constraint (``p >= probability``):
        bool ``[n]``."""
        ok = np.ones(len(x), dtype=bool)
        for _, _, p in self.predict(x).values():
            ok &= p >= self.spec.probability
        return ok

    def columns(self, x: np.ndarray, predicted: OutcomePrediction | None = None) -> dict[str, np.ndarray]:
        """The output columns of designs ``x``: ``<column>_predicted``, ``<column>_std``, ``<column>_p_satisfied``
        (``predicted``: :meth:`predict` of ``x`` when already known)."""
        out = {}
        for column, (mean, std, p) in (predicted or self.predict(x)).items():
            out.update({f"{column}_predicted": mean, f"{column}_std": std, f"{column}_p_satisfied": p})
        return out

    def describe(self) -> list[str]:
        """One line per constrained column, e.g. ``"outcome expression >= 0.5 (predicted; P >= 0.5)"``."""
        return [f"outcome {self.spec.describe(c)} (predicted; P >= {self.spec.probability:g})" for c in self.spec.columns]

    def to_json(self) -> list[dict[str, Any]]:
        """A JSON-ready record per constrained column: limits, probability and the model's held-out facts."""
        out = []
        for column in self.spec.columns:
            lo, hi = self.spec.limits(column)
            out.append({"column": column, "lower": lo if math.isfinite(lo) else None,
                        "upper": hi if math.isfinite(hi) else None, "probability": self.spec.probability,
                        "model": dict(self.regressors[column].facts)})
        return out

    def fit_lines(self) -> list[str]:
        """One line per constrained column on its model: rows, held-out error, noise, held-out coverage."""
        out = []
        for column in self.spec.columns:
            f = self.regressors[column].facts
            out.append(f"outcome {self.spec.describe(column)}: {len(self.regressors[column].members)} MLPs on "
                       f"{f.get('n_rows')} rows ({f.get('n_missing')} without a value); held-out RMSE "
                       f"{f.get('heldout_rmse', float('nan')):.3g}, noise std {f.get('sigma', float('nan')):.3g}, "
                       f"{100 * f.get('heldout_coverage_68', float('nan')):.0f}% of held-out rows within one std")
        return out

    def summary(self, x: np.ndarray, predicted: OutcomePrediction | None = None) -> list[dict[str, Any]]:
        """Per constrained column, how the designs ``x`` stand: predicted range and the least ``p_satisfied``."""
        out = []
        for column, (mean, std, p) in (predicted or self.predict(x)).items():
            out.append({"column": column, "constraint": self.spec.describe(column),
                        "probability": self.spec.probability, "predicted_min": float(np.min(mean)),
                        "predicted_median": float(np.median(mean)), "predicted_max": float(np.max(mean)),
                        "std_median": float(np.median(std)), "p_satisfied_min": float(np.min(p)),
                        "p_satisfied_median": float(np.median(p))})
        return out


def fit_outcomes(data: DesignData, x: np.ndarray, spec: OutcomeSpec | None, *, seed: int,
                 device: str | torch.device = "cpu") -> OutcomeModels | None:
    """Fit a model per constrained column of ``spec`` on ``data``'s rows (``None`` without a spec).

    Args:
        data: the training data; ``data.outcomes`` holds the measured columns (read by
            ``load_data(..., outcomes=[...])``).
        x: ``[n, ...]`` the same rows in the methods' form (``OfflineData.x``).
        spec: the outcome constraints.
        seed: the training seed.

    Raises:
        InvalidDataError: a column that was not read with the data, or one with too few values. A
            :class:`~n2ce_bbo.errors.DataWarning` counts the rows with no value (left out of that column's model).
    """
    if spec is None:
        return None
    missing = [c for c in spec.columns if c not in data.outcomes]
    if missing:
        read = f" (it has {sorted(data.outcomes)})" if data.outcomes else ""
        raise InvalidDataError(f"outcome column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                               f"{'were' if len(missing) > 1 else 'was'} not read with the data{read}: read it with "
                               "load_data(..., outcomes=[...]) or n2ce_bbo.fit(..., outcomes=[...]).")
    regressors = {}
    for column in spec.columns:
        values = np.asarray(data.outcomes[column], dtype=np.float64)
        gone = np.flatnonzero(~np.isfinite(values))
        if gone.size and gone.size <= len(values) - MIN_OUTCOME_ROWS:
            rows = ", ".join(data.labels[i] for i in gone[:5]) + (", ..." if gone.size > 5 else "") \
                if data.labels else "rows not named"
            warnings.warn(f"outcome column {column!r} has no value in {gone.size} of {len(values)} rows ({rows}): "
                          f"they train the model of {data.schema.target!r} but not that of {column!r}.",
                          DataWarning, stacklevel=3)
        regressors[column] = fit_outcome_regressor(
            x, values, spec.settings, seed=seed, device=device, column=column,
            num_classes=int(data.schema.vocabulary or 0) if data.schema.is_discrete else None)
    return OutcomeModels(spec, regressors)


def with_outcomes(constraints: Constraints, models: OutcomeModels | None) -> Constraints:
    """``constraints`` holding the fitted outcome constraints too (unchanged without models, or when they already
    hold some: a caller's own outcome filter is kept)."""
    if models is None or constraints.outcomes is not None:
        return constraints
    return dataclasses.replace(constraints, outcomes=models)


def outcome_fields(models: OutcomeModels | None, x: np.ndarray, columns_only: bool = False) -> dict[str, Any]:
    """The :class:`~n2ce_bbo.workflow.result.Result` fields of designs ``x [n, ...]``: ``outcome_columns`` and
    ``outcome_summary`` (only the first with ``columns_only``, as a ``ScoreTable`` takes; empty without models or
    designs)."""
    if models is None or not len(x):
        return {}
    predicted = models.predict(x)
    columns = {"outcome_columns": models.columns(x, predicted)}
    return columns if columns_only else {**columns, "outcome_summary": models.summary(x, predicted)}
