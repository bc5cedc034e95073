"""Lab campaigns, round by round: propose a batch, measure it, add the results (the model is refitted warm),
propose again; every step kept append-only in a folder (``docs/campaign.md``).

* :mod:`.campaign`: :class:`Campaign` (``init``, ``open``, ``propose``, ``add``, ``status``, ``plot``);
* :mod:`.store`: the folder and its atomic, append-only steps; :mod:`.history`: the steps read back;
* :mod:`.matching`: measured rows -> proposed designs; :mod:`.records`: the files a step holds;
* :mod:`.status`: the table per round and ``campaign.png``; :mod:`.commands`: ``n2ce-bbo campaign ...``.
"""

from n2ce_bbo.campaign.campaign import AddReport, Campaign
from n2ce_bbo.campaign.status import RoundStatus

__all__ = ["AddReport", "Campaign", "RoundStatus"]
