"""Development tasks: where defaults are chosen, never on the reported tasks or seeds.

Defaults are decided on tasks that share no oracle and no data with the reported tasks (TFBind8, TFBind10,
Superconductor, Branin, Ehrlich), and on seeds that never report (100 and up; see ``docs/protocol.md``), so that
no reported number has been used to pick the settings that produced it. This package builds those tasks;
:func:`make_dev_task` is the entry point and refuses seeds below :data:`MIN_DEV_SEED`. Each synthetic task is
drawn from the run seed, so seed 100 and seed 101 are different functions as well as different runs. Every task,
and the real difficulty it stands in for:

* ``EhrlichDev-V-L``: an Ehrlich function (:func:`n2ce_bbo.tasks.ehrlich.make_ehrlich`) with ``V`` states and
  length ``L`` whose generator seed is the run seed (the reported Ehrlich task's is fixed); 30,000 sampled rows
  (20,000 when ``V <= 8``), those at or below the 80th percentile given. It stands in for feasibility: banned
  transitions make most sequences score 0. (The built :class:`~n2ce_bbo.tasks.base.Task` is named
  ``EhrlichDev-V-L``, never the reported task's ``"Ehrlich-Exact-v0"``.)
* ``PairFieldDev-C-L`` (:func:`make_pair_field`): a random field over ``C`` tokens and length ``L`` with site
  and neighbour terms; 20,000 uniform rows, the bottom half by score given. Its maximum, the normalised score 1,
  is exact (dynamic programming, :func:`chain_maximum`). A DNA-like field where a surrogate can extrapolate.
* ``EpistasisDev-C-L`` (:func:`make_epistasis`): site, neighbour and ``L`` random long-range pair terms under a
  saturating ``tanh``; noisy training labels, the rows below the observed 80th percentile given. A task where
  the best training rows are already good, so a batch can lose to them.
* ``AckleyDev-D``, ``LevyDev-D``, ``RosenbrockDev-D``, ``StyblinskiTangDev-D`` (:func:`make_continuous_dev`, D
  from 2 to 16, the suite uses 4 to 8): BoTorch's test functions, negated, rotated and with the optimiser moved
  by the seed; 4,000 Latin-hypercube rows in the box, the top 40% hidden; the optimum is known and normalises to
  1. Continuous designs of a few dimensions: many local optima (Ackley, Levy, Styblinski-Tang), a curved valley
  (Rosenbrock), heavy low tails (normalised scores crowd near 1 on Levy, Rosenbrock and Styblinski-Tang: compare
  the raw regret ``optimum - y``).
* ``MotifNetDev-C-L`` (:func:`make_motifnet`, ``L >= 32``; the suite uses ``4-50``): a fixed random network
  over motif features (PWM occupancy, saturating counts, pair spacings, composition) times a folding threshold;
  20,000 mutants of six parents at varied depths (rows cluster, many deep mutants are dead), noisy labels, the
  rows below the observed 80th percentile given. What makes measured biological data hard: a rugged landscape
  where the top training rows are already good, random designs score about 0, and extrapolating along a
  surrogate's gradient leaves the folded region. See :mod:`n2ce_bbo.tasks.dev.motifs`.
* ``TableDev-D`` (:func:`make_table`, D from 3 to 12): a user's property table: ``D - 1`` composition fractions
  and an annealing temperature in °C (mixed scales), a hardness-like property with mixing terms, a
  composition-dependent best temperature and a narrow peak; 2,500 rows, noisy labels, the rows at or below the
  observed 80th percentile given. :func:`write_dev_table` writes it as a CSV (and the ``--bounds`` file) so a
  probe can run it through the user path, ``n2ce-bbo optimize --data``. See :mod:`n2ce_bbo.tasks.dev.table`.
* a registered task name (:func:`n2ce_bbo.tasks.make`): the reported tasks themselves, on runs that never
  report (development seeds only); TFBind10 takes its own 10,000-row subset drawn with that seed.

Token tasks' designs are int64 ``[n, L]`` in ``0..C-1``, continuous tasks' float32 ``[n, D]``; training scores
and oracle values are float32 ``[n, 1]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import ConfigError, UnknownTaskError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.dev.continuous import CONTINUOUS_FUNCTIONS, RotatedOracle, draw_continuous, make_continuous_dev
from n2ce_bbo.tasks.dev.fields import (
    EpistasisOracle,
    PairFieldOracle,
    chain_maximum,
    make_epistasis,
    make_pair_field,
    site_and_neighbour,
)
from n2ce_bbo.tasks.dev.motifs import MotifLibrary, MotifNetOracle, draw_motifnet, make_motifnet
from n2ce_bbo.tasks.dev.table import TableOracle, draw_table, make_table, table_columns, write_dev_table
from n2ce_bbo.tasks.ehrlich import make_ehrlich
from n2ce_bbo.tasks.registry import MIN_DEV_SEED, is_dev_task, make

__all__ = [
    "MIN_DEV_SEED", "DEV_TASK_PATTERNS", "is_dev_task", "PairFieldOracle", "EpistasisOracle", "site_and_neighbour", "chain_maximum",
    "make_pair_field", "make_epistasis", "make_dev_task", "RotatedOracle", "draw_continuous", "make_continuous_dev",
    "MotifNetOracle", "MotifLibrary", "draw_motifnet", "make_motifnet", "TableOracle", "draw_table", "make_table",
    "table_columns", "write_dev_table",
]

DEV_TASK_PATTERNS = ("EhrlichDev-V-L", "PairFieldDev-C-L", "EpistasisDev-C-L", "AckleyDev-D", "LevyDev-D",
                     "RosenbrockDev-D", "StyblinskiTangDev-D", "MotifNetDev-C-L", "TableDev-D")
"""The development task names :func:`make_dev_task` parses, besides registered task names."""


def _ehrlich(classes: int, length: int, seed: int) -> Task:
    task = make_ehrlich(num_states=classes, length=length, n_samples=30_000 if classes > 8 else 20_000, seed=seed)
    task.name = f"EhrlichDev-{classes}-{length}"  # never the reported task's name: results and checks key on it
    return task


# prefix -> (builder of the parsed integers and the seed, the integers' names in the pattern)
_BUILDERS: dict[str, tuple[Callable[..., Task], str]] = {
    "EhrlichDev": (_ehrlich, "V-L"),
    "PairFieldDev": (lambda c, n, seed: make_pair_field(n, c, seed), "C-L"),
    "EpistasisDev": (lambda c, n, seed: make_epistasis(n, c, seed), "C-L"),
    "MotifNetDev": (lambda c, n, seed: make_motifnet(n, c, seed), "C-L"),
    "TableDev": (make_table, "D"),
    **{prefix: ((lambda d, seed, p=prefix: make_continuous_dev(p, d, seed)), "D") for prefix in CONTINUOUS_FUNCTIONS},
}
_DEV_PREFIXES = tuple(_BUILDERS)
_DEV_NAME = re.compile(rf"({'|'.join(_DEV_PREFIXES)})-(\d+)(?:-(\d+))?")


def _parse(name: str) -> tuple[str, list[int]]:
    """``"PairFieldDev-4-50"`` -> ``("PairFieldDev", [4, 50])``; ``UnknownTaskError`` if malformed."""
    match = _DEV_NAME.fullmatch(name)
    if match is not None:
        kind = match[1]
        numbers = [int(g) for g in match.groups()[1:] if g is not None]
        if len(numbers) == len(_BUILDERS[kind][1].split("-")):
            return kind, numbers
    raise UnknownTaskError(
        f"Malformed development task name {name!r}: expected one of {list(DEV_TASK_PATTERNS)} with integer "
        "V or C (tokens), L (length) or D (dimension), for example 'PairFieldDev-4-50' or 'AckleyDev-6'."
    )


def make_dev_task(name: str, seed: int, data_dir: str | Path | None) -> Task:
    """A development task at a development seed.

    Args:
        name: one of :data:`DEV_TASK_PATTERNS` with its integers (seeded by ``seed``; see the module docstring),
            or a registered task name (TFBind10 tasks take a 10,000-row subset drawn with ``seed``; other
            registered tasks ignore it).
        seed: the run seed, ``>= MIN_DEV_SEED`` (100).
        data_dir: Design-Bench data folder for registered tasks that need one (else ``$N2CE_BBO_DATA_DIR``).

    Raises:
        ConfigError: ``seed`` below 100 (those seeds are kept for reported evaluations) or not an integer.
        UnknownTaskError: a malformed development task name, or a name that is neither one nor registered.
        InvalidDataError: sizes a development task cannot be built with (for example ``PairFieldDev-1-50``).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"must be an integer, got {seed!r}.", key="seed")
    if seed < MIN_DEV_SEED:
        raise ConfigError(
            f"must be >= {MIN_DEV_SEED} for a development task, got {seed}: seeds below {MIN_DEV_SEED} are kept "
            "for reported evaluations, and defaults are never chosen on them.", key="seed",
        )
    if name.startswith(_DEV_PREFIXES):
        kind, numbers = _parse(name)
        return _BUILDERS[kind][0](*numbers, seed)
    kwargs: dict[str, Any] = {"max_samples": 10_000, "seed": seed} if name.startswith("TFBind10") else {}
    try:
        return make(name, data_dir=data_dir, **kwargs)
    except UnknownTaskError as e:
        raise UnknownTaskError(f"{e} Development tasks: {', '.join(DEV_TASK_PATTERNS)}.") from e
