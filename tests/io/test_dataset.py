"""Training data from a user's table, a pair of files, or arrays; every bad input names line and column."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import DataWarning, InvalidDataError
from n2ce_bbo.io.dataset import from_arrays, merge_duplicates, read_designs, read_training_table, read_xy_files
from n2ce_bbo.io.schema import DesignSchema


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_sequence_table(tmp_path: Path) -> None:
    d = read_training_table(_csv(tmp_path, "sequence,score\nACGT,1\nAGGT,2.5\nTTTT,0\n"), target="score",
                            design_column="sequence", alphabet="dna")
    assert d.x.shape == (3, 4) and d.x.dtype == np.int64
    np.testing.assert_allclose(d.y, [1, 2.5, 0])
    assert d.schema.kind == "sequence" and d.schema.columns == ("sequence",) and d.schema.target == "score"
    assert d.schema.design_cells(d.x[:1]) == [["ACGT"]]
    assert DesignSchema.from_json(d.schema.to_json()) == d.schema


def test_property_table_keeps_feature_names(tmp_path: Path) -> None:
    d = read_training_table(_csv(tmp_path, "cu,fe,zn,tc\n0.1,0.2,0.7,10\n0.3,0.3,0.4,20\n"), target="tc")
    assert d.schema.columns == ("cu", "fe", "zn") and d.x.dtype == np.float32
    d = read_training_table(_csv(tmp_path, "cu,fe,zn,tc\n0.1,0.2,0.7,10\n0.3,0.3,0.4,20\n"), target="tc",
                            features=["zn", "cu"])
    assert d.schema.columns == ("zn", "cu")
    np.testing.assert_allclose(d.x[:, 0], [0.7, 0.4])


def test_headerless_table_by_index(tmp_path: Path) -> None:
    d = read_training_table(_csv(tmp_path, "ACGT,1\nAGGT,2\n"), target=1, design_column=0)
    assert d.n == 2 and d.schema.columns == ("sequence",) and d.schema.positions == (0,)


@pytest.mark.parametrize("text, kwargs, parts", [
    ("sequence,score\nACGT,1\nAXGT,2\n", {"alphabet": "dna"}, ["line 3", "'sequence'", "'X'", "position 1"]),
    ("sequence,score\nACGT,1\nACGTA,2\nAAAA,3\n", {}, ["'sequence'", "2 lengths: 4 (2 rows), 5 (1, first at line 3)",
                                                     "--length 4"]),
    ("seq,score\nACGT,1\nAGGT,2\n", {}, ["no design column named 'sequence'", "['seq', 'score']"]),
    ("sequence,activity\nACGT,1\nAGGT,2\n", {}, ["no target column named 'score'", "'activity'"]),
    ("sequence,score\n", {}, ["header line", "no data rows"]),
    ("sequence,score\nACGT,1\nAGGT,nan\nCCCC,\n", {}, ["NaN", "2 rows", "line 3", "line 4"]),
    ("sequence,score\nACGT,1\nAGGT,high\n", {}, ["line 3", "'score'", "'high' is not a number"]),
    ("sequence,score\nACGT,1\n", {}, ["at least 2"]),
])
def test_bad_tables_name_the_problem(tmp_path: Path, text: str, kwargs: dict, parts: list[str]) -> None:
    with pytest.raises(InvalidDataError) as e:
        read_training_table(_csv(tmp_path, text), target="score", design_column="sequence", **kwargs)
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


def test_text_feature_column_suggests_design_column(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="--design-column seq"):
        read_training_table(_csv(tmp_path, "seq,score\nACGT,1\nAGGT,2\n"), target="score")


def test_headerless_sequence_file_with_a_header_suggests_header(tmp_path: Path) -> None:
    x = _csv(tmp_path, "sequence\nACGT\nAGGT\n", "x.csv")
    y = _csv(tmp_path, "1\n2\n", "y.csv")
    with pytest.raises(InvalidDataError, match="--header"):
        read_xy_files(x, y, alphabet="dna")
    d = read_xy_files(x, y, alphabet="dna", header=True)
    assert d.schema.columns == ("sequence",) and d.n == 2


def test_xy_files_keep_names_and_read_strings(tmp_path: Path) -> None:
    d = read_xy_files(_csv(tmp_path, "x1,x2\n1,2\n3,4\n", "x.csv"), _csv(tmp_path, "y\n5\n6\n", "y.csv"))
    assert d.schema.columns == ("x1", "x2")
    d = read_xy_files(_csv(tmp_path, "AGGT\nACGT\nTTTT\n", "s.csv"), _csv(tmp_path, "1\n2\n3\n", "ys.csv"))
    assert d.schema.kind == "sequence" and d.n == 3  # the first sequence is data, not a header
    np.save(tmp_path / "x.npy", np.array([[0, 1], [1, 1]]))
    np.save(tmp_path / "y.npy", np.array([1.0, 2.0]))
    d = read_xy_files(tmp_path / "x.npy", tmp_path / "y.npy", num_classes=2)
    assert d.schema.kind == "tokens" and d.x.dtype == np.int64
    with pytest.raises(InvalidDataError, match="3 designs but .* 2 scores"):
        read_xy_files(_csv(tmp_path, "1\n2\n3\n", "x3.csv"), tmp_path / "y.npy")


def test_arrays_of_strings_and_numbers() -> None:
    d = from_arrays(["ACGT", "AGGT"], [1.0, 2.0])
    assert d.schema.kind == "sequence" and d.schema.alphabet.name == "dna"
    d = from_arrays(np.zeros((3, 2)) + np.arange(3)[:, None], [1, 2, 3], feature_names=["a", "b"])
    assert d.schema.columns == ("a", "b")
    with pytest.raises(InvalidDataError, match="NaN"):
        from_arrays(np.zeros((2, 2)), [1.0, float("nan")])


def test_duplicates_are_averaged_with_a_warning(tmp_path: Path) -> None:
    d = read_training_table(_csv(tmp_path, "sequence,score\nACGT,1\nAGGT,2\nACGT,3\n"), target="score",
                            design_column="sequence")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = merge_duplicates(d)
    assert m.n == 2 and m.n_read == 3
    np.testing.assert_allclose(m.y, [2.0, 2.0])
    assert any(issubclass(w.category, DataWarning) and "mean" in str(w.message) for w in caught)
    assert "line 2" in m.notes[0] and "line 4" in m.notes[0]
    same = from_arrays(["ACGT", "ACGT", "TTTT"], [1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert merge_duplicates(same).n == 2  # equal scores: merged without a warning


def test_read_designs_matches_columns_by_name(tmp_path: Path) -> None:
    d = read_training_table(_csv(tmp_path, "id,sequence,score\n1,ACGT,1\n2,AGGT,2\n"), target="score",
                            design_column="sequence", alphabet="dna")
    x, table = read_designs(_csv(tmp_path, "sequence,note\nTTTT,a\nGGGG,b\n", "new.csv"), d.schema)
    np.testing.assert_array_equal(x, [[3, 3, 3, 3], [2, 2, 2, 2]])
    assert table.header == ["sequence", "note"]
    x, _ = read_designs(_csv(tmp_path, "TTTT\nGGGG\n", "bare.csv"), d.schema)
    assert x.shape == (2, 4)
    with pytest.raises(InvalidDataError, match="length 5, but these designs have length 4"):
        read_designs(_csv(tmp_path, "sequence\nTTTTA\nGGGGA\n", "long.csv"), d.schema)


def test_the_readme_example_tables_read_as_the_tour_says() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    d = read_training_table(examples / "dna_activity.csv", target="activity", design_column="sequence", alphabet="dna")
    assert d.n == 300 and d.x.shape == (300, 10) and d.schema.target == "activity"
    a = read_training_table(examples / "alloys.csv", target="hardness")
    assert a.n == 200 and a.schema.columns == ("cu", "ni", "al", "ti", "anneal_c")


def test_every_reader_refuses_several_lengths_alike_and_length_keeps_one(tmp_path: Path) -> None:
    """Tables, --x/--y files and arrays share the one-length rule (n2ce_bbo.io.lengths), as FASTA files do."""
    seqs = ["ACGT", "AGGT", "ACGTA", "TTTT", "AC"]
    ys = [1.0, 2.0, 3.0, 4.0, 5.0]
    table = _csv(tmp_path, "sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True)))
    xfile = _csv(tmp_path, "sequence\n" + "".join(f"{s}\n" for s in seqs), "x.csv")
    yfile = _csv(tmp_path, "y\n" + "".join(f"{y}\n" for y in ys), "y.csv")
    readers = [
        lambda **kw: read_training_table(table, target="score", design_column="sequence", **kw),
        lambda **kw: read_xy_files(xfile, yfile, header=True, **kw),
        lambda **kw: from_arrays(seqs, ys, **kw),
    ]
    for read in readers:
        with pytest.raises(InvalidDataError, match=r"3 lengths: 4 \(3 rows\), 2 \(1, first at (line 6|row 5)\), "
                                                   r"5 \(1, first at (line 4|row 3)\).*--length 4"):
            read()
        with pytest.warns(DataWarning, match="kept 3 of 5 rows"):
            d = read(length=4)
        assert d.x.shape == (3, 4) and d.notes and "dropped 2" in d.notes[-1]
        np.testing.assert_allclose(d.y, [1, 2, 4])
        assert d.schema.design_cells(d.x) == [["ACGT"], ["AGGT"], ["TTTT"]]
        with pytest.raises(InvalidDataError, match="no sequence has length 3"):
            read(length=3)
    with pytest.raises(InvalidDataError, match="--length .* needs --design-column"):
        read_training_table(_csv(tmp_path, "a,b,y\n1,2,3\n2,3,4\n", "num.csv"), target="y", length=4)
