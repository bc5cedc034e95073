"""The ledger of `n2ce`'s defaults (benchmarks/results/dev/decisions.md): every setting has a row with its default
and a status, and every `decided` row has its section. The protocol's "every default decided on development tasks"
is kept by this test, not by memory."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from n2ce_bbo.methods.registry import make_method

DECISIONS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "dev" / "decisions.md"
LEDGER_HEADING = "## Every default of `n2ce`: the ledger"
STATUSES = {"decided", "open", "inactive", "definition", "runtime"}


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _ledger(text: str) -> dict[str, tuple[str, str, str]]:
    """``setting -> (default cell, status, record)`` from the ledger's table."""
    assert LEDGER_HEADING in text, f"{DECISIONS.name} has no section {LEDGER_HEADING!r}"
    rows: dict[str, tuple[str, str, str]] = {}
    for line in text.split(LEDGER_HEADING, 1)[1].splitlines():
        m = re.match(r"^\| `([^`]+)` \| `(.*)` \| (\w+) \| (.*) \|$", line)
        if m:
            assert m.group(1) not in rows, f"setting {m.group(1)} has two rows"
            rows[m.group(1)] = (m.group(2), m.group(3), m.group(4).strip())
    return rows


@pytest.fixture(scope="module")
def text() -> str:
    return DECISIONS.read_text(encoding="utf-8")


def test_every_setting_of_n2ce_has_a_row_with_its_default(text: str) -> None:
    settings = _flat(make_method("n2ce").config_dict())
    rows = _ledger(text)
    assert sorted(set(settings) - set(rows)) == [], "settings without a ledger row"
    assert sorted(set(rows) - set(settings)) == [], "ledger rows naming no setting"
    wrong = {k: (rows[k][0], json.dumps(v)) for k, v in settings.items() if rows[k][0] != json.dumps(v)}
    assert wrong == {}, "ledger defaults that are not the code's (ledger, code)"


def test_every_row_has_a_known_status_and_a_record(text: str) -> None:
    for key, (_, status, record) in _ledger(text).items():
        assert status in STATUSES, f"{key}: unknown status {status!r}"
        assert record, f"{key}: a row says where its value came from"


def test_no_setting_a_default_run_reads_is_open(text: str) -> None:
    # docs/protocol.md: the reported table is rerun only when every default was decided on development tasks
    still_open = sorted(key for key, (_, status, _) in _ledger(text).items() if status == "open")
    assert still_open == [], "settings still open (decide them on development tasks first)"


def test_every_decided_setting_has_its_section(text: str) -> None:
    headings = [line for line in text.split(LEDGER_HEADING, 1)[0].splitlines() if line.startswith("## ")]

    def has_section(key: str) -> bool:
        section = key.split(".", 1)[0]
        return any(f"`{key}`" in h or f"`{section}.*`" in h for h in headings)

    for key, (_, status, record) in _ledger(text).items():
        if status == "decided":
            named = re.findall(r"`([a-z_]+\.[a-z_.]+)`", record)
            assert has_section(key) or any(has_section(k) for k in named), f"{key}: decided, but no section"


def test_the_ledger_reads_a_row_as_written() -> None:
    text = f"{LEDGER_HEADING}\n\n| setting | default | status | record |\n|---|---|---|---|\n" \
           "| `prior.M` | `100.0` | decided | its section above |\n"
    assert _ledger(text) == {"prior.M": ("100.0", "decided", "its section above")}
    with pytest.raises(AssertionError, match="no section"):
        _ledger("nothing here")
