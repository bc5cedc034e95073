"""Alphabets: named and custom letters, encoding with errors that name line, column, position and letter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.alphabets import Alphabet, infer_alphabet, parse_alphabet
from n2ce_bbo.io.dataset import read_training_table


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


def test_a_stray_letter_does_not_turn_dna_into_protein() -> None:
    # One N in DNA used to make the inferred alphabet protein, and the model proposed I, D, W, ...
    seqs = ["ACGTAC"] * 20 + ["ACGNAC"]
    with pytest.raises(InvalidDataError) as e:
        infer_alphabet(seqs)
    msg = str(e.value)
    for part in ("'N'", "row 21", "'ACGNAC'", "dna (ACGT)", "--alphabet protein", "--alphabet dna"):
        assert part in msg, (part, msg)
    # N counts with the nucleotides: DNA with many N is refused too, and so is RNA with a stray T
    with pytest.raises(InvalidDataError, match="'N'"):
        infer_alphabet(["ACGTAC"] * 3 + ["NNNNNN"])
    with pytest.raises(InvalidDataError, match=r"rna \(ACGU\).*'T'.*--alphabet ACGTU"):
        infer_alphabet(["ACGUAC"] * 20 + ["ACGTAC"])


def test_a_stray_letter_in_protein_is_refused_not_made_a_custom_alphabet() -> None:
    with pytest.raises(InvalidDataError, match=r"'X'.*row 31.*--alphabet ACKLMPVWX"):
        infer_alphabet(["MKWVLLPPAC"] * 30 + ["MKWVLLPPAX"])
    # real proteins use A, C, G, T often, yet read as protein; letters far from any named alphabet stay custom
    assert infer_alphabet(["MKTAYIAKQRQISFVKSHFSRQ", "GATTACAGATTACAGATTACAW"]).name == "protein"
    assert infer_alphabet(["xyzw", "wzyx"]).letters == "wxyz"


def test_stray_letters_in_a_table_name_their_lines(tmp_path: Path) -> None:
    rows = [f"ACGTAC,{i}\n" for i in range(30)]
    rows.insert(4, "ACGNAC,9\n")
    p = tmp_path / "data.csv"
    p.write_text("sequence,score\n" + "".join(rows) + "NCGTAC,3\n")
    with pytest.raises(InvalidDataError) as e:
        read_training_table(p, target="score", design_column="sequence")
    msg = str(e.value)
    for part in ("data.csv", "column 'sequence'", "'N' (2x)", "line 6 ('ACGNAC')", "line 33 ('NCGTAC')", "--alphabet"):
        assert part in msg, (part, msg)
    assert read_training_table(p, target="score", design_column="sequence", alphabet="protein").schema.alphabet \
        == parse_alphabet("protein")  # saying the alphabet reads it
