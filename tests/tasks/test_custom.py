"""Custom tasks: from_arrays, CSV, NPZ, a design_bench stand-in, and registering them by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import CorruptDataError, DataNotFoundError, InvalidDataError
from n2ce_bbo.tasks import Task, from_csv, from_design_bench, from_npz, make, task_table
from n2ce_bbo.tasks import registry as reg
from n2ce_bbo.tasks.custom import register_arrays, register_csv, register_npz


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_from_arrays_docstring_example() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, size=(100, 3))
    t = Task.from_arrays(x, -(x**2).sum(1), oracle=lambda z: -(z**2).sum(1), name="sphere")
    assert t.name == "sphere" and t.predict(np.zeros((1, 3)))[0, 0] == 0.0
    assert t.bounds.shape == (2, 3)
    d = Task.from_arrays(np.array([[0, 1], [1, 0], [1, 1]]), [0.0, 1.0, 2.0], num_classes=2)
    assert d.is_discrete and d.x.dtype == np.int64 and not d.has_oracle


def test_from_csv(tmp_path: Path) -> None:
    p = _write_csv(tmp_path / "d.csv", "a,b,score\n1,2,0.5\n3,4,1.5\n5,6,-1\n")
    t = from_csv(p, y_column="score")
    assert t.name == "d" and t.x.shape == (3, 2) and float(t.y.max()) == 1.5
    t2 = from_csv(p, y_column=0, x_columns=["b"])
    np.testing.assert_array_equal(t2.y[:, 0], [1, 3, 5])
    tok = from_csv(_write_csv(tmp_path / "t.csv", "p0,p1,y\n0,3,1\n2,1,2\n"), num_classes=4)
    assert tok.is_discrete and tok.x.tolist() == [[0, 3], [2, 1]]


@pytest.mark.parametrize(
    "text,kwargs,match",
    [
        ("a,y\n1,2\n1,x\n", {}, r"line 3, column 'y': 'x' is not a number"),
        ("a,y\n1,2\n1\n", {}, "line 3 has 1 fields"),
        ("a,y\n", {}, "header row and at least one data row"),
        ("a,b\n1,2\n", {"y_column": "score"}, "no column 'score'"),
        ("a,y\n1,nan\n2,3\n", {}, "NaN or inf"),
        ("a,y\n0,1\n7,2\n", {"num_classes": 4}, "token 7"),
        ("a,y\n0.5,1\n1,2\n", {"num_classes": 4}, "non-integer"),
        ("y\n1\n2\n", {}, "no design columns"),
    ],
)
def test_from_csv_bad(tmp_path: Path, text: str, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        from_csv(_write_csv(tmp_path / "bad.csv", text), **kwargs)


def test_from_csv_missing(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="nope.csv"):
        from_csv(tmp_path / "nope.csv")


def test_from_npz(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 4, size=(20, 5))
    np.savez(tmp_path / "d.npz", designs=x, scores=x.sum(1).astype(float))
    t = from_npz(tmp_path / "d.npz", x_key="designs", y_key="scores", num_classes=4)
    assert t.dataset_size == 20 and t.num_classes == 4
    with pytest.raises(CorruptDataError, match=r"lacks array\(s\) \['x', 'y'\]"):
        from_npz(tmp_path / "d.npz")
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(CorruptDataError, match="bad.npz"):
        from_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "m.npz", x=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(InvalidDataError, match="x has 3 rows but y has 4"):
        from_npz(tmp_path / "m.npz")


class FakeDesignBenchTask:
    """Stand-in for a ``design_bench`` task object (same attribute names)."""

    def __init__(self, discrete: bool = True) -> None:
        rng = np.random.default_rng(0)
        self.is_discrete = discrete
        self.is_logits = False
        self.dataset_name = "tf_bind_8-SIX6_REF_R1" if discrete else "superconductor"
        if discrete:
            self.num_classes = 4
            self.x = rng.integers(0, 4, size=(50, 8)).astype(np.int32)
        else:
            self.x = rng.normal(size=(50, 3)).astype(np.float32)
        self.y = rng.random((50, 1)).astype(np.float32)
        self.dataset = type("DS", (), {"dataset_min_output": np.float32(-1.0), "dataset_max_output": np.float32(2.0)})()
        self.calls: list[np.dtype] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(x.dtype)
        return np.asarray(x, dtype=np.float32).sum(axis=1, keepdims=True)


def test_from_design_bench_stand_in() -> None:
    fake = FakeDesignBenchTask()
    t = from_design_bench(fake)
    assert t.name == "tf_bind_8-SIX6_REF_R1" and t.num_classes == 4 and t.dataset_size == 50
    assert (t.y_full_min, t.y_full_max) == (-1.0, 2.0)
    np.testing.assert_array_equal(t.predict(fake.x[:3])[:, 0], fake.x[:3].sum(1))
    assert fake.calls == [np.dtype(np.int32)]  # design_bench gets its own dtype back
    c = from_design_bench(FakeDesignBenchTask(discrete=False), name="sc", y_full_max=10.0)
    assert c.name == "sc" and not c.is_discrete and c.y_full_max == 10.0
    assert not from_design_bench(fake, use_oracle=False).has_oracle


def test_from_design_bench_bad() -> None:
    with pytest.raises(InvalidDataError, match=r"has no \.x"):
        from_design_bench(object())
    fake = FakeDesignBenchTask()
    fake.is_logits = True
    with pytest.raises(InvalidDataError, match="map_to_integers"):
        from_design_bench(fake)
    fake = FakeDesignBenchTask()
    del fake.num_classes
    with pytest.raises(InvalidDataError, match="num_classes"):
        from_design_bench(fake)


def test_register_by_name(tmp_path: Path) -> None:
    p = _write_csv(tmp_path / "r.csv", "a,y\n1,2\n3,4\n")
    np.savez(tmp_path / "r.npz", x=np.ones((3, 2)), y=np.arange(3.0))
    try:
        register_csv("TmpCsv-v0", p)
        register_npz("TmpNpz-v0", tmp_path / "r.npz")
        register_arrays("TmpArr-v0", np.eye(3), np.arange(3.0))
        assert make("TmpCsv-v0").name == "TmpCsv-v0" and make("TmpCsv-v0").dataset_size == 2
        assert make("TmpNpz-v0").x.shape == (3, 2)
        assert make("TmpArr-v0").dataset_size == 3
        rows = {r["name"]: r for r in task_table()}
        assert rows["TmpCsv-v0"]["rows"] == 2 and rows["TmpArr-v0"]["design_shape"] == (3,)
        with pytest.raises(InvalidDataError):  # arrays are checked at registration
            register_arrays("TmpArr2-v0", np.eye(3), np.arange(2.0))
    finally:
        for n in ("TmpCsv-v0", "TmpNpz-v0", "TmpArr-v0", "TmpArr2-v0"):
            reg._TASKS.remove(n)
