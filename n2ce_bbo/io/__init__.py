"""Reading user files: numeric arrays of designs and scores (:func:`load_array`)."""

from n2ce_bbo.io.arrays import load_array

__all__ = ["load_array"]
