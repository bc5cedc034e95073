"""The configuration reference (docs/configuration.md) states every latent-EBM key with its true default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from n2ce_bbo.methods.registry import make_method

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(?P<key>(model|prior|train|propose)\.[A-Za-z_]+)` \| [^|]+(\\\|[^|]+)* \| `(?P<default>[^`]*)` \|")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def documented_defaults(text: str) -> dict[str, str]:
    """``key -> default as written`` for every row of the latent-EBM table."""
    section = text.split("## Latent-EBM methods", 1)[1].split("\n## ", 1)[0]
    return {m["key"]: m["default"] for line in section.splitlines() if (m := ROW.match(line))}


def test_every_latent_ebm_key_is_documented_with_its_default() -> None:
    documented = documented_defaults(DOC.read_text(encoding="utf-8"))
    actual = _flatten(make_method("n2ce").config_dict())
    actual = {k: v for k, v in actual.items() if k.split(".")[0] in {"model", "prior", "train", "propose"}}
    # the n2ce preset's prior section is the class default, so the table is the class defaults
    assert sorted(documented) == sorted(actual), (
        f"undocumented: {sorted(set(actual) - set(documented))}; stale: {sorted(set(documented) - set(actual))}"
    )
    wrong = {k: (documented[k], v) for k, v in actual.items() if json.loads(documented[k]) != v}
    assert not wrong, f"docs/configuration.md defaults differ from the code (documented, actual): {wrong}"


def test_every_workflow_option_is_documented() -> None:
    import argparse

    from n2ce_bbo.cli import build_parser

    text = (DOC.parent / "workflow.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for command in ("optimize", "fit", "propose", "score"):
        for action in sub.choices[command]._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in text:
                    missing.append(f"{command} {opt}")
    assert not missing, f"options missing from docs/workflow.md: {missing}"
