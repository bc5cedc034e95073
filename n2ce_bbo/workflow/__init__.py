"""The run path from data to batch, shared by the CLI, the Python API and the benchmark:

* :mod:`.data`: whatever the user gives -> :class:`~n2ce_bbo.workflow.data.TrainingData` (``load_data``);
* :mod:`.model`: :class:`FittedModel`, a trained method with its data schema: ``fit``, ``propose``, ``score``,
  ``save`` / ``load``; ``propose`` checks the batch and builds every :class:`Result`;
* :mod:`.result`: :class:`Result` and :class:`ScoreTable`, how they are written, the oracle's scores;
* :mod:`.folder`: the saved model folder; :mod:`.metrics`: diversity and novelty; :mod:`.figure`: ``report.png``;
* :mod:`.api`: ``n2ce_bbo.optimize`` / ``fit`` / ``load``; :mod:`.commands`: the ``n2ce-bbo`` commands of the run
  path (``optimize``, ``fit``, ``propose``, ``score``).
"""

from n2ce_bbo.workflow.api import fit, load, optimize
from n2ce_bbo.workflow.data import TrainingData, load_data
from n2ce_bbo.workflow.model import FittedModel
from n2ce_bbo.workflow.result import Result, ScoreTable, evaluate, score_with_oracle

__all__ = ["FittedModel", "Result", "ScoreTable", "TrainingData", "evaluate", "fit", "load", "load_data", "optimize",
           "score_with_oracle"]
