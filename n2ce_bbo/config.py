"""Typed, validated configuration.

Configs are plain dataclasses. :func:`from_dict` builds one from a mapping (a YAML file, CLI overrides)
and fails at once on an unknown key or a value of the wrong type, naming the key's full path and what
was expected. Values are checked in ``__post_init__`` with :func:`require` (one rule for many keys), whose
errors :func:`from_dict` qualifies with the section path. YAML is always read with ``yaml.safe_load``.

A field marked ``inline()`` holds a nested config whose keys sit at the level of the holder: a config that
holds another one (rather than inheriting from it) keeps its users' flat keys.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from n2ce_bbo.errors import ConfigError
from n2ce_bbo.registry import did_you_mean

C = TypeVar("C")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely (no arbitrary object construction).

    Raises:
        ConfigError: the file is missing, is not valid YAML, or its top level is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a mapping at its top level, got {type(data).__name__}.")
    return data


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """Turn ``["model.latent_dim=32", "prior.M=100"]`` into a nested dict; values are parsed as YAML scalars.

    Raises:
        ConfigError: an override is not of the form ``dotted.key=value``.
    """
    out: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"Override {item!r} must look like key=value (for example prior.M=100).")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"Override {item!r} has an empty key.")
        value = yaml.safe_load(raw) if raw.strip() else ""
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {item!r} conflicts with another override of {part!r}.")
        node[parts[-1]] = value
    return out


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``update`` merged in recursively (``update`` wins)."""
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def settings_from(config_file: str | Path | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Settings as a command line gives them: a YAML file (optional), then ``key=value`` overrides on top.

    Raises:
        ConfigError: see :func:`load_yaml` and :func:`parse_overrides`.
    """
    base = load_yaml(config_file) if config_file else {}
    return deep_merge(base, parse_overrides(overrides or []))


INLINE = "n2ce_bbo.inline"


def inline(default_factory: Callable[[], Any]) -> Any:
    """A dataclass field whose nested config's keys are read and written at the holder's level.

    ``model: ModelConfig`` held inline by ``surrogate: LatentEBMConfig = inline(LatentEBMConfig)`` is the key
    ``model``, not ``surrogate.model``, in :func:`from_dict` and :func:`to_dict`.
    """
    return dataclasses.field(default_factory=default_factory, metadata={INLINE: True})


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def to_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass config as a plain, JSON-ready dict (fields made with :func:`inline` flattened into it)."""
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get(INLINE) and dataclasses.is_dataclass(hints[f.name]):
            out.update(to_dict(value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[f.name] = to_dict(value)
        else:
            out[f.name] = copy.deepcopy(value)
    return out


def require(
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    optional: bool = False,
    **values: Any,
) -> None:
    """Check that every ``key=value`` is a finite number within the given bounds (``None`` too when ``optional``).

    Example: ``require(at_least=1, n_chains=self.n_chains, chain_chunk=self.chain_chunk)`` in ``__post_init__``.

    Raises:
        ConfigError: naming the first key that breaks the rule (:func:`from_dict` adds its section path).
    """
    rule = [f">= {at_least}" if at_least is not None else "", f"> {above}" if above is not None else "",
            f"<= {at_most}" if at_most is not None else ""]
    text = " and ".join(r for r in rule if r)
    for key, v in values.items():
        if v is None and optional:
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (at_least is None or v >= at_least) and (above is None or v > above)
        ok = ok and (at_most is None or v <= at_most)
        if not ok:
            raise ConfigError(f"must be a finite number {text}{' (or null)' if optional else ''}, got {v!r}.", key=key)


def from_dict(cls: type[C], data: Mapping[str, Any] | None, path: str = "") -> C:
    """Build the dataclass ``cls`` from ``data``, validating every key and type.

    Missing keys take the dataclass defaults. ``path`` prefixes key names in error messages.

    Raises:
        ConfigError: unknown key, wrong type, or a ``__post_init__`` validation failure.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(data).__name__} ({data!r}).")
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    held = {name: hints[name] for name, f in fields.items() if f.metadata.get(INLINE)}
    owner = {name: name for name in fields if name not in held}  # user-facing key -> field that takes it
    for name, sub in held.items():
        owner.update({k: name for k in _fields(sub)})
    kwargs: dict[str, Any] = {}
    held_data: dict[str, dict[str, Any]] = {name: {} for name in held}
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in owner:
            raise ConfigError(f"Unknown config key {key_path!r}.{did_you_mean(str(key), owner)} "
                              f"Allowed keys here: {', '.join(sorted(owner))}.")
        if owner[key] in held:
            held_data[owner[key]][key] = value
        else:
            kwargs[key] = _coerce(hints[key], value, key_path)
    for name, sub in held.items():
        kwargs[name] = from_dict(sub, held_data[name], path)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if exc.key is not None and path:
            raise ConfigError(exc.detail, key=f"{path}.{exc.key}") from None
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or cls.__name__}: {exc}") from exc


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        expected = " or ".join(_type_name(a) for a in args)
        raise ConfigError(f"Config key {path!r}: expected {expected}, got {value!r} ({type(value).__name__}).")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"Config key {path!r}: expected one of {list(args)}, got {value!r}.")
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"Config key {path!r}: expected a list, got {value!r} ({type(value).__name__}).")
        inner = args[0] if args else Any
        items = [_coerce(inner, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"Config key {path!r}: expected a mapping, got {value!r}.")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"Config key {path!r}: expected true or false, got {value!r} ({type(value).__name__}).")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"Config key {path!r}: expected an integer, got {value!r} ({type(value).__name__}).")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"Config key {path!r}: expected a number, got {value!r} ({type(value).__name__}).")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"Config key {path!r}: expected a string, got {value!r} ({type(value).__name__}).")
        return value
    return value
