"""Exhaustive search of small token design spaces on a surrogate score.

A token space of ``C ** L`` designs (TFBind8: 4^8 = 65,536; TFBind10: 4^10 = 1,048,576) is small enough to
score whole: no sampler can beat "every design, ranked by the surrogate". :func:`top_designs` streams the space
in chunks (memory stays ``O(chunk + keep)``), drops designs to exclude, and keeps the ``keep`` best by score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.tasks.design_bench import codes_to_tokens, tokens_to_codes


def token_space_size(length: int, num_classes: int) -> int:
    """Number of distinct token designs ``num_classes ** length`` (an exact Python int)."""
    if length < 1 or num_classes < 2:
        raise InvalidDataError(f"a token space needs length >= 1 and num_classes >= 2, got {length}, {num_classes}.")
    return int(num_classes) ** int(length)


def iter_token_space(length: int, num_classes: int, chunk: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every design of the space in code order, as ``(codes [m], designs [m, L])`` chunks of at most ``chunk``."""
    total = token_space_size(length, num_classes)
    if total > 2**62:
        raise InvalidDataError(f"a token space of {num_classes}^{length} designs cannot be enumerated.")
    for start in range(0, total, chunk):
        codes = np.arange(start, min(start + chunk, total), dtype=np.int64)
        yield codes, codes_to_tokens(codes, length, num_classes, np.int64)


def top_designs(
    score_fn: Callable[[np.ndarray], np.ndarray],
    length: int,
    num_classes: int,
    keep: int,
    *,
    exclude: np.ndarray | None = None,
    allowed: Callable[[np.ndarray], np.ndarray] | None = None,
    chunk: int = 65536,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Score every design of a token space and keep the ``keep`` best.

    Args:
        score_fn: int64 designs ``[m, L]`` -> scores ``[m]`` (higher is better; non-finite ranks last).
        length: L.
        num_classes: C.
        keep: how many of the best designs to return.
        exclude: int designs ``[k, L]`` never returned (e.g. the training rows).
        allowed: optional mask function, designs ``[m, L]`` -> bool ``[m]`` (user constraints); others are dropped.
        chunk: designs scored per call of ``score_fn``.

    Returns:
        ``(x [keep', L] int64, scores [keep'] float64, n_scored)``, best first, ``keep' <= keep``; ``n_scored`` is
        the number of designs that were scored (the space less the excluded and disallowed ones).
    """
    if keep < 1:
        raise InvalidDataError(f"keep must be >= 1, got {keep}.")
    excluded = np.unique(tokens_to_codes(exclude, num_classes)) if exclude is not None and len(exclude) else None
    best_codes = np.zeros(0, dtype=np.int64)
    best_scores = np.zeros(0, dtype=np.float64)
    n_scored = 0
    for codes, x in iter_token_space(length, num_classes, chunk):
        mask = np.ones(codes.shape[0], dtype=bool)
        if excluded is not None:
            mask &= ~np.isin(codes, excluded, assume_unique=False)
        if allowed is not None:
            mask &= np.asarray(allowed(x), dtype=bool)
        if not mask.any():
            continue
        s = np.asarray(score_fn(x[mask]), dtype=np.float64).reshape(-1)
        s = np.where(np.isfinite(s), s, -np.inf)
        n_scored += int(mask.sum())
        best_codes = np.concatenate([best_codes, codes[mask]])
        best_scores = np.concatenate([best_scores, s])
        if best_codes.shape[0] > keep:
            # Stable on ties: lower codes (seen first) win, so the result does not depend on ``chunk``.
            order = np.lexsort((best_codes, -best_scores))[:keep]
            best_codes, best_scores = best_codes[order], best_scores[order]
    order = np.lexsort((best_codes, -best_scores))
    best_codes, best_scores = best_codes[order], best_scores[order]
    return codes_to_tokens(best_codes, length, num_classes, np.int64), best_scores, n_scored
