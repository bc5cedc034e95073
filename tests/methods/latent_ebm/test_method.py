"""The latent-EBM method end to end on tiny problems: shapes, ranges, distinctness, determinism, parallelism."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError, IncompatibleModelError
from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.latent_ebm import LatentEBMMethod, ProposeConfig
from n2ce_bbo.methods.latent_ebm.scoring import value_and_density
from n2ce_bbo.methods.registry import get_method, make_method
from n2ce_bbo.methods.selection import RowSet
from n2ce_bbo.tasks.base import OfflineData

pytestmark = pytest.mark.slow  # trains models end to end: `make test`, not the fast lane

# Tiny surrogate and sampler settings: the goal is the plumbing, not the optimum.
TINY: dict[str, Any] = {
    "model": {"latent_dim": 4},
    "train": {"epochs": 2},
    # enumerate_limit 0: these tests exercise the sampler path even on the tiny (enumerable) token space.
    "propose": {"n_chains": 96, "chain_chunk": 32, "sampler": {"n_steps": 20, "step_size": 0.1}, "enumerate_limit": 0},
    # the design-space ascent off (no design model fitted): the tests of the ascent switch it on
    "design_model": {"ascent_starts": 0},
}


def _tiny_config(sampler: dict[str, Any] | None = None, **propose: Any) -> dict[str, Any]:
    """TINY with ``propose`` keys (and ``sampler`` keys) replaced; no rehearsal fit by default (it doubles the
    training time; the rehearsal tests switch it on)."""
    sampler_cfg = {**TINY["propose"]["sampler"], **(sampler or {})}
    return {**TINY, "propose": {**TINY["propose"], **propose, "sampler": sampler_cfg}, "rehearsal": {"enabled": False}}


@pytest.fixture(scope="module")
def continuous_data() -> OfflineData:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(500, 2)).astype(np.float32)
    y = (-((x - 0.5) ** 2).sum(1, keepdims=True)).astype(np.float32)
    bounds = np.array([[-2, -2], [2, 2]], dtype=np.float32)
    return OfflineData(x=x, y=y, is_discrete=False, bounds=bounds, name="quad2d")


@pytest.fixture(scope="module")
def token_data() -> OfflineData:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(400, 6)).astype(np.int64)
    y = (x == 2).sum(1, keepdims=True).astype(np.float32)
    return OfflineData(x=x, y=y, is_discrete=True, num_classes=4, name="tok6")


def _run(data: OfflineData, seed: int = 0, budget: int = 16, workers: int = 0, rehearse: bool = False,
         **propose: Any) -> Any:
    cfg = _tiny_config(**propose)
    cfg["rehearsal"]["enabled"] = rehearse
    m = LatentEBMMethod(cfg, seed=seed, device="cpu", parallel=ParallelSpec(workers=workers))
    m.fit(data)
    return m, m.propose(budget)


def test_continuous_proposals_shape_range_distinct(continuous_data: OfflineData) -> None:
    m, p = _run(continuous_data)
    assert p.x.shape == (16, 2) and p.x.dtype == np.float32
    assert p.scores.shape == (16,)
    assert np.all(p.x >= -2) and np.all(p.x <= 2)
    assert np.unique(p.x, axis=0).shape[0] == 16
    assert np.all(np.diff(p.scores) <= 0)  # best first
    info = p.info
    assert info["n_chunks"] == 3 and info["n_candidates"] == 96
    assert info["n_unique_candidates"] >= 16
    assert info["y_star_standardized"] == pytest.approx(float(m.surrogate.y_max_standardized) + m.config.propose.y_star_offset)


def test_token_proposals_and_determinism(token_data: OfflineData) -> None:
    _, a = _run(token_data, seed=3, init="data", snapshots=3)
    _, b = _run(token_data, seed=3, init="data", snapshots=3)
    assert a.x.shape == (16, 6) and a.x.dtype == np.int64
    assert a.x.min() >= 0 and a.x.max() < 4
    assert np.unique(a.x, axis=0).shape[0] == 16
    assert a.info["n_candidates"] == 96 * 3
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize("sampler", ["svgd", "gradient_ascent"])
def test_other_samplers(continuous_data: OfflineData, sampler: str) -> None:
    _, p = _run(continuous_data, budget=8, sampler={"name": sampler})
    assert p.x.shape == (8, 2)
    assert p.info["sampler"] == sampler


def test_seed_changes_proposals(continuous_data: OfflineData) -> None:
    _, a = _run(continuous_data, seed=0)
    _, b = _run(continuous_data, seed=1)
    assert not np.array_equal(a.x, b.x)


def test_propose_before_fit_and_bad_config() -> None:
    m = LatentEBMMethod(_tiny_config())
    with pytest.raises(RuntimeError):
        m.propose(4)
    with pytest.raises(ConfigError):
        LatentEBMMethod({"propose": {"chain_chunk": 0}})
    with pytest.raises(ConfigError):
        LatentEBMMethod({"propose": {"sampler": {"name": "hmc"}}})
    with pytest.raises(ConfigError, match=r"LatentEBMMethod\.propose\.snapshots"):
        LatentEBMMethod({"propose": {"snapshots": 5, "sampler": {"n_steps": 4}}})
    with pytest.raises(ConfigError, match=r"propose\.sampler\.step_size must be a finite number > 0, got 0"):
        LatentEBMMethod({"propose": {"sampler": {"step_size": 0}}})


def test_registry_presets() -> None:
    for name in ("n2ce", "nce", "mle", "gaussian"):
        entry = get_method(name)
        assert entry.cls is LatentEBMMethod and entry.description
    m = make_method("n2ce")
    assert m.config.surrogate.prior.M == 100 and m.config.surrogate.prior.K == 6
    assert make_method("nce").config.surrogate.prior.M == 1


def test_config_keys_stay_flat_and_the_score_weight_has_one_key() -> None:
    m = make_method("n2ce", {"prior": {"M": 10}, "model": {"latent_dim": 3}, "propose": {"n_chains": 8}})
    assert m.config.surrogate.prior.M == 10 and m.config.surrogate.prior.K == 6  # preset kept, M overridden
    d = m.config_dict()
    assert sorted(d) == ["design_model", "filters", "model", "prior", "propose", "rehearsal", "train"]  # not "surrogate"
    assert d["model"]["latent_dim"] == 3 and d["propose"]["sampler"]["name"] == "langevin"
    from n2ce_bbo.errors import ConfigError

    with pytest.raises(ConfigError, match="surrogate"):
        make_method("n2ce", {"surrogate": {}})
    cfg = ProposeConfig()
    assert cfg.score_prior_weight is None
    assert cfg.score_weight(is_discrete=True) == 0.1 and cfg.score_weight(is_discrete=False) == 0.0
    assert ProposeConfig(score_prior_weight=0.5).score_weight(is_discrete=False) == 0.5


def test_one_snapshot_by_default() -> None:
    assert ProposeConfig().snapshots == 1


def test_training_designs_come_after_every_new_design() -> None:
    # 27 possible designs, 20 of them training rows: the batch of 12 must hold the 7 new ones (found by
    # sampling, refinement or fill) before any training row, whatever the diversity rule skipped.
    grid = np.array(np.meshgrid(*[np.arange(3)] * 3, indexing="ij")).reshape(3, -1).T
    train = grid[np.random.default_rng(2).permutation(27)[:20]]
    data = OfflineData(x=train.astype(np.int64), y=train.sum(1, keepdims=True).astype(np.float32),
                       is_discrete=True, num_classes=3, name="grid27")
    m = LatentEBMMethod({**_tiny_config(), "filters": {"min_hamming": 2}}, seed=0, device="cpu")
    m.fit(data)
    p = m.propose(12)
    in_train = RowSet(train).mask(p.x)
    assert p.x.shape == (12, 3) and np.unique(p.x, axis=0).shape[0] == 12
    assert in_train.tolist() == [False] * 7 + [True] * 5
    assert p.info["n_training_designs_in_top"] == 5


@pytest.mark.ray
def test_workers_do_not_change_results(continuous_data: OfflineData) -> None:
    pytest.importorskip("ray")
    try:
        from n2ce_bbo.parallel import parallel_map  # noqa: F401
    except ImportError:
        pytest.skip("n2ce_bbo.parallel is not available")
    torch.manual_seed(0)
    m = LatentEBMMethod(_tiny_config(), seed=5, device="cpu", parallel=ParallelSpec(workers=0))
    m.fit(continuous_data)
    seq = m.propose(16)
    m.parallel = ParallelSpec(workers=2)
    par = m.propose(16)
    np.testing.assert_array_equal(seq.x, par.x)
    np.testing.assert_array_equal(seq.scores, par.scores)


def test_small_token_space_is_searched_exhaustively(token_data: OfflineData) -> None:
    m, p = _run(token_data, enumerate_limit=4**6)
    assert p.info["search"] == "exhaustive"
    assert p.info["n_scored"] == 4**6 - np.unique(token_data.x, axis=0).shape[0]
    assert p.x.shape == (16, 6) and np.unique(p.x, axis=0).shape[0] == 16
    train = {r.tobytes() for r in token_data.x.astype(np.int64)}
    assert not any(r.tobytes() in train for r in p.x)
    # The batch is the best-scored designs of the whole space (min_hamming diversity aside: check the best one).
    from n2ce_bbo.tasks.design_bench import codes_to_tokens

    allx = codes_to_tokens(np.arange(4**6), 6, 4, np.int64)
    allx = allx[[r.tobytes() not in train for r in allx]]
    assert p.scores[0] == pytest.approx(m.candidate_scores(allx, p.info["score_weight"]).max())
    _, again = _run(token_data, enumerate_limit=4**6)
    assert np.array_equal(p.x, again.x)


def test_rehearsal_picks_a_weight_from_the_grid_and_records_it(token_data: OfflineData) -> None:
    m, p = _run(token_data, enumerate_limit=4**6, rehearse=True)
    sel = p.info["rehearsal"]
    assert sel["enabled"] and sel["weight"] in m.config.rehearsal.weights
    assert set(sel["recovery"]) == {f"{w:g}" for w in m.config.rehearsal.weights}
    assert sel["n_top"] == 40 and sel["n_random"] == 40 and sel["n_fit"] == 320
    assert sel["recovery"][f"{sel['weight']:g}"] == max(sel["recovery"].values())
    # the same hidden rows chose the std's recalibration factor, which the final surrogate carries
    assert sel["std_scale"] == sel["calibration"]["std_scale"] >= 1.0 and m.surrogate.std_scale == sel["std_scale"]


def test_rehearsal_off_or_too_few_rows_uses_the_configured_weight(token_data: OfflineData) -> None:
    cfg = _tiny_config(score_prior_weight=0.7)
    m = LatentEBMMethod(cfg, seed=0, device="cpu")
    m.fit(token_data)
    assert {k: v for k, v in m.rehearsal.items() if k != "calibration"} == {"enabled": False, "weight": 0.7,
                                                                             "design_weight": 0.0, "std_scale": 1.0}
    assert m.design_model is None  # no share for it: never fitted
    assert m.surrogate.std_scale == 1.0  # no rehearsal: the std as trained
    assert m.rehearsal["calibration"]["coverage_68"] is None and "rehearsal.enabled" in \
        m.rehearsal["calibration"]["not_measured"]
    small = OfflineData(x=token_data.x[:60], y=token_data.y[:60], is_discrete=True, num_classes=4)
    cfg2 = _tiny_config(score_prior_weight=0.2)
    cfg2["rehearsal"]["enabled"] = True
    m2 = LatentEBMMethod(cfg2, seed=0, device="cpu")
    m2.fit(small)
    assert m2.rehearsal["weight"] == 0.2 and "rehearsal.min_rows" in m2.rehearsal["skipped"]
    assert "rehearsal.min_rows" in m2.rehearsal["calibration"]["not_measured"]


def test_rehearsal_chooses_the_design_model_share_with_the_weight(token_data: OfflineData) -> None:
    cfg = _tiny_config(enumerate_limit=4**6)
    cfg["rehearsal"] = {"enabled": True, "weights": [0.0, 0.3]}
    cfg["design_model"] = {"weights": [0.0, 1.0], "n_members": 2, "regressor": {"epochs": 5}}
    m = LatentEBMMethod(cfg, seed=0, device="cpu")
    m.fit(token_data)
    sel = m.rehearsal
    assert set(sel["recovery"]) == {f"w={w:g},beta={b:g}" for b in (0, 1) for w in (0, 0.3)}
    best = f"w={sel['weight']:g},beta={sel['design_weight']:g}"
    assert sel["recovery"][best] == max(sel["recovery"].values())
    # y = count of token 2 is additive in one-hot designs: the MLP ensemble ranks the hidden rows at least as well
    assert sel["recovery"]["w=0,beta=1"] >= sel["recovery"]["w=0,beta=0"]
    assert (m.design_model is not None) == (sel["design_weight"] > 0)
    p = m.propose(8)
    assert p.info["design_weight"] == sel["design_weight"]


def test_a_fixed_design_model_share_mixes_its_prediction_into_the_score(token_data: OfflineData) -> None:
    cfg = _tiny_config(enumerate_limit=4**6, score_prior_weight=0.0)
    cfg["design_model"] = {"weights": [1.0], "n_members": 2, "regressor": {"epochs": 5}}
    m = LatentEBMMethod(cfg, seed=0, device="cpu")
    m.fit(token_data)
    assert m.rehearsal["design_weight"] == 1.0 and len(m.design_model.regressors) == 2
    x = token_data.x[:50]
    expected = m.surrogate.standardize_y(m.design_model.predict(x))
    np.testing.assert_allclose(m.candidate_scores(x), expected, rtol=1e-6)
    p = m.propose(8)
    np.testing.assert_allclose(p.scores, m.surrogate.standardize_y(m.design_model.predict(p.x)), rtol=1e-6)
    with pytest.raises(IncompatibleModelError, match="design model"):
        LatentEBMMethod(cfg, seed=0, device="cpu").restore(token_data, m.surrogate, rehearsal=m.rehearsal)


def test_unsupported_pairs_are_never_proposed() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(600, 8))
    for _ in range(4):  # the data never contain token 0 followed by token 2
        bad = (x[:, :-1] == 0) & (x[:, 1:] == 2)
        x[:, 1:][bad] = 1
    y = (x == 2).sum(1, keepdims=True).astype(np.float32)  # the surrogate is drawn to 2s, so 0->2 would be tempting
    data = OfflineData(x=x.astype(np.int64), y=y, is_discrete=True, num_classes=3)
    for limit in (0, 3**8):  # sampler path and exhaustive path
        m, p = _run(data, enumerate_limit=limit)
        assert m.support is not None and m.support.banned[0, 2]
        assert not ((p.x[:, :-1] == 0) & (p.x[:, 1:] == 2)).any()
        assert np.unique(p.x, axis=0).shape[0] == 16


def test_every_decoded_design_unsupported_still_gives_a_full_batch() -> None:
    """Regression: when the pair-support check drops every decoded design, the best training designs still seed
    the local search, so a full batch of supported new designs comes back."""
    import n2ce_bbo
    from n2ce_bbo.methods.support import fit_pair_support

    cfg = {"train": {"max_steps": 30}, "rehearsal": {"enabled": False},
           "propose": {"n_chains": 32, "chain_chunk": 32, "sampler": {"n_steps": 5}, "refine_top": 16}}
    r = n2ce_bbo.optimize("Ehrlich-Exact-v0", method="n2ce", budget=16, seed=0, config=cfg)
    assert r.n_unique == 16 and r.info["n_training_designs_as_starts"] == 64
    task = n2ce_bbo.make("Ehrlich-Exact-v0")
    assert fit_pair_support(task.x, int(task.num_classes or 2)).allowed(r.x).all()


def test_refinement_stops_when_the_best_candidates_stop_changing(token_data: OfflineData) -> None:
    _, p = _run(token_data, refine_rounds=200, refine_top=4)
    # 200 rounds would add far more than the 4096-design space holds if it never converged.
    assert 0 < p.info["n_refine_candidates"] < 4**6


def test_trust_penalty_only_touches_designs_less_data_like_than_the_margin(token_data: OfflineData) -> None:

    m, _ = _run(token_data)
    x = np.random.default_rng(5).integers(0, 4, size=(300, 6))
    base = m.candidate_scores(x, 0.0)
    value, z = value_and_density(m.surrogate, x, m.density_stats, 4096)
    m.config.propose.trust_weight, m.config.propose.trust_margin = 2.0, 0.5
    trusted = m.candidate_scores(x, 0.0)
    inside = z >= -0.5
    assert inside.any() and (~inside).any()
    assert np.allclose(trusted[inside], base[inside])
    assert np.allclose(trusted[~inside], base[~inside] + 2.0 * (z[~inside] + 0.5))


@pytest.mark.parametrize("fraction", [0.5, 1.0])
def test_explore_share_of_the_batch_comes_from_the_deeper_search(token_data: OfflineData, fraction: float) -> None:
    _, shallow = _run(token_data, refine_rounds=1, refine_top=4, explore_fraction=0.0)
    _, mixed = _run(token_data, refine_rounds=1, refine_top=4, explore_fraction=fraction, explore_rounds=6,
                    explore_top=8)
    n_deep = int(round(fraction * 16))
    assert mixed.info["n_designs_from_explore"] == n_deep and mixed.info["n_explore_candidates"] > 0
    assert mixed.x.shape == (16, 6) and np.unique(mixed.x, axis=0).shape[0] == 16
    # The shallow share is the shallow batch's own head; the batch is ordered best first.
    head = {r.tobytes() for r in shallow.x[: 16 - n_deep]}
    assert head <= {r.tobytes() for r in mixed.x}
    assert np.all(np.diff(mixed.scores) <= 0)
    train = {r.tobytes() for r in token_data.x.astype(np.int64)}
    assert not any(r.tobytes() in train for r in mixed.x)


def test_explore_fraction_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ConfigError, match="explore_fraction"):
        LatentEBMMethod(_tiny_config(explore_fraction=1.5), seed=0, device="cpu")



@pytest.mark.parametrize("radius", [1.0, 2.0])
def test_trust_radius_keeps_every_proposal_near_the_best_training_designs(token_data: OfflineData,
                                                                          radius: float) -> None:
    m, p = _run(token_data, trust_radius=radius, trust_anchors=8)
    region = m.trust_region()
    assert region is not None and region.radius == radius
    assert p.x.shape[0] == 16 and np.all(region.distances(p.x) <= radius)
    assert p.info["trust_radius"] == radius
    _, free = _run(token_data)
    assert free.info["trust_radius"] is None and np.any(region.distances(free.x) > radius)


def test_trust_radius_is_a_checked_setting() -> None:
    with pytest.raises(ConfigError, match="trust_radius"):
        LatentEBMMethod(_tiny_config(trust_radius=0.0), seed=0, device="cpu")


def test_auto_trust_radius_is_read_from_the_training_data(token_data: OfflineData) -> None:
    from n2ce_bbo.methods.trust_region import data_radius

    m, p = _run(token_data, trust_radius="auto", trust_quantile=0.5)
    expected = data_radius(token_data, 256, m.config.rehearsal.top_fraction, 0.5)
    assert m.trust_region() is not None and m.trust_region().radius == expected == p.info["trust_radius"]
    assert np.all(m.trust_region().distances(p.x) <= expected)


@pytest.mark.parametrize("kind", ["tokens", "continuous"])
def test_design_ascent_iterates_join_the_candidates(token_data: OfflineData, continuous_data: OfflineData,
                                                    kind: str) -> None:
    data = token_data if kind == "tokens" else continuous_data
    cfg = _tiny_config()
    cfg["design_model"] = {"n_members": 2, "regressor": {"epochs": 5}, "ascent_starts": 8, "ascent_steps": 20}
    m = LatentEBMMethod(cfg, seed=0, device="cpu")
    m.fit(data)
    assert m.rehearsal["design_weight"] == 0.0 and m.design_model is not None  # fitted for the ascent alone
    p = m.propose(16)
    assert 0 < p.info["n_ascent_candidates"] <= 8 * 21
    assert 0 <= p.info["n_ascent_designs_in_top"] <= 16
    assert p.x.shape[0] == 16
    again = LatentEBMMethod(cfg, seed=0, device="cpu")
    again.fit(data)
    np.testing.assert_array_equal(again.propose(16).x, p.x)  # seeded
    restored = LatentEBMMethod(cfg, seed=0, device="cpu")
    restored.restore(data, m.surrogate, rehearsal=m.rehearsal)  # no design model: the ascent cannot run
    with pytest.raises(IncompatibleModelError, match="ascent_starts"):
        restored.propose(16)
    off = LatentEBMMethod(_tiny_config(), seed=0, device="cpu")
    off.fit(data)
    info = off.propose(16).info
    assert off.design_model is None and info["n_ascent_candidates"] == 0 and info["n_ascent_designs_in_top"] == 0


@pytest.mark.parametrize("kind", ["tokens", "continuous"])
def test_ascent_share_fills_its_part_of_the_batch_in_the_ensembles_order(token_data: OfflineData,
                                                                         continuous_data: OfflineData,
                                                                         kind: str) -> None:
    data = token_data if kind == "tokens" else continuous_data
    cfg = _tiny_config()
    cfg["design_model"] = {"n_members": 2, "regressor": {"epochs": 5}, "ascent_starts": 8, "ascent_steps": 20,
                           "ascent_share": 0.0}
    m = LatentEBMMethod(cfg, seed=0, device="cpu")
    m.fit(data)
    whole = m.propose(16)
    assert whole.info["n_ascent_share"] == 0
    m.config = dataclasses.replace(m.config, design_model=dataclasses.replace(m.config.design_model,
                                                                              ascent_share=0.5))
    p = m.propose(16)
    trajectory = m._ascent_trajectory(data)
    iterates = trajectory.reshape(-1, *trajectory.shape[2:])
    new_iterates = m.scorer().keep_allowed(RowSet(data.x, dtype=iterates.dtype).new_rows(iterates))
    # the ascent's part: as many of its new designs as there are, up to half the batch (on the token task every
    # start climbs to the one optimum, a single new design)
    assert p.x.shape[0] == 16 and p.info["n_ascent_share"] == min(8, len(new_iterates)) > 0
    assert np.unique(p.x.reshape(16, -1), axis=0).shape[0] == 16
    assert RowSet(iterates).count(p.x.astype(iterates.dtype)) >= p.info["n_ascent_share"]
    # the ensemble's favourite new final iterate leads the ascent's part, so it is in the batch
    final = m.scorer().keep_allowed(RowSet(data.x, dtype=iterates.dtype).new_rows(trajectory[-1]))
    favourite = final[int(np.argmax(m.design_model.predict(final)))]
    assert favourite.tobytes() in {row.tobytes() for row in p.x.astype(final.dtype)}
    np.testing.assert_allclose(p.scores, m.candidate_scores(p.x), rtol=1e-4, atol=1e-6)  # scored as every batch
    assert np.all(np.diff(p.scores) <= 0)


def test_ascent_share_is_inert_without_the_ascent(token_data: OfflineData) -> None:
    m = LatentEBMMethod({**_tiny_config(), "design_model": {"ascent_starts": 0, "ascent_share": 0.5}}, seed=0,
                        device="cpu")
    m.fit(token_data)
    p = m.propose(16)
    assert m.design_model is None and p.info["n_ascent_share"] == 0 and p.x.shape[0] == 16
    with pytest.raises(ConfigError, match="ascent_share"):
        LatentEBMMethod({**TINY, "design_model": {"ascent_starts": 8, "ascent_share": 1.5}})
