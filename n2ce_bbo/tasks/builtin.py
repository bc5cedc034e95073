"""The built-in tasks as one table: where each factory lives (imported only when the task is made) and the
facts listings show, so listing tasks imports no task module.

Factories are ``"package.module:attribute"`` strings resolved by :func:`n2ce_bbo.registry.import_target`, data
checks :class:`~n2ce_bbo.tasks.data_dir.FolderCheck` objects that import theirs when called; the registry
registers :data:`BUILTIN_TASKS` when it is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from n2ce_bbo.tasks.data_dir import FolderCheck

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


_DB = "n2ce_bbo.tasks.design_bench"

#: Keyword arguments of :func:`n2ce_bbo.tasks.registry.register` for every built-in task, in listing order.
BUILTIN_TASKS: tuple[dict[str, Any], ...] = (
    dict(name="TFBind8-Exact-v0", factory=f"{_DB}:make_tfbind8", kind="discrete", needs_data=True,
         description="DNA 8-mers binding SIX6 (Design-Bench); exact lookup oracle",
         design_shape=(8,), num_classes=4, train_rows=32_898, oracle_note="exact (lookup table)",
         data_source=FolderCheck(f"{_DB}:tfbind8_source")),
    dict(name="TFBind10-Exact-v0", factory=f"{_DB}:make_tfbind10", kind="discrete", needs_data=True,
         description="DNA 10-mers binding pho4 (Design-Bench); exact lookup oracle; options max_samples, seed "
                     "(of the subset; a run's seed unless given)",
         design_shape=(10,), num_classes=4, train_rows=4_161_482, oracle_note="exact (lookup table, last occurrence)",
         data_source=FolderCheck(f"{_DB}:tfbind10_source"), run_seed_option="seed"),
    dict(name="Superconductor-RandomForest-v0", factory=f"{_DB}:make_superconductor", kind="continuous",
         needs_data=True,
         description="superconductor critical temperature from 86 element amounts (Design-Bench); options seed, cache_dir",
         design_shape=(86,), train_rows=15_320,  # of 19,147 labelled rows (the 80th percentile rule)
         oracle_note=SUPERCON_ORACLE_NOTE, data_source=FolderCheck(f"{_DB}:superconductor_source")),
    *(
        dict(name=s.name, factory="n2ce_bbo.tasks.synthetic:make_named", factory_args=(s.name,), kind="continuous",
             needs_data=False,
             description=f"{s.function} (d={s.dim}, maximised), {s.n_samples:,} uniform draws, "
                         f"top {100 - s.max_percentile:g}% hidden; options n_samples, seed, max_percentile",
             design_shape=(s.dim,), train_rows=s.train_rows, oracle_note="exact (closed form, BoTorch)")
        for s in SYNTHETIC_SPECS
    ),
    dict(name="Ehrlich-Exact-v0", factory="n2ce_bbo.tasks.ehrlich:make_ehrlich", kind="discrete", needs_data=False,
         description="Ehrlich function (Stanton et al. 2024), v=20, L=32, c=2 motifs of k=4; known optimum 1.0",
         oracle_note="exact (closed form)"),
)
