"""Every input form becomes training data one way (n2ce_bbo.workflow.data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError, DataNotFoundError, InvalidDataError, UnknownTaskError
from n2ce_bbo.io.dataset import from_arrays
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.workflow.data import load_data, offline_data, task_data

from .conftest import write_dna_csv


def test_a_table_a_pair_of_files_and_arrays(tmp_path: Path) -> None:
    seqs, ys = write_dna_csv(tmp_path / "dna.csv", n=40)
    table = load_data(tmp_path / "dna.csv", "score", design_column="sequence", alphabet="dna")
    assert table.name == "dna" and table.data.n == 40 and table.task is None and table.bounds is None
    (tmp_path / "x.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(10)))
    (tmp_path / "y.csv").write_text("y\n" + "".join(f"{i / 10}\n" for i in range(10)))
    files = load_data((tmp_path / "x.csv", tmp_path / "y.csv"))
    assert files.data.x.shape == (10, 2) and files.name == "x"
    arrays = load_data((np.eye(3), [1.0, 2.0, 3.0]), "activity", features=["p", "q", "r"])
    assert arrays.data.schema.target == "activity" and arrays.data.schema.columns == ("p", "q", "r")


def test_a_path_is_always_a_file_and_a_missing_one_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        load_data(tmp_path / "missing", "score")
    with pytest.raises(UnknownTaskError):
        load_data("NoSuchTask-v0")
    with pytest.raises(InvalidDataError, match="target"):
        load_data(str(tmp_path / "table.csv"))
    with pytest.raises(InvalidDataError, match="got int"):
        load_data(3)


def test_a_task_keeps_its_rows_box_and_oracle() -> None:
    x = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    task = Task.from_arrays(x, [1.0, 2.0, 3.0], oracle=lambda z: z.sum(1), bounds=np.array([[-1.0, -1.0], [2.0, 2.0]]))
    source = load_data(task)
    assert source.task is task and source.data.n == 3 and source.bounds is task.bounds
    named = load_data("Branin-Exact-v0", run_seed=0)
    assert named.task is not None and named.name == "Branin-Exact-v0" and named.data.n == named.task.dataset_size
    assert task_data(task, {"k": 1}).task_options == {"k": 1}


def test_offline_view_of_tokens_and_continuous_designs() -> None:
    tokens = offline_data(from_arrays(np.array([[0, 1], [1, 2]]), [0.0, 1.0], num_classes=3))
    assert tokens.is_discrete and tokens.num_classes == 3 and tokens.x.dtype == np.int64 and tokens.y.shape == (2, 1)
    cont = offline_data(from_arrays(np.array([[0.0, 5.0], [2.0, 5.0]]), [0.0, 1.0]))
    np.testing.assert_array_equal(cont.bounds, [[0.0, 5.0], [2.0, 6.0]])  # a constant feature gets a unit width
    boxed = offline_data(from_arrays(np.array([[0.0], [1.0]]), [0.0, 1.0]), bounds=np.array([[-1.0], [3.0]]))
    np.testing.assert_array_equal(boxed.bounds, [[-1.0], [3.0]])


def test_a_development_task_is_built_from_the_run_seed_and_refuses_reported_seeds() -> None:
    """Development tasks go through the one run path (so a benchmark suite can hold them), each seed its own draw;
    seeds below 100, a missing seed and task options are refused by name."""
    a, b = load_data("PairFieldDev-4-8", run_seed=100), load_data("PairFieldDev-4-8", run_seed=101)
    assert a.task is not None and a.task.name.startswith("PairFieldDev") and a.data.schema.num_classes == 4
    assert a.data.x.shape[1] == 8 and not np.array_equal(a.data.y, b.data.y)
    assert np.array_equal(a.data.y, load_data("PairFieldDev-4-8", run_seed=100).data.y)
    with pytest.raises(ConfigError, match=">= 100"):
        load_data("PairFieldDev-4-8", run_seed=3)
    with pytest.raises(ConfigError, match="give a seed"):
        load_data("PairFieldDev-4-8")
    with pytest.raises(ConfigError, match="no task options"):
        load_data("PairFieldDev-4-8", run_seed=100, task_kwargs={"max_samples": 10})
    with pytest.raises(UnknownTaskError, match="Malformed development task"):
        load_data("PairFieldDev-4", run_seed=100)
