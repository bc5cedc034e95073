"""Latent chains in seeded chunks (n2ce_bbo.methods.latent_ebm.chains)."""

from __future__ import annotations

import numpy as np
import torch

from n2ce_bbo.methods.base import ParallelSpec
from n2ce_bbo.methods.latent_ebm.chains import chain_stats, sample_designs, snapshot_steps
from n2ce_bbo.methods.latent_ebm.config import ProposeConfig, SamplerConfig
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.builder import build_surrogate, data_facts
from n2ce_bbo.training.settings import LatentEBMConfig


def test_snapshot_steps() -> None:
    assert snapshot_steps(300, 1) == [300]
    assert snapshot_steps(300, 3) == [150, 225, 300]


def test_chain_stats_average_over_chunks() -> None:
    results = [{"stats": {"n_nonfinite": 1, "sum_value": 2.0, "sum_prior_f": 4.0, "sum_norm": 6.0, "n_final": 2}},
               {"stats": {"n_nonfinite": 0, "sum_value": 1.0, "sum_prior_f": 2.0, "sum_norm": 3.0, "n_final": 1}}]
    assert chain_stats(results) == {"n_nonfinite_chains": 1, "mean_final_value": 1.0, "mean_final_prior_f": 2.0,
                                    "mean_final_latent_norm": 3.0}


def test_sampled_designs_are_seeded_per_chunk_and_decoded_in_range() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(32, 5)).astype(np.int64)
    data = OfflineData(x=x, y=rng.normal(size=(32, 1)).astype(np.float32), is_discrete=True, num_classes=4)
    cfg = LatentEBMConfig()
    cfg.model.latent_dim, cfg.model.hidden, cfg.model.prior_hidden = 2, 16, 16
    torch.manual_seed(0)
    surrogate = build_surrogate(cfg, data_facts(data))
    propose = ProposeConfig(n_chains=24, chain_chunk=8, sampler=SamplerConfig(n_steps=3))

    def draw(seed: int) -> np.ndarray:
        designs, results = sample_designs(surrogate, data, propose, seed=seed, y_star=1.0,
                                          device=torch.device("cpu"), parallel=ParallelSpec(workers=0))
        assert len(results) == 3 and designs.dtype == np.int64
        return designs

    a = draw(0)
    assert a.shape == (24, 5) and a.min() >= 0 and a.max() < 4
    np.testing.assert_array_equal(a, draw(0))
    assert not np.array_equal(a, draw(1))
