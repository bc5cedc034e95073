"""Outcome constraints: a second measured column fitted alongside and kept on the right side of a limit."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
from n2ce_bbo.cli import main
from n2ce_bbo.constraints import Constraints
from n2ce_bbo.errors import CorruptDataError, DataWarning, InvalidDataError
from n2ce_bbo.workflow.data import load_data
from n2ce_bbo.workflow.model import FittedModel
from n2ce_bbo.workflow.outcomes import (
    MIN_OUTCOME_ROWS,
    OutcomeSettings,
    fit_outcome_regressor,
    outcome_spec,
    parse_outcome,
    probability_satisfied,
)

from .conftest import as_overrides

pytestmark = pytest.mark.usefixtures("one_thread")

#: Small outcome models: 3 members of two 64-unit layers, 200 steps each (under a second on one thread).
SMALL_OUTCOME = {"n_members": 3, "min_steps": 200, "regressor": {"hidden_sizes": [64, 64], "batch_size": 64}}
#: A main surrogate that learns the G/C preference of the synthetic activity (~4 s on one thread).
MAIN = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 32}, "prior": {"K": 2, "M": 10},
        "train": {"max_steps": 300, "batch_size": 64}, "rehearsal": {"enabled": False},
        "propose": {"n_chains": 128, "sampler": {"n_steps": 10}, "chain_chunk": 128}}


def activity(s: str) -> float:
    """The synthetic activity: G counts most, C half as much."""
    return s.count("G") + 0.5 * s.count("C")


def true_expression(s: str) -> float:
    """The synthetic expression, falling with the G count: >= 0.5 only with at most 3 G's (a real trade-off)."""
    return 1.2 - 0.2 * s.count("G")


def write_assay(path: Path, n: int = 300, length: int = 8, missing: int = 0) -> list[str]:
    """A ``sequence,activity,expression`` table of random DNA (measurement noise 0.1 and 0.05); the first
    ``missing`` rows have no expression value."""
    rng = np.random.default_rng(0)
    seqs = list(dict.fromkeys("".join(rng.choice(list("ACGT"), length)) for _ in range(3 * n)))[:n]  # random order
    lines = ["sequence,activity,expression"]
    for i, s in enumerate(seqs):
        expr = "" if i < missing else f"{true_expression(s) + rng.normal(0, 0.05):.4f}"
        lines.append(f"{s},{activity(s) + rng.normal(0, 0.1):.4f},{expr}")
    path.write_text("\n".join(lines) + "\n")
    return seqs


@pytest.fixture(scope="module")
def assay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("assay") / "assay.csv"
    write_assay(p)
    return p


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(("text", "column", "op", "value"), [
    ("expression>=0.5", "expression", ">=", 0.5), (" expression <= 2 ", "expression", "<=", 2.0),
    ("tox=>-1e-3", "tox", ">=", -0.001), ("my col=<3", "my col", "<=", 3.0),
])
def test_parse_outcome(text: str, column: str, op: str, value: float) -> None:
    c = parse_outcome(text)
    assert (c.column, c.op, c.threshold) == (column, op, value)


@pytest.mark.parametrize(("text", "says"), [
    ("expression>0.5", "not a limit"), ("expression=0.5", "not a limit"), ("expression==0.5", "not a limit"),
    ("expression", "COLUMN>=VALUE"), (">=0.5", "no column"), ("expression>=high", "not a number"),
    ("expression>=nan", "finite"), ("expression>=", "not a number"),
])
def test_bad_expressions_are_typed_errors_naming_them(text: str, says: str) -> None:
    with pytest.raises(InvalidDataError, match=says) as err:
        parse_outcome(text)
    assert repr(text) in str(err.value)


def test_spec_limits_probability_and_settings() -> None:
    spec = outcome_spec(["expression>=0.5", "expression<=2", "expression>=0.3", "tox<=1"], 0.8, SMALL_OUTCOME)
    assert spec is not None and spec.columns == ["expression", "tox"] and spec.probability == 0.8
    assert spec.limits("expression") == (0.5, 2.0) and spec.limits("tox") == (-math.inf, 1.0)
    assert spec.describe("expression") == "0.5 <= expression <= 2" and spec.settings.n_members == 3
    assert outcome_spec([]) is None
    with pytest.raises(InvalidDataError, match="leave no value"):
        outcome_spec(["e>=2", "e<=1"])
    with pytest.raises(InvalidDataError, match="between 0 and 1"):
        outcome_spec(["e>=2"], 1.0)
    with pytest.raises(InvalidDataError, match="--outcome-probability"):
        outcome_spec([], 0.8)


def test_probability_satisfied() -> None:
    mean, std = np.array([0.5, 1.5, 0.0, 0.7]), np.array([1.0, 0.5, 0.0, 0.0])
    p = probability_satisfied(mean, std, lower=0.5)
    assert p[0] == pytest.approx(0.5) and p[1] == pytest.approx(0.97725, abs=1e-4)
    assert p[2] == 0.0 and p[3] == 1.0  # a zero std: a step at the limit
    both = probability_satisfied(np.array([1.0]), np.array([1.0]), lower=0.0, upper=2.0)
    assert both[0] == pytest.approx(0.6827, abs=1e-4)
    assert probability_satisfied(np.array([3.0]), np.array([1.0]), upper=2.0)[0] == pytest.approx(0.1587, abs=1e-4)


# ---------------------------------------------------------------------------- reading the columns


def test_outcome_columns_are_read_from_the_same_rows(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("sequence,activity,expression\nACGT,1,0.5\nAAAA,2,\nACGT,3,0.7\nCCCC,4,nan\nGGGG,5,0.1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the duplicate ACGT rows disagree on activity
        d = load_data(p, "activity", design_column="sequence", outcomes=["expression"]).data
    rows = {c[0]: (y, e) for c, y, e in zip(d.schema.design_cells(d.x), d.y, d.outcomes["expression"], strict=True)}
    assert rows["ACGT"][0] == 2.0 and rows["ACGT"][1] == pytest.approx(0.6)  # duplicates merged: mean of both
    assert math.isnan(rows["AAAA"][1]) and math.isnan(rows["CCCC"][1]) and rows["GGGG"][1] == 0.1


def test_continuous_features_leave_out_the_outcome_columns(tmp_path: Path) -> None:
    p = tmp_path / "alloy.csv"
    p.write_text("cu,ni,hardness,ductility\n" + "".join(f"{i},{i % 3},{i * 2},{i % 5}\n" for i in range(12)))
    d = load_data(p, "hardness", outcomes=["ductility"]).data
    assert d.schema.columns == ("cu", "ni") and list(d.outcomes) == ["ductility"]
    assert load_data(p, "hardness").data.schema.columns == ("cu", "ni", "ductility")


@pytest.mark.parametrize(("outcomes", "says"), [
    (["potency"], "no outcome column named 'potency'"), (["activity"], "is the target column"),
    (["sequence"], "is the design column"),
])
def test_unknown_or_taken_outcome_columns_are_typed_errors(assay: Path, outcomes: list[str], says: str) -> None:
    with pytest.raises(InvalidDataError, match=says):
        load_data(assay, "activity", design_column="sequence", outcomes=outcomes)


def test_outcomes_need_a_table_and_finite_values(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="read from a table"):
        load_data((["ACGT", "CCCC"], [1.0, 2.0]), outcomes=["expression"])
    p = tmp_path / "t.csv"
    p.write_text("sequence,activity,expression\nACGT,1,0.5\nAAAA,2,inf\n")
    with pytest.raises(InvalidDataError, match="infinite in 1 row .line 3"):
        load_data(p, "activity", design_column="sequence", outcomes=["expression"])


def test_unread_column_and_too_few_values(assay: Path, tmp_path: Path) -> None:
    source = load_data(assay, "activity", design_column="sequence")
    with pytest.raises(InvalidDataError, match="'expression' was not read with the data"):
        FittedModel.fit(source, "grad", outcomes=["expression>=0.5"], device="cpu")
    few = tmp_path / "few.csv"
    write_assay(few, n=40, missing=40 - MIN_OUTCOME_ROWS + 1)
    with pytest.raises(InvalidDataError, match=f"value in {MIN_OUTCOME_ROWS - 1} of 40 rows"), \
            pytest.warns(DataWarning, match="only 40 distinct training designs"):
        n2ce_bbo.fit(few, "activity", design_column="sequence", method="grad", outcomes=["expression>=0.5"])


# ---------------------------------------------------------------------------- the model


def test_outcome_regressor_holds_rows_out_and_calibrates(assay: Path) -> None:
    d = load_data(assay, "activity", design_column="sequence", outcomes=["expression"]).data
    values = d.outcomes["expression"].copy()
    values[:20] = np.nan  # rows without a value are left out of the column's model
    settings = outcome_spec(["expression>=0.5"], settings=SMALL_OUTCOME).settings  # type: ignore[union-attr]
    reg = fit_outcome_regressor(d.x, values, settings, seed=0, num_classes=4, column="expression")
    again = fit_outcome_regressor(d.x, values, settings, seed=0, num_classes=4, column="expression")
    assert reg.facts["n_rows"] == 280 and reg.facts["n_missing"] == 20 and len(reg.members) == 3
    mean, std = reg.predict(d.x)
    assert np.array_equal(mean, again.predict(d.x)[0])  # seeded
    truth = np.array([true_expression(c[0]) for c in d.schema.design_cells(d.x)])
    # the measurement noise is 0.05: the model is close to the formula and its std is of that size
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.1 and 0.02 < reg.sigma < 0.15 and (std >= reg.sigma).all()
    assert 0.5 < reg.facts["heldout_coverage_68"] < 0.9
    assert isinstance(settings, OutcomeSettings)


class _Below:
    """A stand-in outcome filter: designs whose first value is below 2 are allowed."""

    calls: list[int] = []

    def allowed(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(len(x))
        return x[:, 0] < 2

    def describe(self) -> list[str]:
        return ["outcome x0 < 2 (predicted)"]

    def to_json(self) -> list[dict[str, str]]:
        return [{"column": "x0"}]


def test_constraints_filter_by_the_outcome_models_after_the_rest() -> None:
    x = np.array([[0, 1], [1, 1], [3, 1], [0, 2]])
    cons = Constraints(fixed={1: 1}, outcomes=_Below())
    assert not cons.is_empty and cons.allowed(x).tolist() == [True, True, False, False]
    assert _Below.calls[-1] == 3  # only the designs the fixed position allows reach the models
    assert cons.describe()[-1] == "outcome x0 < 2 (predicted)" and cons.to_json()["outcomes"] == [{"column": "x0"}]
    assert "--outcome" in str(cons.no_design_error(None))


def test_every_method_honours_the_outcome_constraint(assay: Path) -> None:
    model = n2ce_bbo.fit(assay, "activity", design_column="sequence", method="grad", device="cpu",
                         config={"regressor": {"epochs": 5}, "outcome": SMALL_OUTCOME}, outcomes=["expression>=0.5"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # gradient ascent finds few designs of enough expression
        r = model.propose(8, seed=0)
    assert len(r.x) and (r.outcome_columns["expression_predicted"] >= 0.5).all()
    assert (r.outcome_columns["expression_p_satisfied"] >= 0.5).all()
    assert r.constraints == ["outcome expression >= 0.5 (predicted; P >= 0.5)"]


# ---------------------------------------------------------------------------- fit, propose, save, load


@pytest.fixture(scope="module")
def model(assay: Path) -> FittedModel:
    return n2ce_bbo.fit(assay, "activity", design_column="sequence", device="cpu", config={**MAIN, "outcome": SMALL_OUTCOME},
                        outcomes=["expression>=0.5"])


@pytest.mark.slow
def test_proposals_trade_activity_for_expression(model: FittedModel) -> None:
    constrained = model.propose(16, seed=1)
    fitted, model.outcomes = model.outcomes, None  # the same surrogate, proposing without the constraint
    try:
        free = model.propose(16, seed=1)
    finally:
        model.outcomes = fitted
    ok = sum(true_expression(s) >= 0.5 for s in constrained.designs())
    ok_free = sum(true_expression(s) >= 0.5 for s in free.designs())
    gain = np.mean([activity(s) for s in free.designs()]) - np.mean([activity(s) for s in constrained.designs()])
    print(f"true expression >= 0.5: {ok}/16 with the constraint, {ok_free}/16 without; activity given up {gain:.2f}")
    assert len(constrained.x) == 16 and (constrained.outcome_columns["expression_predicted"] >= 0.5).all()
    assert ok >= 14 and ok_free <= 8 and gain > 0
    assert not free.outcome_columns and "outcome expression >= 0.5" in constrained.summary()
    o = constrained.to_dict()["outcomes"][0]
    assert o["column"] == "expression" and o["predicted_min"] >= 0.5 and o["p_satisfied_min"] >= 0.5


@pytest.mark.slow
def test_save_load_round_trip(model: FittedModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    assert json.loads((path / "model.json").read_text())["version"] == 3
    assert "outcomes/weights.pt" in (path / "SHA256SUMS").read_text()
    again = n2ce_bbo.load(path)
    assert again.outcomes is not None and again.outcomes.spec == model.outcomes.spec  # type: ignore[union-attr]
    np.testing.assert_array_equal(again.data.outcomes["expression"], model.data.outcomes["expression"])
    a, b = model.propose(8, seed=3), again.propose(8, seed=3)
    assert a.designs() == b.designs()
    for name, col in a.outcome_columns.items():
        np.testing.assert_allclose(b.outcome_columns[name], col, rtol=1e-6)
    table = again.score(["GGGGGGGG", "CCCCCCCC"])
    assert table.outcome_columns["expression_predicted"][0] < 0.5 < table.outcome_columns["expression_predicted"][1]
    assert "expression_p_satisfied" in table.to_csv().splitlines()[0]
    meta = path / "outcomes" / "outcomes.json"
    meta.write_text(meta.read_text().replace('"threshold": 0.5', '"threshold": 0.1'))
    with pytest.raises(CorruptDataError, match="outcomes/outcomes.json fails its sha256 check"):
        n2ce_bbo.load(path)


@pytest.mark.slow
def test_cli_end_to_end(assay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = as_overrides({**MAIN, "train": {"max_steps": 60, "batch_size": 64}, "outcome": SMALL_OUTCOME})
    data = ["--data", str(assay), "--target", "activity", "--design-column", "sequence", "--quiet"]
    assert main(["fit", *data, "--outcome", "expression>=0.5", "--outcome-probability", "0.6",
                 "--out", str(tmp_path / "m"), "--device", "cpu", *tiny]) == 0
    out = capsys.readouterr().out
    assert "outcome expression >= 0.5: 3 MLPs on 300 rows" in out and "outcomes/" in out
    assert main(["propose", "--model", str(tmp_path / "m"), "--budget", "8", "--out", str(tmp_path / "p"),
                 "--quiet", "--device", "cpu"]) == 0
    header, *rows = (tmp_path / "p" / "designs.csv").read_text().splitlines()
    cols = header.split(",")
    assert {"expression_predicted", "expression_std", "expression_p_satisfied"} <= set(cols)
    p_col = cols.index("expression_p_satisfied")
    assert rows and all(float(r.split(",")[p_col]) >= 0.6 for r in rows)
    assert json.loads((tmp_path / "p" / "result.json").read_text())["outcomes"][0]["probability"] == 0.6
    assert main(["optimize", *data, "--outcome", "expression>0.5", "--out", str(tmp_path / "x")]) == 2
    assert "--outcome 'expression>0.5': '>' is not a limit" in capsys.readouterr().err
    assert main(["optimize", *data, "--outcome", "potency>=1", "--out", str(tmp_path / "y")]) == 2
    assert "no outcome column named 'potency'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
