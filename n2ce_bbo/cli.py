"""The ``n2ce-bbo`` command line: tasks, methods, optimize, fit, propose, score, benchmark, report, config show."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from n2ce_bbo.benchmark import export_run, join_runs, load_cells, load_suite, run_suite, shipped_suites, write_report
from n2ce_bbo.benchmark.sources import short, source_mix
from n2ce_bbo.campaign.commands import add_campaign_commands
from n2ce_bbo.config import settings_from
from n2ce_bbo.errors import ConfigError, DataWarning, N2CEBBOError
from n2ce_bbo.methods import list_methods, make_method
from n2ce_bbo.tasks import task_table
from n2ce_bbo.workflow.commands import add_commands
from n2ce_bbo.workflow.tracking import add_tracking_args, tracker_from_args


def cmd_tasks(args: argparse.Namespace) -> int:
    """``n2ce-bbo tasks``: print every registered task and whether its data was found."""
    rows = task_table(data_dir=args.data_dir)
    headers = ["task", "kind", "design", "train rows", "data", "oracle"]
    table = [[r["name"], r["kind"], r["shape"], r["rows"], r["data"], r.get("oracle", "")] for r in rows]
    _print_table(headers, table)
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    """``n2ce-bbo methods``: print every registered method with its description."""
    _print_table(["method", "description"], [[k, v] for k, v in list_methods().items()])
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """``n2ce-bbo benchmark``: run (or resume) a suite, then write its report; ``--list``: the shipped suites."""
    if args.list:
        rows = [[name, _suite_summary(path), str(path)] for name, path in shipped_suites().items()]
        _print_table(["suite", "what it runs", "file"], rows)
        return 0
    named = args.mlflow or ""
    if args.suite is None and (named in shipped_suites() or named.endswith((".yaml", ".yml"))):
        args.suite, args.mlflow = named, ""  # `--mlflow quick`: argparse took the suite for the URI
    if args.suite is None or args.out is None:
        raise ConfigError("benchmark needs a suite (a shipped name such as 'quick', or a YAML file) and --out DIR; "
                               "--list shows the shipped suites.")
    suite = _narrow_suite(load_suite(args.suite), args)
    tracking = tracker_from_args(args)
    run_dir = run_suite(
        suite, args.out, resume=args.resume, workers=args.workers,
        address=args.ray_address or os.environ.get("RAY_ADDRESS"), data_dir=args.data_dir,
        rerun_stale=args.rerun_stale, allow_dirty=args.allow_dirty, tracking=tracking,
    )
    csv_path, md_path = write_report(run_dir)
    print(Path(md_path).read_text())
    print(f"wrote {csv_path}, {csv_path.with_name('paired.csv')} and {md_path}")
    _warn_if_mixed(run_dir)
    return 0


def _warn_if_mixed(run_dir: str | Path) -> None:
    """One line on stderr when the run folder is a mixed table (``summary.md`` has the details)."""
    mix = source_mix(load_cells(run_dir, warn=False)[0])
    if mix.mixed:
        what = (f"{len(mix.stale)} of {mix.n_ok} ok cells are not from the most recent commit "
                f"{short(mix.reference)} on a clean tree" if mix.reference
                else f"none of the {mix.n_ok} ok cells records the commit that computed it")
        differ = ", and package versions or device differ" if mix.versions else ""
        print(f"n2ce-bbo: warning: mixed table: {what}{differ}; summary.md ('Warning: mixed table') names them; "
              "rerun them with `n2ce-bbo benchmark SUITE --out DIR --resume --rerun-stale`.", file=sys.stderr)


def _suite_summary(path: Path) -> str:
    """``tasks x methods x seeds`` of a suite file and its cell count (rows may run on some tasks only), for
    ``benchmark --list``."""
    try:
        s = load_suite(path)
    except N2CEBBOError as exc:
        return f"invalid: {exc}"
    return (f"{len(s.tasks)} task(s) x {len(s.methods)} method(s) x {len(s.seeds or [])} seed(s), Q = {s.budget}: "
            f"{len(s.cells())} cells")


def parse_seeds(text: str) -> int | list[int]:
    """``--seeds``: ``N`` (the suite's first N seeds, an ``int``) or explicit seeds ``a,b`` / ``a-b`` / ``a-b,c``
    (a list, run in place of the suite's, e.g. the next development seeds of a finished suite)."""
    text = text.strip()
    if text.isdigit():
        if int(text) < 1:
            raise ConfigError(f"--seeds must be >= 1, got {int(text)}.")
        return int(text)
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ConfigError(f"--seeds: {part!r} is not a seed, a range a-b or a count N (got {text!r}).")
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first:
            raise ConfigError(f"--seeds: the range {part!r} runs backwards.")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: {text!r} names a seed twice.")
    return seeds


def _narrow_suite(suite: Any, args: argparse.Namespace) -> Any:
    """The suite restricted to ``--tasks`` / ``--methods`` (labels) / ``--seeds`` when given: ``--seeds N`` keeps
    the first N seeds, ``--seeds 102,103`` (or ``102-103``) runs those seeds instead of the suite's."""
    def pick(items: list[Any], wanted: str | None, key: Any, what: str) -> list[Any]:
        if not wanted:
            return items
        names = [w.strip() for w in wanted.split(",") if w.strip()]
        known = [key(i) for i in items]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"--{what}: {unknown} not in the suite; it has {known}.")
        return [i for i in items if key(i) in names]

    suite.tasks = pick(suite.tasks, args.tasks, lambda t: t.name, "tasks")
    suite.methods = pick(suite.methods, args.methods, lambda m: m.label, "methods")
    if args.seeds is not None:
        seeds = parse_seeds(args.seeds)
        suite.seeds = seeds if isinstance(seeds, list) else list(suite.seeds)[:seeds]
    return suite


def cmd_report(args: argparse.Namespace) -> int:
    """``n2ce-bbo report``: summarise a benchmark folder into tables and plots; ``--export DIR`` also records it;
    several folders with ``--export DIR`` are recorded there as one table."""
    run_dirs: list[str] = args.run_dir
    if len(run_dirs) > 1:
        if not args.export:
            raise ConfigError(f"report: {len(run_dirs)} run folders given; joining them needs --export DIR, the "
                              "folder that records them as one table.")
        dest = join_runs(run_dirs, args.export)
        print((dest / "summary.md").read_text())
        n = len(list((dest / "cells").glob("*.json")))
        print(f"joined {n} cell files of {len(run_dirs)} run folders into {dest} (cells, suite.yaml, manifest.json, "
              "report)")
        _warn_if_mixed(dest)
        return 0
    csv_path, md_path = write_report(run_dirs[0])
    print(Path(md_path).read_text())
    print(f"wrote {csv_path}, {csv_path.with_name('paired.csv')} and {md_path}")
    _warn_if_mixed(run_dirs[0])
    if args.export:
        dest = export_run(run_dirs[0], args.export)
        n = len(list((dest / "cells").glob("*.json")))
        print(f"exported {n} cell files, suite.yaml, manifest.json and the recomputed report to {dest}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    """``n2ce-bbo config show``: print a method's fully resolved configuration."""
    method = make_method(args.method, settings_from(args.config, args.overrides), seed=0, device="cpu")
    print(f"# resolved configuration of method {args.method!r}")
    print(yaml.safe_dump(json.loads(json.dumps(method.config_dict())), sort_keys=False), end="")
    return 0


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``n2ce-bbo``."""
    parser = argparse.ArgumentParser(prog="n2ce-bbo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tasks", help="list every task, its kind and shape, and whether its data was found")
    p.add_argument("--data-dir", default=None, help="Design-Bench data folder (default: $N2CE_BBO_DATA_DIR)")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("methods", help="list every method")
    p.set_defaults(func=cmd_methods)

    add_commands(sub)  # optimize, fit, propose, score
    add_campaign_commands(sub)  # campaign init | propose | add | status

    p = sub.add_parser("benchmark", help="run every (task, method, seed) cell of a suite, resumable")
    p.add_argument("suite", nargs="?", default=None,
                   help="a shipped suite's name (quick, design_bench, ...; see --list) or a suite YAML file")
    p.add_argument("--list", action="store_true", help="list the shipped suites and exit")
    p.add_argument("--out", default=None, help="run folder (one result file per cell); required to run")
    p.add_argument("--resume", action="store_true", help="finish the missing cells of an earlier run")
    p.add_argument("--workers", type=int, default=None, help="cells in parallel (0: sequential, no Ray)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or local)")
    p.add_argument("--data-dir", default=None, help="Design-Bench data folder (default: $N2CE_BBO_DATA_DIR)")
    p.add_argument("--tasks", default=None, help="run only these tasks of the suite (comma-separated)")
    p.add_argument("--methods", default=None, help="run only these method labels of the suite (comma-separated)")
    p.add_argument("--seeds", default=None,
                   help="N: run only the suite's first N seeds; 102,103 or 102-103 (one seed: 102-102): run these "
                        "seeds instead")
    p.add_argument("--rerun-stale", action="store_true",
                   help="with --resume: also rerun the ok cells not computed by the current commit on a clean tree "
                        "(another commit, a dirty tree, or no commit recorded); refused at a dirty tree")
    p.add_argument("--allow-dirty", action="store_true",
                   help="let --rerun-stale run although the current tree is dirty or its commit unknown "
                        "(the rerun cells are then marked dirty)")
    add_tracking_args(p)
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("report", help="summarise a benchmark run folder (summary.csv, paired.csv, summary.md, plots)")
    p.add_argument("run_dir", nargs="+",
                   help="a run folder; several (with --export) are joined into one table, e.g. one suite's seeds "
                        "run into two folders")
    p.add_argument("--export", default=None, metavar="DIR",
                   help="also copy the cell files, suite and manifest to DIR (e.g. benchmarks/results/NAME) and "
                        "recompute the report there from them")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("config", help="configuration tools")
    csub = p.add_subparsers(dest="config_command", required=True)
    s = csub.add_parser("show", help="print a method's resolved configuration")
    s.add_argument("--method", default="n2ce")
    s.add_argument("--config", default=None, help="YAML file of method settings")
    s.add_argument("overrides", nargs="*", help="config overrides such as prior.M=100")
    s.set_defaults(func=cmd_config_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``n2ce-bbo``; returns the exit status (2 on a user error, with its message)."""
    args = build_parser().parse_args(argv)
    def show(message: Warning | str, category: type[Warning], *rest: object, **kw: object) -> None:
        if issubclass(category, DataWarning):
            print(f"n2ce-bbo: warning: {message}", file=sys.stderr, flush=True)
        else:
            _show_default(message, category, *rest, **kw)  # type: ignore[arg-type]

    _show_default = warnings.showwarning
    warnings.showwarning = show
    try:
        return int(args.func(args) or 0)
    except N2CEBBOError as exc:
        print(f"n2ce-bbo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("n2ce-bbo: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = _show_default


if __name__ == "__main__":
    sys.exit(main())
