"""A campaign's steps in MLflow: one run for the campaign, found again by every command, and a round run per step.

The campaign's run is keyed by its folder and creation time (:meth:`~n2ce_bbo.workflow.tracking.Tracker.keyed_run`),
so ``campaign init``, each ``propose`` and each ``add``, in separate processes days apart, log under the same run;
``docs/campaign.md`` ("Tracking a campaign in MLflow") says what each run holds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from n2ce_bbo.campaign.history import MODEL
from n2ce_bbo.workflow.model import FittedModel
from n2ce_bbo.workflow.result import Result
from n2ce_bbo.workflow.run_logs import log_round
from n2ce_bbo.workflow.tracking import Tracker

if TYPE_CHECKING:
    from n2ce_bbo.campaign.campaign import Campaign


def campaign_key(campaign: Campaign) -> str:
    """The key of ``campaign``'s MLflow run: its folder's absolute path and its init step's creation time, hashed
    (a folder removed and started again is another campaign)."""
    created = str(campaign.history.steps[0].record.get("created", ""))
    return "campaign:" + hashlib.sha256(f"{campaign.root.resolve()}|{created}".encode()).hexdigest()[:32]


def log_step(campaign: Campaign, tracker: Tracker, step_path: Path, *, result: Result | None = None,
             fit: FittedModel | None = None) -> str | None:
    """Log ``campaign``'s latest step as a round run nested under the campaign's own run (created by the first
    tracked step): ``fit`` (the step's fit) as a fit, ``result`` (its batch) as a proposal, and the status table's
    row for the round as ``measured/*`` metrics, which are also drawn on the campaign's run at ``step = round``.

    Args:
        campaign: the campaign, read after the step was written.
        tracker: where runs go; :data:`~n2ce_bbo.workflow.tracking.NULL_TRACKER` logs nothing.
        step_path: the step's folder (its ``designs.csv`` ... and ``model/`` are logged as files).

    Returns:
        The round run's id (``None`` when tracking is off).
    """
    if not tracker.enabled:
        return None
    d = campaign.definition
    root = str(campaign.root.resolve())
    parent = tracker.keyed_run(campaign_key(campaign), f"campaign {d.name}", kind="campaign",
                               tags={"n2ce_bbo.campaign": d.name, "n2ce_bbo.campaign_dir": root})
    parent.log_params({"method": d.method, "seed": d.seed, "data.name": d.name, "data.target": d.schema.target,
                       "folder": root})
    row = next(r for r in campaign.status() if r.round == campaign.round)
    summary = {k: v for k, v in row.to_dict().items() if k not in ("round", "fit") and v is not None}
    summary["pending_total"] = len(campaign.history.pending()[0])
    return log_round(tracker, campaign.round, result, summary, fit, campaign=d.name, parent=parent,
                     folder=step_path if result is not None else None,
                     model_folder=step_path / MODEL if fit is not None else None)
