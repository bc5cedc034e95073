"""Settings of the latent-EBM method (n2ce_bbo.methods.latent_ebm.config)."""

from __future__ import annotations

import pytest

from n2ce_bbo.config import from_dict
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.latent_ebm.config import (
    DEFAULT_SCORE_PRIOR_WEIGHT,
    LatentEBMMethodConfig,
    ProposeConfig,
    renamed_sections,
)


def test_score_weight_per_design_kind() -> None:
    p = ProposeConfig()
    assert p.score_weight(True) == DEFAULT_SCORE_PRIOR_WEIGHT["tokens"]
    assert p.score_weight(False) == DEFAULT_SCORE_PRIOR_WEIGHT["continuous"]
    assert ProposeConfig(score_prior_weight=0.7).score_weight(True) == 0.7


def test_old_section_name_is_read_as_rehearsal_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="rehearsal"):
        cfg = renamed_sections({"selection": {"enabled": False}, "propose": {}})
    assert cfg == {"rehearsal": {"enabled": False}, "propose": {}}
    assert from_dict(LatentEBMMethodConfig, cfg).rehearsal.enabled is False
    with pytest.raises(ConfigError, match="once"):
        renamed_sections({"selection": {}, "rehearsal": {}})
    assert renamed_sections(None) is None and renamed_sections({"propose": {}}) == {"propose": {}}


@pytest.mark.parametrize("bad", [{"explore_fraction": 1.5}, {"snapshots": 500}, {"score_batch": 0}])
def test_invalid_propose_settings_name_the_key(bad: dict) -> None:
    with pytest.raises(ConfigError):
        from_dict(ProposeConfig, bad)
