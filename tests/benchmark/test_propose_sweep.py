"""``benchmarks/propose_sweep.py``: a variant that refits only the design model is the full fit with its settings; a
forced score weight holds for its proposal only."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.latent_ebm.design_model import fit_design_model
from n2ce_bbo.workflow.data import load_data
from n2ce_bbo.workflow.model import FittedModel

from .scripts import load_script

pytestmark = pytest.mark.slow  # fits a (tiny) latent-EBM model

TINY = {
    "model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 32},
    "prior": {"K": 2, "M": 10},
    "train": {"max_steps": 40, "batch_size": 64},
    "propose": {"n_chains": 64, "chain_chunk": 64, "sampler": {"n_steps": 5}, "enumerate_limit": 0},
    "design_model": {"n_members": 2, "ascent_starts": 8, "ascent_steps": 10, "regressor": {"epochs": 2}},
    "rehearsal": {"enabled": False},
}


@pytest.fixture(scope="module")
def sweep() -> ModuleType:
    return load_script("propose_sweep")


@pytest.fixture(scope="module")
def model() -> FittedModel:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(300, 8)).astype(np.int64)
    y = ((x == 1).sum(1) + 0.1 * rng.normal(size=300)).astype(np.float32).reshape(-1, 1)
    return FittedModel.fit(load_data((x, y), num_classes=4), "n2ce", TINY, seed=101, device="cpu", parallel=ParallelSpec(workers=0))


def test_refitting_the_design_model_with_its_own_settings_reproduces_the_fit(sweep: ModuleType,
                                                                            model: FittedModel) -> None:
    probe = model.method.data.x[:50]
    again = sweep._refit_design_model(model, {})
    np.testing.assert_array_equal(again.predict(probe), model.method.design_model.predict(probe))


def test_a_refit_variant_changes_the_ensemble_for_its_proposal_only(sweep: ModuleType, model: FittedModel) -> None:
    fitted = model.method.design_model
    one = sweep._refit_design_model(model, {"n_members": 1, "regressor": {"epochs": 3}})
    assert len(one.regressors) == 1 and len(fitted.regressors) == 2
    cfg = model.method.config.design_model
    expected = fit_design_model(model.method.data, type(cfg)(**{**vars(cfg), "n_members": 1,
                                                               "regressor": type(cfg.regressor)(
                                                                   **{**vars(cfg.regressor), "epochs": 3})}),
                                model.method.seed, "cpu")
    probe = model.method.data.x[:50]
    np.testing.assert_array_equal(one.predict(probe), expected.predict(probe))

    assert model.method.design_model is fitted
    with pytest.raises(SystemExit, match="weights"):
        model.method.config.design_model.weights = [0.5]
        try:
            sweep._refit_design_model(model, {})
        finally:
            model.method.config.design_model.weights = [0.0]


def test_a_forced_score_weight_holds_for_its_variant_only(sweep: ModuleType, model: FittedModel) -> None:
    rehearsed = model.method.rehearsal
    probe = model.method.data.x[:50]
    with sweep.variant_model(model, {"score_weight": 3.0}):
        assert model.method.scorer().weight == 3.0
        forced = model.method.candidate_scores(probe)
    assert model.method.rehearsal is rehearsed and model.method.scorer().weight == rehearsed["weight"] != 3.0
    np.testing.assert_array_equal(forced, model.method.candidate_scores(probe, weight=3.0))
    assert not np.array_equal(forced, model.method.candidate_scores(probe))
