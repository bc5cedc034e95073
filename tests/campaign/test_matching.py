"""Measured rows -> proposals: exact for sequences, within a tolerance for continuous designs; extras, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.campaign.matching import match_rows, read_measured
from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.alphabets import named_alphabet
from n2ce_bbo.io.schema import continuous_schema, sequence_schema

DNA = sequence_schema(named_alphabet("dna"), 4, "sequence", "activity")
BOX = continuous_schema(2, ["a", "b"], "hardness")


def _dna(*seqs: str) -> np.ndarray:
    return DNA.alphabet.encode(list(seqs))  # type: ignore[union-attr]


def test_sequences_match_exactly_and_the_rest_are_extra(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("note,activity,sequence\nx,1.5,ACGT\ny,2.0,TTTT\nz,0.5,gggg\n")
    rows = read_measured(f, DNA)
    assert rows.labels == ["line 2", "line 3", "line 4"] and rows.y.tolist() == [1.5, 2.0, 0.5]
    m = match_rows(rows, DNA, pending_x=_dna("GGGG", "ACGT", "CCCC"), pending_round=np.array([1, 1, 2]),
                   pending_rank=np.array([1, 2, 1]), measured_x=_dna("AAAA"), measured_where=["in the initial data"])
    assert m.round.tolist() == [1, -1, 1] and m.rank.tolist() == [2, -1, 1] and m.extra.tolist() == [False, True, False]


def test_refusals_list_every_row_and_the_policy() -> None:
    rows = read_measured([{"sequence": "AAAA", "activity": 1}, {"sequence": "ACGT", "activity": 2},
                          {"sequence": "ACGT", "activity": 3}], DNA)
    with pytest.raises(InvalidDataError) as err:
        match_rows(rows, DNA, pending_x=_dna("ACGT"), pending_round=np.array([1]), pending_rank=np.array([1]),
                   measured_x=_dna("AAAA"), measured_where=["in the initial data"])
    text = str(err.value)
    assert text.startswith("rows: 2 rows refused, nothing was added: row 1: AAAA was already measured (in the "
                           "initial data); row 3: ACGT repeats row 2.")
    assert "one measurement per design" in text


def test_continuous_designs_match_within_the_tolerance() -> None:
    pending = np.array([[0.25, 600.0], [0.5, 700.0]], dtype=np.float32)
    scale = np.array([1.0, 500.0])
    rows = read_measured([{"a": "0.2503", "b": "600.2", "hardness": "10"},   # within 1e-3 of each range
                          {"a": "0.5", "b": "702", "hardness": "11"},        # 2 / 500 = 4e-3 away: extra
                          {"a": "0.499", "b": "700", "hardness": "12"}], BOX)
    m = match_rows(rows, BOX, pending_x=pending, pending_round=np.array([3, 3]), pending_rank=np.array([1, 2]),
                   measured_x=np.zeros((0, 2), np.float32), measured_where=[], scale=scale, tolerance=1e-3)
    assert m.round.tolist() == [3, -1, 3] and m.rank.tolist() == [1, -1, 2]
    two = read_measured([{"a": "0.2501", "b": "600", "hardness": "1"}, {"a": "0.2499", "b": "600", "hardness": "2"}],
                        BOX)
    with pytest.raises(InvalidDataError, match="repeats row 1"):  # two rows within the tolerance of each other
        match_rows(two, BOX, pending_x=pending, pending_round=np.array([3, 3]), pending_rank=np.array([1, 2]),
                   measured_x=np.zeros((0, 2), np.float32), measured_where=[], scale=scale, tolerance=1e-3)
    apart = read_measured([{"a": "0.2509", "b": "600", "hardness": "1"}, {"a": "0.2491", "b": "600", "hardness": "2"}],
                          BOX)
    with pytest.raises(InvalidDataError, match="row 2 and row 1 both match"):
        match_rows(apart, BOX, pending_x=pending, pending_round=np.array([3, 3]), pending_rank=np.array([1, 2]),
                   measured_x=np.zeros((0, 2), np.float32), measured_where=[], scale=scale, tolerance=1e-3)


def test_unreadable_rows_name_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("a,b,hardness\n0.1,2,3\n0.2,,4\n")
    with pytest.raises(InvalidDataError, match=r"m\.csv, line 3, design column 'b': the cell is empty"):
        read_measured(f, BOX)
    with pytest.raises(InvalidDataError, match=r"no target column named 'activity'"):
        read_measured([{"sequence": "ACGT", "score": 1}], DNA)
