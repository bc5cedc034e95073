"""A fitted random forest as plain arrays: export from scikit-learn, vectorised numpy prediction, pickle-free cache.

The cache is an ``.npz`` of the concatenated trees plus a JSON metadata string holding a SHA-256 checksum of the
arrays and a description of what was fitted (parameters and a fingerprint of the data), so a stale or damaged
file is detected and rebuilt instead of silently used.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.errors import CorruptDataError
from n2ce_bbo.utils import atomic_write_bytes

FORMAT_VERSION = 1
_ARRAY_KEYS = ("children_left", "children_right", "feature", "threshold", "value", "tree_offsets")


@dataclass(frozen=True)
class ForestArrays:
    """Every tree of a regression forest, concatenated.

    Attributes:
        children_left, children_right: int32 ``[N]`` global node ids of the children; ``-1`` marks a leaf.
        feature: int32 ``[N]`` feature tested at each split node (``-2`` at leaves).
        threshold: float64 ``[N]``; a sample goes left when ``float32(x[feature]) <= threshold`` (as scikit-learn).
        value: float64 ``[N]`` mean target at each node (the prediction at leaves).
        tree_offsets: int64 ``[T + 1]``; tree ``t`` owns nodes ``tree_offsets[t]:tree_offsets[t+1]``, root first.
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    tree_offsets: np.ndarray

    @property
    def n_trees(self) -> int:
        """Number of trees in the forest."""
        return int(self.tree_offsets.shape[0] - 1)

    def checksum(self) -> str:
        """SHA-256 over every array's dtype, shape and bytes."""
        h = hashlib.sha256()
        for k in _ARRAY_KEYS:
            a = np.ascontiguousarray(getattr(self, k))
            h.update(f"{k}:{a.dtype.str}:{a.shape}".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Leaf reached by each sample in each tree: ``x [m, d]`` -> int64 ``[m, T]`` global node ids.

        All (sample, tree) pairs descend together; pairs that reach a leaf leave the working set.
        """
        xf = np.asarray(x, dtype=np.float32)  # scikit-learn compares float32 features with float64 thresholds
        m, n_trees = xf.shape[0], self.n_trees
        roots = self.tree_offsets[:-1]
        node = np.repeat(roots[None, :], m, axis=0).reshape(-1)  # [m * T], sample-major
        left = self.children_left.astype(np.int64)
        right = self.children_right.astype(np.int64)
        offs = np.repeat(roots[None, :], m, axis=0).reshape(-1)
        work = np.flatnonzero(left[node] >= 0)
        sample = work // n_trees
        while work.size:
            nd = node[work]
            go_left = xf[sample, self.feature[nd]].astype(np.float64) <= self.threshold[nd]
            nd = np.where(go_left, left[nd], right[nd]) + offs[work]
            node[work] = nd
            keep = left[nd] >= 0
            work, sample = work[keep], sample[keep]
        return node.reshape(m, n_trees)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Forest prediction: mean over trees of the leaf values, ``[m, d]`` -> float64 ``[m]``.

        Trees are summed one after another in float64, in the order scikit-learn's single-threaded predict uses.
        """
        leaves = self.apply(x)
        vals = self.value[leaves]
        total = np.zeros(leaves.shape[0], dtype=np.float64)
        for t in range(self.n_trees):
            total += vals[:, t]
        return total / self.n_trees


def export_forest(model: Any) -> ForestArrays:
    """Arrays of a fitted ``sklearn.ensemble.RandomForestRegressor`` (single output).

    Child ids are stored relative to their tree (``-1`` for leaves) and ``tree_offsets`` converts them.
    """
    lefts, rights, feats, thrs, vals, offsets = [], [], [], [], [], [0]
    for est in model.estimators_:
        tr = est.tree_
        if tr.value.shape[1] != 1 or tr.value.shape[2] != 1:
            raise ValueError("only single-output regression forests can be exported")
        lefts.append(tr.children_left.astype(np.int32))
        rights.append(tr.children_right.astype(np.int32))
        feats.append(tr.feature.astype(np.int32))
        thrs.append(tr.threshold.astype(np.float64))
        vals.append(tr.value[:, 0, 0].astype(np.float64))
        offsets.append(offsets[-1] + tr.node_count)
    return ForestArrays(
        children_left=np.concatenate(lefts), children_right=np.concatenate(rights), feature=np.concatenate(feats),
        threshold=np.concatenate(thrs), value=np.concatenate(vals), tree_offsets=np.asarray(offsets, dtype=np.int64),
    )


def _relative_to_global(arrs: ForestArrays) -> None:
    """Sanity-check child ids (relative to their tree) against each tree's node count."""
    for t in range(arrs.n_trees):
        a, b = int(arrs.tree_offsets[t]), int(arrs.tree_offsets[t + 1])
        for ch in (arrs.children_left[a:b], arrs.children_right[a:b]):
            if ch.size and (ch.max() >= b - a or ch.min() < -1):
                raise CorruptDataError(f"tree {t} has child ids outside its {b - a} nodes")


def save_forest(path: Path, arrs: ForestArrays, meta: dict[str, Any]) -> None:
    """Write the forest and ``meta`` (plus format version and checksum) atomically, without pickle."""
    full = dict(meta, format_version=FORMAT_VERSION, checksum=arrs.checksum())
    buf = io.BytesIO()
    np.savez(buf, **{k: getattr(arrs, k) for k in _ARRAY_KEYS}, meta=np.array(json.dumps(full, sort_keys=True)))
    atomic_write_bytes(path, buf.getvalue())


def load_forest(path: Path, expected_meta: dict[str, Any]) -> ForestArrays:
    """Read a cached forest, checking format, checksum and that it was fitted as ``expected_meta`` says.

    Raises:
        CorruptDataError: unreadable, wrong format, bad checksum, or fitted differently (stale).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in (*_ARRAY_KEYS, "meta") if k not in z.files]
            if missing:
                raise CorruptDataError(f"forest cache {str(path)!r} lacks {missing}")
            arrays = {k: z[k] for k in _ARRAY_KEYS}
            meta = json.loads(str(z["meta"]))
    except CorruptDataError:
        raise
    except Exception as exc:
        raise CorruptDataError(f"forest cache {str(path)!r} cannot be read ({type(exc).__name__}: {exc})") from exc
    arrs = ForestArrays(**arrays)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CorruptDataError(f"forest cache {str(path)!r} has format {meta.get('format_version')}, expected {FORMAT_VERSION}")
    if meta.get("checksum") != arrs.checksum():
        raise CorruptDataError(f"forest cache {str(path)!r} fails its checksum")
    for k, v in expected_meta.items():
        if meta.get(k) != v:
            raise CorruptDataError(f"forest cache {str(path)!r} was fitted with {k}={meta.get(k)!r}, expected {v!r}")
    _relative_to_global(arrs)
    return arrs


def cached_forest(path: Path, expected_meta: dict[str, Any], fit: Any) -> ForestArrays:
    """Load the forest at ``path``, or fit it with ``fit() -> ForestArrays`` and cache it.

    A damaged or stale cache is rebuilt with a warning; a cache folder that cannot be written only warns.
    """
    if path.exists():
        try:
            return load_forest(path, expected_meta)
        except CorruptDataError as exc:
            warnings.warn(f"{exc}; refitting the forest and rewriting the cache.", RuntimeWarning, stacklevel=3)
    arrs = fit()
    try:
        save_forest(path, arrs, expected_meta)
    except OSError as exc:
        warnings.warn(f"could not write the forest cache {str(path)!r} ({exc}); it will be refitted next time.",
                      RuntimeWarning, stacklevel=3)
    return arrs
