"""Continuous development tasks (``n2ce_bbo.tasks.dev.continuous``): BoTorch functions, rotated and shifted per
seed, top 40% hidden, the known optimum normalised to 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2ce_bbo.errors import ConfigError, InvalidDataError, UnknownTaskError
from n2ce_bbo.tasks.dev import DEV_TASK_PATTERNS, draw_continuous, make_dev_task
from n2ce_bbo.tasks.dev.continuous import CONTINUOUS_FUNCTIONS
from n2ce_bbo.tasks.synthetic import botorch_function

PREFIXES = sorted(CONTINUOUS_FUNCTIONS)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("dim", [4, 8])
def test_shapes_dtypes_and_the_hidden_top(prefix: str, dim: int) -> None:
    task = make_dev_task(f"{prefix}-{dim}", 100, None)
    data = task.offline_data()
    assert task.name == f"{prefix}-{dim}" and not data.is_discrete
    assert abs(data.n - 2_400) <= 1  # 4,000 rows, those at or below the 60th percentile
    assert data.x.shape == (data.n, dim) and data.x.dtype == np.float32
    assert data.y.shape == (data.n, 1) and data.y.dtype == np.float32
    assert data.bounds is not None and data.bounds.shape == (2, dim)
    assert np.all(data.x >= data.bounds[0]) and np.all(data.x <= data.bounds[1])
    assert np.array_equal(task.predict(data.x), data.y)  # exact labels, no noise
    x_full, y_full, oracle, _ = draw_continuous(prefix, dim, 100)
    hidden = y_full.reshape(-1) > np.percentile(y_full, 60)
    assert data.y.max() < y_full[hidden].min() and data.y.max() < y_full.max() < task.optimum
    assert task.y_full_min == pytest.approx(float(y_full.min())) and task.y_full_max == task.optimum
    out = task.predict(x_full[:5].astype(np.float64))
    assert out.shape == (5, 1) and out.dtype == np.float32


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_optimum_is_known_inside_the_box_and_normalises_to_one(prefix: str) -> None:
    task = make_dev_task(f"{prefix}-5", 101, None)
    oracle = task._oracle
    assert task.optimum == pytest.approx(float(botorch_function(CONTINUOUS_FUNCTIONS[prefix], 5).optimal_value))
    argmax = oracle.argmax.astype(np.float32)[None]  # exactly representable: the optimiser is a float32 design
    assert task.bounds is not None and np.all(argmax > task.bounds[0]) and np.all(argmax < task.bounds[1])
    assert task.normalize(task.predict(argmax))[0, 0] == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(0)
    near = argmax + rng.normal(scale=0.05, size=(256, 5))
    wide = rng.uniform(task.bounds[0], task.bounds[1], size=(4096, 5))
    assert task.predict(near).max() <= task.optimum + 1e-4 and task.predict(wide).max() < task.optimum


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_oracle_is_the_rotated_botorch_function(prefix: str) -> None:
    """``oracle(a + R^T (z - c)) == g(z)`` for points ``z`` of BoTorch's own box."""
    _, _, oracle, _ = draw_continuous(prefix, 6, 102, n_rows=10)
    rotation = oracle.rotation
    assert np.allclose(rotation @ rotation.T, np.eye(6), atol=1e-12) and not np.allclose(np.abs(rotation), np.eye(6))
    g = botorch_function(CONTINUOUS_FUNCTIONS[prefix], 6)
    lo, hi = g.bounds.numpy()
    z = np.random.default_rng(1).uniform(lo, hi, size=(64, 6))
    x = oracle.argmax + (z - oracle.centre) @ rotation
    expected = g.forward(torch.as_tensor(z), noise=False).numpy().reshape(-1, 1)
    assert np.allclose(oracle(x), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_same_seed_same_task_other_seed_other_function(prefix: str) -> None:
    a, b, c = (make_dev_task(f"{prefix}-4", s, None) for s in (100, 100, 101))
    probe = np.random.default_rng(0).uniform(a.bounds[0], a.bounds[1], size=(32, 4))  # type: ignore[index]
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.predict(probe), b.predict(probe))
    assert (a.y_full_min, a.y_full_max) == (b.y_full_min, b.y_full_max)
    assert not np.array_equal(a.x, c.x) and not np.allclose(a.predict(probe), c.predict(probe))
    assert not np.allclose(a._oracle.argmax, c._oracle.argmax)


def test_each_function_has_its_own_stream() -> None:
    ackley, levy = draw_continuous("AckleyDev", 4, 100, 50), draw_continuous("LevyDev", 4, 100, 50)
    assert not np.allclose(ackley[2].rotation, levy[2].rotation)


def test_patterns_and_errors() -> None:
    assert all(f"{p}-D" in DEV_TASK_PATTERNS for p in PREFIXES)
    for name in ("AckleyDev-1", "LevyDev-17"):
        with pytest.raises(InvalidDataError, match="needs 2 <= D <= 16"):
            make_dev_task(name, 100, None)
    for name in ("AckleyDev", "AckleyDev-4-5", "StyblinskiTangDev-x", "RosenbrockDev--4"):
        with pytest.raises(UnknownTaskError, match="Malformed development task name") as info:
            make_dev_task(name, 100, None)
        assert "AckleyDev-D" in str(info.value)
    with pytest.raises(ConfigError, match="seed must be >= 100"):
        make_dev_task("AckleyDev-4", 99, None)
    with pytest.raises(UnknownTaskError, match="Unknown task") as unknown:
        make_dev_task("Ackley-Dev-4", 100, None)
    assert all(p in str(unknown.value) for p in DEV_TASK_PATTERNS)
    with pytest.raises(InvalidDataError, match="max_percentile"):
        from n2ce_bbo.tasks.dev import make_continuous_dev

        make_continuous_dev("AckleyDev", 4, 100, max_percentile=100.0)
