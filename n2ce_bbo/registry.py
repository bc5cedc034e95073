"""The small pieces every name registry (methods, tasks) and config check shares.

* :func:`did_you_mean`: the hint for a misspelt name;
* :func:`import_target`: the object behind a ``"package.module:attribute"`` string, imported when asked for,
  so a table of built-in names can say where each one lives without importing it;
* :class:`Registry`: a table of named entries with one error for an unknown name.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from n2ce_bbo.errors import ConfigError

E = TypeVar("E")


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.6, prefix: int = 0) -> str:
    """``" Did you mean 'a', 'b'?"`` for the known names closest to ``name``, or ``""`` when none is close.

    Args:
        name: the unknown name.
        known: the names that exist.
        cutoff: similarity (0 to 1) a name needs to be suggested (:func:`difflib.get_close_matches`).
        prefix: when nothing is that close, suggest the names that start with the first ``prefix`` characters of
            ``name``, ignoring case (0: no such fallback).
    """
    names = list(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=cutoff)
    if not close and prefix > 0:
        close = [k for k in names if k.lower().startswith(name.lower()[:prefix])][:3]
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def import_target(target: str) -> Any:
    """The object named by ``"package.module:attribute"`` (the module is imported now).

    Raises:
        ConfigError: ``target`` is not of that form, or names nothing.
    """
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"{target!r} must look like 'package.module:attribute'.")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{target!r}: {module} has no attribute {attr!r}.")
        obj = getattr(obj, part)
    return obj


class Registry(Generic[E]):
    """Named entries of one kind (``what``: ``"method"``, ``"task"``), sorted by name when listed.

    Args:
        what: the kind of thing, for messages.
        unknown: the error raised for a name that is not registered (its message lists close matches).
        prefix_hint: see :func:`did_you_mean`.
    """

    def __init__(self, what: str, unknown: type[Exception], *, prefix_hint: int = 0) -> None:
        self.what = what
        self._unknown = unknown
        self._prefix_hint = prefix_hint
        self._entries: dict[str, E] = {}

    def add(self, name: str, entry: E, *, overwrite: bool = False) -> None:
        """Register ``entry`` as ``name``.

        Raises:
            ConfigError: ``name`` is taken and ``overwrite`` is false.
        """
        if name in self._entries and not overwrite:
            raise ConfigError(f"{self.what.capitalize()} {name!r} is already registered (pass overwrite=True to replace it).")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        """Forget ``name`` (nothing happens when it is not registered)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> E:
        """The entry registered as ``name``; raises the registry's ``unknown`` error, with close matches."""
        if name not in self._entries:
            hint = did_you_mean(name, self._entries, cutoff=0.5 if self._prefix_hint else 0.6, prefix=self._prefix_hint)
            known = ", ".join(sorted(self._entries))
            raise self._unknown(f"Unknown {self.what} {name!r}.{hint} Known {self.what}s: {known}.")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, E]]:
        """``(name, entry)`` pairs sorted by name."""
        return sorted(self._entries.items())
