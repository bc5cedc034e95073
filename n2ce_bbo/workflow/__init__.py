"""The practitioner's workflow: fit a method on your own table once, then propose and score many times.

See :mod:`n2ce_bbo.workflow.model` (``FittedModel``), :mod:`n2ce_bbo.workflow.folder` (the saved model folder),
:mod:`n2ce_bbo.workflow.api` (``n2ce_bbo.fit`` / ``n2ce_bbo.load``), :mod:`n2ce_bbo.workflow.metrics` (diversity,
novelty) and :mod:`n2ce_bbo.workflow.figure` (``report.png``).
"""

from n2ce_bbo.workflow.api import fit, load, load_data
from n2ce_bbo.workflow.model import FittedModel, ScoreTable

__all__ = ["FittedModel", "ScoreTable", "fit", "load", "load_data"]
