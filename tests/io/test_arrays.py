"""load_array (n2ce_bbo/io/arrays.py): numeric .npy and delimited text, never pickles, errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io import load_array


def test_npy_and_text_files(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.int64).reshape(3, 2)
    np.save(tmp_path / "a.npy", a)
    got = load_array(tmp_path / "a.npy")
    assert got.dtype == np.int64 and got.tolist() == a.tolist()
    (tmp_path / "h.csv").write_text("x0,x1\n1,2\n3.5,4\n")
    assert load_array(tmp_path / "h.csv").tolist() == [[1.0, 2.0], [3.5, 4.0]]  # header skipped
    (tmp_path / "n.csv").write_text("1,2\n3,4\n")
    assert load_array(str(tmp_path / "n.csv")).shape == (2, 2)  # no header: every row kept
    (tmp_path / "t.tsv").write_text("1\t2\n")
    assert load_array(tmp_path / "t.tsv").tolist() == [[1.0, 2.0]]
    (tmp_path / "y.csv").write_text("y\n0.5\n0.25\n")
    assert load_array(tmp_path / "y.csv").shape == (2, 1)


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="--x file .*missing.csv' does not exist"):
        load_array(tmp_path / "missing.csv", what="--x")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidDataError, match="not a plain numeric .npy"):
        load_array(tmp_path / "obj.npy")
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    with pytest.raises(InvalidDataError, match="non-numeric value"):
        load_array(tmp_path / "bad.csv")
    (tmp_path / "a.json").write_text("[1]")
    with pytest.raises(InvalidDataError, match="use .npy or .csv"):
        load_array(tmp_path / "a.json")
