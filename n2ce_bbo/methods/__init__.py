"""Methods: a surrogate plus a proposer. See :mod:`n2ce_bbo.methods.base`."""

from n2ce_bbo.methods.base import Method, ParallelSpec, Proposal
from n2ce_bbo.methods.registry import get_method, list_methods, make_method, register_method
from n2ce_bbo.methods.selection import RowSet, select_tiered, select_top

__all__ = [
    "Method", "ParallelSpec", "Proposal", "RowSet", "select_tiered", "select_top", "get_method", "list_methods", "make_method", "register_method",
]
