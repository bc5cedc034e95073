"""Embedded BoTorch tasks: oracle at the known optimum, bounds, hidden top part, seeding."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks import make
from n2ce_bbo.tasks.builtin import SYNTHETIC_SPECS
from n2ce_bbo.tasks.synthetic import botorch_function

NAMES = [s.name for s in SYNTHETIC_SPECS]


@pytest.mark.parametrize("name", NAMES)
def test_oracle_at_known_optimum(name: str) -> None:
    spec = next(s for s in SYNTHETIC_SPECS if s.name == name)
    t = make(name, n_samples=500)
    f = botorch_function(spec.function, spec.dim)
    opt_x = f.optimizers.numpy()
    scores = t.predict(opt_x.astype(np.float32))[:, 0]
    assert t.optimum == pytest.approx(float(f.optimal_value))
    np.testing.assert_allclose(scores, t.optimum, atol=1e-4)
    assert t.bounds.shape == (2, spec.dim)
    np.testing.assert_array_equal(t.bounds, f.bounds.numpy().astype(np.float32))
    # every training design is inside the box and no training score beats the optimum
    assert (t.x >= t.bounds[0]).all() and (t.x <= t.bounds[1]).all()
    assert float(t.y.max()) < t.optimum


def test_branin_matches_paper_setup() -> None:
    t = make("Branin-Exact-v0")
    assert t.optimum == pytest.approx(-0.397887, abs=1e-6)
    assert t.dataset_size == 4_500  # top 10% of 5,000 draws hidden
    assert t.y_full_max > float(t.y.max())  # the hidden top part sets the normalisation maximum
    # stored scores equal the oracle on the stored (float32) designs
    np.testing.assert_array_equal(t.predict(t.x[:100]), t.y[:100])


@pytest.mark.parametrize("name,rows", [("Hartmann6-Exact-v0", 4_000), ("Ackley50-Exact-v0", 8_000)])
def test_default_row_counts(name: str, rows: int) -> None:
    assert make(name).dataset_size == rows


def test_seed_and_options() -> None:
    a = make("Ackley-Exact-v0", n_samples=300, seed=1)
    b = make("Ackley-Exact-v0", n_samples=300, seed=1)
    c = make("Ackley-Exact-v0", n_samples=300, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert make("Ackley-Exact-v0", n_samples=300, max_percentile=50).dataset_size == 150
    with pytest.raises(InvalidDataError, match="max_percentile"):
        make("Ackley-Exact-v0", max_percentile=0)
    with pytest.raises(InvalidDataError, match="n_samples"):
        make("Ackley-Exact-v0", n_samples=1)
