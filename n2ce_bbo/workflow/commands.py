"""The command-line side of the workflow: ``n2ce-bbo optimize``, ``fit``, ``propose`` and ``score``.

Output is quiet by default: one progress display per phase on stderr (a bar with ETA in a terminal, a start
and an end line otherwise), then a short summary on stdout; ``--verbose`` adds the training losses, which
are always written to ``train_log.csv``. Inputs are read and checked before any folder is created or any
training starts, and every file is written atomically, so a bad input leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from n2ce_bbo.errors import InvalidDataError

# ---------------------------------------------------------------------------- argument groups


def add_data_args(p: argparse.ArgumentParser, *, allow_task: bool = True) -> None:
    """Options naming the training data: ``--task``, ``--data`` (one table) or ``--x``/``--y`` (two files)."""
    g = p.add_argument_group("training data (one of --task, --data, --x/--y)")
    if allow_task:
        g.add_argument("--task", default=None, help="registered task name (see `n2ce-bbo tasks`)")
        g.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="an option of the task, repeatable (e.g. max_samples=10000); TFBind10's subset is drawn "
                            "with --seed unless seed=N is given")
    g.add_argument("--data", default=None, help="one table (.csv, .tsv, .parquet): designs and scores, one row each")
    g.add_argument("--target", default=None, help="the score column of --data (name, or 0-based index); higher is better")
    g.add_argument("--features", default=None, help="continuous design columns of --data, comma-separated "
                   "(default: every column but the target)")
    g.add_argument("--design-column", default=None, help="the column of sequence strings (designs are sequences)")
    g.add_argument("--alphabet", default=None, help="letters of the sequences: dna, rna, protein, or a string such as "
                   "ACGT (default: the smallest named alphabet holding every letter of the data)")
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
    p.add_argument("--quiet", action="store_true", help="no progress display")


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


# ---------------------------------------------------------------------------- shared steps


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from n2ce_bbo.config import deep_merge, load_yaml, parse_overrides

    cfg: dict[str, Any] = load_yaml(args.config) if getattr(args, "config", None) else {}
    return deep_merge(cfg, parse_overrides(getattr(args, "overrides", []) or []))


def load_cli_data(args: argparse.Namespace) -> tuple[Any, Any, str, Any]:
    """``(DesignData, bounds, name, task or None)`` from the data options (``args.task_options`` is set to the
    options a registered task was built with, the run-seeded ones included).

    Raises:
        InvalidDataError: none or several data sources, or options that do not fit the chosen source.
    """
    from n2ce_bbo.io.dataset import read_training_table, read_xy_files
    from n2ce_bbo.workflow.api import task_data

    task_name = getattr(args, "task", None)
    task_args = getattr(args, "task_arg", None) or []
    args.task_options = {}
    if task_args and task_name is None:
        raise InvalidDataError("--task-arg sets an option of a registered task; it needs --task.")
    given = [n for n, v in (("--task", task_name), ("--data", args.data), ("--x", args.x)) if v is not None]
    if len(given) != 1:
        raise InvalidDataError("give one source of training data: --data FILE --target COLUMN (one table), "
                               "--x FILE --y FILE, or --task NAME" + (f" (got {' and '.join(given)})." if given else "."))
    if args.data is not None:
        if args.target is None:
            raise InvalidDataError("--data needs --target: the column holding the score.")
        features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
        d = read_training_table(args.data, target=args.target, features=features, design_column=args.design_column,
                                alphabet=args.alphabet, header=args.header)
        return d, None, Path(args.data).stem, None
    for opt, val in (("--target", args.target), ("--features", args.features), ("--design-column", args.design_column)):
        if val is not None:
            raise InvalidDataError(f"{opt} applies to --data (one table).")
    if args.x is not None:
        if args.y is None:
            raise InvalidDataError("--x needs --y: a file with one score per design.")
        d = read_xy_files(args.x, args.y, num_classes=args.num_classes, alphabet=args.alphabet, header=args.header)
        return d, None, Path(args.x).stem, None
    from n2ce_bbo.config import parse_overrides
    from n2ce_bbo.tasks import make
    from n2ce_bbo.tasks.registry import task_options_for_run

    assert task_name is not None  # exactly one source was given, and it is neither --data nor --x

    args.task_options = task_options_for_run(task_name, parse_overrides(task_args), int(getattr(args, "seed", 0) or 0))
    task = make(task_name, data_dir=args.data_dir, **args.task_options)
    d, bounds, name = task_data(task)
    return d, bounds, name, task


def _constraints(args: argparse.Namespace, schema: Any) -> Any:
    from n2ce_bbo.constraints import build_constraints

    return build_constraints(schema, fix=args.fix, exclude=args.exclude, lower=args.lower or None,
                             upper=args.upper or None, bounds_file=args.bounds, header=None)


def _parallel(args: argparse.Namespace) -> Any:
    from n2ce_bbo.methods.base import ParallelSpec

    return ParallelSpec(workers=args.workers, address=args.ray_address or os.environ.get("RAY_ADDRESS"))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _wrote(folder: Path, names: list[str]) -> str:
    present = [n for n in names if (folder / n.rstrip("/")).exists()]
    return f"wrote {folder}: {', '.join(present)}"


def _finish(result: Any, task: Any) -> Any:
    """Score final proposals with the task's oracle, when it has one (only after they are final)."""
    if task is None or not task.has_oracle or not len(result.x):
        return result
    import time

    from n2ce_bbo.optimize import evaluate

    t0 = time.perf_counter()
    for key, value in evaluate(task, result.x).items():
        setattr(result, key, value)
    result.eval_s = time.perf_counter() - t0
    return result


# ---------------------------------------------------------------------------- commands


def cmd_optimize(args: argparse.Namespace) -> int:
    """``n2ce-bbo optimize``: fit + propose (+ the oracle's scores for a task that has one); saves the model."""
    from n2ce_bbo.utils import ensure_writable_dir
    from n2ce_bbo.workflow.model import FittedModel

    config = _overrides(args)
    data, bounds, name, task = load_cli_data(args)
    constraints = _constraints(args, data.schema)
    if args.budget < 1:
        raise InvalidDataError(f"--budget must be >= 1, got {args.budget}.")
    out = ensure_writable_dir(args.out)  # checked before any training
    _say(f"n2ce-bbo: {name}: {data.n} rows, {data.schema.describe()} | method {args.method} | "
         f"budget {args.budget} | seed {args.seed}")
    model = FittedModel.fit(data, args.method, config, seed=args.seed, device=args.device, verbose=args.verbose,
                            show_progress=not args.quiet, parallel=_parallel(args), bounds=bounds, name=name)
    result = _finish(model.propose(args.budget, seed=args.seed, constraints=constraints,
                                   show_progress=not args.quiet), task)
    result.task_kwargs = dict(args.task_options)
    result.save(out)
    saved = "model/"
    if model.is_latent_ebm:
        model.save(out / "model")
    else:
        saved = ""
    print(result.summary())
    print(_wrote(out, ["designs.csv", "designs.npz", "result.json", "report.png", "train_log.csv", saved]))
    if not saved:
        print(f"(the model is not saved: only the latent-EBM methods can be; {args.method!r} is not one)")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``n2ce-bbo fit``: train once and save the model folder."""
    from n2ce_bbo.methods.registry import make_method
    from n2ce_bbo.workflow.model import FittedModel, is_latent_ebm

    config = _overrides(args)
    if not is_latent_ebm(make_method(args.method, config, seed=args.seed, device="cpu")):
        raise InvalidDataError(f"n2ce-bbo fit saves latent-EBM methods only (n2ce, nce, mle, gaussian), not "
                               f"{args.method!r}; use n2ce-bbo optimize for the others.")
    data, bounds, name, _ = load_cli_data(args)
    _check_model_dest(Path(args.out))
    _say(f"n2ce-bbo fit: {name}: {data.n} rows, {data.schema.describe()} | method {args.method} | seed {args.seed}")
    model = FittedModel.fit(data, args.method, config, seed=args.seed, device=args.device, verbose=args.verbose,
                            show_progress=not args.quiet, parallel=_parallel(args), bounds=bounds, name=name)
    path = model.save(args.out)
    print(f"trained {args.method} on {model.data.n} designs of {name} in {model.fit_s:.1f} s "
          f"(target {model.schema.target!r})")
    if model.history.get("loss"):
        print(f"final training loss {model.history['loss'][-1]:.4g} after {model.history.get('steps')} steps")
    print(f"wrote {path}: model.json, surrogate/, data.npz, train_log.csv")
    return 0


def _check_model_dest(dest: Path) -> None:
    from n2ce_bbo.errors import OutputError
    from n2ce_bbo.workflow.folder import MANIFEST

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
    from n2ce_bbo.utils import ensure_writable_dir
    from n2ce_bbo.workflow.model import FittedModel

    overrides = _overrides(args)
    model = FittedModel.load(args.model, device=args.device)
    constraints = _constraints(args, model.schema)
    if args.budget < 1:
        raise InvalidDataError(f"--budget must be >= 1, got {args.budget}.")
    out = ensure_writable_dir(args.out)
    model.method.parallel = _parallel(args)
    seed = model.seed if args.seed is None else args.seed
    _say(f"n2ce-bbo propose: model {args.model} ({model.method_name} on {model.name}) | budget {args.budget} | seed {seed}")
    result = model.propose(args.budget, seed=seed, constraints=constraints, config=overrides or None,
                           show_progress=not args.quiet)
    result.train_log = []  # the model folder holds the training log
    result.save(out)
    print(result.summary())
    print(_wrote(out, ["designs.csv", "designs.npz", "result.json", "report.png"]))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``n2ce-bbo score``: each row of a table with its predicted score and in-distribution percentile."""
    from n2ce_bbo.errors import OutputError
    from n2ce_bbo.workflow.model import FittedModel

    model = FittedModel.load(args.model, device=args.device)
    table = model.score(args.data, header=args.header)
    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a folder; give a file name such as scores.csv.")
    table.save(out)
    import numpy as np

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
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("fit", help="train a latent-EBM method once and save it as a model folder")
    add_data_args(p)
    p.add_argument("--out", required=True, help="model folder to write")
    add_run_args(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("propose", help="propose designs from a saved model (no retraining)")
    p.add_argument("--model", required=True, help="model folder written by `n2ce-bbo fit` (or optimize's model/)")
    add_constraint_args(p)
    p.add_argument("--seed", type=int, default=None, help="proposal seed (default: the model's training seed)")
    p.add_argument("--out", required=True, help="output folder")
    add_device_args(p)
    p.add_argument("--config", default=None, help="YAML file of propose.* settings")
    p.add_argument("overrides", nargs="*", help="propose.* overrides such as propose.n_chains=1024")
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser("score", help="predicted score and in-distribution percentile of each row of a table")
    p.add_argument("--model", required=True, help="model folder written by `n2ce-bbo fit`")
    p.add_argument("--data", required=True, help="table of designs (the data's design column(s); other columns kept)")
    h = p.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None, help="the first line is a header")
    h.add_argument("--no-header", dest="header", action="store_false", help="the first line is data")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_score)
