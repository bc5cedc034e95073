"""The contract every task that needs no data folder keeps (one test, every such registered task).

Its offline data have the shapes and types the listing promises, its oracle agrees with the training scores,
normalisation maps the full data's range to [0, 1], and building it twice gives the same task.
"""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.tasks import list_tasks, make, task_table

EMBEDDED = [t.name for t in list_tasks() if not t.needs_data]


def test_every_embedded_builtin_is_covered() -> None:
    assert {"Branin-Exact-v0", "Ehrlich-Exact-v0"} <= set(EMBEDDED)


@pytest.mark.parametrize("name", EMBEDDED)
def test_task_contract(name: str) -> None:
    task = make(name)
    row = {r["name"]: r for r in task_table()}[name]
    data = task.offline_data()
    x, y = data.x, data.y
    # the listing's facts are the task's (built-in rows are recorded without building the task)
    assert row["design_shape"] == task.input_shape == x.shape[1:]
    assert row["rows"] == task.dataset_size == x.shape[0] and row["data_found"]
    assert row["kind"] == ("discrete" if data.is_discrete else "continuous")
    assert y.shape == (x.shape[0], 1) and y.dtype == np.float32 and np.all(np.isfinite(y))
    if data.is_discrete:
        assert data.num_classes is not None and row["shape"].endswith(f"({data.num_classes} classes)")
        assert np.issubdtype(x.dtype, np.integer) and x.min() >= 0 and x.max() < data.num_classes
        assert data.bounds is None
    else:
        assert x.dtype == np.float32 and data.bounds is not None and data.bounds.shape == (2, x.shape[1])
        assert np.all(x >= data.bounds[0]) and np.all(x <= data.bounds[1])
    # the oracle scores the training rows as the data does, and normalisation spans the full data
    assert task.has_oracle
    some = x[:: max(1, x.shape[0] // 50)]
    np.testing.assert_allclose(task.predict(some), y[:: max(1, x.shape[0] // 50)], rtol=1e-5, atol=1e-6)
    norm = task.normalize(np.array([task.y_full_min, task.y_full_max]))
    np.testing.assert_allclose(norm.reshape(-1), [0.0, 1.0], atol=1e-6)
    assert task.validate_designs(x[:3]).shape == (3, *x.shape[1:])
    again = make(name)
    np.testing.assert_array_equal(again.x, x)
    np.testing.assert_array_equal(again.y, task.y)
