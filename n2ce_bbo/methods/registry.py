"""Method registry: names such as ``"n2ce"`` or ``"grad-ensemble"`` map to a Method class and preset settings.

The built-in methods come from the table :data:`n2ce_bbo.methods.builtin.BUILTIN_METHODS`; a class given as a
``"module:Class"`` path is imported when the method is made, so :func:`list_methods` imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from n2ce_bbo.config import deep_merge
from n2ce_bbo.errors import ConfigError, UnknownMethodError
from n2ce_bbo.methods.base import Method, ParallelSpec
from n2ce_bbo.methods.builtin import BUILTIN_METHODS
from n2ce_bbo.registry import Registry, import_target


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: its class (or ``"module:Class"`` path), preset config overrides, and a description."""

    target: type[Method] | str
    preset: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def cls(self) -> type[Method]:
        """The Method class (imported now when registered by path).

        Raises:
            ConfigError: the path names something that is not a Method subclass.
        """
        cls = import_target(self.target) if isinstance(self.target, str) else self.target
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise ConfigError(f"{self.target!r} is not a subclass of n2ce_bbo.methods.Method.")
        return cls


_METHODS: Registry[MethodEntry] = Registry("method", UnknownMethodError)
for _name, (_target, _preset, _description) in BUILTIN_METHODS.items():
    _METHODS.add(_name, MethodEntry(_target, _preset, _description))


def register_method(
    name: str,
    cls: type[Method] | str,
    preset: Mapping[str, Any] | None = None,
    description: str = "",
    *,
    overwrite: bool = False,
) -> None:
    """Register ``cls`` (a Method subclass, or its ``"module:Class"`` path) under ``name``; ``preset`` overrides
    the class's config defaults for this name.

    Raises:
        ConfigError: ``name`` is already registered (and not ``overwrite``).
    """
    _METHODS.add(name, MethodEntry(cls, dict(preset or {}), description), overwrite=overwrite)


def get_method(name: str) -> MethodEntry:
    """The registry entry for ``name``.

    Raises:
        UnknownMethodError: with close matches and the list of known methods.
    """
    return _METHODS.get(name)


def list_methods() -> dict[str, str]:
    """Every registered method name with its description (imports no method module)."""
    return {k: v.description for k, v in _METHODS.items()}


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
