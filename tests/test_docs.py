"""The configuration reference (docs/configuration.md) states every latent-EBM key with its true default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from n2ce_bbo.methods.registry import make_method

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(?P<key>(model|prior|train|propose)\.[A-Za-z_.]+)` \| [^|]+(\\\|[^|]+)* \| `(?P<default>[^`]*)` \|")


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


REPO = Path(__file__).resolve().parents[1]
#: what a user who clones the repository gets; only tests/ and .ci/ may point at the data folder beside it
SELF_CONTAINED = ("n2ce_bbo", "README.md", "docs", "configs", "notebooks", "benchmarks")
_SECTION_CITE = re.compile(r"docs/method\.md §(\d+)(?:-(\d+))?")


def outside_references(root: Path, parts: tuple[str, ...] = SELF_CONTAINED) -> list[str]:
    """``path:line`` of every text line under ``root/<parts>`` that cites ``../shared`` (outside the repository)."""
    hits: list[str] = []
    for part in parts:
        base = root / part
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # images and other binary files
            hits += [f"{path.relative_to(root)}:{i}" for i, line in enumerate(text.splitlines(), 1)
                     if "../shared" in line]
    return hits


def test_repository_cites_nothing_outside_itself() -> None:
    hits = outside_references(REPO)
    assert not hits, "these lines cite ../shared, which a user who clones the project does not have:\n" + "\n".join(hits)


def test_the_outside_reference_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("fine\nsee ../shared/METHOD.md\n")
    (tmp_path / "README.md").write_text("nothing here\n")
    assert outside_references(tmp_path, ("docs", "README.md")) == ["docs/a.md:2"]


def test_cited_method_sections_exist() -> None:
    """Every ``docs/method.md §N`` that a docstring cites is a section heading of that page."""
    headings = set(re.findall(r"^## §(\d+) ", (REPO / "docs" / "method.md").read_text(encoding="utf-8"), re.M))
    cited: set[str] = set()
    for path in (REPO / "n2ce_bbo").rglob("*.py"):
        for m in _SECTION_CITE.finditer(path.read_text(encoding="utf-8")):
            lo, hi = int(m[1]), int(m[2] or m[1])
            cited |= {str(k) for k in range(lo, hi + 1)}
    assert cited, "no docstring cites docs/method.md; the check would pass vacuously"
    assert cited <= headings, f"cited sections without a heading in docs/method.md: {sorted(cited - headings)}"


def _table_after(text: str, heading: str) -> list[list[str]]:
    """Cells of the first Markdown table after ``heading`` (header and separator rows dropped)."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_published_results_page_matches_the_report_anchors() -> None:
    """docs/published_results.md and n2ce_bbo/benchmark/anchors.py state the same numbers and sources."""
    from n2ce_bbo.benchmark.anchors import P50_BEST, P50_SOURCE, P100

    text = (REPO / "docs" / "published_results.md").read_text(encoding="utf-8")
    tasks = ["TFBind8-Exact-v0", "TFBind10-Exact-v0", "Superconductor-RandomForest-v0"]
    documented: dict[str, dict[str, tuple[float, float | None, str]]] = {}
    for method, *cells, source in _table_after(text, "## 100th percentile (p100)"):
        for task, cell in zip(tasks, cells, strict=True):
            if cell != "–":
                mean, _, std = cell.partition(" ± ")
                documented.setdefault(method, {})[task] = (float(mean), float(std) if std else None, source)
    in_code = {m: {t: (a.mean, a.std, a.source) for t, a in by_task.items()} for m, by_task in P100.items()}
    assert documented == in_code
    p50 = {task: (float(v), who, src) for (_, v, who, src), task in
           zip(_table_after(text, "## 50th percentile (p50)"), tasks, strict=True)}
    assert p50 == {t: (v, who, P50_SOURCE) for t, (v, who) in P50_BEST.items()}
