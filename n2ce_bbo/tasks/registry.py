"""Task registry: names such as ``"TFBind8-Exact-v0"`` map to factories ``factory(data_dir=..., **kwargs) -> Task``.

The built-in tasks come from the table :data:`n2ce_bbo.tasks.builtin.BUILTIN_TASKS`, whose factories are imported
when a task is made, not when tasks are listed. :func:`register` adds your own (a factory, or its
``"module:attribute"`` path).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from n2ce_bbo.errors import ConfigError, DataNotFoundError, N2CEBBOError, UnknownTaskError
from n2ce_bbo.registry import Registry, import_target
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.builtin import BUILTIN_TASKS, Kind
from n2ce_bbo.tasks.data_dir import HOW_TO_SET

TaskFactory = Callable[..., Task]
DataSource = Callable[[str | Path | None], tuple[bool, str]]


@dataclass(frozen=True)
class TaskInfo:
    """A registered task, as :func:`list_tasks` shows it.

    Attributes:
        name: registry name.
        kind: ``"discrete"`` (token sequences) or ``"continuous"``.
        description: one line.
        needs_data: whether the task reads the Design-Bench data folder.
    """

    name: str
    kind: Kind
    description: str
    needs_data: bool


@dataclass(frozen=True)
class _Entry:
    info: TaskInfo
    factory: TaskFactory | str  # a "module:attribute" string is imported on first use
    design_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    train_rows: int | None = None
    oracle_note: str = ""
    data_source: DataSource | None = None
    factory_args: tuple[Any, ...] = ()
    run_seed_option: str | None = None

    def resolve(self) -> TaskFactory:
        """The factory itself (imported now when given as a path), with ``factory_args`` bound."""
        fn = import_target(self.factory) if isinstance(self.factory, str) else self.factory
        if not callable(fn):
            raise ConfigError(f"factory for task {self.info.name!r} ({self.factory!r}) is not callable.")
        return functools.partial(fn, *self.factory_args) if self.factory_args else fn


_TASKS: Registry[_Entry] = Registry("task", UnknownTaskError, prefix_hint=5)

#: The development tasks' builder (``n2ce_bbo/tasks/dev``), imported on first use as a registered factory is, so that
#: listing tasks imports no task module.
DEV_TASK_FACTORY = "n2ce_bbo.tasks.dev:make_dev_task"
#: Name prefixes of the development tasks (``PairFieldDev-4-16``, ``AckleyDev-6`` ...); ``n2ce_bbo.tasks.dev`` builds
#: exactly these (a test checks).
DEV_TASK_PREFIXES = ("EhrlichDev", "PairFieldDev", "EpistasisDev", "MotifNetDev", "TableDev", "AckleyDev", "LevyDev",
                     "RosenbrockDev", "StyblinskiTangDev")
MIN_DEV_SEED = 100
"""The smallest seed a development task accepts; lower seeds are kept for reported evaluations."""


def is_dev_task(name: str) -> bool:
    """Whether ``name`` names a development task (``PairFieldDev-4-50``, ``AckleyDev-6`` ...), well formed or not."""
    return name.startswith(DEV_TASK_PREFIXES)


def make_dev(name: str, seed: int, data_dir: str | Path | None = None) -> Task:
    """The development task ``name`` at run seed ``seed`` (:func:`n2ce_bbo.tasks.dev.make_dev_task`).

    Raises:
        ConfigError: ``seed`` below :data:`MIN_DEV_SEED`. UnknownTaskError: a malformed name.
    """
    build = import_target(DEV_TASK_FACTORY)
    task: Task = build(name, seed, data_dir)
    return task


def register(
    name: str,
    factory: TaskFactory | str,
    *,
    kind: Kind,
    description: str,
    needs_data: bool,
    overwrite: bool = False,
    design_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    train_rows: int | None = None,
    oracle_note: str = "",
    data_source: DataSource | None = None,
    factory_args: tuple[Any, ...] = (),
    run_seed_option: str | None = None
) -> None:
    """Register a task factory under ``name``.

    Args:
        name: registry name (for example ``"MyTask-v0"``).
        factory: ``factory(data_dir=..., **kwargs) -> Task``; ``data_dir`` is passed even to tasks without data.
            A ``"package.module:attribute"`` string names a factory imported when the task is first made.
        kind: ``"discrete"`` or ``"continuous"``.
        description: one line for listings.
        needs_data: whether the factory reads the data folder.
        overwrite: replace an existing registration instead of raising.
        design_shape, num_classes, train_rows, oracle_note: optional facts for :func:`task_table`, so listing
            does not build the task (tasks without data and without these facts are built to list them).
        data_source: optional ``f(data_dir) -> (found, text)`` telling listings whether the data is present.
        factory_args: leading positional arguments bound to the factory (several tasks sharing one factory).
        run_seed_option: the factory option that a run's seed sets when the caller does not (for a data set drawn
            anew for each run, as TFBind10's seeded 10,000-row subset): :func:`n2ce_bbo.optimize` and the
            benchmark runner pass their seed to it. ``None``: the task does not depend on the run seed.

    Raises:
        ConfigError: ``name`` is already registered (and not ``overwrite``), or ``kind`` is invalid.
    """
    if kind not in ("discrete", "continuous"):
        raise ConfigError(f"kind must be 'discrete' or 'continuous', got {kind!r}.")
    if not (callable(factory) or isinstance(factory, str)):
        raise ConfigError(f"factory for task {name!r} must be callable (or a 'module:attribute' path).")
    if callable(factory):
        _check_factory(name, factory, run_seed_option)
    _TASKS.add(name, _Entry(
        TaskInfo(name, kind, description, bool(needs_data)), factory, design_shape, num_classes, train_rows,
        oracle_note, data_source, tuple(factory_args), run_seed_option,
    ), overwrite=overwrite)


def _check_factory(name: str, factory: TaskFactory, run_seed_option: str | None) -> None:
    """The factory takes ``data_dir`` (and ``run_seed_option``, when given) as keywords (factories given by path
    are checked when first used, by :func:`make`)."""
    try:
        fparams = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in fparams.values())
    if "data_dir" not in fparams and not takes_any:
        raise ConfigError(f"factory for task {name!r} must accept a data_dir keyword argument (it may ignore it).")
    if run_seed_option is not None and run_seed_option not in fparams and not takes_any:
        raise ConfigError(f"run_seed_option {run_seed_option!r} of task {name!r} is not an option of its factory.")


def make(name: str, data_dir: str | Path | None = None, **kwargs: Any) -> Task:
    """Build the task registered as ``name``.

    Args:
        name: registry name; see :func:`list_tasks`.
        data_dir: Design-Bench data folder for tasks that need it (else ``$N2CE_BBO_DATA_DIR``).
        **kwargs: task options (for example ``max_samples``, ``seed``, ``n_samples``).

    Raises:
        UnknownTaskError: unknown name (the message lists close matches).
        ConfigError: an option the task does not accept.
        DataNotFoundError: the task needs data and none was found (the message says what to set).
    """
    factory = _TASKS.get(name).resolve()
    params = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [k for k in params if k != "data_dir"]
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise ConfigError(
                f"Task {name!r} does not accept option(s) {unknown}; it accepts {accepted or 'no options'}."
            )
    return factory(data_dir=data_dir, **kwargs)


def task_options_for_run(name: str, options: Mapping[str, Any] | None, run_seed: int) -> dict[str, Any]:
    """The options to build task ``name`` with for a run seeded ``run_seed``.

    ``options`` as given, plus the task's ``run_seed_option`` (see :func:`register`) set to ``run_seed`` unless
    ``options`` already sets it (an explicit value wins: a fixed subset for every run).
    """
    out = dict(options or {})
    key = _TASKS.get(name).run_seed_option
    if key is not None and key not in out:
        out[key] = int(run_seed)
    return out


def list_tasks() -> list[TaskInfo]:
    """Every registered task, sorted by name."""
    return [e.info for _, e in _TASKS.items()]


def _shape_text(shape: tuple[int, ...] | None, num_classes: int | None) -> str:
    if shape is None:
        return "?"
    dims = "x".join(str(s) for s in shape)
    return f"{dims} tokens ({num_classes} classes)" if num_classes is not None else f"{dims} reals"


def task_table(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per task for listings (``n2ce-bbo tasks``), cheap to compute.

    Each row has ``name``, ``kind``, ``shape`` (text), ``design_shape`` (tuple or None), ``rows`` (training rows;
    ``None`` when unknown), ``data_found`` (bool), ``data`` (where it was found, or what to set),
    ``oracle`` (note), ``description``, ``needs_data``.
    Data tasks are not loaded: their row counts are known constants and their files are only looked for.
    """
    rows: list[dict[str, Any]] = []
    for info in list_tasks():
        e = _TASKS.get(info.name)
        shape, ncls, n_rows, note = e.design_shape, e.num_classes, e.train_rows, e.oracle_note
        if info.needs_data:
            found, where = e.data_source(data_dir) if e.data_source else (True, "(not checked)")
        else:
            found, where = True, "embedded (no data needed)"
        if (shape is None or n_rows is None) and (not info.needs_data or found):
            try:  # tasks without recorded facts: build them (cheap for embedded ones)
                t = e.resolve()(data_dir=data_dir)
                shape, ncls, n_rows, note = t.input_shape, t.num_classes, t.dataset_size, note or t.oracle_note
            except DataNotFoundError as exc:
                found, where = False, f"missing: {exc}"
            except N2CEBBOError as exc:
                found, where = False, f"unusable: {exc}"
        if info.needs_data and not found and HOW_TO_SET not in where:
            where = f"{where} ({HOW_TO_SET})"
        rows.append({
            "name": info.name, "kind": info.kind, "shape": _shape_text(shape, ncls), "design_shape": shape,
            "rows": n_rows, "data_found": bool(found), "data": where, "oracle": note,
            "description": info.description, "needs_data": info.needs_data,
        })
    return rows


for _row in BUILTIN_TASKS:
    register(**_row)
