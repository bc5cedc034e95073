"""Bad input to Task / check_designs / check_scores raises InvalidDataError naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from n2ce_bbo.errors import InvalidDataError, OracleUnavailableError
from n2ce_bbo.tasks import Task
from n2ce_bbo.tasks.validation import check_designs, check_scores


def _xy(n: int = 10, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), rng.normal(size=n)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_x(bad: float) -> None:
    x, y = _xy()
    x[3, 1] = bad
    with pytest.raises(InvalidDataError, match="NaN or inf"):
        Task.from_arrays(x, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_y(bad: float) -> None:
    x, y = _xy()
    y[2] = bad
    with pytest.raises(InvalidDataError, match="y holds 1 NaN or inf"):
        Task.from_arrays(x, y)


def test_mismatched_rows() -> None:
    x, y = _xy()
    with pytest.raises(InvalidDataError, match="x has 10 rows but y has 9"):
        Task.from_arrays(x, y[:9])


def test_wrong_rank() -> None:
    x, y = _xy()
    with pytest.raises(InvalidDataError, match="rank 1"):
        Task.from_arrays(x[:, 0], y)
    with pytest.raises(InvalidDataError, match="rank 3"):
        Task.from_arrays(x[:, :, None], y)
    with pytest.raises(InvalidDataError, match=r"shape \[n\] or \[n, 1\]"):
        Task.from_arrays(x, np.stack([y, y], 1))


def test_tokens_out_of_range() -> None:
    x = np.zeros((5, 4), dtype=np.int64)
    x[1, 2] = 4
    with pytest.raises(InvalidDataError, match=r"token 4, out of range \[0, 4\)"):
        Task.from_arrays(x, np.arange(5.0), num_classes=4)
    x[1, 2] = -1
    with pytest.raises(InvalidDataError, match="token -1"):
        Task.from_arrays(x, np.arange(5.0), num_classes=4)


def test_non_integer_tokens_and_bad_num_classes() -> None:
    with pytest.raises(InvalidDataError, match="non-integer"):
        Task.from_arrays(np.full((3, 2), 0.5), np.arange(3.0), num_classes=4)
    with pytest.raises(InvalidDataError, match="num_classes must be an integer >= 2"):
        Task.from_arrays(np.zeros((3, 2), dtype=int), np.arange(3.0), num_classes=1)


def test_empty() -> None:
    with pytest.raises(InvalidDataError, match="empty"):
        Task.from_arrays(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(InvalidDataError, match="0 features"):
        Task.from_arrays(np.zeros((3, 0)), np.zeros(3))


def test_constant_scores_rejected() -> None:
    with pytest.raises(InvalidDataError, match="must exceed"):
        Task.from_arrays(np.zeros((3, 2)), np.ones(3))


def test_ragged_and_strings() -> None:
    with pytest.raises(InvalidDataError):
        Task.from_arrays([[1.0, 2.0], [3.0]], [1.0, 2.0])
    with pytest.raises(InvalidDataError, match="numeric"):
        Task.from_arrays(np.array([["a", "b"], ["c", "d"]]), [1.0, 2.0])


def test_predict_validates_and_needs_oracle() -> None:
    x, y = _xy()
    t = Task.from_arrays(x, y, oracle=lambda z: z.sum(1))
    np.testing.assert_allclose(t.predict(x[:2]).ravel(), x[:2].astype(np.float32).sum(1), rtol=1e-6)
    with pytest.raises(InvalidDataError, match=r"designs of shape \(3,\)"):
        t.predict(np.zeros((2, 4)))
    with pytest.raises(OracleUnavailableError):
        Task.from_arrays(x, y).predict(x[:2])
    with pytest.raises(InvalidDataError, match="oracle must be callable"):
        Task.from_arrays(x, y, oracle=3)  # type: ignore[arg-type]


def test_keep_int_dtype() -> None:
    x = np.ones((4, 3), dtype=np.uint8)
    assert check_designs(x, is_discrete=True, num_classes=4).dtype == np.int64
    assert check_designs(x, is_discrete=True, num_classes=4, keep_int_dtype=True).dtype == np.uint8
    # floats still become int64
    assert check_designs(x.astype(float), is_discrete=True, num_classes=4, keep_int_dtype=True).dtype == np.int64
    t = Task("t", x, np.arange(4.0), num_classes=4, compact_tokens=True)
    assert t.x.dtype == np.uint8
    assert Task("t", x, np.arange(4.0), num_classes=4).x.dtype == np.int64


def test_check_scores_shapes() -> None:
    assert check_scores([1, 2, 3]).shape == (3, 1)
    assert check_scores(np.ones((3, 1))).dtype == np.float32


def test_training_arrays_read_only() -> None:
    x, y = _xy()
    t = Task.from_arrays(x, y)
    with pytest.raises(ValueError):
        t.x[0, 0] = 1.0
