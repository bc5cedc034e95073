"""The main suite's ablation rows of the data-derived filters, and every shipped method entry builds."""

from __future__ import annotations

import pytest

from n2ce_bbo.benchmark import load_suite, shipped_suites
from n2ce_bbo.methods import make_method
from n2ce_bbo.methods.filters import ProposalFilters


def test_main_suite_has_the_pair_filter_ablation_rows() -> None:
    methods = {m.label: m for m in load_suite("main").methods}
    for label, name in (("n2ce-no-pair-filter", "n2ce"), ("grad-no-pair-filter", "grad")):
        spec = methods[label]
        assert spec.name == name and spec.config == {"filters": {"pair_support": False}}
        built = make_method(spec.name, spec.config)
        assert built.filters == ProposalFilters(pair_support=False)  # the spacing stays on
    assert make_method("n2ce", methods["n2ce"].config).filters == ProposalFilters()


@pytest.mark.parametrize("suite", sorted(shipped_suites()))
def test_every_shipped_method_entry_builds(suite: str) -> None:
    # a typo in a method's config would otherwise surface only when its cells run
    for spec in load_suite(suite).methods:
        make_method(spec.name, spec.config, device="cpu")
