"""Experiment tracking with MLflow, an optional extra (``pip install 'n2ce-bbo[mlflow]'``).

A :class:`Tracker` opens runs; a :class:`TrackedRun` takes parameters, metrics (with a ``step``), tags and
artifacts. :data:`NULL_TRACKER` does nothing, so a call site never branches on whether tracking is on::

    tracker = open_tracker(args.mlflow)            # NULL_TRACKER when --mlflow was not given
    with tracker.run("fit activity", kind="fit") as run:
        model = FittedModel.fit(...)
        log_fit(run, model, folder=model.save(out))  # n2ce_bbo.workflow.tracked

Where runs go (:func:`resolve_uri`): ``--mlflow URI`` logs to ``URI``; ``--mlflow`` alone to
``$MLFLOW_TRACKING_URI`` when it is set, else to the folder ``./mlruns``; without ``--mlflow`` nothing is logged,
even when ``MLFLOW_TRACKING_URI`` is set (a run never reaches a tracking server the user did not ask for on the
command line). A plain path is a folder store; ``sqlite:///path.db`` needs the full ``mlflow`` package;
``http(s)://`` is a tracking server. MLflow 3 refuses folder stores unless ``MLFLOW_ALLOW_FILE_STORE=true``: for a
folder URI this module sets that variable in the process (unless the user set it), so a local folder works out of
the box. The experiment is ``$MLFLOW_EXPERIMENT_NAME``, else ``n2ce-bbo``.

``mlflow`` is imported here only, function-locally, when a tracker is opened: ``import n2ce_bbo`` and every
command without ``--mlflow`` work without it. The client API (:class:`mlflow.MlflowClient`) is used, never the
fluent one, so a user's own active MLflow run and global tracking URI are left alone.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.provenance import source_state

TRACKING_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
FILE_STORE_ENV = "MLFLOW_ALLOW_FILE_STORE"
DEFAULT_FOLDER = "mlruns"
DEFAULT_EXPERIMENT = "n2ce-bbo"
INSTALL_HINT = "pip install 'n2ce-bbo[mlflow]'"
#: The tag by which :meth:`Tracker.keyed_run` finds a run again.
KEY_TAG = "n2ce_bbo.key"
#: Longest parameter value logged (MLflow's own limit is 6000 characters; the full values are in the artifacts).
MAX_PARAM_CHARS = 6000
# MLflow's per-call limits of log_batch.
_BATCH_METRICS, _BATCH_PARAMS = 1000, 100


class TrackedRun(Protocol):
    """One run: what it logs goes to the tracking store at once (a crash keeps what was logged)."""

    run_id: str | None
    #: parameters logged so far (MLflow refuses to change one, so callers check before re-logging a key).
    params: dict[str, str]

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log ``{key: value}`` as parameters (values as strings, cut at :data:`MAX_PARAM_CHARS`)."""

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log the finite numbers of ``metrics`` (``None``, booleans and non-numbers are skipped) at ``step``."""

    def log_metric_rows(self, rows: Sequence[Mapping[str, Any]], *, step_key: str = "step", prefix: str = "",
                        skip: Sequence[str] = ()) -> None:
        """Log a metric history: each row's numbers at ``step = row[step_key]``, keys prefixed with ``prefix``."""

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set ``{key: value}`` tags (values as strings)."""

    def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy the file ``path`` into the run's artifacts (under ``artifact_path`` when given)."""

    def log_text(self, text: str, artifact_file: str) -> None:
        """Write ``text`` as the artifact ``artifact_file``."""

    def mark_failed(self, reason: str) -> None:
        """End the run FAILED (not FINISHED) although its block returns, with ``reason`` as the tag
        ``n2ce_bbo.error`` (a benchmark cell that failed on a worker)."""


class Tracker(Protocol):
    """Where runs are recorded. ``enabled`` is false for :data:`NULL_TRACKER`."""

    enabled: bool
    uri: str | None

    def run(self, name: str, *, kind: str, parent: TrackedRun | None = None,
            tags: Mapping[str, Any] | None = None) -> contextlib.AbstractContextManager[TrackedRun]:
        """A new run named ``name``, tagged ``n2ce_bbo.kind = kind`` (fit, propose, optimize, benchmark, cell,
        round), nested under ``parent`` when given; it ends FINISHED, or FAILED when the block raises."""

    def keyed_run(self, key: str, name: str, *, kind: str, tags: Mapping[str, Any] | None = None) -> TrackedRun:
        """The run tagged ``n2ce_bbo.key = key`` in this experiment, created (named ``name``, tagged as by
        :meth:`run`, ended FINISHED) when there is none: a run that outlives one process, such as a campaign's,
        which each command finds again and logs to."""


class NullRun:
    """A run that records nothing (tracking off)."""

    run_id: str | None = None

    def __init__(self) -> None:
        self.params: dict[str, str] = {}

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Nothing: tracking is off."""

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Nothing: tracking is off."""

    def log_metric_rows(self, rows: Sequence[Mapping[str, Any]], *, step_key: str = "step", prefix: str = "",
                        skip: Sequence[str] = ()) -> None:
        """Nothing: tracking is off."""

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Nothing: tracking is off."""

    def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Nothing: tracking is off."""

    def log_text(self, text: str, artifact_file: str) -> None:
        """Nothing: tracking is off."""

    def mark_failed(self, reason: str) -> None:
        """Nothing: tracking is off."""


class NullTracker:
    """Tracking off: every run is a :class:`NullRun`."""

    enabled = False
    uri: str | None = None

    @contextlib.contextmanager
    def run(self, name: str, *, kind: str, parent: TrackedRun | None = None,
            tags: Mapping[str, Any] | None = None) -> Iterator[TrackedRun]:
        """A :class:`NullRun`."""
        yield NullRun()

    def keyed_run(self, key: str, name: str, *, kind: str, tags: Mapping[str, Any] | None = None) -> TrackedRun:
        """A :class:`NullRun`."""
        return NullRun()


NULL_TRACKER: Tracker = NullTracker()


# ---------------------------------------------------------------------------------------------------- values


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"prior": {"M": 10}}`` -> ``{"prior.M": 10}`` (lists and other values kept whole)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def metric_value(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (``None``, booleans, strings, NaN and infinities are not metrics)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _param_text(value: Any) -> str:
    text = "None" if value is None else str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


# ---------------------------------------------------------------------------------------------------- MLflow


class MlflowRun:
    """A run in an MLflow store, logged through an :class:`mlflow.MlflowClient`."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.run_id: str | None = run_id
        self.params: dict[str, str] = {}
        self.failed = False

    def _batch(self, metrics: Sequence[Any] = (), params: Sequence[Any] = (), tags: Sequence[Any] = ()) -> None:
        for i in range(0, len(metrics), _BATCH_METRICS):
            self.client.log_batch(self.run_id, metrics=list(metrics[i:i + _BATCH_METRICS]))
        for group in (params, tags):
            for i in range(0, len(group), _BATCH_PARAMS):
                chunk = list(group[i:i + _BATCH_PARAMS])
                self.client.log_batch(self.run_id, **({"params": chunk} if group is params else {"tags": chunk}))

    def log_params(self, params: Mapping[str, Any]) -> None:
        """See :meth:`TrackedRun.log_params`."""
        from mlflow.entities import Param

        fresh = {k: _param_text(v) for k, v in params.items() if self.params.get(k) != _param_text(v)}
        self._batch(params=[Param(k, v) for k, v in fresh.items()])
        self.params.update(fresh)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """See :meth:`TrackedRun.log_metrics`."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        values = {k: metric_value(v) for k, v in metrics.items()}
        self._batch(metrics=[Metric(k, v, now, int(step or 0)) for k, v in values.items() if v is not None])

    def log_metric_rows(self, rows: Sequence[Mapping[str, Any]], *, step_key: str = "step", prefix: str = "",
                        skip: Sequence[str] = ()) -> None:
        """See :meth:`TrackedRun.log_metric_rows`."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        out = []
        for row in rows:
            step = int(row.get(step_key, 0) or 0)
            for key, raw in row.items():
                value = metric_value(raw)
                if key != step_key and key not in skip and value is not None:
                    out.append(Metric(f"{prefix}{key}", value, now, step))
        self._batch(metrics=out)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """See :meth:`TrackedRun.set_tags`."""
        from mlflow.entities import RunTag

        self._batch(tags=[RunTag(k, _param_text(v)) for k, v in tags.items()])

    def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
        """See :meth:`TrackedRun.log_file`."""
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        """See :meth:`TrackedRun.log_text`."""
        self.client.log_text(self.run_id, text, artifact_file)

    def mark_failed(self, reason: str) -> None:
        """See :meth:`TrackedRun.mark_failed`."""
        self.set_tags({"n2ce_bbo.error": reason})
        self.failed = True


#: URI schemes of MLflow's database stores (SQLAlchemy, in the full ``mlflow`` package only).
_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")


class MlflowTracker:
    """Runs in the MLflow store at ``uri`` (see :func:`resolve_uri`), in the experiment ``experiment``.

    Raises:
        ConfigError: MLflow is not installed (naming ``pip install 'n2ce-bbo[mlflow]'``), or the store cannot be
            opened (a ``sqlite:`` URI without the full ``mlflow`` package, a deleted experiment, ...).
    """

    enabled = True

    def __init__(self, uri: str, experiment: str | None = None) -> None:
        try:
            import mlflow
        except ImportError as exc:
            raise ConfigError(f"--mlflow (experiment tracking) needs MLflow, which is not installed ({exc}); "
                              f"install it with {INSTALL_HINT} (or pip install mlflow-skinny).") from None
        if is_folder_uri(uri):
            os.environ.setdefault(FILE_STORE_ENV, "true")  # MLflow 3 refuses folder stores without it
        self.uri: str | None = uri
        self.experiment = experiment or os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
        try:
            self.client = mlflow.MlflowClient(tracking_uri=uri)
            self.experiment_id = self._experiment_id(mlflow)
        except ImportError as exc:
            raise ConfigError(f"the MLflow store {uri!r} needs a package that is not installed ({exc}); a "
                              "sqlite: or other database store needs the full MLflow: pip install mlflow.") from None
        except mlflow.exceptions.MlflowException as exc:
            hint = ("; a database store such as sqlite: needs the full MLflow (pip install mlflow), not "
                    "mlflow-skinny" if uri.split(":", 1)[0] in _DATABASES else "")
            why = exc.message.strip().rstrip(".")
            raise ConfigError(f"cannot open the MLflow store {uri!r}: {why}{hint}") from None

    def _experiment_id(self, mlflow: Any) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            try:
                return str(self.client.create_experiment(self.experiment))
            except mlflow.exceptions.MlflowException:  # created meanwhile by another process
                found = self.client.get_experiment_by_name(self.experiment)
                if found is None:
                    raise
        if found.lifecycle_stage != "active":
            raise ConfigError(f"the MLflow experiment {self.experiment!r} in {self.uri!r} is deleted; restore it "
                              f"(mlflow experiments restore) or set {EXPERIMENT_ENV} to another name.")
        return str(found.experiment_id)

    @contextlib.contextmanager
    def run(self, name: str, *, kind: str, parent: TrackedRun | None = None,
            tags: Mapping[str, Any] | None = None) -> Iterator[TrackedRun]:
        """See :meth:`Tracker.run`; the run's tags also name the code (``n2ce_bbo.commit``, ``n2ce_bbo.dirty``)
        and the command line (``mlflow.source.name``)."""
        source = source_state()
        all_tags = {"n2ce_bbo.kind": kind, "mlflow.source.type": "LOCAL",
                    "mlflow.source.name": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
                    "n2ce_bbo.commit": source.get("commit"), "n2ce_bbo.dirty": source.get("dirty")}
        if parent is not None and parent.run_id is not None:
            all_tags["mlflow.parentRunId"] = parent.run_id
        all_tags.update(tags or {})
        info = self.client.create_run(self.experiment_id, run_name=name,
                                      tags={k: _param_text(v) for k, v in all_tags.items()})
        run_id = str(info.info.run_id)
        run = MlflowRun(self.client, run_id)
        try:
            yield run
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FAILED" if run.failed else "FINISHED")

    def keyed_run(self, key: str, name: str, *, kind: str, tags: Mapping[str, Any] | None = None) -> TrackedRun:
        """See :meth:`Tracker.keyed_run`; the oldest run holding the key wins should two have been created at once.
        MLflow accepts metrics on a finished run, so a campaign's run gains a point per round."""
        if not _KEY.match(key):
            raise ValueError(f"a run key is letters, digits and . _ : - only, not {key!r}")
        found = self.client.search_runs([self.experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'",
                                        order_by=["attributes.start_time ASC"], max_results=1)
        if found:
            run = MlflowRun(self.client, str(found[0].info.run_id))
            run.params = dict(found[0].data.params)
            return run
        with self.run(name, kind=kind, tags={**(tags or {}), KEY_TAG: key}) as created:
            pass
        return created


# ---------------------------------------------------------------------------------------------------- opening


def is_folder_uri(uri: str) -> bool:
    """Whether ``uri`` names a folder store (``file:`` or a plain path)."""
    return uri.startswith("file:") or "://" not in uri and not uri.startswith(("sqlite:", "databricks"))


def resolve_uri(value: str | None) -> str:
    """Where ``--mlflow [value]`` logs: ``value`` when given (a plain path becomes an absolute ``file:`` URI),
    else ``$MLFLOW_TRACKING_URI``, else the folder ``./mlruns``."""
    uri = value or os.environ.get(TRACKING_ENV) or DEFAULT_FOLDER
    if "://" in uri or uri.startswith(("file:", "sqlite:", "databricks")):
        return uri
    return Path(uri).expanduser().resolve().as_uri()


def open_tracker(value: bool | str | Tracker | None, *, experiment: str | None = None) -> Tracker:
    """A tracker from ``--mlflow`` / the API's ``mlflow=`` argument: ``None`` or ``False``: :data:`NULL_TRACKER`;
    ``True`` or ``""``: the default store (:func:`resolve_uri`); a string: that URI or folder; a
    :class:`Tracker`: itself.

    Raises:
        ConfigError: MLflow is not installed, or the store cannot be opened (see :class:`MlflowTracker`).
    """
    if value is None or value is False:
        return NULL_TRACKER
    if not isinstance(value, (bool, str)):
        return value
    return MlflowTracker(resolve_uri(None if value is True else value), experiment)


def tracker_from_args(args: argparse.Namespace) -> Tracker:
    """The tracker ``--mlflow [URI]`` asks for (:data:`NULL_TRACKER` without it). A settings override that
    argparse took for the URI (``--mlflow prior.M=10``) goes back to ``args.overrides``, the store then being the
    default one; call this before reading the overrides.

    Raises:
        ConfigError: see :func:`open_tracker`.
    """
    value = getattr(args, "mlflow", None)
    if value and _OVERRIDE.match(value) and "://" not in value and isinstance(getattr(args, "overrides", None), list):
        args.overrides.insert(0, value)
        value = ""
    return open_tracker(value)


_KEY = re.compile(r"^[\w.:-]+$")
_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


def add_tracking_args(p: argparse.ArgumentParser) -> None:
    """``--mlflow [URI]``: log the run to MLflow (``args.mlflow``: ``None`` when not given, ``""`` without URI)."""
    p.add_argument("--mlflow", nargs="?", const="", default=None, metavar="URI",
                   help="log this run to MLflow (needs pip install 'n2ce-bbo[mlflow]'): parameters, per-step "
                        "losses, metrics and output files. URI: a folder, sqlite:///file.db or a server; without "
                        "it $MLFLOW_TRACKING_URI, else ./mlruns. Experiment: $MLFLOW_EXPERIMENT_NAME, else n2ce-bbo")
