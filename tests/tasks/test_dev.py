"""Development tasks (``n2ce_bbo.tasks.dev``): seeds >= 100 only, shapes and dtypes, determinism, exact maxima."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError, InvalidDataError, N2CEBBOError, UnknownTaskError
from n2ce_bbo.tasks import dev
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.dev import (
    MIN_DEV_SEED,
    chain_maximum,
    make_dev_task,
    make_epistasis,
    make_pair_field,
    site_and_neighbour,
)


def _same_task(a: Task, b: Task) -> bool:
    da, db = a.offline_data(), b.offline_data()
    probe = np.random.default_rng(0).integers(0, int(da.num_classes or 2), size=(64, da.dim))
    return (
        np.array_equal(da.x, db.x) and da.x.dtype == db.x.dtype
        and np.array_equal(da.y, db.y) and da.y.dtype == db.y.dtype
        and np.array_equal(a.predict(probe), b.predict(probe))
        and (a.y_full_min, a.y_full_max) == (b.y_full_min, b.y_full_max)
    )


@pytest.mark.parametrize("name", ["PairFieldDev-3-5", "EpistasisDev-3-5", "EhrlichDev-8-16", "TFBind8-Exact-v0"])
@pytest.mark.parametrize("seed", [0, 7, 99, -1])
def test_reported_seeds_are_refused(name: str, seed: int) -> None:
    with pytest.raises(ConfigError, match=r"seed must be >= 100 for a development task") as info:
        make_dev_task(name, seed, None)
    assert isinstance(info.value, ValueError) and info.value.key == "seed"


@pytest.mark.parametrize("seed", [100.0, True, "100"])
def test_non_integer_seeds_are_refused(seed: Any) -> None:
    with pytest.raises(ConfigError, match="seed must be an integer"):
        make_dev_task("PairFieldDev-3-5", seed, None)


def test_first_development_seed_is_accepted() -> None:
    assert MIN_DEV_SEED == 100
    assert make_dev_task("PairFieldDev-3-5", 100, None).name == "PairFieldDev-3-5"
    assert make_dev_task("PairFieldDev-3-5", np.int64(100), None).name == "PairFieldDev-3-5"


@pytest.mark.parametrize("name,rows", [("PairFieldDev-3-5", (9_950, 10_050)), ("EpistasisDev-4-6", (16_000, 16_000)),
                                       ("EhrlichDev-8-16", (15_000, 20_000))])
def test_dev_task_shapes_and_dtypes(name: str, rows: tuple[int, int]) -> None:
    task = make_dev_task(name, 101, None)
    classes, length = (int(t) for t in name.split("-")[1:])
    data = task.offline_data()
    assert rows[0] <= data.n <= rows[1]
    assert data.x.shape == (data.n, length) and data.x.dtype == np.int64
    assert data.y.shape == (data.n, 1) and data.y.dtype == np.float32
    assert task.num_classes == classes and data.x.min() >= 0 and data.x.max() < classes
    out = task.predict(data.x[:7])
    assert out.shape == (7, 1) and out.dtype == np.float32
    assert task.y_full_min < task.y_full_max
    assert task.name == name  # EhrlichDev too: never the reported task's name


@pytest.mark.parametrize("name", ["PairFieldDev-3-6", "EpistasisDev-3-6", "EhrlichDev-8-16"])
def test_same_seed_same_task_other_seed_other_task(name: str) -> None:
    a, b, c = make_dev_task(name, 100, None), make_dev_task(name, 100, None), make_dev_task(name, 101, None)
    assert _same_task(a, b)
    assert not _same_task(a, c)


def test_pair_field_stream_is_pinned() -> None:
    """The draws the recorded development results (benchmarks/results/dev/) were made with."""
    task = make_pair_field(length=5, num_classes=3, seed=100, n_rows=200)
    data = task.offline_data()
    assert data.n == 101
    assert data.x[:2].tolist() == [[2, 1, 0, 0, 0], [1, 1, 0, 0, 1]]
    assert data.y[:2, 0].tolist() == pytest.approx([-2.6525654792785645, -5.176803112030029], rel=1e-6)
    assert task.y_full_max == pytest.approx(6.658414100601245, rel=1e-9)
    assert task.y_full_min == pytest.approx(-6.64650821685791, rel=1e-6)


def test_epistasis_stream_is_pinned() -> None:
    task = make_epistasis(length=6, num_classes=3, seed=100, n_rows=50)
    data = task.offline_data()
    assert data.x[:2].tolist() == [[0, 1, 1, 0, 1, 0], [1, 2, 2, 2, 0, 1]]
    assert data.y[:2, 0].tolist() == pytest.approx([-0.03598029911518097, -0.11621750891208649], rel=1e-6)
    assert (task.y_full_min, task.y_full_max) == pytest.approx((-0.6345162987709045, 0.2180565446615219), rel=1e-6)


def test_pair_field_maximum_is_exact() -> None:
    task = make_pair_field(length=5, num_classes=3, seed=100, n_rows=200)
    every = np.array(list(itertools.product(range(3), repeat=5)))
    assert task.predict(every).max() == pytest.approx(task.y_full_max, rel=1e-5)
    data = task.offline_data()
    assert np.allclose(task.predict(data.x), data.y)  # PairField labels are the oracle's, without noise
    assert abs(len(data.x) - 100) <= 1  # the bottom half of 200 rows (the median row itself may tie)


@pytest.mark.parametrize("length,classes,seed", [(2, 2, 0), (4, 3, 1), (6, 4, 2)])
def test_chain_maximum_matches_brute_force(length: int, classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(length, classes))
    phi = rng.normal(size=(length - 1, classes, classes))
    every = np.array(list(itertools.product(range(classes), repeat=length)))
    scores = site_and_neighbour(theta, phi, every)
    assert scores.shape == (classes**length,) and scores.dtype == np.float64
    assert chain_maximum(theta, phi) == pytest.approx(scores.max(), rel=1e-12)


def test_epistasis_task_keeps_rows_below_observed_80th_percentile() -> None:
    task = make_epistasis(length=12, num_classes=4, seed=101, n_rows=2000)
    data = task.offline_data()
    assert data.x.shape == (1600, 12)
    clean = task.predict(data.x).reshape(-1)
    noisy = data.y.reshape(-1)
    assert not np.allclose(clean, noisy)  # training labels carry noise, the oracle does not
    assert np.array_equal(task.predict(data.x), task.predict(data.x))
    assert np.corrcoef(clean, noisy)[0, 1] > 0.5
    assert task.y_full_min <= clean.min() and clean.max() <= task.y_full_max
    assert clean.min() > -1.0 and clean.max() < 1.0  # tanh squash
    other = make_epistasis(length=12, num_classes=4, seed=102, n_rows=2000)
    assert not np.allclose(other.predict(data.x), task.predict(data.x))  # the seed draws the function


@pytest.mark.parametrize("name", ["PairFieldDev-4", "PairFieldDev-a-5", "EpistasisDev-4-50-1", "EhrlichDev",
                                  "PairFieldDev--4-5", "EhrlichDev-8x16"])
def test_malformed_dev_task_names_are_refused(name: str) -> None:
    with pytest.raises(UnknownTaskError, match="Malformed development task name") as info:
        make_dev_task(name, 100, None)
    assert "PairFieldDev-C-L" in str(info.value) and isinstance(info.value, KeyError)


def test_unknown_task_names_list_the_development_tasks() -> None:
    with pytest.raises(UnknownTaskError, match="Unknown task 'NoSuchTask-v0'") as info:
        make_dev_task("NoSuchTask-v0", 100, None)
    assert all(p in str(info.value) for p in ("EhrlichDev-V-L", "PairFieldDev-C-L", "EpistasisDev-C-L"))


@pytest.mark.parametrize("name", ["PairFieldDev-1-5", "EpistasisDev-3-1", "EhrlichDev-4-8"])
def test_sizes_a_task_cannot_have_are_refused(name: str) -> None:
    with pytest.raises(InvalidDataError):
        make_dev_task(name, 100, None)


def test_registered_tasks_get_the_seed_only_where_it_draws_a_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any, dict[str, Any]]] = []
    sentinel = make_pair_field(length=3, num_classes=2, seed=0, n_rows=10)

    def fake_make(name: str, data_dir: Any = None, **kwargs: Any) -> Task:
        calls.append((name, data_dir, kwargs))
        return sentinel

    monkeypatch.setattr(dev, "make", fake_make)
    assert make_dev_task("TFBind10-Exact-v0", 123, "/data") is sentinel
    assert make_dev_task("TFBind8-Exact-v0", 123, None) is sentinel
    assert calls == [("TFBind10-Exact-v0", "/data", {"max_samples": 10_000, "seed": 123}),
                     ("TFBind8-Exact-v0", None, {})]


def test_errors_are_library_errors() -> None:
    for name, seed in (("PairFieldDev-3-5", 1), ("PairFieldDev-3", 100), ("PairFieldDev-1-5", 100)):
        with pytest.raises(N2CEBBOError):
            make_dev_task(name, seed, None)


def test_the_registry_names_exactly_the_development_builders() -> None:
    """The run path recognises development tasks by the registry's prefixes (without importing their builders);
    they are exactly the builders this package has."""
    from n2ce_bbo.tasks import dev
    from n2ce_bbo.tasks.registry import DEV_TASK_PREFIXES

    assert set(DEV_TASK_PREFIXES) == set(dev._BUILDERS)  # noqa: SLF001
