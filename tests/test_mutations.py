"""The mutation budget (n2ce_bbo.mutations): at most K substitutions from the nearest parent; project() lands
within the budget, never moves a design further from its parent, keeps fixed positions, and is a pure function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.constraints import Constraints, build_constraints
from n2ce_bbo.errors import InvalidDataError, NoFeasibleDesignError
from n2ce_bbo.io.alphabets import parse_alphabet
from n2ce_bbo.io.schema import continuous_schema, sequence_schema, token_schema
from n2ce_bbo.mutations import MutationBudget, build_budget

DNA8 = sequence_schema(parse_alphabet("dna"), 8)


def _random(n: int, length: int, c: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, c, size=(n, length))


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_project_lands_within_budget_and_never_increases_the_distance(k: int) -> None:
    parents = _random(3, 12, seed=1)
    budget = MutationBudget(parents, k)
    x = _random(500, 12, seed=2)
    idx, before = budget.nearest(x)
    p = budget.project(x)
    assert p.dtype == x.dtype and p.shape == x.shape
    after = (p != parents[idx]).sum(axis=1)  # to the parent it was projected towards
    assert (after <= before).all() and (after == np.minimum(before, k)).all()
    assert budget.allowed(p).all() and (budget.nearest(p)[1] <= k).all()
    inside = before <= k
    np.testing.assert_array_equal(p[inside], x[inside])  # designs within the budget are left alone
    changed = p != x  # only reverts: every changed letter is the parent's
    assert (p[changed] == np.broadcast_to(parents[idx][:, :], x.shape)[changed]).all()
    np.testing.assert_array_equal(budget.project(x), p)  # pure
    np.testing.assert_array_equal(budget.project(x[::-1])[::-1], p)  # each row on its own


def test_kept_mutations_are_spread_along_the_sequence() -> None:
    parent = np.zeros((1, 40), dtype=np.int64)
    x = _random(400, 40, seed=3) | 1  # every position mutated
    p = MutationBudget(parent, 3).project(x)
    used = (p != 0).sum(axis=0)
    assert (p != 0).sum(axis=1).max() == 3
    assert (used > 0).sum() > 30  # not only the first positions


def test_allowed_uses_the_nearest_parent() -> None:
    b = MutationBudget(np.array([[0, 0, 0, 0], [1, 1, 1, 1]]), 1)
    assert b.allowed(np.array([[0, 0, 0, 1], [1, 1, 0, 1], [0, 0, 1, 1], [2, 2, 2, 2]])).tolist() == \
        [True, True, False, False]
    assert b.allowed(np.zeros((0, 4), dtype=np.int64)).shape == (0,)


def test_fixed_positions_are_kept_and_project_then_allowed_holds() -> None:
    parent = np.zeros((1, 8), dtype=np.int64)
    c = Constraints(fixed={7: 3}, mutations=MutationBudget(parent, 2))
    p = c.project(_random(300, 8, seed=4))
    assert (p[:, 7] == 3).all() and ((p != 0).sum(axis=1) <= 2).all() and c.allowed(p).all()
    assert c.describe(token_schema(8, 4))[-1].startswith("at most 2 mutations (substitutions) from the parent (0, 0")
    with pytest.raises(NoFeasibleDesignError, match="differ from every parent at more than 1"):
        Constraints(fixed={6: 1, 7: 3}, mutations=MutationBudget(parent, 1)).require_feasible(token_schema(8, 4))
    with pytest.raises(NoFeasibleDesignError, match="--max-mutations 0"):
        Constraints(excluded=parent, mutations=MutationBudget(parent, 0)).require_feasible(token_schema(8, 4))


def test_build_from_strings_and_files(tmp_path: Path) -> None:
    c = build_constraints(DNA8, parents=["ACGTACGT", "ggggcccc"], max_mutations=2)
    assert c.mutations is not None and c.mutations.parents.tolist()[1] == [2] * 4 + [1] * 4
    assert c.describe(DNA8) == ["at most 2 mutations (substitutions) from the nearest of 2 parents"]
    assert c.to_json()["mutations"]["max_mutations"] == 2
    (tmp_path / "parents.fa").write_text(">p1\nACGTACGT\n>p2\nTTTTACGT\n")
    (tmp_path / "parents.csv").write_text("sequence\nACGTACGT\nTTTTACGT\n")
    (tmp_path / "plain.txt").write_text("ACGTACGT\nTTTTACGT\n")
    for f in ("parents.fa", "parents.csv", "plain.txt"):
        b = build_budget(DNA8, parents_file=tmp_path / f, max_mutations=1)
        assert b is not None and b.parents.shape == (2, 8), f
    b = build_budget(DNA8, parents=["ACGTACGT"], parents_file=tmp_path / "parents.fa", max_mutations=1)
    assert b is not None and b.parents.shape == (3, 8)
    assert build_budget(DNA8) is None
    assert build_budget(token_schema(3, 5), parents=["0,4,2"], max_mutations=1).parents.tolist() == [[0, 4, 2]]  # type: ignore[union-attr]


@pytest.mark.parametrize("kwargs, match", [
    ({"max_mutations": 2}, "needs the parents"),
    ({"parents": ["ACGTACGT"]}, "add --max-mutations"),
    ({"parents": ["ACGTACG"], "max_mutations": 2}, "--parent 1 .*length 7; the designs have length 8"),
    ({"parents": ["ACGTACGT", "ACGTACNT"], "max_mutations": 2}, "--parent 2 .*'N' at position 6"),
    ({"parents": ["ACGTACGT"], "max_mutations": -1}, "0 or more"),
])
def test_bad_budgets_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        build_budget(DNA8, **kwargs)


def test_bad_parent_files_name_the_record(tmp_path: Path) -> None:
    (tmp_path / "p.fa").write_text(">p1\nACGTACGT\n>p2 short\nACGT\n")
    with pytest.raises(InvalidDataError, match=r"p\.fa, record p2 \(line 3\): the parent has length 4"):
        build_budget(DNA8, parents_file=tmp_path / "p.fa", max_mutations=1)
    (tmp_path / "wide.csv").write_text("a,b\nACGTACGT,1\n")
    with pytest.raises(InvalidDataError, match="one column"):
        build_budget(DNA8, parents_file=tmp_path / "wide.csv", max_mutations=1)
    with pytest.raises(InvalidDataError, match="sequence / token designs"):
        build_budget(continuous_schema(2), parents=["1,2"], max_mutations=1)
