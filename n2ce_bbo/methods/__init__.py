"""Methods: a surrogate plus a proposer. See :mod:`n2ce_bbo.methods.base`."""

from n2ce_bbo.methods.base import Method, ParallelSpec, Proposal, select_top
from n2ce_bbo.methods.registry import get_method, list_methods, make_method, register_method

__all__ = [
    "Method", "ParallelSpec", "Proposal", "select_top", "get_method", "list_methods", "make_method", "register_method",
]
