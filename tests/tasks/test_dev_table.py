"""``TableDev-D`` (``n2ce_bbo.tasks.dev.table``): compositions and a temperature, noisy labels, the top 20% hidden,
and its CSV for the user path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.constraints import read_bounds_file
from n2ce_bbo.errors import ConfigError, InvalidDataError
from n2ce_bbo.io.schema import continuous_schema
from n2ce_bbo.tasks.custom import from_csv
from n2ce_bbo.tasks.dev import DEV_TASK_PATTERNS, draw_table, make_dev_task, table_columns, write_dev_table


@pytest.mark.parametrize("dim", [3, 5, 8])
def test_shapes_bounds_and_the_hidden_top(dim: int) -> None:
    task = make_dev_task(f"TableDev-{dim}", 100, None)
    data = task.offline_data()
    assert task.name == f"TableDev-{dim}" and "TableDev-D" in DEV_TASK_PATTERNS and not data.is_discrete
    assert abs(data.n - 2_000) <= 2 and data.x.shape == (data.n, dim) and data.x.dtype == np.float32
    assert data.y.shape == (data.n, 1) and data.y.dtype == np.float32
    assert data.bounds is not None and data.bounds.tolist() == [[0.0] * (dim - 1) + [300.0], [1.0] * (dim - 1) + [900.0]]
    assert np.allclose(data.x[:, :-1].sum(axis=1), 1.0, atol=5e-4)  # compositions (rounded to 4 decimals)
    assert data.x[:, -1].min() >= 300.0 and data.x[:, -1].max() <= 900.0
    x, y, y_obs, _ = draw_table(dim, 100)
    hidden = y_obs.reshape(-1) > np.percentile(y_obs, 80)
    assert np.array_equal(x[~hidden], data.x) and np.array_equal(y_obs[~hidden], data.y)
    clean = task.predict(data.x)
    assert clean.dtype == np.float32 and clean.shape == (data.n, 1) and not np.allclose(clean, data.y)
    assert clean.max() < y[hidden].max() == task.y_full_max and task.y_full_min == float(y.min())
    assert 0.0 < np.abs(clean - data.y).std() < 0.2 * y.std()  # noisy labels, 0.1 of the std


def test_the_oracle_reads_fractions_as_a_recipe() -> None:
    task = make_dev_task("TableDev-5", 101, None)
    x = np.array(task.x[:16], dtype=np.float64)
    scaled = x.copy()
    scaled[:, :-1] *= 3.0
    assert np.allclose(task.predict(scaled), task.predict(x), rtol=1e-5)
    clipped = x.copy()
    clipped[:, 0] = -0.5  # a negative fraction counts as none
    zeroed = x.copy()
    zeroed[:, 0] = 0.0
    assert np.allclose(task.predict(clipped), task.predict(zeroed), rtol=1e-5)
    even = np.array([[0.0] * 4 + [600.0], [0.25] * 4 + [600.0]])
    out = task.predict(even)
    assert out[0, 0] == pytest.approx(out[1, 0], rel=1e-6)
    hot, cold = x.copy(), x.copy()
    hot[:, -1], cold[:, -1] = 900.0, 300.0
    assert not np.allclose(task.predict(hot), task.predict(cold))  # the temperature column matters


def test_same_seed_same_task_other_seed_other_function() -> None:
    a, b, c = (make_dev_task("TableDev-4", s, None) for s in (100, 100, 101))
    probe = np.array(a.x[:20])
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.predict(probe), b.predict(probe))
    assert not np.array_equal(a.x[:20], c.x[:20]) and not np.allclose(a.predict(probe), c.predict(probe))


def test_the_csv_reads_back_to_the_same_rows(tmp_path: Path) -> None:
    task = make_dev_task("TableDev-5", 102, None)
    columns = write_dev_table(task, tmp_path / "t" / "table.csv", bounds_path=tmp_path / "t" / "bounds.csv")
    assert columns == table_columns(5) == ["frac_0", "frac_1", "frac_2", "frac_3", "anneal_c"]
    header = (tmp_path / "t" / "table.csv").read_text().splitlines()[0]
    assert header == "frac_0,frac_1,frac_2,frac_3,anneal_c,hardness"
    back = from_csv(tmp_path / "t" / "table.csv", y_column="hardness")
    assert np.array_equal(back.x, task.x) and np.array_equal(back.y, task.y)
    lower, upper = read_bounds_file(tmp_path / "t" / "bounds.csv", continuous_schema(5, columns))
    assert task.bounds is not None and np.array_equal(lower, task.bounds[0]) and np.array_equal(upper, task.bounds[1])
    with pytest.raises(InvalidDataError, match="writes TableDev tasks"):
        write_dev_table(make_dev_task("AckleyDev-4", 100, None), tmp_path / "a.csv")


@pytest.mark.parametrize("name", ["TableDev-2", "TableDev-13"])
def test_sizes_it_cannot_have_are_refused(name: str) -> None:
    with pytest.raises(InvalidDataError, match="TableDev needs"):
        make_dev_task(name, 100, None)


def test_reported_seeds_are_refused() -> None:
    with pytest.raises(ConfigError, match="seed must be >= 100"):
        make_dev_task("TableDev-5", 7, None)
