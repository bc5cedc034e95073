"""Method registry: names such as ``"n2ce"`` or ``"grad-ensemble"`` map to a Method class and preset settings."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from n2ce_bbo.config import deep_merge
from n2ce_bbo.errors import UnknownMethodError
from n2ce_bbo.methods.base import Method, ParallelSpec


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: its class, preset config overrides, and a one-line description."""

    cls: type[Method]
    preset: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


_METHODS: dict[str, MethodEntry] = {}


def register_method(
    name: str, cls: type[Method], preset: Mapping[str, Any] | None = None, description: str = "", *, overwrite: bool = False
) -> None:
    """Register ``cls`` under ``name``; ``preset`` overrides the class's config defaults for this name."""
    if name in _METHODS and not overwrite:
        raise ValueError(f"Method {name!r} is already registered (pass overwrite=True to replace it).")
    _METHODS[name] = MethodEntry(cls, dict(preset or {}), description)


def get_method(name: str) -> MethodEntry:
    """The registry entry for ``name``.

    Raises:
        UnknownMethodError: with close matches and the list of known methods.
    """
    _ensure_builtin()
    if name not in _METHODS:
        close = difflib.get_close_matches(name, list(_METHODS), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownMethodError(f"Unknown method {name!r}.{hint} Known methods: {', '.join(sorted(_METHODS))}.")
    return _METHODS[name]


def list_methods() -> dict[str, str]:
    """Every registered method name with its description."""
    _ensure_builtin()
    return {k: v.description for k, v in sorted(_METHODS.items())}


def make_method(
    name: str,
    config: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    parallel: ParallelSpec | None = None,
    verbose: bool = False,
) -> Method:
    """Instantiate the method ``name`` with its preset, then ``config`` overrides on top."""
    entry = get_method(name)
    merged = deep_merge(entry.preset, dict(config or {}))
    return entry.cls(merged, seed=seed, device=device, parallel=parallel, verbose=verbose)


_BUILTIN_LOADED = False


def _ensure_builtin() -> None:
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    _BUILTIN_LOADED = True
    from n2ce_bbo.methods import builtin  # noqa: F401  (registers the built-in methods)
