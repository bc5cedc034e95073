"""Ehrlich functions: optimum 1.0, infeasible 0, quantisation, DMP samples feasible, the registered task."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks import make
from n2ce_bbo.tasks.ehrlich import EhrlichFunction


@pytest.mark.parametrize("v,L,c,k,seed", [(20, 32, 2, 4, 0), (8, 16, 2, 4, 1), (16, 24, 4, 4, 2), (12, 32, 3, 4, 3)])
def test_optimal_solution_scores_one(v: int, L: int, c: int, k: int, seed: int) -> None:
    f = EhrlichFunction.build(v, L, c, k, seed=seed)
    x = f.optimal_solution()
    assert x.shape == (L,) and f.is_feasible(x[None])[0]
    assert f(x[None])[0] == 1.0


def test_infeasible_scores_zero() -> None:
    f = EhrlichFunction.build(20, 32, 2, 4, seed=0)
    i, j = map(int, np.argwhere(f.banned)[0])
    x = np.array([[i] * 31 + [j]])
    assert not f.is_feasible(x)[0] and f(x)[0] == 0.0
    # breaking the optimal sequence with a banned pair also gives 0
    opt = f.optimal_solution()
    t = int(np.flatnonzero(f.banned[opt[0]])[0])
    broken = opt.copy()
    broken[1] = t
    assert f(broken[None])[0] == 0.0


def test_quantisation_and_partial_motifs() -> None:
    f = EhrlichFunction.build(20, 32, 2, 4, quantization=2, seed=0)
    opt = f.optimal_solution()
    pres = f.motif_presence(opt[None])
    np.testing.assert_array_equal(pres, [[1.0, 1.0]])
    values = f.motif_presence(f.sample(500, np.random.default_rng(0)))
    assert set(np.unique(values)) <= {0.0, 0.5, 1.0}
    with pytest.raises(InvalidDataError, match="quantization"):
        EhrlichFunction.build(20, 32, 2, 4, quantization=5)
    with pytest.raises(InvalidDataError, match="num_motifs"):
        EhrlichFunction.build(6, 32, 2, 4)


def test_dmp_samples_are_feasible() -> None:
    f = EhrlichFunction.build(20, 32, 2, 4, seed=0)
    x = f.sample(1000, np.random.default_rng(1))
    assert f.is_feasible(x).all()
    assert f.banned.any() and not np.diag(f.banned).any()


def test_registered_task() -> None:
    t = make("Ehrlich-Exact-v0")
    assert t.is_discrete and t.num_classes == 20 and t.input_shape == (32,)
    assert t.optimum == 1.0 and t.y_full_min == 0.0
    assert float(t.y.max()) < t.y_full_max <= 1.0
    fn = t._oracle.function  # type: ignore[union-attr]
    assert t.predict(fn.optimal_solution()[None])[0, 0] == 1.0
    np.testing.assert_array_equal(t.predict(t.x[:200]), t.y[:200])
    assert make("Ehrlich-Exact-v0", seed=0).dataset_size == t.dataset_size
