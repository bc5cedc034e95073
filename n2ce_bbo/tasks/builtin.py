"""The built-in tasks as one table: where each factory lives (imported only when the task is made) and the
facts listings show, so listing tasks imports no task module.

Factories and data checks are ``"package.module:attribute"`` strings resolved by
:func:`n2ce_bbo.registry.import_target`; the registry reads :data:`BUILTIN_TASKS` when it is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["discrete", "continuous"]

#: How faithful the Superconductor oracle is (also stored on the task itself).
SUPERCON_ORACLE_NOTE = (
    "reproduction of Design-Bench's random-forest oracle: scores are close to, not identical with, published ones"
)


@dataclass(frozen=True)
class SyntheticSpec:
    """How one embedded continuous task is built (see :mod:`n2ce_bbo.tasks.synthetic`).

    Attributes:
        name: registry name.
        function: class name in ``botorch.test_functions.synthetic``.
        dim: input dimension ``d``.
        n_samples: default size of the drawn full set.
        max_percentile: default percentile of the full set at or below which rows are kept.
    """

    name: str
    function: str
    dim: int
    n_samples: int = 5_000
    max_percentile: float = 80.0

    @property
    def train_rows(self) -> int:
        """Rows kept with the default settings (continuous draws have no ties)."""
        return int(self.max_percentile / 100.0 * (self.n_samples - 1)) + 1


SYNTHETIC_SPECS: tuple[SyntheticSpec, ...] = (
    SyntheticSpec("Branin-Exact-v0", "Branin", 2, 5_000, 90.0),
    SyntheticSpec("Ackley-Exact-v0", "Ackley", 6),
    SyntheticSpec("Hartmann6-Exact-v0", "Hartmann", 6),
    SyntheticSpec("Rosenbrock-Exact-v0", "Rosenbrock", 4),
    SyntheticSpec("Ackley50-Exact-v0", "Ackley", 50, 10_000),
)


@dataclass(frozen=True)
class BuiltinTask:
    """One row of the table: the arguments of :func:`n2ce_bbo.tasks.registry.register` with lazy targets.

    Attributes:
        name, kind, description, needs_data, design_shape, num_classes, train_rows, oracle_note: as ``register``.
        factory: ``"module:attribute"`` of ``factory(*factory_args, data_dir=..., **options) -> Task``.
        factory_args: leading arguments bound to the factory (a synthetic task's name).
        data_source: ``"module:attribute"`` of ``source(root) -> description | None`` telling whether the task's
            files are in a data folder (tasks that need data), else ``None``.
    """

    name: str
    factory: str
    kind: Kind
    description: str
    needs_data: bool
    design_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    train_rows: int | None = None
    oracle_note: str = ""
    data_source: str | None = None
    factory_args: tuple[Any, ...] = ()


_DB = "n2ce_bbo.tasks.design_bench"

BUILTIN_TASKS: tuple[BuiltinTask, ...] = (
    BuiltinTask("TFBind8-Exact-v0", f"{_DB}:make_tfbind8", "discrete",
                "DNA 8-mers binding SIX6 (Design-Bench); exact lookup oracle", True,
                design_shape=(8,), num_classes=4, train_rows=32_898, oracle_note="exact (lookup table)",
                data_source=f"{_DB}:tfbind8_source"),
    BuiltinTask("TFBind10-Exact-v0", f"{_DB}:make_tfbind10", "discrete",
                "DNA 10-mers binding pho4 (Design-Bench); exact lookup oracle; options max_samples, seed", True,
                design_shape=(10,), num_classes=4, train_rows=4_161_482,
                oracle_note="exact (lookup table, last occurrence)", data_source=f"{_DB}:tfbind10_source"),
    BuiltinTask("Superconductor-RandomForest-v0", f"{_DB}:make_superconductor", "continuous",
                "superconductor critical temperature from 86 element amounts (Design-Bench); options seed, cache_dir",
                True, design_shape=(86,), train_rows=15_320,  # of 19,147 labelled rows (the 80th percentile rule)
                oracle_note=SUPERCON_ORACLE_NOTE, data_source=f"{_DB}:superconductor_source"),
    *(
        BuiltinTask(s.name, "n2ce_bbo.tasks.synthetic:make_named", "continuous",
                    f"{s.function} (d={s.dim}, maximised), {s.n_samples:,} uniform draws, "
                    f"top {100 - s.max_percentile:g}% hidden; options n_samples, seed, max_percentile", False,
                    design_shape=(s.dim,), train_rows=s.train_rows, oracle_note="exact (closed form, BoTorch)",
                    factory_args=(s.name,))
        for s in SYNTHETIC_SPECS
    ),
    BuiltinTask("Ehrlich-Exact-v0", "n2ce_bbo.tasks.ehrlich:make_ehrlich", "discrete",
                "Ehrlich function (Stanton et al. 2024), v=20, L=32, c=2 motifs of k=4; known optimum 1.0", False,
                oracle_note="exact (closed form)"),
)
