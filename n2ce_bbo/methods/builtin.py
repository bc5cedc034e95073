"""Registers the built-in methods (imported lazily by the registry)."""

from __future__ import annotations
