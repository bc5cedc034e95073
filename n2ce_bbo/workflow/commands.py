"""The command-line side of the workflow: ``n2ce-bbo optimize``, ``fit``, ``propose`` and ``score``.

Output is quiet by default: a line saying what runs and one progress display per phase on stderr (a bar with
ETA in a terminal, a start and an end line otherwise), then a short summary on stdout; ``--quiet`` leaves only
warnings and errors on stderr, ``--verbose`` adds the training losses, which are always written to
``train_log.csv``. Inputs are read and checked before any folder is created or any training starts, every file
is written atomically, and a command that fails removes the output folder it created, so a bad input leaves
nothing half-written. Constraints no design can satisfy are an error (exit status 2), not an empty table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.config import parse_overrides, settings_from
from n2ce_bbo.constraints import Constraints, build_constraints
from n2ce_bbo.errors import InvalidDataError, OutputError
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.latent_ebm.uncertainty import ACQUISITIONS, calibration_line
from n2ce_bbo.methods.registry import make_method
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.utils import ensure_writable_dir
from n2ce_bbo.workflow.api import check_acquisition, propose_for
from n2ce_bbo.workflow.data import TrainingData, load_data
from n2ce_bbo.workflow.folder import MANIFEST
from n2ce_bbo.workflow.model import FittedModel, is_latent_ebm
from n2ce_bbo.workflow.outcomes import OutcomeSpec, outcome_spec
from n2ce_bbo.workflow.run_logs import log_fit, log_proposal
from n2ce_bbo.workflow.tracking import add_tracking_args, tracker_from_args

# ---------------------------------------------------------------------------- argument groups

SEP_HELP = ("delimiter of a .csv/.txt table: a character such as ';' or '|', or comma, semicolon, tab, pipe "
            "(default: detected among , ; tab |)")


def add_data_args(p: argparse.ArgumentParser, *, allow_task: bool = True) -> None:
    """Options naming the training data: ``--task``, ``--data`` (one table) or ``--x``/``--y`` (two files)."""
    g = p.add_argument_group("training data (one of --task, --data, --x/--y)")
    if allow_task:
        g.add_argument("--task", default=None, help="registered task name (see `n2ce-bbo tasks`)")
        g.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="an option of the task, repeatable (e.g. max_samples=10000); TFBind10's subset is drawn "
                            "with --seed unless seed=N is given")
    g.add_argument("--data", default=None, help="one table (.csv, .tsv, .parquet): designs and scores, one row each; "
                   "or a FASTA file (.fasta .fa .faa .fna .fas, also .gz): one record a design, its score in the "
                   "header (>v17 activity=1.25) or in --values")
    g.add_argument("--target", default=None, help="the score column of --data (name, or 0-based index); higher is "
                   "better; FASTA: the header key (activity in >v17 activity=1.25) or the --values column")
    g.add_argument("--values", default=None, metavar="FILE", help="FASTA --data: a table of scores keyed by record "
                   "id (column --id-column, scores in column --target)")
    g.add_argument("--id-column", default=None, help="the record-id column of --values (default: its first column)")
    g.add_argument("--length", type=int, default=None, metavar="N", help="sequences of several lengths: keep only "
                   "those of length N (the others are dropped, and counted); default: one length is required")
    g.add_argument("--features", default=None, help="continuous design columns of --data, comma-separated "
                   "(default: every column but the target)")
    g.add_argument("--design-column", default=None, help="the column of sequence strings (designs are sequences)")
    g.add_argument("--alphabet", default=None, help="letters of the sequences: dna, rna, protein, or a string such as "
                   "ACGT (default: inferred when the letters fit one cleanly; a few stray letters, such as N in "
                   "DNA, are an error naming them)")
    g.add_argument("--sep", default=None, help=SEP_HELP)
    h = g.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None,
                   help="the first line of the table is a header (default: detected; data is never taken for one)")
    h.add_argument("--no-header", dest="header", action="store_false", help="the first line of the table is data")
    g.add_argument("--x", default=None, help="designs file: .csv or .npy, [n, d] numbers, [n, L] token ids "
                   "(--num-classes) or one column of sequence strings")
    g.add_argument("--y", default=None, help="scores file for --x: .csv or .npy, one per design")
    g.add_argument("--num-classes", type=int, default=None, help="token vocabulary size: marks --x as token ids")
    g.add_argument("--data-dir", default=None, help="Design-Bench data folder (default: $N2CE_BBO_DATA_DIR)")


def add_run_args(p: argparse.ArgumentParser) -> None:
    """Method, seed, settings, device, parallelism and output verbosity."""
    p.add_argument("--method", default="n2ce", help="method name (see `n2ce-bbo methods`); fit/propose/score need "
                   "a latent-EBM method: n2ce, nce, mle, gaussian")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default=None, help="YAML file of method settings")
    add_device_args(p)
    p.add_argument("--verbose", action="store_true", help="also print the training losses (always in train_log.csv)")
    p.add_argument("overrides", nargs="*", help="config overrides such as prior.M=100 propose.n_chains=1024")


def add_device_args(p: argparse.ArgumentParser) -> None:
    """``--device``, ``--workers``, ``--ray-address``, ``--quiet``."""
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--workers", type=int, default=0, help="Ray workers for chains (0: no Ray)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or local)")
    p.add_argument("--quiet", action="store_true", help="nothing on stderr but warnings and errors (no start line, "
                   "no progress display); the summary still goes to stdout")


def add_acquisition_args(p: argparse.ArgumentParser) -> None:
    """``--acquisition`` and ``--ucb-beta``: what the proposal ranks candidates by (``propose.acquisition``)."""
    p.add_argument("--acquisition", choices=ACQUISITIONS, default=None,
                   help="rank candidates by the predicted score (mean, the default: exploit near the data), mean + "
                        "beta * std (ucb) or the expected improvement over the best training score (ei): explore "
                        "when a round can afford misses; ucb and ei need a latent-EBM method")
    p.add_argument("--ucb-beta", type=float, default=None, metavar="BETA",
                   help="beta of --acquisition ucb, in predictive standard deviations (default 1.0)")


def add_outcome_args(p: argparse.ArgumentParser) -> None:
    """``--outcome`` (repeatable) and ``--outcome-probability``: outcome constraints (:mod:`.outcomes`)."""
    g = p.add_argument_group("outcome constraints (a second measured column kept on the right side of a limit)")
    g.add_argument("--outcome", action="append", default=[], metavar="COLUMN>=VALUE",
                   help="a measured column of --data and a limit every proposal is predicted to meet, e.g. "
                        "expression>=0.5 or toxicity<=0.1; a model of it is fitted alongside (rows without a value "
                        "are left out of it); repeatable")
    g.add_argument("--outcome-probability", type=float, default=None, metavar="P",
                   help="keep a design when its predicted probability of meeting every --outcome limit is at least "
                        "P (default 0.5: the predicted value is on the right side)")


def _outcomes(args: argparse.Namespace) -> OutcomeSpec | None:
    """``--outcome`` / ``--outcome-probability`` with the ``outcome.*`` settings of ``--config`` and the overrides."""
    raw = settings_from(getattr(args, "config", None), getattr(args, "overrides", []) or []).get("outcome")
    return outcome_spec(getattr(args, "outcome", None) or [], getattr(args, "outcome_probability", None), raw)


def add_constraint_args(p: argparse.ArgumentParser) -> None:
    """``--budget`` and the constraints every proposal honours."""
    p.add_argument("--budget", type=int, default=128, help="number of designs to propose (default 128)")
    g = p.add_argument_group("constraints (every proposal honours them)")
    g.add_argument("--fix", action="append", default=[], metavar="POS=LETTER",
                   help="sequences: a position (0-based) every proposal must hold, e.g. 0=G; repeatable")
    g.add_argument("--exclude", default=None, metavar="FILE",
                   help="designs never to propose (e.g. already tested), a table with the data's design column(s)")
    g.add_argument("--lower", action="append", default=[], help="continuous: lower bounds, one value per feature "
                   "comma-separated (empty: none), or NAME=VALUE; repeatable")
    g.add_argument("--upper", action="append", default=[], help="continuous: upper bounds, as --lower")
    g.add_argument("--bounds", default=None, metavar="FILE", help="continuous: a CSV with columns feature,lower,upper")
    g.add_argument("--parent", action="append", default=[], metavar="SEQ",
                   help="sequences: a parent of the mutation budget (--max-mutations); repeatable")
    g.add_argument("--parents", default=None, metavar="FILE",
                   help="parents of the mutation budget: a FASTA file, or a table of one column of sequences")
    g.add_argument("--max-mutations", type=int, default=None, metavar="K",
                   help="every proposal lies within K substitutions of at least one parent (--parent / --parents)")


# ---------------------------------------------------------------------------- shared steps


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_from(getattr(args, "config", None), getattr(args, "overrides", []) or [])
    if hasattr(args, "outcome"):  # fit / optimize: the outcome.* section is the outcome models' (_outcomes)
        settings.pop("outcome", None)
    return settings


def load_cli_data(args: argparse.Namespace) -> TrainingData:
    """The training data the data options name (one of ``--task``, ``--data``, ``--x/--y``), read by
    :func:`~n2ce_bbo.workflow.data.load_data` as the Python API reads it.

    Raises:
        InvalidDataError: none or several data sources, or options that do not fit the chosen source.
    """
    task_name = getattr(args, "task", None)
    task_args = getattr(args, "task_arg", None) or []
    if task_args and task_name is None:
        raise InvalidDataError("--task-arg sets an option of a registered task; it needs --task.")
    given = [n for n, v in (("--task", task_name), ("--data", args.data), ("--x", args.x)) if v is not None]
    if len(given) != 1:
        raise InvalidDataError("give one source of training data: --data FILE --target COLUMN (one table), "
                               "--x FILE --y FILE, or --task NAME" + (f" (got {' and '.join(given)})." if given else "."))
    spec = _outcomes(args)
    if args.data is not None:
        if args.target is None:
            raise InvalidDataError("--data needs --target: the column holding the score.")
        features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
        return load_data(Path(args.data), args.target, features=features, design_column=args.design_column,
                         alphabet=args.alphabet, header=args.header, sep=args.sep, values=args.values,
                         id_column=args.id_column, length=args.length, outcomes=spec.columns if spec else ())
    if spec is not None:
        raise InvalidDataError("--outcome names a measured column of --data (one table); --x/--y and --task have none.")
    for opt, val in (("--target", args.target), ("--features", args.features), ("--design-column", args.design_column),
                     ("--values", args.values), ("--id-column", args.id_column)):
        if val is not None:
            raise InvalidDataError(f"{opt} applies to --data (one table).")
    if args.x is not None:
        if args.y is None:
            raise InvalidDataError("--x needs --y: a file with one score per design.")
        return load_data((Path(args.x), Path(args.y)), num_classes=args.num_classes, alphabet=args.alphabet,
                         header=args.header, sep=args.sep, length=args.length)
    if args.length is not None:
        raise InvalidDataError("--length keeps the sequences of one length of --data or --x; a --task has none.")
    if args.sep is not None:
        raise InvalidDataError("--sep is the delimiter of --data or --x/--y files; a --task has none.")
    return load_data(str(task_name), data_dir=args.data_dir, task_kwargs=parse_overrides(task_args),
                     run_seed=int(getattr(args, "seed", 0) or 0))


def _constraints(args: argparse.Namespace, schema: DesignSchema) -> Constraints:
    return build_constraints(schema, fix=args.fix, exclude=args.exclude, lower=args.lower or None,
                             upper=args.upper or None, bounds_file=args.bounds, header=None,
                             parents=args.parent or None, parents_file=args.parents, max_mutations=args.max_mutations)


def _parallel(args: argparse.Namespace) -> ParallelSpec:
    return ParallelSpec(workers=args.workers, address=args.ray_address or os.environ.get("RAY_ADDRESS"))


def _say(args: argparse.Namespace, text: str) -> None:
    """A line on stderr about what runs; ``--quiet`` drops it (stderr then holds only warnings and errors)."""
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _output_folder(path: str | Path) -> Iterator[Path]:
    """``path`` created if needed and checked writable; if the command then fails before writing into it, a folder
    this call created is removed again (only while empty), so a failed command leaves nothing behind."""
    existed = Path(path).exists()
    out = ensure_writable_dir(path)
    try:
        yield out
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise


def _wrote(folder: Path, names: list[str]) -> str:
    present = [n for n in names if (folder / n.rstrip("/")).exists()]
    return f"wrote {folder}: {', '.join(present)}"


# ---------------------------------------------------------------------------- commands


def cmd_optimize(args: argparse.Namespace) -> int:
    """``n2ce-bbo optimize``: fit + propose (+ the oracle's scores for a task that has one); saves the model."""
    tracker = tracker_from_args(args)  # first: --mlflow may have taken an override for its URI
    config = _settings(args)
    source = load_cli_data(args)
    constraints = _constraints(args, source.data.schema)
    constraints.require_feasible(source.data.schema)  # before any training
    budget = check_budget(args.budget, "--budget")
    check_acquisition(args.method, config, args.acquisition, args.ucb_beta)  # before any training
    with _output_folder(args.out) as out, tracker.run(f"optimize {source.name}", kind="optimize") as run:
        _say(args, f"n2ce-bbo: {source.name}: {source.data.n} rows, {source.data.schema.describe()} | method "
                   f"{args.method} | budget {budget} | seed {args.seed}")
        model = FittedModel.fit(source, args.method, config, seed=args.seed, device=args.device, verbose=args.verbose,
                                show_progress=not args.quiet, parallel=_parallel(args), outcomes=_outcomes(args))
        result = propose_for(model, source, budget, seed=args.seed, constraints=constraints, progress=not args.quiet,
                             acquisition=args.acquisition, ucb_beta=args.ucb_beta)
        result.save(out)
        model_dir = model.save(out / "model") if model.is_latent_ebm else None
        log_fit(run, model, folder=model_dir, task_options=source.task_options)
        log_proposal(run, result, folder=out)
    saved = "model/" if model_dir is not None else ""
    print(result.summary())
    if model.is_latent_ebm:
        print(calibration_line(model.calibration))
    print(_wrote(out, ["designs.csv", "designs.npz", "result.json", "report.png", "train_log.csv", saved]))
    if not saved:
        print(f"(the model is not saved: only the latent-EBM methods can be; {args.method!r} is not one)")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``n2ce-bbo fit``: train once and save the model folder."""
    tracker = tracker_from_args(args)
    config = _settings(args)
    if not is_latent_ebm(make_method(args.method, config, seed=args.seed, device="cpu")):
        raise InvalidDataError(f"n2ce-bbo fit saves latent-EBM methods only (n2ce, nce, mle, gaussian), not "
                               f"{args.method!r}; use n2ce-bbo optimize for the others.")
    source = load_cli_data(args)
    _check_model_dest(Path(args.out))
    _say(args, f"n2ce-bbo fit: {source.name}: {source.data.n} rows, {source.data.schema.describe()} | method "
               f"{args.method} | seed {args.seed}")
    with tracker.run(f"fit {source.name}", kind="fit") as run:
        model = FittedModel.fit(source, args.method, config, seed=args.seed, device=args.device,
                                verbose=args.verbose, show_progress=not args.quiet, parallel=_parallel(args),
                                outcomes=_outcomes(args))
        path = model.save(args.out)
        log_fit(run, model, folder=path, task_options=source.task_options)
    print(f"trained {args.method} on {model.data.n} designs of {source.name} in {model.fit_s:.1f} s "
          f"(target {model.schema.target!r})")
    if model.history.get("loss"):
        print(f"final training loss {model.history['loss'][-1]:.4g} after {model.history.get('steps')} steps")
    print(calibration_line(model.calibration))
    for line in model.outcomes.fit_lines() if model.outcomes else []:
        print(line)
    print(f"wrote {path}: model.json, calibration.json, surrogate/, data.npz, train_log.csv"
          + (", outcomes/" if model.outcomes else ""))
    return 0


def _check_model_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"--out {str(dest)!r} is a file.")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MANIFEST).is_file():
        raise OutputError(f"--out {str(dest)!r} exists and is not a model folder; refusing to overwrite it.")
    probe = dest.parent if not dest.exists() else dest
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise OutputError(f"--out {str(dest)!r} is not writable.")


def cmd_propose(args: argparse.Namespace) -> int:
    """``n2ce-bbo propose``: new designs from a saved model, without retraining."""
    tracker = tracker_from_args(args)
    overrides = _settings(args)
    model = FittedModel.load(args.model, device=args.device)
    constraints = _constraints(args, model.schema)
    constraints.require_feasible(model.schema)
    budget = check_budget(args.budget, "--budget")
    model.method.parallel = _parallel(args)
    seed = model.seed if args.seed is None else args.seed
    with _output_folder(args.out) as out, tracker.run(f"propose {model.name}", kind="propose") as run:
        _say(args, f"n2ce-bbo propose: model {args.model} ({model.method_name} on {model.name}) | budget {budget} | "
                   f"seed {seed}")
        result = model.propose(budget, seed=seed, constraints=constraints, config=overrides or None,
                               show_progress=not args.quiet, acquisition=args.acquisition, ucb_beta=args.ucb_beta)
        result.train_log = []  # the model folder holds the training log
        result.save(out)
        log_proposal(run, result, folder=out, model_path=args.model)
    print(result.summary())
    print(_wrote(out, ["designs.csv", "designs.npz", "result.json", "report.png"]))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``n2ce-bbo score``: each row of a table with its predicted score and in-distribution percentile."""
    model = FittedModel.load(args.model, device=args.device)
    table = model.score(args.data, header=args.header, sep=args.sep)
    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a folder; give a file name such as scores.csv.")
    table.save(out)
    print(f"scored {len(table.predicted)} designs with {model.method_name} ({model.name}): predicted "
          f"{model.schema.target} {np.min(table.predicted):.4g} to {np.max(table.predicted):.4g}; in-distribution "
          f"percentile median {np.median(table.in_distribution):.0f}")
    print(f"wrote {out}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``optimize``, ``fit``, ``propose`` and ``score`` on the CLI's sub-parsers."""
    p = sub.add_parser("optimize", help="fit a method on offline data and propose designs (saves the model too)")
    add_data_args(p)
    add_constraint_args(p)
    p.add_argument("--out", required=True, help="output folder")
    add_run_args(p)
    add_acquisition_args(p)
    add_outcome_args(p)
    add_tracking_args(p)
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("fit", help="train a latent-EBM method once and save it as a model folder")
    add_data_args(p)
    p.add_argument("--out", required=True, help="model folder to write")
    add_run_args(p)
    add_outcome_args(p)
    add_tracking_args(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("propose", help="propose designs from a saved model (no retraining)")
    p.add_argument("--model", required=True, help="model folder written by `n2ce-bbo fit` (or optimize's model/)")
    add_constraint_args(p)
    p.add_argument("--seed", type=int, default=None, help="proposal seed (default: the model's training seed)")
    p.add_argument("--out", required=True, help="output folder")
    add_device_args(p)
    p.add_argument("--config", default=None, help="YAML file of propose.* settings")
    p.add_argument("overrides", nargs="*",
                   help="propose.* and design_model.ascent_* overrides such as propose.n_chains=1024")
    add_acquisition_args(p)
    add_tracking_args(p)
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser("score", help="predicted score and in-distribution percentile of each row of a table")
    p.add_argument("--model", required=True, help="model folder written by `n2ce-bbo fit`")
    p.add_argument("--data", required=True, help="table of designs (the data's design column(s); other columns kept)")
    h = p.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None, help="the first line is a header")
    h.add_argument("--no-header", dest="header", action="store_false", help="the first line is data")
    p.add_argument("--sep", default=None, help=SEP_HELP)
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_score)
