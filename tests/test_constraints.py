"""Constraints: fixed positions, excluded designs and bounds; project() and allowed() agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.constraints import Constraints, build_constraints, parse_bounds, parse_fixed
from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.io.alphabets import parse_alphabet
from n2ce_bbo.io.schema import continuous_schema, sequence_schema

DNA4 = sequence_schema(parse_alphabet("dna"), 4)
CONT = continuous_schema(3, ["a", "b", "c"])


def test_parse_fixed() -> None:
    assert parse_fixed(["0=G", "3=a"], DNA4) == {0: 2, 3: 0}
    assert parse_fixed(["0=G,1=C"], DNA4) == {0: 2, 1: 1}
    for bad, match in [("4=G", "outside"), ("0=X", "not a letter"), ("G=0", "not a non-negative"), ("0", "POSITION=")]:
        with pytest.raises(InvalidDataError, match=match):
            parse_fixed([bad], DNA4)
    with pytest.raises(InvalidDataError, match="twice"):
        parse_fixed(["0=G", "0=C"], DNA4)
    with pytest.raises(InvalidDataError, match="sequence designs"):
        parse_fixed(["0=1"], CONT)


def test_parse_bounds() -> None:
    np.testing.assert_array_equal(parse_bounds(["0,,1"], CONT, "lower"), [0, -np.inf, 1])
    np.testing.assert_array_equal(parse_bounds(["b=2", "c=3"], CONT, "upper"), [np.inf, 2, 3])
    for spec, match in [(["0,1"], "2 values for 3"), (["d=1"], "no feature named 'd'"), (["x,,"], "not a number")]:
        with pytest.raises(InvalidDataError, match=match):
            parse_bounds(spec, CONT, "lower")
    with pytest.raises(InvalidDataError, match="continuous"):
        parse_bounds(["1"], DNA4, "lower")


def test_project_then_allowed_holds_for_tokens() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(200, 4))
    c = Constraints(fixed={0: 2, 2: 1}, excluded=np.array([[2, 0, 1, 0]]))
    p = c.project(x)
    assert (p[:, 0] == 2).all() and (p[:, 2] == 1).all() and p.dtype == x.dtype
    ok = c.allowed(p)
    assert not ok[(p == [2, 0, 1, 0]).all(axis=1)].any()
    assert ok[~(p == [2, 0, 1, 0]).all(axis=1)].all()
    assert not c.allowed(x[x[:, 0] != 2]).any()


def test_project_then_allowed_holds_for_bounds() -> None:
    x = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    c = Constraints(lower=np.array([0.0, -np.inf, -0.5]), upper=np.array([np.inf, 0.1, 0.5]))
    p = c.project(x)
    assert p.dtype == np.float32 and c.allowed(p).all()
    assert not c.allowed(x).all()


def test_build_constraints_from_files(tmp_path: Path) -> None:
    (tmp_path / "tested.csv").write_text("sequence,score\nGCGT,1\nGGGG,2\n")
    c = build_constraints(DNA4, fix=["0=G"], exclude=tmp_path / "tested.csv")
    np.testing.assert_array_equal(c.excluded, [[2, 1, 2, 3], [2, 2, 2, 2]])
    assert c.describe(DNA4) == ["fixed positions 0=G", "2 excluded designs"]
    (tmp_path / "bounds.csv").write_text("feature,lower,upper\na,0,1\nc,,2\n")
    c = build_constraints(CONT, bounds_file=tmp_path / "bounds.csv", upper=["b=5"])
    np.testing.assert_array_equal(c.lower, [0, -np.inf, -np.inf])
    np.testing.assert_array_equal(c.upper, [1, 5, 2])
    assert c.to_json()["upper"] == [1.0, 5.0, 2.0]
    with pytest.raises(InvalidDataError, match="exceeds"):
        build_constraints(CONT, lower=["2,,"], upper=["1,,"])
    (tmp_path / "short.csv").write_text("sequence\nGCG\nGGG\n")
    with pytest.raises(InvalidDataError, match="length 3, but these designs have length 4"):
        build_constraints(DNA4, exclude=tmp_path / "short.csv")


def test_exclude_and_budget_from_fasta_files(tmp_path: Path) -> None:
    (tmp_path / "tested.fa").write_text(">t1\nACGT\n>t2\nGGGG\n")
    c = build_constraints(DNA4, exclude=tmp_path / "tested.fa", parents=["ACGT"], max_mutations=1)
    assert c.excluded is not None and c.excluded.tolist() == [[0, 1, 2, 3], [2, 2, 2, 2]]
    assert c.allowed(np.array([[0, 1, 2, 3], [0, 1, 2, 2], [0, 0, 0, 3]])).tolist() == [False, True, False]
    assert c.describe(DNA4) == ["2 excluded designs", "at most 1 mutation (substitutions) from the parent ACGT"]
