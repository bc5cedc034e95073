"""Design-Bench tasks rebuilt from a data folder: TFBind8, TFBind10 (pho4) and Superconductor.

Each task follows Design-Bench's dataset rule: the optimiser gets the rows whose score is at or below a percentile
of the **full** data (``y <= np.percentile(y_full, p)``), and normalisation uses the full data's min and max.
Files are read in the compact layout of the project's data folder or in Design-Bench's own shard layout
(see :mod:`n2ce_bbo.tasks.data_dir`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2ce_bbo.errors import CorruptDataError, DataNotFoundError, InvalidDataError
from n2ce_bbo.tasks.base import Task
from n2ce_bbo.tasks.builtin import SUPERCON_ORACLE_NOTE
from n2ce_bbo.tasks.data_dir import (
    HOW_TO_SET,
    find_file,
    find_shards,
    load_npy,
    load_npz,
    resolve_cache_dir,
    resolve_data_dir,
)
from n2ce_bbo.tasks.forest import ForestArrays, cached_forest, export_forest

# --- file names ----------------------------------------------------------------------------------------------
TFBIND8_NPZ = "tfbind8/tf_bind_8.npz"
TFBIND8_SHARDS = ("tf_bind_8-SIX6_REF_R1", "tf_bind_8")
TFBIND10_FULL_NPZ = "tfbind10/tf_bind_10_pho4_full.npz"
TFBIND10_ORACLE_NPZ = "tfbind10/tf_bind_10_pho4_oracle.npz"
TFBIND10_SHARDS = ("tf_bind_10-pho4", "tf_bind_10")
SUPERCON_NPZ = "superconductor/superconductor_unique_m.npz"
SUPERCON_SHARDS = ("superconductor", "superconductor")

# Known sizes, so listings need not load anything.


# --- shared helpers ------------------------------------------------------------------------------------------
def percentile_mask(y: np.ndarray, max_percentile: float, min_percentile: float = 0.0) -> np.ndarray:
    """Design-Bench's subsampling rule: rows with ``percentile(y, min) <= y <= percentile(y, max)``.

    Args:
        y: scores ``[n]`` or ``[n, 1]`` of the full data.
        max_percentile, min_percentile: in ``[0, 100]``; 100 and 0 mean no bound.

    Returns:
        bool ``[n]``.
    """
    y = np.asarray(y).reshape(-1)
    hi = np.percentile(y, max_percentile) if max_percentile < 100.0 else np.inf
    lo = np.percentile(y, min_percentile) if min_percentile > 0.0 else -np.inf
    return (y <= hi) & (y >= lo)


def tokens_to_codes(x: np.ndarray, num_classes: int) -> np.ndarray:
    """Base-``num_classes`` code of each sequence, first token most significant: int ``[m, L]`` -> int64 ``[m]``."""
    x = np.asarray(x)
    powers = num_classes ** np.arange(x.shape[1] - 1, -1, -1, dtype=np.int64)
    return x.astype(np.int64) @ powers


def codes_to_tokens(codes: np.ndarray, length: int, num_classes: int, dtype: type = np.uint8) -> np.ndarray:
    """Inverse of :func:`tokens_to_codes`, one column at a time (no ``[m, L]`` int64 temporary): ``[m] -> [m, L]``."""
    out: np.ndarray = np.empty((codes.shape[0], length), dtype=dtype)
    for i in range(length):
        out[:, i] = (codes // num_classes ** (length - 1 - i)) % num_classes
    return out


def last_occurrence_into(table: np.ndarray, codes: np.ndarray, y: np.ndarray) -> None:
    """``table[code] = y`` of the **last** row with that code (Design-Bench's exact oracle fills a dict in order)."""
    rev_codes = codes[::-1]
    uniq, first_in_rev = np.unique(rev_codes, return_index=True)
    table[uniq] = y[::-1][first_in_rev]


@dataclass(frozen=True)
class LookupOracle:
    """Exact oracle by table lookup: int tokens ``[m, L]`` -> float32 ``[m, 1]``.

    Attributes:
        table: float32 ``[num_classes ** L]`` score of each sequence, indexed by its base code (NaN: unknown).
        num_classes: token alphabet size.
    """

    table: np.ndarray
    num_classes: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        codes = tokens_to_codes(x, self.num_classes)
        out = self.table[codes]
        if np.isnan(out).any():
            bad = int(np.flatnonzero(np.isnan(out))[0])
            raise CorruptDataError(f"the oracle table has no score for design {np.asarray(x)[bad].tolist()}")
        return out.reshape(-1, 1).astype(np.float32)


def _missing(task: str, root: Path, expects: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"Task {task!r}: no data found in {str(root)!r}; expected {expects} "
        f"(the folder may also hold them under design_bench_data/). {HOW_TO_SET} to point at the right folder."
    )


def _check_tokens(x: np.ndarray, y: np.ndarray, path: object, length: int) -> None:
    if x.ndim != 2 or x.shape[1] != length or y.reshape(-1).shape[0] != x.shape[0]:
        raise CorruptDataError(f"Data file {path!s}: expected x [n, {length}] and y [n, 1], got {x.shape} and {y.shape}.")


# --- TFBind8 -------------------------------------------------------------------------------------------------
def tfbind8_source(root: Path) -> str | None:
    """Which TFBind8 files exist under ``root`` (a description), or ``None``; loads nothing."""
    p = find_file(root, [TFBIND8_NPZ])
    if p is not None:
        return str(p)
    s = find_shards(root, *TFBIND8_SHARDS)
    return str(s[0][0].parent) if s else None


def load_tfbind8_full(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The whole TFBind8 dataset: uint8 ``[65792, 8]`` tokens and float32 ``[65792, 1]`` scores, in file order."""
    p = find_file(root, [TFBIND8_NPZ])
    if p is not None:
        d = load_npz(p, ["x", "y"])
        x, y, src = d["x"], d["y"], p
    else:
        s = find_shards(root, *TFBIND8_SHARDS)
        if s is None:
            raise _missing("TFBind8-Exact-v0", root, f"{TFBIND8_NPZ} or tf_bind_8-SIX6_REF_R1/tf_bind_8-{{x,y}}-0.npy")
        x = np.concatenate([load_npy(f) for f in s[0]])
        y = np.concatenate([load_npy(f) for f in s[1]])
        src = s[0][0].parent
    _check_tokens(x, y, src, 8)
    if x.size and (x.min() < 0 or x.max() > 3):
        raise CorruptDataError(f"TFBind8 data in {src!s} holds tokens outside 0..3.")
    return x.astype(np.uint8), y.astype(np.float32).reshape(-1, 1)


def make_tfbind8(data_dir: str | Path | None = None) -> Task:
    """``TFBind8-Exact-v0``: 8-mers over 4 bases, exact lookup oracle; 32,898 training rows (y <= median)."""
    root = resolve_data_dir(data_dir, task="TFBind8-Exact-v0")
    x_full, y_full = load_tfbind8_full(root)
    mask = percentile_mask(y_full, 50.0)
    table = np.full(4**8, np.nan, dtype=np.float32)
    last_occurrence_into(table, tokens_to_codes(x_full, 4), y_full[:, 0])
    return Task(
        "TFBind8-Exact-v0", x_full[mask].astype(np.int64), y_full[mask], oracle=LookupOracle(table, 4), num_classes=4,
        y_full_min=float(y_full.min()), y_full_max=float(y_full.max()), optimum=float(np.nanmax(table)),
        description="DNA 8-mers binding SIX6 (Design-Bench): exact lookup oracle",
        oracle_note="exact (lookup table of all 65,536 8-mers)",
    )


# --- TFBind10 (pho4) -----------------------------------------------------------------------------------------
def tfbind10_source(root: Path) -> str | None:
    """Which TFBind10 files exist under ``root``, or ``None``; loads nothing."""
    p = find_file(root, [TFBIND10_FULL_NPZ])
    if p is not None:
        return str(p)
    s = find_shards(root, *TFBIND10_SHARDS)
    return str(s[0][0].parent) if s else None


def _tfbind10_compact(path: Path, oracle_path: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(code uint32 [N], y float32 [N], oracle table float32 [4**10])`` from the compact files."""
    d = load_npz(path, ["counts", "y_values", "y_index"])
    counts, y_values, y_index = d["counts"], d["y_values"], d["y_index"]
    if counts.shape != (4**10,) or int(counts.sum(dtype=np.int64)) != y_index.shape[0] or (
        y_index.size and int(y_index.max()) >= y_values.shape[0]
    ):
        raise CorruptDataError(f"Data file {str(path)!r}: counts, y_index and y_values are inconsistent.")
    code = np.repeat(np.arange(4**10, dtype=np.uint32), counts)
    y = y_values[y_index]
    del y_index
    if oracle_path is not None:
        table = load_npz(oracle_path, ["y"])["y"].reshape(-1).astype(np.float32)
        if table.shape != (4**10,):
            raise CorruptDataError(f"Data file {str(oracle_path)!r}: expected y [{4**10}, 1], got {table.shape}.")
    else:  # rows of a 10-mer keep their shard order, so the last of each group is Design-Bench's value
        table = np.full(4**10, np.nan, dtype=np.float32)
        ends = np.cumsum(counts, dtype=np.int64) - 1
        has = counts > 0
        table[has] = y[ends[has]]
    return code, y, table


def _tfbind10_shards(xs: list[Path], ys: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same as :func:`_tfbind10_compact` from Design-Bench shards, read one shard at a time."""
    codes, yparts = [], []
    table = np.full(4**10, np.nan, dtype=np.float32)
    for fx, fy in zip(xs, ys, strict=True):
        x = load_npy(fx)
        y = load_npy(fy).astype(np.float32).reshape(-1)
        _check_tokens(x, y, fx, 10)
        c = tokens_to_codes(x, 4).astype(np.uint32)
        del x
        last_occurrence_into(table, c, y)
        codes.append(c)
        yparts.append(y)
    return np.concatenate(codes), np.concatenate(yparts), table


def make_tfbind10(data_dir: str | Path | None = None, max_samples: int | None = None, seed: int = 0) -> Task:
    """``TFBind10-Exact-v0`` (pho4): 10-mers over 4 bases, exact oracle (last occurrence, as Design-Bench).

    Training rows: the 4,161,482 rows with y at or below the median of the 8,321,066-row full data, kept as
    uint8 ``[n, 10]`` tokens (``compact_tokens``). Row order: by base-4 code from the compact file, shard order
    from shards.

    Args:
        data_dir: data folder (or ``$N2CE_BBO_DATA_DIR``).
        max_samples: keep a random subset of this many training rows (Design-Bench's ``max_samples``), in row
            order; ``None`` keeps all.
        seed: seed of that subset.
    """
    name = "TFBind10-Exact-v0"
    if max_samples is not None and (isinstance(max_samples, bool) or int(max_samples) <= 0):
        raise InvalidDataError(f"max_samples must be a positive integer or None, got {max_samples!r}.")
    root = resolve_data_dir(data_dir, task=name)
    p = find_file(root, [TFBIND10_FULL_NPZ])
    if p is not None:
        code, y_full, table = _tfbind10_compact(p, find_file(root, [TFBIND10_ORACLE_NPZ]))
    else:
        s = find_shards(root, *TFBIND10_SHARDS)
        if s is None:
            raise _missing(name, root, f"{TFBIND10_FULL_NPZ} or tf_bind_10-pho4/tf_bind_10-{{x,y}}-{{0..83}}.npy")
        code, y_full, table = _tfbind10_shards(*s)
    idx = np.flatnonzero(percentile_mask(y_full, 50.0))
    if max_samples is not None and int(max_samples) < idx.size:
        pick = np.random.default_rng(seed).choice(idx.size, size=int(max_samples), replace=False)
        idx = idx[np.sort(pick)]
    x = codes_to_tokens(code[idx], 10, 4, np.uint8)
    y = y_full[idx]
    y_min, y_max = float(y_full.min()), float(y_full.max())
    del code, y_full
    return Task(
        name, x, y, oracle=LookupOracle(table, 4), num_classes=4, y_full_min=y_min, y_full_max=y_max,
        optimum=float(np.nanmax(table)), compact_tokens=True,
        description="DNA 10-mers binding pho4 (Design-Bench): exact oracle",
        oracle_note="exact (lookup table of all 1,048,576 10-mers, last occurrence as Design-Bench)",
    )


# --- Superconductor ------------------------------------------------------------------------------------------
def superconductor_source(root: Path) -> str | None:
    """Which Superconductor files exist under ``root``, or ``None``; loads nothing."""
    p = find_file(root, [SUPERCON_NPZ])
    if p is not None:
        return str(p)
    s = find_shards(root, *SUPERCON_SHARDS)
    return str(s[0][0].parent) if s else None


def load_superconductor_labelled(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labelled Superconductor rows: float32 ``[n, 86]`` element amounts, float32 ``[n, 1]`` critical temperature (K)."""
    p = find_file(root, [SUPERCON_NPZ])
    if p is not None:
        d = load_npz(p, ["x", "y", "has_y"])
        x, y, keep, src = d["x"], d["y"].reshape(-1), d["has_y"].astype(bool), p
    else:
        s = find_shards(root, *SUPERCON_SHARDS)
        if s is None:
            raise _missing("Superconductor-RandomForest-v0", root,
                           f"{SUPERCON_NPZ} or superconductor/superconductor-{{x,y}}-{{0..4}}.npy")
        x = np.concatenate([load_npy(f) for f in s[0]])
        y = np.concatenate([load_npy(f) for f in s[1]]).reshape(-1)
        keep, src = np.ones(y.shape[0], dtype=bool), s[0][0].parent
    if x.ndim != 2 or x.shape[1] != 86 or y.shape[0] != x.shape[0]:
        raise CorruptDataError(f"Superconductor data in {src!s}: expected x [n, 86] and y [n], got {x.shape}, {y.shape}.")
    keep &= np.isfinite(y) & np.isfinite(x).all(axis=1)
    return x[keep].astype(np.float32), y[keep].astype(np.float32).reshape(-1, 1)


def fit_superconductor_forest(x: np.ndarray, y: np.ndarray, seed: int = 0):  # -> RandomForestRegressor
    """Fit the forest as Design-Bench's ``RandomForestOracle`` does for ``Superconductor-RandomForest-v0``.

    A seeded random 2,000 of the labelled rows (``max_samples=2000``), half of them for fitting
    (``val_fraction=0.5``); ``RandomForestRegressor(n_estimators=100, max_depth=100, max_features=1.0)``
    (``"auto"`` = all features in Design-Bench's scikit-learn).

    Args:
        x: float32 ``[n, 86]`` labelled rows of the full data; y: ``[n, 1]`` critical temperature (K).
    """
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(seed)
    pick = rng.choice(x.shape[0], size=min(2000, x.shape[0]), replace=False)
    fit_rows = pick[: pick.size // 2]
    model = RandomForestRegressor(n_estimators=100, max_depth=100, max_features=1.0, random_state=seed, n_jobs=1)
    model.fit(x[fit_rows], np.asarray(y).reshape(-1)[fit_rows])
    return model


@dataclass(frozen=True)
class ForestOracle:
    """Oracle from forest arrays: float ``[m, 86]`` -> float32 ``[m, 1]``."""

    forest: ForestArrays

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forest.predict(x).astype(np.float32).reshape(-1, 1)


def superconductor_forest(x: np.ndarray, y: np.ndarray, seed: int, cache_dir: Path) -> ForestArrays:
    """The fitted forest, from ``cache_dir`` when a valid cache exists, else fitted and cached."""
    import sklearn

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    meta = {
        "task": "Superconductor-RandomForest-v0", "seed": int(seed), "data_sha256": h.hexdigest(),
        "n_estimators": 100, "max_depth": 100, "max_features": 1.0, "max_samples": 2000, "val_fraction": 0.5,
        "sklearn": sklearn.__version__,
    }
    path = cache_dir / f"superconductor_rf_seed{int(seed)}.npz"
    return cached_forest(path, meta, lambda: export_forest(fit_superconductor_forest(x, y, seed)))


def make_superconductor(data_dir: str | Path | None = None, seed: int = 0, cache_dir: str | Path | None = None) -> Task:
    """``Superconductor-RandomForest-v0``: 86 element amounts -> critical temperature (K), forest oracle.

    Full data: the 19,147 labelled rows; training rows: those at or below its 80th percentile (15,320).

    Args:
        data_dir: data folder (or ``$N2CE_BBO_DATA_DIR``).
        seed: seed of the oracle's 2,000-row sample and of the forest.
        cache_dir: where the fitted forest is cached; default ``<data_dir>/cache`` when writable, else
            ``$N2CE_BBO_CACHE_DIR``, else ``~/.cache/n2ce_bbo``.
    """
    name = "Superconductor-RandomForest-v0"
    root = resolve_data_dir(data_dir, task=name)
    x_full, y_full = load_superconductor_labelled(root)
    forest = superconductor_forest(x_full, y_full, seed, resolve_cache_dir(root, cache_dir))
    mask = percentile_mask(y_full, 80.0)
    return Task(
        name, x_full[mask], y_full[mask], oracle=ForestOracle(forest), y_full_min=float(y_full.min()),
        y_full_max=float(y_full.max()), description="superconductor critical temperature (Design-Bench)",
        oracle_note=SUPERCON_ORACLE_NOTE,
    )
