"""FASTA data through the Python run path (``n2ce_bbo.fit`` + ``model.propose``) with a mutation budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.workflow.data import load_data

from .conftest import TINY, dna_rows

pytestmark = pytest.mark.usefixtures("one_thread")


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def test_fasta_headers_fit_and_propose_within_a_mutation_budget(tmp_path: Path) -> None:
    seqs, ys = dna_rows(150)
    data = tmp_path / "library.fasta"
    data.write_text("".join(f">v{i} activity={y}\n{s}\n" for i, (s, y) in enumerate(zip(seqs, ys, strict=True))))
    model = n2ce_bbo.fit(str(data), target="activity", config=TINY, device="cpu")
    assert model.schema.columns == ("sequence",) and model.schema.target == "activity" and model.data.n == 150
    parents = [seqs[3], seqs[77]]
    result = model.propose(16, seed=1, parents=parents, max_mutations=2)
    designs = model.schema.alphabet.decode(result.x)  # type: ignore[union-attr]
    assert designs and all(min(_hamming(s, p) for p in parents) <= 2 for s in designs)
    assert result.constraints == ["at most 2 mutations (substitutions) from the nearest of 2 parents"]
    g = seqs[5]
    other = next(c for c in "ACGT" if c != g[5])  # the fixed position costs one of the two mutations
    one = model.propose(4, seed=2, constraints=model.constraints(parents=[g], max_mutations=2, fix=[f"5={other}"]))
    assert len(one.x) == 4 and all(_hamming(s, g) <= 2 and s[5] == other
                                   for s in model.schema.alphabet.decode(one.x))  # type: ignore[union-attr]
    with pytest.raises(InvalidDataError, match="needs the parents"):
        model.propose(4, max_mutations=1)


def test_fasta_values_table_through_load_data(tmp_path: Path) -> None:
    seqs, ys = dna_rows(30)
    data = tmp_path / "seqs.fa"
    data.write_text("".join(f">id{i} some description\n{s}\n" for i, s in enumerate(seqs)))
    (tmp_path / "scores.tsv").write_text("activity\tname\n" + "".join(f"{y}\tid{i}\n" for i, y in enumerate(ys)))
    source = load_data(data, "activity", values=tmp_path / "scores.tsv", id_column="name")
    assert source.data.n == 30 and source.name == "seqs"
    got = dict(zip(source.data.schema.alphabet.decode(source.data.x), source.data.y.tolist(), strict=True))  # type: ignore[union-attr]
    assert got == dict(zip(seqs, ys, strict=True))
    with pytest.raises(InvalidDataError, match="not a FASTA file"):
        load_data((np.zeros((3, 2)), [1.0, 2.0, 3.0]), values=tmp_path / "scores.tsv")
