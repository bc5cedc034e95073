"""The Python workflow: n2ce_bbo.fit -> propose / score / save -> n2ce_bbo.load, without retraining."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import n2ce_bbo
import n2ce_bbo.methods.latent_ebm.method as latent_method
import n2ce_bbo.methods.latent_ebm.rehearsal as latent_rehearsal
from n2ce_bbo.errors import ConfigError, CorruptDataError, DataNotFoundError, DataWarning, IncompatibleModelError
from n2ce_bbo.workflow.model import FittedModel

from .conftest import TINY, dna_rows

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model(dna_csv: Path) -> FittedModel:
    return n2ce_bbo.fit(dna_csv, target="score", design_column="sequence", alphabet="dna", config=TINY, device="cpu")


@pytest.fixture(scope="module")
def saved(model: FittedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model.save(tmp_path_factory.mktemp("models") / "dna")


def test_fit_propose_strings(model: FittedModel) -> None:
    assert model.schema.kind == "sequence" and model.schema.target == "score" and model.data.n == 150
    r = model.propose(12, seed=1)
    designs = r.designs()
    assert len(designs) == 12 == len(set(designs))
    assert all(len(s) == 6 and set(s) <= set("ACGT") for s in designs)
    assert r.predicted is not None and r.in_distribution is not None and r.novelty is not None
    assert ((r.in_distribution >= 0) & (r.in_distribution <= 100)).all()
    assert r.batch["novelty"]["n_in_training"] == int((r.novelty == 0).sum())


@pytest.mark.slow
def test_sampler_path_honours_fixed_positions_and_exclusions() -> None:
    seqs, ys = dna_rows(150, length=12)  # 4**12 designs: too many to enumerate, so the chains are sampled
    m = n2ce_bbo.fit((seqs, ys), config=TINY, device="cpu")
    free = m.propose(12, seed=2).designs()
    r = m.propose(12, seed=2, fix=["0=G", "11=T"], exclude=free[:6])
    assert r.info["search"] == "sampler"
    designs = r.designs()
    assert len(designs) == 12 == len(set(designs))
    assert all(s[0] == "G" and s[11] == "T" for s in designs)
    assert not set(designs) & set(free[:6]) and not set(designs) & set(seqs)


def test_saved_model_proposes_the_same_without_training(model: FittedModel, saved: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*a: object, **k: object) -> None:
        raise AssertionError("a loaded model must not retrain")

    monkeypatch.setattr(latent_method, "train_surrogate", no_training)
    monkeypatch.setattr(latent_rehearsal, "train_surrogate", no_training)
    loaded = n2ce_bbo.load(saved, device="cpu")
    assert loaded.schema == model.schema and loaded.method_name == "n2ce"
    a, b = model.propose(10, seed=5), loaded.propose(10, seed=5)
    np.testing.assert_array_equal(a.x, b.x)
    seqs, _ = dna_rows()
    s1, s2 = model.score(seqs[:20]), loaded.score(seqs[:20])
    np.testing.assert_allclose(s1.predicted, s2.predicted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s1.in_distribution, s2.in_distribution)


def test_score_table_keeps_input_rows(model: FittedModel, dna_csv: Path) -> None:
    t = model.score(dna_csv)
    header, rows = t.columns()
    assert header == ["sequence", "score", "predicted_score", "predicted_score_std", "in_distribution"]
    assert len(rows) == 150
    # the training designs themselves spread over the percentiles
    assert 30 <= float(np.median(t.in_distribution)) <= 70


def test_propose_overrides_only_the_propose_section(model: FittedModel) -> None:
    r = model.propose(4, config={"propose": {"n_chains": 64, "chain_chunk": 64}})
    assert r.config["propose"]["n_chains"] == 64
    assert model.method.config.propose.n_chains == TINY["propose"]["n_chains"]  # restored
    with pytest.raises(ConfigError, match="only propose"):
        model.propose(4, config={"train": {"lr": 0.1}})


def test_propose_may_change_the_design_space_ascent_but_not_the_design_model(model: FittedModel) -> None:
    assert model.method.design_model is not None  # the ascent is on by default: its ensemble was fitted
    short = model.propose(4, seed=3, config={"design_model": {"ascent_steps": 2, "ascent_lr": 0.05}})
    assert short.config["design_model"]["ascent_steps"] == 2 and short.config["design_model"]["ascent_lr"] == 0.05
    assert short.config["design_model"]["n_members"] == TINY["design_model"]["n_members"]  # the rest as fitted
    assert model.method.config.design_model.ascent_steps == TINY["design_model"]["ascent_steps"]  # restored
    shared = model.propose(4, seed=3, config={"design_model": {"ascent_share": 0.5}})
    assert shared.config["design_model"]["ascent_share"] == 0.5  # (this tiny space is searched whole: no share)
    with pytest.raises(ConfigError, match=r"design_model.n_members"):
        model.propose(4, config={"design_model": {"n_members": 3}})  # the ensemble is fitted: refit to change it


@pytest.mark.slow
def test_few_rows_warn_and_train_shorter(tmp_path: Path) -> None:
    seqs, ys = dna_rows(10)
    cfg = {k: v for k, v in TINY.items() if k != "train"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = n2ce_bbo.fit((seqs, ys), config=cfg, device="cpu")
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("only 10 distinct training designs" in s and "400 steps" in s for s in msgs), msgs
    assert m.history["steps"] == 400  # train.least_steps (10 rows × train.steps_per_row 3 is fewer), not 5,000


@pytest.mark.slow
def test_baselines_fit_and_propose_but_cannot_be_saved(tmp_path: Path) -> None:
    seqs, ys = dna_rows(60)
    m = n2ce_bbo.fit((seqs, ys), method="grad", config={"regressor": {"epochs": 2}, "n_steps": 20, "n_starts": 32},
                     device="cpu")
    r = m.propose(8, fix=["0=G"], exclude=seqs[:10])
    designs = r.designs()
    assert len(designs) == 8 == len(set(designs))  # gradient ascent reads the constraints: no shortfall
    assert all(s.startswith("G") for s in designs) and not set(designs) & set(seqs[:10])
    with pytest.raises(ConfigError, match="latent-EBM"):
        m.save(tmp_path / "grad")
    with pytest.raises(ConfigError, match="latent-EBM"):
        m.score(seqs[:3])


def test_bad_model_folders(saved: Path, tmp_path: Path) -> None:
    import shutil

    with pytest.raises(DataNotFoundError, match="does not exist"):
        n2ce_bbo.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorruptDataError, match="not a model folder"):
        n2ce_bbo.load(tmp_path / "empty")

    def copy(name: str) -> Path:
        return Path(shutil.copytree(saved, tmp_path / name))

    bad = copy("garbled")
    (bad / "model.json").write_text("{not json")
    with pytest.raises(CorruptDataError, match="not valid JSON"):
        n2ce_bbo.load(bad)
    bad = copy("future")
    manifest = json.loads((bad / "model.json").read_text())
    manifest["version"] = 99
    (bad / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleModelError, match="format version 99"):
        n2ce_bbo.load(bad)
    bad = copy("data")
    (bad / "data.npz").write_bytes((bad / "data.npz").read_bytes()[:-10])
    with pytest.raises(CorruptDataError, match="sha256"):
        n2ce_bbo.load(bad)
    bad = copy("weights")
    weights = next((bad / "surrogate").glob("weights-*.pt"))
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CorruptDataError, match="sha256"):
        n2ce_bbo.load(bad)


def test_save_replaces_a_model_but_not_other_folders(model: FittedModel, tmp_path: Path) -> None:
    from n2ce_bbo.errors import OutputError

    dest = model.save(tmp_path / "m")
    model.save(dest)  # replacing a model folder is fine
    assert sorted(p.name for p in dest.iterdir()) == ["SHA256SUMS", "calibration.json", "data.npz", "design_model",
                                                      "model.json", "surrogate", "train_log.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a model folder"):
        model.save(other)
    assert (other / "notes.txt").read_text() == "mine"


def test_no_design_left_raises_a_typed_error(model: FittedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    # propose used to return an empty Result; scripts could not tell "nothing possible" from success.
    gggg = [f"GGGG{a}{b}" for a in "ACGT" for b in "ACGT"]
    with pytest.raises(n2ce_bbo.errors.NoFeasibleDesignError,
                       match=r"fixed positions 0=G, 1=G, 2=G, 3=G; 16 excluded designs.*allow 16 designs"):
        model.propose(4, fix=["0=G,1=G,2=G,3=G"], exclude=gggg)
    with warnings.catch_warnings(record=True) as caught:  # a partial batch stays a warning
        warnings.simplefilter("always")
        r = model.propose(4, fix=["0=G,1=G,2=G,3=G"], exclude=gggg[:14])
    assert sorted(r.designs()) == gggg[14:]
    assert any("only 2 of the 4" in str(w.message) for w in caught)
    # every candidate broke the constraints, though the constraints alone do not prove it
    monkeypatch.setattr(n2ce_bbo.workflow.model, "run_proposer",
                        lambda m, budget, c: (np.zeros((0, 6), np.int64), np.zeros(0), {}))
    with pytest.raises(n2ce_bbo.errors.NoFeasibleDesignError, match="every candidate the method found broke them"):
        model.propose(4, fix=["0=G"])


@pytest.mark.slow
def test_a_design_model_is_saved_and_proposes_the_same_after_loading(dna_csv: Path, tmp_path: Path) -> None:
    config = {**TINY, "design_model": {"weights": [1.0], "n_members": 2, "regressor": {"epochs": 5}}}
    model = n2ce_bbo.fit(dna_csv, target="score", design_column="sequence", alphabet="dna", config=config,
                         device="cpu")
    path = model.save(tmp_path / "dm")
    assert "design_model/weights.pt" in (path / "SHA256SUMS").read_text()
    loaded = n2ce_bbo.load(path, device="cpu")
    a, b = model.propose(8, seed=2), loaded.propose(8, seed=2)
    assert a.info["design_weight"] == b.info["design_weight"] == 1.0
    np.testing.assert_array_equal(a.x, b.x)
    meta = path / "design_model" / "design_model.json"
    meta.write_text(meta.read_text().replace('"n_members": 2', '"n_members": 1'))
    with pytest.raises(CorruptDataError, match="design_model/design_model.json fails its sha256 check"):
        n2ce_bbo.load(path)
