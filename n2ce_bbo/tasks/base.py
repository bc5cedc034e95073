"""The Task: an offline dataset of designs and scores, plus the hidden oracle used only for evaluation.

Its surface follows Design-Bench (``x``, ``y``, ``is_discrete``, ``num_classes``, ``predict``) so users
can switch, and adds what the evaluation protocol needs (``y_full_min``, ``y_full_max``, ``normalize``).
Optimisers never see the Task: they get :class:`OfflineData` (designs, scores and design-space facts,
no oracle), from :meth:`Task.offline_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from n2ce_bbo.errors import InvalidDataError, OracleUnavailableError
from n2ce_bbo.tasks.validation import check_designs, check_scores

Oracle = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OfflineData:
    """What an optimiser may see: the training rows and facts about the design space, never the oracle.

    Attributes:
        x: designs, float32 ``[n, d]`` (continuous) or integer ``[n, L]`` tokens (discrete): int64, except for
            tasks built with ``compact_tokens=True`` (TFBind10: uint8), so cast with ``x.astype(np.int64)`` or
            ``torch.as_tensor(x).long()`` before indexing an embedding.
        y: scores, float32 ``[n, 1]``; higher is better.
        is_discrete: whether designs are token sequences.
        num_classes: number of token values (discrete), else ``None``.
        bounds: float32 ``[2, d]`` lower/upper box of the design space (continuous), else ``None``.
        name: the task's name (for logs).
    """

    x: np.ndarray
    y: np.ndarray
    is_discrete: bool
    num_classes: int | None = None
    bounds: np.ndarray | None = None
    name: str = "custom"
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of training rows."""
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        """Design length ``L`` (tokens) or dimension ``d`` (continuous)."""
        return int(self.x.shape[1])


class Task:
    """An offline optimisation task.

    Args:
        name: registry name, for example ``"TFBind8-Exact-v0"``.
        x: training designs, ``[n, d]`` floats or ``[n, L]`` integer tokens.
        y: training scores, ``[n]`` or ``[n, 1]``.
        oracle: the true objective, ``[m, ...] -> [m, 1]``; ``None`` for user data without one.
        num_classes: number of token values; set it for discrete (token) designs.
        y_full_min: minimum score over the task's full data (for normalisation); defaults to ``min(y)``.
        y_full_max: maximum score over the task's full data; defaults to ``max(y)``.
        bounds: ``[2, d]`` box of the continuous design space; defaults to the data's per-feature range.
        optimum: the oracle's known maximum, when known.
        description: one line for listings.
        oracle_note: how faithful the oracle is (for example "reproduction of Design-Bench's forest").
        compact_tokens: keep the integer dtype of token designs (for example uint8) instead of widening to int64;
            for tasks with millions of rows. Designs passed to :meth:`predict` are still returned as int64.
    """

    def __init__(
        self,
        name: str,
        x: object,
        y: object,
        *,
        oracle: Oracle | None = None,
        num_classes: int | None = None,
        y_full_min: float | None = None,
        y_full_max: float | None = None,
        bounds: np.ndarray | None = None,
        optimum: float | None = None,
        description: str = "",
        oracle_note: str = "",
        compact_tokens: bool = False,
    ) -> None:
        is_discrete = num_classes is not None
        if is_discrete and (
            isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2
        ):
            raise InvalidDataError(f"num_classes must be an integer >= 2 for token designs, got {num_classes!r}.")
        if oracle is not None and not callable(oracle):
            raise InvalidDataError(f"oracle must be callable (designs [m, ...] -> scores [m, 1]), got {type(oracle).__name__}.")
        self._x = check_designs(
            x, is_discrete=is_discrete, num_classes=num_classes, name="x", keep_int_dtype=compact_tokens
        )
        self._y = check_scores(y, self._x.shape[0], name="y")
        self._x.setflags(write=False)
        self._y.setflags(write=False)
        self.name = name
        self.num_classes = int(num_classes) if num_classes is not None else None
        self._oracle = oracle
        self.y_full_min = float(self._y.min() if y_full_min is None else y_full_min)
        self.y_full_max = float(self._y.max() if y_full_max is None else y_full_max)
        if not self.y_full_max > self.y_full_min:
            raise InvalidDataError(
                f"y_full_max ({self.y_full_max}) must exceed y_full_min ({self.y_full_min}): "
                "normalisation needs a non-empty score range."
            )
        if bounds is None and not is_discrete:
            lo, hi = self._x.min(axis=0), self._x.max(axis=0)
            bounds = np.stack([lo, np.where(hi > lo, hi, lo + 1.0)])
        if bounds is not None:
            bounds = np.asarray(bounds, dtype=np.float32)
            if bounds.shape != (2, self._x.shape[1]):
                raise InvalidDataError(f"bounds must have shape (2, {self._x.shape[1]}), got {bounds.shape}.")
        self.bounds = bounds
        self.optimum = optimum
        self.description = description
        self.oracle_note = oracle_note

    @classmethod
    def from_arrays(
        cls,
        x: object,
        y: object,
        oracle: Oracle | None = None,
        num_classes: int | None = None,
        name: str = "custom",
        *,
        y_full_min: float | None = None,
        y_full_max: float | None = None,
        bounds: np.ndarray | None = None,
        optimum: float | None = None,
        description: str = "",
        oracle_note: str = "",
    ) -> Task:
        """A task from your own arrays.

        Args:
            x: designs, ``[n, d]`` floats, or ``[n, L]`` integer token ids when ``num_classes`` is given.
            y: scores, ``[n]`` or ``[n, 1]``; higher is better.
            oracle: optional true objective ``[m, ...] -> [m]`` or ``[m, 1]``; without it, proposals are not scored.
            num_classes: number of token values; ``None`` means continuous designs.
            name: the task's name in logs and results.
            y_full_min, y_full_max: score range for normalisation; default: the range of ``y``.
            bounds: ``[2, d]`` box for continuous designs; default: the per-feature range of ``x``.

        Example:
            >>> import numpy as np
            >>> x = np.random.default_rng(0).uniform(-1, 1, size=(100, 3))
            >>> task = Task.from_arrays(x, -(x**2).sum(1), oracle=lambda z: -(z**2).sum(1), name="sphere")
            >>> task.predict(np.zeros((1, 3)))
            array([[-0.]], dtype=float32)

        Raises:
            InvalidDataError: NaN/inf, mismatched rows, wrong rank, out-of-range tokens, empty data.
        """
        if oracle is None and not oracle_note:
            oracle_note = "no oracle: proposals are not scored"
        return cls(
            name, x, y, oracle=oracle, num_classes=num_classes,
            y_full_min=y_full_min, y_full_max=y_full_max, bounds=bounds, optimum=optimum,
            description=description or "user data", oracle_note=oracle_note,
        )

    # --- Design-Bench surface -------------------------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """Training designs (read-only): float32 ``[n, d]`` or integer ``[n, L]`` (int64 unless ``compact_tokens``)."""
        return self._x

    @property
    def y(self) -> np.ndarray:
        """Training scores (read-only): float32 ``[n, 1]``."""
        return self._y

    @property
    def is_discrete(self) -> bool:
        """Whether designs are integer token sequences."""
        return self.num_classes is not None

    @property
    def has_oracle(self) -> bool:
        """Whether :meth:`predict` can score designs."""
        return self._oracle is not None

    @property
    def dataset_size(self) -> int:
        """Number of training rows."""
        return int(self._x.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one design: ``(d,)`` or ``(L,)``."""
        return tuple(self._x.shape[1:])

    def validate_designs(self, x: object, name: str = "x") -> np.ndarray:
        """Check designs against this task's design space (shape, dtype, token range, finiteness)."""
        return check_designs(
            x, is_discrete=self.is_discrete, num_classes=self.num_classes, feature_shape=self.input_shape, name=name
        )

    def predict(self, x: object) -> np.ndarray:
        """Score designs with the oracle: ``[m, ...] -> float32 [m, 1]``.

        Only evaluation code calls this, after proposals are final.

        Raises:
            OracleUnavailableError: the task has no oracle.
            InvalidDataError: the designs do not fit the task.
        """
        if self._oracle is None:
            raise OracleUnavailableError(f"Task {self.name!r} has no oracle: its proposals cannot be scored.")
        arr = self.validate_designs(x)
        out = np.asarray(self._oracle(arr), dtype=np.float32).reshape(arr.shape[0], 1)
        return out

    def feasible_fraction(self, x: object) -> float | None:
        """The share of designs ``[m, ...]`` the oracle counts feasible, for an oracle with hard constraints (one
        with an ``is_feasible`` method, e.g. Ehrlich's banned transitions); ``None`` otherwise. Evaluation only."""
        check = getattr(self._oracle, "is_feasible", None)
        if check is None:
            return None
        arr = self.validate_designs(x)
        return float(np.mean(np.asarray(check(arr), dtype=bool))) if arr.shape[0] else None

    def normalize(self, y: np.ndarray) -> np.ndarray:
        """Normalise scores as ``(y - y_full_min) / (y_full_max - y_full_min)`` (Design-Bench protocol)."""
        return (np.asarray(y, dtype=np.float64) - self.y_full_min) / (self.y_full_max - self.y_full_min)

    def offline_data(self) -> OfflineData:
        """The optimiser's view of the task: training rows and design-space facts, no oracle."""
        return OfflineData(
            x=self._x, y=self._y, is_discrete=self.is_discrete, num_classes=self.num_classes,
            bounds=self.bounds, name=self.name,
        )

    def __repr__(self) -> str:
        kind = f"tokens (L={self.input_shape[0]}, C={self.num_classes})" if self.is_discrete else f"continuous (d={self.input_shape[0]})"
        return f"Task({self.name!r}, {kind}, n={self.dataset_size}, oracle={'yes' if self.has_oracle else 'no'})"
