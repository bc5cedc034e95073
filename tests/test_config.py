"""Config validation: unknown keys and wrong types fail at once, naming the key's path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from n2ce_bbo.config import deep_merge, from_dict, load_yaml, parse_overrides
from n2ce_bbo.errors import ConfigError


@dataclass
class Inner:
    M: float = 100.0
    K: int = 6
    objective: Literal["n2ce", "nce"] = "n2ce"

    def __post_init__(self) -> None:
        if self.M < 1:
            raise ValueError(f"M must be >= 1, got {self.M}")


@dataclass
class Outer:
    name: str = "x"
    flag: bool = False
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    maybe: int | None = None
    prior: Inner = field(default_factory=Inner)


def test_defaults_and_nested_values() -> None:
    cfg = from_dict(Outer, {"prior": {"M": 10, "K": 3}, "sizes": [4], "maybe": 5})
    assert cfg.prior.M == 10.0 and isinstance(cfg.prior.M, float)
    assert cfg.prior.K == 3 and cfg.sizes == [4] and cfg.maybe == 5 and cfg.name == "x"


def test_unknown_key_names_its_path_and_close_match() -> None:
    with pytest.raises(ConfigError, match=r"prior\.KK.*Did you mean 'K'"):
        from_dict(Outer, {"prior": {"KK": 3}})


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"prior": {"K": "six"}}, r"prior\.K.*expected an integer"),
        ({"prior": {"K": 2.5}}, r"prior\.K.*expected an integer"),
        ({"flag": "yes"}, r"flag.*expected true or false"),
        ({"sizes": 3}, r"sizes.*expected a list"),
        ({"sizes": [1, "a"]}, r"sizes\[1\].*expected an integer"),
        ({"prior": {"objective": "mle"}}, r"prior\.objective.*one of"),
        ({"prior": 5}, r"prior.*expected a mapping"),
        ({"prior": {"M": 0.5}}, r"M must be >= 1"),
    ],
)
def test_wrong_types_fail_with_path(data: dict, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        from_dict(Outer, data)


def test_overrides_parse_yaml_scalars_and_nest() -> None:
    out = parse_overrides(["prior.M=1000", "flag=true", "name=abc", "sizes=[1, 2, 3]"])
    assert out == {"prior": {"M": 1000}, "flag": True, "name": "abc", "sizes": [1, 2, 3]}
    assert from_dict(Outer, out).prior.M == 1000.0
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["prior.M"])


def test_deep_merge_keeps_siblings() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_load_yaml_is_safe_and_checked(tmp_path) -> None:
    good = tmp_path / "g.yaml"
    good.write_text("prior:\n  M: 10\n")
    assert load_yaml(good) == {"prior": {"M": 10}}
    evil = tmp_path / "e.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(evil)
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    lst = tmp_path / "l.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(lst)
