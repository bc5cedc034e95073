"""Reading tables: header detection never eats data; errors name the file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from n2ce_bbo.errors import DataNotFoundError, InvalidDataError
from n2ce_bbo.io import tables
from n2ce_bbo.io.dataset import read_training_table
from n2ce_bbo.io.tables import detect_header, read_table


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_numeric_header_is_detected_and_names_kept(tmp_path: Path) -> None:
    t = read_table(_write(tmp_path, "x1,x2,y\n1,2,3\n4,5,6\n"))
    assert t.header == ["x1", "x2", "y"] and t.rows == [["1", "2", "3"], ["4", "5", "6"]]
    assert t.labels == ["line 2", "line 3"]


def test_a_file_of_sequences_keeps_its_first_line(tmp_path: Path) -> None:
    # The first sequence used to be swallowed as a header.
    t = read_table(_write(tmp_path, "ACGT\nAGGT\nTTGA\n"))
    assert t.header is None and t.n_rows == 3 and t.rows[0] == ["ACGT"]
    t = read_table(_write(tmp_path, "ACGT,1.0\nAGGT,2.0\n"))
    assert t.header is None and t.n_rows == 2


def test_requested_names_identify_a_text_header(tmp_path: Path) -> None:
    p = _write(tmp_path, "sequence,label\nACGT,good\nAGGT,bad\n")
    assert read_table(p).header is None  # nothing numeric and no names asked: data
    assert read_table(p, names=["sequence"]).header == ["sequence", "label"]


def test_explicit_header_flags_win(tmp_path: Path) -> None:
    p = _write(tmp_path, "1,2\n3,4\n")
    assert read_table(p, header=True).header == ["1", "2"]
    assert read_table(_write(tmp_path, "x,y\n1,2\n", "h.csv"), header=False).n_rows == 2


def test_detect_header_rule() -> None:
    assert detect_header(["a", "b"], [["1", "2"]])
    assert not detect_header(["1", "2"], [["3", "4"]])
    assert not detect_header(["ACGT", "1"], [["AGGT", "2"]])
    assert detect_header(["seq", "score"], [["ACGT", "2"]])
    assert not detect_header(["ACGT", "x"], [["AGGT", "y"]])


def test_bad_tables(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InvalidDataError, match="empty"):
        read_table(_write(tmp_path, "\n\n"))
    with pytest.raises(InvalidDataError, match="header line .* but no data rows"):
        read_table(_write(tmp_path, "sequence,score\n"), names=["score"])
    with pytest.raises(InvalidDataError, match="line 3: 3 fields, but line 1 has 2"):
        read_table(_write(tmp_path, "a,b\n1,2\n1,2,3\n"))
    with pytest.raises(InvalidDataError, match="unsupported file type"):
        read_table(_write(tmp_path, "a", "t.xlsx"))
    with pytest.raises(InvalidDataError, match="more than once"):
        read_table(_write(tmp_path, "a,a\n1,2\n"))


def test_numbers_name_line_and_column(tmp_path: Path) -> None:
    t = read_table(_write(tmp_path, "x,y\n1,2\n3,oops\n"))
    with pytest.raises(InvalidDataError, match=r"line 3, target column 'y': 'oops' is not a number"):
        t.numbers(1, "target column")
    t = read_table(_write(tmp_path, "x,y\n1,2\n3,\n"))
    assert t.numbers(1, allow_missing=True)[1] != t.numbers(1, allow_missing=True)[1]  # NaN


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidDataError, match="pyarrow"):
            read_table(_write(tmp_path, "x", "t.parquet"))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sequence": ["ACGT", "AGGT"], "score": [1.0, 2.5]}), tmp_path / "t.parquet")
    t = read_table(tmp_path / "t.parquet")
    assert t.header == ["sequence", "score"] and t.rows[1] == ["AGGT", "2.5"]


def test_a_semicolon_table_with_a_header_reads_with_no_options(tmp_path: Path) -> None:
    # A European spreadsheet export used to read as one column and fail with "no header line, pass --header".
    p = _write(tmp_path, "sequence;score\nACGT;1\nAGGT;2.5\nTTTT;0\n")
    t = read_table(p, names=["score"])
    assert t.header == ["sequence", "score"] and t.rows[1] == ["AGGT", "2.5"]
    assert t.sep == ";"
    d = read_training_table(p, target="score", design_column="sequence")
    assert d.n == 3 and d.schema.alphabet is not None and d.schema.alphabet.name == "dna"


@pytest.mark.parametrize("text, sep", [
    ("a,b\n1,2\n", ","), ("a\tb\n1\t2\n", "\t"), ("a|b|c\n1|x, y|3\n", "|"),
    ("seq;y\nACGT;1,5\nAGGT;2,5\n", ";"),   # decimal commas: a tie on the data lines goes to ';'
    ('name,note,y\nx,"a;b",1\nz,"c;d",2\n', ","),  # quoted semicolons do not split
    ("ACGT\nAGGT\n", ","),                  # one column: the suffix's default
])
def test_delimiter_detection(tmp_path: Path, text: str, sep: str) -> None:
    assert tables.detect_delimiter(text.splitlines()) == sep
    assert read_table(_write(tmp_path, text)).sep == sep


def test_sep_option_says_the_delimiter(tmp_path: Path) -> None:
    p = _write(tmp_path, "a;b\n1;2\n3;4\n")
    assert read_table(p, sep=";").width == 2 and read_table(p, sep="semicolon").width == 2
    assert read_table(p, sep=",").width == 1  # said outright: not detected
    assert read_table(_write(tmp_path, "a\tb\n1\t2\n", "t.txt"), sep="tab").header == ["a", "b"]
    assert read_table(_write(tmp_path, "a|b\n1|2\n", "p.tsv"), sep="|").width == 2
    for bad in ("ab", "x", '"'):
        with pytest.raises(InvalidDataError, match="--sep"):
            read_table(p, sep=bad)


def test_column_errors_name_the_delimiter(tmp_path: Path) -> None:
    note = "(read with delimiter ';'; pass --sep to change it)"
    t = read_table(_write(tmp_path, "sequence;activity\nACGT;1\nAGGT;2\n"))
    with pytest.raises(InvalidDataError, match=r"no target column named 'score'.*" + re.escape(note)):
        t.column_index("score", "target column")
    with pytest.raises(InvalidDataError, match=r"line 3: 3 fields, but line 1 has 2 " + re.escape(note)):
        read_table(_write(tmp_path, "a;b\n1;2\n1;2;3\n4;5\n"), sep=";")
    p = _write(tmp_path, "sequence;score\nACGT;1\nAGGT;2\n", "s.csv")
    with pytest.raises(InvalidDataError, match=r"no header line .*read with delimiter ','; pass --sep"):
        read_training_table(p, target="score", design_column="sequence", sep=",")
    with pytest.raises(InvalidDataError, match=r"column 5 does not exist.*delimiter tab"):
        read_table(_write(tmp_path, "1\t2\n3\t4\n", "n.tsv")).column_index(5)
