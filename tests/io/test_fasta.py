"""FASTA training data (n2ce_bbo.io.fasta): scores in the headers or in a values table; bad input names the record."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import DataNotFoundError, DataWarning, InvalidDataError
from n2ce_bbo.io.fasta import is_fasta, read_fasta, read_fasta_records

SEQS = ["ACGTAC", "GGGTAC", "TTTTAA", "CAGTCA"]


def _fasta(tmp_path: Path, text: str, name: str = "seqs.fasta") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _header_fasta(tmp_path: Path, name: str = "seqs.fasta") -> Path:
    # the second record's sequence spans two lines; a free word ("kept") and ';' separate pairs
    return _fasta(tmp_path, ">v1 activity=1.25 expression=0.4\nACGTAC\n>v2 kept activity=2;expression=1\nGGG\nTAC\n"
                            ">v3 activity=-0.5\nTTTTAA\n>v4 activity=3e-1\nCAGTCA\n", name)


def test_suffixes() -> None:
    for name in ("a.fasta", "a.FA", "b.faa", "c.fna", "d.fas", "e.fa.gz", "x.y.fasta"):
        assert is_fasta(name), name
    for name in ("a.csv", "a.gz", "fasta", "a.fasta.txt"):
        assert not is_fasta(name), name


def test_scores_from_headers(tmp_path: Path) -> None:
    d = read_fasta(_header_fasta(tmp_path), target="activity")
    assert d.x.shape == (4, 6) and d.x.dtype == np.int64
    np.testing.assert_allclose(d.y, [1.25, 2.0, -0.5, 0.3])
    assert d.schema.kind == "sequence" and d.schema.columns == ("sequence",) and d.schema.target == "activity"
    assert d.schema.alphabet.name == "dna" and d.schema.design_cells(d.x[:2]) == [["ACGTAC"], ["GGGTAC"]]
    assert d.labels == ["record v1 (line 1)", "record v2 (line 3)", "record v3 (line 6)", "record v4 (line 8)"]
    with pytest.raises(InvalidDataError, match=r"record v3 \(line 6\).*no value named 'expression'"):
        read_fasta(_header_fasta(tmp_path), target="expression")  # two records lack it


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    plain = _header_fasta(tmp_path)
    gz = tmp_path / "seqs.fa.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_fasta(plain, target="activity"), read_fasta(gz, target="activity")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_allclose(a.y, b.y)


def test_scores_from_a_values_table(tmp_path: Path) -> None:
    fa = _fasta(tmp_path, "".join(f">v{i}\n{s}\n" for i, s in enumerate(SEQS)))
    (tmp_path / "scores.csv").write_text("name,activity,id\nx,1,v2\ny,2,v0\nz,3,v1\nw,4,v3\nu,5,v9\n")
    d = read_fasta(fa, target="activity", values=tmp_path / "scores.csv", id_column="id")
    np.testing.assert_allclose(d.y, [2, 3, 1, 4])
    assert d.notes == ["1 row of scores.csv names no record of seqs.fasta; ignored."]
    (tmp_path / "first.tsv").write_text("id\tactivity\nv0\t1\nv1\t2\nv2\t3\nv3\t4\n")
    np.testing.assert_allclose(read_fasta(fa, target="activity", values=tmp_path / "first.tsv").y, [1, 2, 3, 4])


@pytest.mark.parametrize("text, parts", [
    (">v1 activity=1\nACGT\n>v2 expression=2\nACGA\n", ["record v2 (line 3)", "no value named 'activity'",
                                                        "expression", "--values"]),
    (">v1 activity=1\nACGT\n>v2 activity=high\nACGA\n", ["record v2 (line 3)", "'high' is not a number"]),
    (">v1 activity=1\nACGT\n>v2 activity=nan\nACGA\n>v3 activity=inf\nACGG\n",
     ["record v2 (line 3)", "NaN", "record v3 (line 5)"]),
    (">v1 activity=1\nACGT\n>v2 activity=2\nACGA\n>v1 activity=3\nACGG\n",
     ["record v1 (line 5)", "'v1' repeats that of line 1", "unique"]),
    (">v1 potency=1\nACGT\n>v2 potency=2\nACGA\n", ["no record's header has a value named 'activity'",
                                                    "potency"]),
    ("", ["seqs.fasta is empty", "no FASTA records"]),
    ("\n\n", ["seqs.fasta is empty"]),
    ("ACGT\nACGA\n", ["line 1", "before any FASTA header"]),
    (">v1 activity=1\nACGT\n>v2 activity=2\n\n>v3 activity=2\nACGA\n", ["record v2 (line 3)", "empty"]),
    (">v1 activity=1\nACGT\n>v2 activity=2\nAXGT\n>v3 activity=2\nACGA\n", ["record v2 (line 3)", "'X'"]),
    (">v1 activity=1\nACGT\n", ["1 record", "at least 2"]),
])
def test_bad_fasta_names_the_record(tmp_path: Path, text: str, parts: list[str]) -> None:
    with pytest.raises(InvalidDataError) as e:
        read_fasta(_fasta(tmp_path, text), target="activity", alphabet="dna" if "AXGT" in text else None)
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


@pytest.mark.parametrize("table, parts", [
    ("id,activity\nv0,1\nv1,2\nv2,3\n", ["record v3 (line 7)", "'v3' is not in column 'id' of scores.csv"]),
    ("id,activity\nv0,1\nv1,\nv2,3\nv3,4\n", ["record v1 (line 3)", "scores.csv, line 3", "empty"]),
    ("id,activity\nv0,1\nv1,nan\nv2,3\nv3,4\n", ["record v1 (line 3)", "'nan'"]),
    ("id,activity\nv0,1\nv1,2\nv0,3\nv3,4\n", ["scores.csv, line 4", "'v0' repeats that of line 2"]),
    ("id,score\nv0,1\nv1,2\n", ["no target column named 'activity'"]),
])
def test_bad_values_tables_name_the_record_or_line(tmp_path: Path, table: str, parts: list[str]) -> None:
    fa = _fasta(tmp_path, "".join(f">v{i}\n{s}\n" for i, s in enumerate(SEQS)))
    (tmp_path / "scores.csv").write_text(table)
    with pytest.raises(InvalidDataError) as e:
        read_fasta(fa, target="activity", values=tmp_path / "scores.csv", id_column="id")
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


def test_missing_files_and_misused_options(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        read_fasta(tmp_path / "none.fa", target="activity")
    with pytest.raises(InvalidDataError, match="--id-column"):
        read_fasta(_header_fasta(tmp_path), target="activity", id_column="id")
    with pytest.raises(InvalidDataError, match="is a name"):
        read_fasta(_header_fasta(tmp_path), target=1)  # type: ignore[arg-type]


def test_lengths_refused_then_one_kept(tmp_path: Path) -> None:
    text = "".join(f">r{i} activity={i}\n{'ACGTAC' if i % 4 else 'ACGTACG'}\n" for i in range(12)) + ">s activity=1\nACG\n"
    fa = _fasta(tmp_path, text)
    with pytest.raises(InvalidDataError) as e:
        read_fasta(fa, target="activity")
    msg = str(e.value)
    assert "3 lengths: 6 (9 records), 7 (3, first at record r0 (line 1)), 3 (1, first at record s (line 25))" in msg
    assert "--length 6" in msg
    with pytest.warns(DataWarning, match="kept 9 of 13 records"):
        d = read_fasta(fa, target="activity", length=6)
    assert d.x.shape == (9, 6) and d.n_read == 13 and "dropped 4" in d.notes[0]
    assert all(lab.startswith("record r") for lab in d.labels)
    np.testing.assert_allclose(d.y, [i for i in range(12) if i % 4])
    with pytest.raises(InvalidDataError, match="no sequence has length 5"):
        read_fasta(fa, target="activity", length=5)


def test_records_keep_ids_descriptions_and_lines(tmp_path: Path) -> None:
    recs = read_fasta_records(_header_fasta(tmp_path))
    assert [r.id for r in recs] == ["v1", "v2", "v3", "v4"] and [r.line for r in recs] == [1, 3, 6, 8]
    assert recs[1].sequence == "GGGTAC" and recs[1].header_values() == {"activity": "2", "expression": "1"}
