"""The notebooks under notebooks/ run top to bottom (small settings); their summaries hold the right numbers.

Each notebook is executed with nbclient in a kernel that runs this interpreter (a kernel spec written to a
temporary JUPYTER_PATH, so no global Jupyter set-up is needed). ``N2CE_BBO_NOTEBOOK_SMALL=1`` selects the
notebooks' small settings and ``N2CE_BBO_NOTEBOOK_OUT`` names the folder where each writes a JSON summary of
what it computed; the tests check those numbers, not only that no cell raised.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # runs every notebook end to end: `make test`, not the fast lane

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
KERNEL_NAME = "n2ce-bbo-test-python3"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in kernel tracebacks
TIMEOUT_S = 240  # per cell; each notebook's small setting runs in well under a minute


def _find_data_dir() -> Path | None:
    env = os.environ.get("N2CE_BBO_DATA_DIR", "")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


# --------------------------------------------------------------------------- running notebooks


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data folder holding one kernel spec that launches this very interpreter."""
    pytest.importorskip("nbclient")
    pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "n2ce_bbo tests", "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return root


def run_notebook(name: str, kernel_dir: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch,
                 extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute ``notebooks/<name>.ipynb`` with the small settings; return the JSON summary it wrote."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    monkeypatch.setenv("N2CE_BBO_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("N2CE_BBO_NOTEBOOK_OUT", str(out_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for key, value in (extra_env or {}).items():
        monkeypatch.setenv(key, value)
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT_S, kernel_name=KERNEL_NAME, resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        message = ANSI_ESCAPE.sub("", str(exc))
        pytest.fail(f"{path.name}: a cell raised:\n{message}", pytrace=False)
    summary_path = out_dir / f"{name}.json"
    assert summary_path.is_file(), f"{path.name} ran but wrote no summary to {summary_path}"
    return json.loads(summary_path.read_text())


def test_notebooks_are_stored_without_outputs() -> None:
    import nbformat

    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert {p.stem for p in paths} >= {"quickstart", "design_bench_walkthrough", "n2ce_vs_nce_vs_mle_2d", "own_data"}
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{p.name} is stored with outputs"


def test_n2ce_vs_nce_vs_mle_2d(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = run_notebook("n2ce_vs_nce_vs_mle_2d", kernel_dir, tmp_path, monkeypatch)
    assert s["small"] is True
    rows = {r["M"]: r for r in s["rows"]}
    # N²CE approaches the exact MLE flow as M grows, roughly like 1/M, and NCE (M = 1) is far from it.
    traj = [rows[m]["trajectory_distance"] for m in sorted(rows)]
    assert all(b < a for a, b in zip(traj, traj[1:], strict=False)), traj
    assert rows[100]["trajectory_distance"] < 0.1 * rows[1]["trajectory_distance"]
    assert rows[1000]["trajectory_distance"] < 0.2 * rows[100]["trajectory_distance"]
    assert rows[1000]["gradient_rel_error"] < 0.02 < rows[1]["gradient_rel_error"]
    # at t = 2 NCE lags behind: farther from mu* than N²CE with M = 100
    assert rows[1]["dist_to_mu_star_at_t2"] > rows[100]["dist_to_mu_star_at_t2"] + 0.3
    mu = s["mu_star"]
    assert math.dist(s["final_theta"]["100"], mu) < 0.01
    # the (m, log sigma) family: NCE bends away from the MLE curve, N²CE (M = 100) stays on it
    for start in {tuple(r["start"]) for r in s["mean_scale_rows"]}:
        by_m = {r["M"]: r for r in s["mean_scale_rows"] if tuple(r["start"]) == start}
        assert by_m[100]["curve_distance"] < 0.2 * by_m[1]["curve_distance"], by_m
        assert by_m[100]["trajectory_distance"] < 0.1 * by_m[1]["trajectory_distance"], by_m


def test_quickstart(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = run_notebook("quickstart", kernel_dir, tmp_path, monkeypatch)
    assert s["n_proposed"] == s["budget"]
    assert s["n_unique"] == s["budget"]
    # the hidden top of the data was never seen, and the proposals are scored by the notebook's oracle
    assert s["p100_raw"] is not None and math.isfinite(s["p100_raw"])
    assert s["train_max"] < s["full_max"]
    # the CLI run wrote its files and reported the same kind of result
    assert s["cli_returncode"] == 0
    assert s["cli_n_rows"] == s["cli_budget"]


def test_design_bench_walkthrough(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = _find_data_dir()
    if data_dir is None:
        pytest.skip("Design-Bench data not found: set N2CE_BBO_DATA_DIR or place it at <repo>/../shared/data")
    s = run_notebook("design_bench_walkthrough", kernel_dir, tmp_path, monkeypatch,
                     extra_env={"N2CE_BBO_DATA_DIR": str(data_dir)})
    assert s["data_found"] is True
    assert s["n_train"] == 32898
    assert abs(s["train_max"] - 0.439296) < 1e-4
    assert s["results"], "no method ran"
    assert {r["method"] for r in s["results"]} == {"n2ce", "gaussian", "grad"}
    for r in s["results"]:
        assert 0.0 <= r["p50"] <= r["p100"] <= 1.0 + 1e-6, r
        assert 0 < r["n_proposed"] <= s["budget"], r
        if r["method"] in ("n2ce", "gaussian"):  # the latent-EBM method fills the budget with distinct designs
            assert r["n_proposed"] == r["n_unique"] == s["budget"], r
            assert r["p100"] > s["train_max"], r  # it found a design better than every training row


def test_own_data(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = run_notebook("own_data", kernel_dir, tmp_path, monkeypatch)
    assert s["small"] is True
    designs = s["designs"]
    assert len(designs) == s["budget"] == s["n_unique"]
    assert all(len(d) == s["length"] and set(d) <= set("ACGT") for d in designs)
    assert s["all_start_with_G"] and s["n_measured"] == 0  # the constraints hold
    assert s["loaded_same"]  # the saved model proposes the same batch, without retraining
    assert all(0.0 <= v <= 100.0 for v in s["in_distribution"])
    assert s["alloy_n"] == 8 and s["alloy_max_anneal"] <= 800.0
    assert s["cli_propose_returncode"] == 0 and s["cli_score_returncode"] == 0
    assert len(s["cli_designs"]) == s["budget"] and all(d.startswith("G") for d in s["cli_designs"])
    assert s["scored_rows"] == 300
