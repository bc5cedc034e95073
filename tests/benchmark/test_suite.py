"""Suite YAML validation: unknown keys with their path, seeds, labels, and the shipped suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from n2ce_bbo.benchmark import load_suite, resolve_suite, shipped_suites, suite_from_dict
from n2ce_bbo.benchmark.suite import SUITES_DIR
from n2ce_bbo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["ablation", "branin", "design_bench", "dev", "main", "quick"]


def test_unknown_top_level_key_names_it(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("budgett: 128\nseeds: [0]\ntasks: [Branin-Exact-v0]\nmethods: [n2ce]\n")
    with pytest.raises(ConfigError, match="'budgett'.*Did you mean 'budget'"):
        load_suite(p)


def test_unknown_nested_key_names_its_path():
    with pytest.raises(ConfigError, match=r"methods\[1\]\.confg"):
        suite_from_dict({"seeds": [0], "tasks": ["Branin-Exact-v0"],
                         "methods": ["n2ce", {"name": "nce", "confg": {}}]})
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.kwarg"):
        suite_from_dict({"seeds": [0], "tasks": [{"name": "Branin-Exact-v0", "kwarg": {}}], "methods": ["n2ce"]})


def test_seeds_labels_and_cells():
    s = suite_from_dict({"n_seeds": 3, "tasks": ["Branin-Exact-v0"],
                         "methods": ["n2ce", {"name": "n2ce", "label": "n2ce-M10", "config": {"prior": {"M": 10}}}]})
    assert s.seeds == [0, 1, 2] and s.budget == 128
    cells = s.cells()
    assert [c.cell_id for c in cells[:2]] == ["Branin-Exact-v0__n2ce__seed0", "Branin-Exact-v0__n2ce__seed1"]
    assert cells[3].config == {"prior": {"M": 10}} and cells[3].method == "n2ce"
    with pytest.raises(ConfigError, match="unique"):
        suite_from_dict({"seeds": [0], "tasks": ["Branin-Exact-v0"], "methods": ["n2ce", "n2ce"]})
    with pytest.raises(ConfigError, match="seeds"):
        suite_from_dict({"tasks": ["Branin-Exact-v0"], "methods": ["n2ce"]})
    with pytest.raises(ConfigError, match="file-name-safe"):
        suite_from_dict({"seeds": [0], "tasks": ["Branin-Exact-v0"], "methods": [{"name": "n2ce", "label": "a/b"}]})
    with pytest.raises(ConfigError, match="seeds"):
        suite_from_dict({"seeds": "0", "tasks": ["Branin-Exact-v0"], "methods": ["n2ce"]})


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_suites_load(name):
    s = load_suite(name)
    assert s.name == name and s.cells()
    if name == "design_bench":
        assert s.budget == 128 and len(s.seeds) == 8
        assert [m.name for m in s.methods] == ["n2ce", "nce", "mle", "gaussian", "grad", "grad-ensemble", "cmaes",
                                               "bo-qei"]
    if name == "dev":  # development tasks only, at development seeds (the tasks refuse lower ones at run time)
        assert min(s.seeds) >= 100 and all("Dev-" in t.name for t in s.tasks)
    if name == "ablation":
        ms = {(m.config.get("prior", {}).get("M"), m.config.get("prior", {}).get("K")) for m in s.methods
              if m.name == "n2ce"}
        assert {(10, 6), (100, 6), (1000, 6), (100, 1), (100, 3)} <= ms
        assert {"nce", "mle", "gaussian"} <= {m.name for m in s.methods}  # nce is the M = 1 row


def test_shipped_suite_config_keys_exist():
    """The method overrides in the shipped suites use real config keys of the latent-EBM method."""
    from n2ce_bbo.config import from_dict
    from n2ce_bbo.methods.latent_ebm import LatentEBMMethodConfig

    for name in ("quick", "ablation"):
        for m in load_suite(name).methods:
            if m.name in ("n2ce", "nce", "mle", "gaussian"):
                from_dict(LatentEBMMethodConfig, m.config, path=f"{name}:{m.label}")


def test_shipped_suites_live_in_the_package_and_the_clone_path_still_works():
    suites = shipped_suites()
    assert list(suites) == SHIPPED
    package = (REPO / "n2ce_bbo").resolve()
    for name, path in suites.items():
        assert path.resolve().is_relative_to(package), path
        clone_path = REPO / "configs" / "suites" / f"{name}.yaml"  # the layout the README promises
        assert clone_path.resolve() == path.resolve()
        assert load_suite(clone_path).to_dict() == load_suite(name).to_dict()


def test_package_data_ships_every_suite():
    """pyproject's package-data globs (what a wheel installs) match every shipped suite file."""
    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["n2ce_bbo"]
    package = REPO / "n2ce_bbo"
    packaged = {p.resolve() for g in globs for p in package.glob(g)}
    missing = [p for p in SUITES_DIR.glob("*.yaml") if p.resolve() not in packaged]
    assert SUITES_DIR.is_relative_to(package) and not missing, missing


def test_resolve_suite_prefers_a_file_then_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder outside the repository
    assert resolve_suite("quick") == shipped_suites()["quick"]
    assert resolve_suite("quick.yaml") == shipped_suites()["quick"]
    local = tmp_path / "quick.yaml"
    local.write_text("name: mine\nseeds: [0]\ntasks: [Branin-Exact-v0]\nmethods: [gaussian]\n")
    assert resolve_suite("quick.yaml") == Path("quick.yaml")  # an existing file wins over the shipped name
    assert load_suite("quick.yaml").name == "mine" and load_suite("quick").name == "quick"
    with pytest.raises(ConfigError, match=r"Did you mean 'quick'.*Shipped suites: ablation, branin"):
        resolve_suite("quik")
    with pytest.raises(ConfigError, match="neither a file nor a shipped suite"):
        resolve_suite("elsewhere/quick.yaml")  # a path that does not exist is not read as a name


def test_a_method_row_may_run_on_some_tasks_only(tmp_path: Path) -> None:
    """``tasks:`` on a method row: its cells exist for those tasks only, the report shows no missing cells for the
    others, and a task the suite does not hold is refused by its path."""
    from n2ce_bbo.benchmark import run_suite, write_report

    suite = suite_from_dict({"name": "s", "budget": 8, "seeds": [0, 1], "cell_retries": 0,
                             "tasks": ["Branin-Exact-v0", "Ehrlich-Exact-v0"],
                             "methods": ["cmaes", {"name": "grad", "label": "grad-ehrlich",
                                                   "tasks": ["Ehrlich-Exact-v0"]}]})
    assert sorted({(c.task, c.label) for c in suite.cells()}) == [
        ("Branin-Exact-v0", "cmaes"), ("Ehrlich-Exact-v0", "cmaes"), ("Ehrlich-Exact-v0", "grad-ehrlich")]
    out = run_suite(suite, tmp_path / "run", workers=0, progress=False,
                    cell_fn=lambda c: {"p100": 0.9, "p50": 0.5, "train_s": 1.0, "propose_s": 0.1})
    text = write_report(out)[1].read_text()
    assert "0 missing" in text and "6 cells ok" in text
    with pytest.raises(ConfigError, match=r"methods\[1\]\.tasks"):
        suite_from_dict({"name": "s", "seeds": [0], "tasks": ["Branin-Exact-v0"],
                         "methods": ["cmaes", {"name": "grad", "tasks": ["Ehrlich-Exact-v0"]}]})
