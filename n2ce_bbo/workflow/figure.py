"""``report.png``: the proposals against the training data, in one figure a person can read.

Panels: (1) score distributions: measured scores of the training designs, predicted scores of the proposals
(and their oracle scores when the task has an oracle), all in the target's units; (2) novelty: the distance
of each proposal to its nearest training design; (3) sequences: per-position letter frequencies of the data
and of the proposals; continuous designs: the proposals over the data in the data's first two principal
directions (the raw axes when there are two features).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from n2ce_bbo.utils import atomic_write_bytes


def _pca_2d(train: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """Training designs and proposals in the training data's first two principal directions (standardised)."""
    t = np.asarray(train, dtype=np.float64)
    mean, std = t.mean(axis=0), t.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    ts, xs = (t - mean) / std, (np.asarray(x, dtype=np.float64) - mean) / std
    _, s, vt = np.linalg.svd(ts[: min(len(ts), 20000)], full_matrices=False)
    share = s**2 / max(float((s**2).sum()), 1e-12)
    labels = (f"PC1 ({100 * share[0]:.0f}% of variance)", f"PC2 ({100 * share[1]:.0f}%)")
    return ts @ vt[:2].T, xs @ vt[:2].T, labels


def _frequencies(x: np.ndarray, c: int) -> np.ndarray:
    """Per-position letter frequencies ``[C, L]`` of token designs ``[n, L]``."""
    x = np.asarray(x, dtype=np.int64)
    out = np.zeros((c, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(x[:, j], minlength=c)[:c] / max(x.shape[0], 1)
    return out


def write_report_figure(
    path: str | Path,
    *,
    schema: Any,
    train_x: np.ndarray,
    train_y: np.ndarray,
    x: np.ndarray,
    predicted: np.ndarray | None,
    novelty: np.ndarray | None,
    oracle: np.ndarray | None = None,
    title: str = "",
    novelty_unit: str = "",
) -> Path:
    """Draw the report figure and write it atomically to ``path`` (PNG).

    Args:
        path: output file.
        schema: the :class:`~n2ce_bbo.io.schema.DesignSchema` of the designs.
        train_x, train_y: training designs ``[m, D]`` and measured scores ``[m]``.
        x: proposals ``[n, D]``, best first.
        predicted: the model's predicted scores of the proposals ``[n]`` (target units), or ``None``.
        novelty: distance of each proposal to its nearest training design ``[n]``, or ``None``.
        oracle: oracle scores of the proposals ``[n]`` when the task has an oracle.
        title: the figure's title.
        novelty_unit: the distance's unit, for the axis label.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig = plt.figure(figsize=(12, 8.5))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.15])
    ax_s, ax_n = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    target = getattr(schema, "target", "score")

    ty = np.asarray(train_y, dtype=np.float64).reshape(-1)
    series = [(ty, "training data (measured)", "tab:gray")]
    if predicted is not None and len(predicted):
        series.append((np.asarray(predicted, dtype=np.float64), "proposals (predicted)", "tab:red"))
    if oracle is not None and len(oracle):
        series.append((np.asarray(oracle, dtype=np.float64).reshape(-1), "proposals (oracle)", "tab:blue"))
    # the data's long lower tail (Branin's reaches -300) would squeeze the proposals into one bin: start at its
    # 2nd percentile, or lower when a proposal lies there
    lo = min([float(np.percentile(ty, 2))] + [float(np.min(v)) for v, _, _ in series[1:]])
    hi = max(float(np.max(v)) for v, _, _ in series)
    bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 40).tolist()
    for values, label, colour in series:
        ax_s.hist(np.clip(values, bins[0], None), bins=bins, density=True, alpha=0.55, color=colour,
                  label=f"{label}, n={len(values)}")
    ax_s.axvline(float(ty.max()), color="k", ls="--", lw=1, label="best training score")
    ax_s.set_xlabel(f"{target}")
    ax_s.set_ylabel("density")
    ax_s.set_title("scores")
    ax_s.legend(fontsize=8)

    if novelty is not None and len(novelty):
        nov = np.asarray(novelty, dtype=np.float64)
        if schema.is_discrete:
            ax_n.hist(nov, bins=np.arange(-0.5, max(float(nov.max()), 1.0) + 1.5, 1.0).tolist(), color="tab:green",
                      alpha=0.8)
        else:
            ax_n.hist(nov, bins=30, color="tab:green", alpha=0.8)
    ax_n.set_xlabel(f"distance to the nearest training design{f' ({novelty_unit})' if novelty_unit else ''}")
    ax_n.set_ylabel("proposals")
    ax_n.set_title("novelty")

    if schema.is_discrete:
        c = int(schema.vocabulary)
        letters = list(schema.alphabet.letters) if schema.kind == "sequence" else [str(i) for i in range(c)]
        sub = grid[1, :].subgridspec(1, 2, wspace=0.08)
        for k, (arr, name) in enumerate(((train_x, "training data"), (x, "proposals"))):
            ax = fig.add_subplot(sub[0, k])
            freq = _frequencies(arr, c)
            im = ax.imshow(freq, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"letter frequency per position: {name}")
            ax.set_xlabel("position (0-based)")
            if c <= 26:
                ax.set_yticks(range(c), letters)
            if k == 1:
                fig.colorbar(im, ax=ax, fraction=0.04)
    else:
        ax = fig.add_subplot(grid[1, :])
        tx = np.asarray(train_x, dtype=np.float64)
        if tx.shape[1] == 1:
            pt, px = np.c_[tx[:, 0], ty], np.c_[np.asarray(x, dtype=np.float64)[:, 0],
                                                predicted if predicted is not None else np.zeros(len(x))]
            labels = (schema.columns[0], target)
        elif tx.shape[1] == 2:
            pt, px, labels = tx, np.asarray(x, dtype=np.float64), tuple(schema.columns[:2])
        else:
            pt, px, labels = _pca_2d(tx, x)
        sc = ax.scatter(pt[:, 0], pt[:, 1], c=ty, s=6, cmap="Greys", alpha=0.6, label="training data")
        ax.scatter(px[:, 0], px[:, 1], s=28, marker="x", c="tab:red", label="proposals")
        fig.colorbar(sc, ax=ax, fraction=0.03, label=f"measured {target}")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.set_title("proposals over the training data" + (" (principal directions)" if tx.shape[1] > 2 else ""))
        ax.legend(fontsize=8, loc="best")

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
