"""Benchmark suites: which tasks, methods (with their configs) and seeds to run, read from a YAML file.

A suite YAML looks like::

    name: quick
    budget: 128                      # Q, designs proposed per run
    seeds: [0, 1]                    # or n_seeds: 8  (seeds 0..7)
    data_dir: null                   # Design-Bench data folder (default $N2CE_BBO_DATA_DIR)
    cell_retries: 1                  # extra attempts of a failed cell
    cell_timeout_s: null             # seconds one attempt may take
    tasks:
      - Branin-Exact-v0
      - {name: Ehrlich-Exact-v0, kwargs: {}}
    methods:
      - n2ce
      - {name: n2ce, label: n2ce-M10, config: {prior: {M: 10}}}
      - {name: grad, label: grad-no-pair-filter, config: {filters: {pair_support: false}}}
      - {name: gaussian, label: gaussian-chain, config: {model: {decoder: chain}}, tasks: [Ehrlich-Exact-v0]}

A method's ``config`` holds its own settings and the ``filters`` section every method has (the data-derived
filters of its proposals, :mod:`n2ce_bbo.methods.filters`; on by default), so an ablation row that turns a filter
off is a labelled entry like any other.

Every key is validated by :func:`n2ce_bbo.config.from_dict`: an unknown key fails with its path
(``methods[1].confg``).

The suites that ship with the package live in ``n2ce_bbo/configs/suites/`` (the repository's top-level
``configs/`` links there): :func:`load_suite` takes a file path or the name of a shipped suite (``"quick"``), so
``n2ce-bbo benchmark quick`` works from any folder, and :func:`shipped_suites` lists them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from n2ce_bbo.config import from_dict, load_yaml
from n2ce_bbo.errors import ConfigError

#: where the shipped suite files are, inside the installed package (``package-data`` in pyproject.toml)
SUITES_DIR = Path(__file__).resolve().parents[1] / "configs" / "suites"

_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@dataclass
class TaskSpec:
    """One task of a suite: a registered task name and extra arguments of its factory."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class MethodSpec:
    """One method of a suite.

    Attributes:
        name: registered method name (``n2ce``, ``nce``, ``mle``, ``gaussian``, ``grad``, ``cmaes``, ...).
        label: the row name in reports and result files (default: ``name``); unique within the suite.
        config: overrides of the method's configuration (nested mapping, as in a method YAML).
        tasks: run this row on these of the suite's tasks only (``None``: every task), e.g. an ablation that only
            means something on token designs.
    """

    name: str
    label: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] | None = None

    def __post_init__(self) -> None:
        if self.label is None:
            self.label = self.name


@dataclass
class SuiteConfig:
    """A validated suite (see the module docstring for the YAML form).

    Attributes:
        name: suite name (reports and manifest).
        budget: Q, designs proposed per cell.
        seeds: the seeds run for every (task, method); ``n_seeds: N`` is shorthand for ``0..N-1``.
        tasks: task names or ``{name, kwargs}`` mappings (normalised to :class:`TaskSpec`).
        methods: method names or ``{name, label, config}`` mappings (normalised to :class:`MethodSpec`).
        data_dir: Design-Bench data folder (``None``: ``$N2CE_BBO_DATA_DIR`` / the task default).
        cell_retries: extra attempts of a failed cell before it is recorded as failed.
        cell_timeout_s: seconds one attempt of a cell may take (``None``: no limit).
        gpus_per_cell: GPU fraction requested per cell on a Ray cluster that has GPUs.
    """

    name: str = "suite"
    budget: int = 128
    seeds: list[int] | None = None
    n_seeds: int | None = None
    tasks: list[Any] = field(default_factory=list)
    methods: list[Any] = field(default_factory=list)
    data_dir: str | None = None
    cell_retries: int = 1
    cell_timeout_s: float | None = None
    gpus_per_cell: float = 0.0

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ConfigError(f"budget must be >= 1, got {self.budget}.")
        if self.n_seeds is not None:
            if self.n_seeds < 1:
                raise ConfigError(f"n_seeds must be >= 1, got {self.n_seeds}.")
            if self.seeds is not None and list(self.seeds) != list(range(self.n_seeds)):
                raise ConfigError("give either seeds (a list) or n_seeds, not both.")
            self.seeds = list(range(self.n_seeds))
        if not self.seeds:
            raise ConfigError("a suite needs seeds (a list of integers) or n_seeds.")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct, got {self.seeds}.")
        if any(s < 0 for s in self.seeds):
            raise ConfigError(f"seeds must be >= 0, got {self.seeds}.")
        self.tasks = [_task_spec(t, f"tasks[{i}]") for i, t in enumerate(self.tasks)]
        self.methods = [_method_spec(m, f"methods[{i}]") for i, m in enumerate(self.methods)]
        if not self.tasks:
            raise ConfigError("a suite needs at least one task (key 'tasks').")
        if not self.methods:
            raise ConfigError("a suite needs at least one method (key 'methods').")
        labels = [m.label for m in self.methods]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ConfigError(f"method labels must be unique; repeated: {dup}. Give each a distinct 'label'.")
        names = [t.name for t in self.tasks]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ConfigError(f"tasks must be unique; repeated: {dup}.")
        for i, m in enumerate(self.methods):
            unknown = [t for t in m.tasks or [] if t not in names]
            if unknown or m.tasks == []:
                raise ConfigError(f"methods[{i}].tasks: {unknown or 'an empty list'} is not among the suite's tasks "
                                  f"{names}.")
        if self.cell_retries < 0:
            raise ConfigError(f"cell_retries must be >= 0, got {self.cell_retries}.")
        if self.cell_timeout_s is not None and self.cell_timeout_s <= 0:
            raise ConfigError(f"cell_timeout_s must be > 0, got {self.cell_timeout_s}.")
        if self.gpus_per_cell < 0:
            raise ConfigError(f"gpus_per_cell must be >= 0, got {self.gpus_per_cell}.")

    def cells(self) -> list[Cell]:
        """Every (task, method, seed) cell, task-major then method then seed."""
        return [
            Cell(task=t.name, task_kwargs=dict(t.kwargs), method=m.name, label=str(m.label), config=dict(m.config),
                 seed=int(s), budget=self.budget, data_dir=self.data_dir)
            for t in self.tasks for m in self.methods for s in self.seeds  # type: ignore[union-attr]
            if m.tasks is None or t.name in m.tasks
        ]

    def to_dict(self) -> dict[str, Any]:
        """The resolved suite as a plain mapping (``seeds`` expanded, ``n_seeds`` dropped)."""
        out = asdict(self)
        out.pop("n_seeds")
        return out


@dataclass
class Cell:
    """One unit of benchmark work: run ``method`` (as ``label``) on ``task`` with ``seed``.

    ``task``, ``label`` and ``seed`` name its result file ``cells/<task>__<label>__seed<seed>.json``.
    """

    task: str
    task_kwargs: dict[str, Any]
    method: str
    label: str
    config: dict[str, Any]
    seed: int
    budget: int
    data_dir: str | None = None

    @property
    def cell_id(self) -> str:
        """``<task>__<label>__seed<seed>`` (the result file's stem)."""
        return f"{self.task}__{self.label}__seed{self.seed}"

    def spec(self) -> dict[str, Any]:
        """What determines the cell's result (compared on resume to catch a changed suite)."""
        return {"task": self.task, "task_kwargs": self.task_kwargs, "method": self.method, "label": self.label,
                "config": self.config, "seed": self.seed, "budget": self.budget}


def _check_name(value: str, path: str, what: str) -> None:
    if not _LABEL_RE.match(value) or "__" in value:
        raise ConfigError(
            f"{path}: {what} {value!r} must be a file-name-safe word (letters, digits, . _ = + -; no '__', "
            "no spaces or slashes): it names the cell result files."
        )


def _task_spec(value: Any, path: str) -> TaskSpec:
    spec = TaskSpec(name=value) if isinstance(value, str) else from_dict(TaskSpec, value, path=path)
    _check_name(spec.name, f"{path}.name", "task name")
    return spec


def _method_spec(value: Any, path: str) -> MethodSpec:
    spec = MethodSpec(name=value) if isinstance(value, str) else from_dict(MethodSpec, value, path=path)
    _check_name(str(spec.label), f"{path}.label", "method label")
    return spec


def suite_from_dict(data: dict[str, Any], *, default_name: str = "suite") -> SuiteConfig:
    """Validate a suite mapping. Raises :class:`ConfigError` naming the offending key's path."""
    data = dict(data)
    data.setdefault("name", default_name)
    return from_dict(SuiteConfig, data)


def shipped_suites() -> dict[str, Path]:
    """The suites shipped with the package: name (file stem) -> path of its YAML file, sorted by name."""
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.yaml"))}


def resolve_suite(path_or_name: str | Path) -> Path:
    """The suite file meant by ``path_or_name``: an existing file, else the shipped suite of that name.

    A path wins over a shipped name, so a local ``quick.yaml`` (given as ``quick.yaml``) is read as it is; a bare
    ``quick`` (or ``quick.yaml``) that is not a file in the current folder means the shipped suite.

    Raises:
        ConfigError: neither a file nor a shipped suite; the message lists the shipped suites (and close matches).
    """
    path = Path(path_or_name)
    if path.is_file():
        return path
    shipped = shipped_suites()
    name = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    if str(path) in (name, f"{name}.yaml") and name in shipped:
        return shipped[name]
    close = difflib.get_close_matches(name, list(shipped), n=2, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(
        f"Suite {str(path_or_name)!r} is neither a file nor a shipped suite.{hint} Shipped suites: "
        f"{', '.join(shipped) or 'none'} (n2ce-bbo benchmark --list)."
    )


def load_suite(path: str | Path) -> SuiteConfig:
    """Read and validate a suite YAML file (``yaml.safe_load``), given by path or by the name of a shipped suite
    (see :func:`resolve_suite`); its name defaults to the file stem."""
    path = resolve_suite(path)
    try:
        return suite_from_dict(load_yaml(path), default_name=path.stem)
    except ConfigError as exc:
        raise ConfigError(f"suite {str(path)!r}: {exc}") from exc
