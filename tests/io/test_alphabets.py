"""Alphabets: named and custom letters, encoding with errors that name line, column, position and letter."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.alphabets import Alphabet, infer_alphabet, parse_alphabet


def test_named_alphabets_are_case_insensitive_and_round_trip() -> None:
    dna = parse_alphabet("dna")
    assert dna.letters == "ACGT" and dna.name == "dna"
    assert parse_alphabet("ACGT") == dna and parse_alphabet("DNA") == dna
    x = dna.encode(["ACGT", "ggta", "TTTT"])
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [2, 2, 3, 0], [3, 3, 3, 3]])
    assert x.dtype == np.int64
    assert dna.decode(x) == ["ACGT", "GGTA", "TTTT"]
    assert parse_alphabet("protein").size == 20 and parse_alphabet("rna").letters == "ACGU"


def test_custom_alphabet_keeps_order_and_case() -> None:
    a = parse_alphabet("xyZ")
    assert a.name is None and a.case_sensitive
    np.testing.assert_array_equal(a.encode(["Zyx"]), [[2, 1, 0]])
    with pytest.raises(InvalidDataError, match="'z' at position 0"):
        a.encode(["zyx"])
    assert Alphabet.from_json(a.to_json()) == a


@pytest.mark.parametrize("spec, match", [("A", "at least two"), ("AAC", "repeats"), ("A,C", "separators")])
def test_bad_alphabets(spec: str, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        parse_alphabet(spec)


def test_letter_outside_alphabet_names_row_column_position_letter() -> None:
    dna = parse_alphabet("dna")
    with pytest.raises(InvalidDataError) as e:
        dna.encode(["ACGT", "ACXT"], column="seq", rows=["line 2", "line 3"], source="data.csv")
    msg = str(e.value)
    for part in ("data.csv", "line 3", "'seq'", "'X'", "position 2", "ACGT"):
        assert part in msg, (part, msg)


def test_unequal_lengths_name_the_odd_row() -> None:
    with pytest.raises(InvalidDataError, match=r"line 4, column 'seq': sequence 'ACG' has length 3.*length 4"):
        parse_alphabet("dna").encode(["ACGT", "AAAA", "ACG", "TTTT"], column="seq",
                                     rows=["line 2", "line 3", "line 4", "line 5"])


def test_infer_picks_the_smallest_named_alphabet() -> None:
    assert infer_alphabet(["ACGT", "acga"]).name == "dna"
    assert infer_alphabet(["ACGU"]).name == "rna"
    assert infer_alphabet(["MKWV"]).name == "protein"
    custom = infer_alphabet(["01", "10"])
    assert custom.letters == "01" and custom.name is None
    with pytest.raises(InvalidDataError, match="fewer than two"):
        infer_alphabet(["xxx"])
