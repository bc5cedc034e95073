"""Reading and writing a user's data: tables (CSV, TSV, Parquet), FASTA files, numeric arrays, sequence
alphabets, design schemas."""

from n2ce_bbo.io.alphabets import NAMED_ALPHABETS, Alphabet, infer_alphabet, parse_alphabet
from n2ce_bbo.io.dataset import (
    DesignData,
    from_arrays,
    merge_duplicates,
    read_designs,
    read_training_table,
    read_xy_files,
)
from n2ce_bbo.io.fasta import is_fasta, read_fasta
from n2ce_bbo.io.schema import DesignSchema
from n2ce_bbo.io.tables import Table, read_table

__all__ = [
    "NAMED_ALPHABETS", "Alphabet", "infer_alphabet", "parse_alphabet", "DesignData", "from_arrays",
    "merge_duplicates", "read_designs", "read_training_table", "read_xy_files", "is_fasta", "read_fasta",
    "DesignSchema", "Table", "read_table",
]
