"""Config validation: unknown keys and wrong types fail at once, naming the key's path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from n2ce_bbo.config import deep_merge, from_dict, inline, load_yaml, parse_overrides, require, to_dict
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


@dataclass
class Checked:
    n: int = 1
    rate: float = 0.5
    clip: float | None = None

    def __post_init__(self) -> None:
        require(at_least=1, n=self.n)
        require(above=0, at_most=1, rate=self.rate)
        require(above=0, optional=True, clip=self.clip)


@dataclass
class Holder:
    inner: Inner = inline(Inner)
    checked: Checked = field(default_factory=Checked)
    tag: str = "t"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": 0}, "cfg.n must be a finite number >= 1, got 0."),
        ({"rate": 1.5}, "cfg.rate must be a finite number > 0 and <= 1, got 1.5."),
        ({"rate": float("nan")}, "cfg.rate must be a finite number > 0 and <= 1, got nan."),
        ({"clip": 0.0}, "cfg.clip must be a finite number > 0 (or null), got 0.0."),
    ],
)
def test_require_names_the_full_key_path(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict(Checked, data, path="cfg")
    assert str(info.value) == message
    assert from_dict(Checked, {"clip": None, "rate": 1.0}).rate == 1.0


def test_require_on_direct_construction_names_the_key() -> None:
    with pytest.raises(ConfigError, match="^n must be"):
        Checked(n=0)
    with pytest.raises(ConfigError, match="^n must be"):
        Checked(n=True)  # type: ignore[arg-type]  # a bool is not a number here


def test_inline_field_keys_sit_at_the_holders_level() -> None:
    cfg = from_dict(Holder, {"M": 10, "K": 3, "checked": {"n": 2}, "tag": "u"})
    assert cfg.inner.M == 10.0 and cfg.inner.K == 3 and cfg.checked.n == 2 and cfg.tag == "u"
    assert to_dict(cfg) == {"M": 10.0, "K": 3, "objective": "n2ce", "checked": {"n": 2, "rate": 0.5, "clip": None},
                            "tag": "u"}
    assert from_dict(Holder, to_dict(cfg)) == cfg  # a round trip
    with pytest.raises(ConfigError, match=r"Unknown config key 'h\.inner'.*Allowed keys here: K, M, checked"):
        from_dict(Holder, {"inner": {}}, path="h")
    with pytest.raises(ConfigError, match=r"h\.KK.*Did you mean 'K'"):
        from_dict(Holder, {"KK": 1}, path="h")
