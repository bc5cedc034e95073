"""``n2ce-bbo campaign init | propose | add | status``: a lab campaign from the command line (the same verbs as
:class:`~n2ce_bbo.campaign.campaign.Campaign`, which does the work).

Output follows the other commands: a line saying what runs and progress displays on stderr (``--quiet`` leaves
only warnings and errors there), a short summary on stdout; bad input is an error naming the line and column
(exit status 2) and nothing is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from n2ce_bbo.campaign.campaign import Campaign
from n2ce_bbo.campaign.matching import DEFAULT_TOLERANCE
from n2ce_bbo.config import settings_from
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.workflow.commands import (
    SEP_HELP,
    add_acquisition_args,
    add_constraint_args,
    add_data_args,
    add_device_args,
    add_run_args,
    load_cli_data,
)
from n2ce_bbo.workflow.tracking import add_tracking_args, tracker_from_args


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr, flush=True)


def _parallel(args: argparse.Namespace) -> ParallelSpec:
    return ParallelSpec(workers=args.workers, address=args.ray_address or os.environ.get("RAY_ADDRESS"))


def cmd_init(args: argparse.Namespace) -> int:
    """``campaign init``: read the initial data, fit the first model, write step 0."""
    tracker = tracker_from_args(args)  # first: --mlflow may have taken an override for its URI
    config = settings_from(args.config, args.overrides or [])
    source = load_cli_data(args)
    _say(args, f"n2ce-bbo campaign init: {source.name}: {source.data.n} rows, {source.data.schema.describe()} | "
               f"method {args.method} | seed {args.seed}")
    c = Campaign.init(args.dir, source, method=args.method, config=config, seed=args.seed, device=args.device,
                      verbose=args.verbose, show_progress=not args.quiet, parallel=_parallel(args),
                      mlflow=tracker)
    step = c.history.steps[0]
    fit = step.record.get("fit") or {}
    print(f"started campaign {c.root}: {source.data.n} initial rows, method {args.method}, seed {args.seed}"
          + (f"; first fit {fit['fit_s']:.1f} s ({fit['steps']} steps)" if fit else
             "; this method is fitted at each propose"))
    print(f"wrote {step.path}")
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    """``campaign propose``: the next round's batch, never a measured or pending design."""
    tracker = tracker_from_args(args)
    overrides = settings_from(args.config, args.overrides or [])
    budget = check_budget(args.budget, "--budget")
    c = Campaign.open(args.dir, device=args.device)
    _say(args, f"n2ce-bbo campaign propose: {c.root}: round {c.round + 1} | budget {budget} | seed "
               f"{c.definition.seed if args.seed is None else args.seed}")
    result = c.propose(budget, seed=args.seed, out=args.out, fix=args.fix, exclude=args.exclude,
                       lower=args.lower or None, upper=args.upper or None, bounds_file=args.bounds,
                       parents=args.parent or None, parents_file=args.parents, max_mutations=args.max_mutations,
                       acquisition=args.acquisition, ucb_beta=args.ucb_beta, config=overrides or None,
                       show_progress=not args.quiet, parallel=_parallel(args), mlflow=tracker)
    batch = c.history.batches[-1]
    print(result.summary())
    print(f"round {batch.round}: wrote {batch.step.path}: designs.csv, designs.npz, result.json, report.png"
          + (f"; copied designs.csv to {args.out}" if args.out else ""))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """``campaign add``: measured rows matched to the proposals, then the refit."""
    tracker = tracker_from_args(args)
    c = Campaign.open(args.dir, device=args.device)
    _say(args, f"n2ce-bbo campaign add: {c.root}: {args.measured} | round {c.round}"
               + (" | cold refit" if args.cold else ""))
    report = c.add(args.measured, header=args.header, sep=args.sep, tolerance=args.tolerance, cold=args.cold,
                   verbose=args.verbose, show_progress=not args.quiet, mlflow=tracker)
    print(report.summary())
    print(f"wrote {report.step}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """``campaign status``: the table per round, and ``campaign.png``."""
    c = Campaign.open(args.dir, device="cpu")
    print(f"campaign {c.root}: {c.definition.method} on {c.definition.name}, target {c.definition.schema.target!r}, "
          f"round {c.round}, {len(c.pending())} designs pending")
    print(c.status_text())
    print(f"wrote {c.plot(args.plot)}")
    return 0


def add_campaign_commands(sub: Any) -> None:
    """Register ``campaign`` and its sub-commands on the CLI's sub-parsers."""
    p = sub.add_parser("campaign", help="a lab campaign, round by round: init, propose, add (measured rows), status")
    csub = p.add_subparsers(dest="campaign_command", required=True)

    s = csub.add_parser("init", help="start a campaign folder from initial data and fit the first model")
    s.add_argument("--dir", required=True, help="the campaign folder to create (new or empty)")
    add_data_args(s, allow_task=False)
    add_run_args(s)
    add_tracking_args(s)
    s.set_defaults(func=cmd_init)

    s = csub.add_parser("propose", help="propose the next round's batch (never a measured or pending design)")
    s.add_argument("--dir", required=True, help="the campaign folder")
    add_constraint_args(s)
    s.add_argument("--seed", type=int, default=None, help="proposal seed (default: the campaign's seed)")
    s.add_argument("--out", default=None, metavar="FILE",
                   help="also copy the round's designs.csv to FILE (or into this folder)")
    add_device_args(s)
    s.add_argument("--config", default=None, help="YAML file of propose.* settings")
    s.add_argument("overrides", nargs="*", help="propose.* overrides such as propose.n_chains=1024")
    add_acquisition_args(s)
    add_tracking_args(s)
    s.set_defaults(func=cmd_propose)

    s = csub.add_parser("add", help="add measured rows (matched to the proposals) and refit the model")
    s.add_argument("--dir", required=True, help="the campaign folder")
    s.add_argument("measured", help="a table with the design column(s) and the target column (other columns are "
                   "ignored: designs.csv with a measured column added works)")
    h = s.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None, help="the first line is a header")
    h.add_argument("--no-header", dest="header", action="store_false", help="the first line is data")
    s.add_argument("--sep", default=None, help=SEP_HELP)
    s.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="continuous designs match a proposal within this fraction of each feature's range "
                        f"(default {DEFAULT_TOLERANCE:g})")
    s.add_argument("--cold", action="store_true",
                   help="refit from scratch, rehearsal included, instead of warm from the previous model")
    s.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    s.add_argument("--quiet", action="store_true", help="nothing on stderr but warnings and errors")
    s.add_argument("--verbose", action="store_true", help="also print the training losses")
    add_tracking_args(s)
    s.set_defaults(func=cmd_add)

    s = csub.add_parser("status", help="the table per round (proposed, measured, pending, best so far, predicted "
                        "vs measured, fit) and campaign.png")
    s.add_argument("--dir", required=True, help="the campaign folder")
    s.add_argument("--plot", default=None, metavar="FILE", help="where to write the figure (default DIR/campaign.png)")
    s.set_defaults(func=cmd_status)
