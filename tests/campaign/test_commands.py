"""``n2ce-bbo campaign``: the same designs as the Python API, exit status 2 on bad input, quiet output, normal
file modes, and a ``campaign add`` killed with SIGKILL while it refits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from n2ce_bbo.campaign import Campaign
from n2ce_bbo.campaign.store import STEPS
from n2ce_bbo.cli import main
from n2ce_bbo.errors import DataWarning
from n2ce_bbo.utils import current_umask

from .conftest import TINY, as_overrides, lab, write_table

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[2]


def _init_cli(root: Path, data: Path) -> int:
    return main(["campaign", "init", "--dir", str(root), "--data", str(data), "--target", "activity",
                 "--design-column", "sequence", "--device", "cpu", "--quiet", *as_overrides(TINY)])


def test_cli_gives_the_python_api_s_designs_and_a_status(tmp_path: Path, data_csv: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert _init_cli(tmp_path / "a", data_csv) == 0
    out = capsys.readouterr()
    assert out.err == "" and "started campaign" in out.out
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    api = Campaign.open(tmp_path / "a", device="cpu").propose(6, seed=5)
    assert main(["campaign", "propose", "--dir", str(tmp_path / "b"), "--budget", "6", "--seed", "5", "--out",
                 str(tmp_path / "round1.csv"), "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "round 1: wrote" in out.out
    step_a, step_b = (next((tmp_path / c / STEPS).glob("0001-round1-propose")) for c in "ab")
    assert (step_a / "designs.csv").read_text() == (step_b / "designs.csv").read_text()
    assert (tmp_path / "round1.csv").read_text() == (step_b / "designs.csv").read_text()
    designs = api.designs()
    # the lab returns designs.csv with a measured column added (other columns are ignored)
    lines = (tmp_path / "round1.csv").read_text().splitlines()
    measured = [lines[0] + ",activity"] + [f"{line},{lab(s)}" for line, s in zip(lines[1:5], designs[:4], strict=True)]
    (tmp_path / "m1.csv").write_text("\n".join(measured) + "\n")
    assert main(["campaign", "add", "--dir", str(tmp_path / "b"), str(tmp_path / "m1.csv"), "--device", "cpu",
                 "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "4 proposals (4 of round 1), 0 extra" in out.out and "refit warm" in out.out
    assert main(["campaign", "status", "--dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "round 1, 2 designs pending" in out and "warm 15/60 steps" in out and "campaign.png" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("1 "))
    assert row[:5] == ["1", "6", "4", "2", "0"]
    mode = 0o666 & ~current_umask()
    for f in [*(tmp_path / "b" / STEPS).rglob("*.csv"), *(tmp_path / "b" / STEPS).rglob("*.json"),
              tmp_path / "b" / "campaign.png", tmp_path / "round1.csv"]:
        assert f.stat().st_mode & 0o777 == mode, f


def test_cli_errors_exit_2_and_write_nothing(tmp_path: Path, data_csv: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _init_cli(tmp_path / "c", data_csv) == 0
    assert main(["campaign", "propose", "--dir", str(tmp_path / "c"), "--budget", "4", "--quiet"]) == 0
    before = sorted(p.name for p in (tmp_path / "c" / STEPS).iterdir())
    capsys.readouterr()
    (tmp_path / "bad.csv").write_text("sequence,activity\nACGTACGTACG,1\nACGTACGTAC?,2\n")
    assert main(["campaign", "add", "--dir", str(tmp_path / "c"), str(tmp_path / "bad.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: line 3, column 'sequence'" in err and err.startswith("n2ce-bbo: error:")
    assert main(["campaign", "propose", "--dir", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "not a campaign folder" in capsys.readouterr().err
    assert _init_cli(tmp_path / "c", data_csv) == 2
    assert sorted(p.name for p in (tmp_path / "c" / STEPS).iterdir()) == before


_SLOW_FIT = """
import pathlib, sys, time
import n2ce_bbo.methods.latent_ebm.method as method
real = method.train_surrogate
def slow(*args, **kwargs):
    pathlib.Path(sys.argv[1]).write_text("fitting")
    time.sleep(300)
    return real(*args, **kwargs)
method.train_surrogate = slow
from n2ce_bbo.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_add_killed_during_its_refit_leaves_the_last_complete_round(tmp_path: Path, data_csv: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "c"
    assert _init_cli(root, data_csv) == 0
    assert main(["campaign", "propose", "--dir", str(root), "--budget", "4", "--seed", "2", "--quiet",
                 "--out", str(tmp_path / "r1.csv")]) == 0
    batch = [line.split(",")[1] for line in (tmp_path / "r1.csv").read_text().splitlines()[1:]]
    measured = write_table(tmp_path / "m1.csv", batch[:3])
    marker = tmp_path / "fitting"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_FIT, str(marker), "campaign", "add", "--dir", str(root),
                             str(measured), "--device", "cpu", "--quiet"], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "campaign add ended before its refit"
            assert time.monotonic() < deadline, "campaign add never reached its refit"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    left = [p.name for p in (root / STEPS).iterdir() if p.name.startswith(".")]
    assert left == [f".0002-round1-add.tmp-{proc.pid}"]
    with pytest.warns(DataWarning, match="incomplete step 0002-round1-add"):
        c = Campaign.open(root, device="cpu")
    assert c.round == 1 and [s.kind for s in c.history.steps] == ["init", "propose"]
    assert sorted(c.pending()) == sorted(batch)
    capsys.readouterr()
    assert main(["campaign", "status", "--dir", str(root)]) == 0
    out = capsys.readouterr()
    assert "note: an incomplete step 0002-round1-add" in out.out and "warning" in out.err
    assert main(["campaign", "add", "--dir", str(root), str(measured), "--device", "cpu", "--quiet"]) == 0
    assert sorted(p.name for p in (root / STEPS).iterdir()) == [
        "0000-round0-init", "0001-round1-propose", "0002-round1-add"]
    c = Campaign.open(root, device="cpu")
    assert c.pending() == [batch[3]] and c.history.steps[-1].record["fit"]["warm"]
