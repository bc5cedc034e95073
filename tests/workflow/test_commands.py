"""``n2ce-bbo fit / propose / score / optimize`` on a user's tables: outputs, quiet output, and bad input.

Every bad input exits with status 2, names the problem (line and column where there is one) and leaves
nothing behind: the output folder is not created.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.cli import build_parser, main
from n2ce_bbo.workflow.commands import load_cli_data

from .conftest import TINY, as_overrides, dna_rows, write_dna_csv

pytestmark = pytest.mark.usefixtures("one_thread")
T = as_overrides(TINY)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A DNA table and the model folder `n2ce-bbo fit` made from it."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "activity.csv"
    write_dna_csv(data)
    model = root / "model"
    assert main(["fit", "--data", str(data), "--target", "score", "--design-column", "sequence", "--alphabet", "dna",
                 "--out", str(model), "--quiet", "--device", "cpu", *T]) == 0
    return data, model


def test_fit_writes_a_model_folder(fitted: tuple[Path, Path]) -> None:
    _, model = fitted
    assert sorted(p.name for p in model.iterdir()) == ["SHA256SUMS", "calibration.json", "data.npz", "design_model",
                                                       "model.json", "surrogate", "train_log.csv"]
    manifest = json.loads((model / "model.json").read_text())
    assert manifest["schema"]["alphabet"]["letters"] == "ACGT" and manifest["schema"]["columns"] == ["sequence"]
    assert manifest["method"] == "n2ce" and manifest["version"] == 2
    log = _rows(model / "train_log.csv")
    assert log and {"step", "loss", "recon", "kl"} <= set(log[0])


def test_dna_propose_with_fix_and_exclude_then_score(fitted: tuple[Path, Path], tmp_path: Path) -> None:
    """The issue's acceptance check: strings over ACGT of the input length, all starting with G, none excluded
    or a training row, Q distinct; score gives one row per input row with both scores."""
    data, model = fitted
    seqs, _ = dna_rows()
    free = tmp_path / "free"
    assert main(["propose", "--model", str(model), "--budget", "16", "--seed", "3", "--out", str(free), "--quiet",
                 "--device", "cpu"]) == 0
    first = [r["sequence"] for r in _rows(free / "designs.csv")]
    banned = first[:8] + seqs[:5]  # the model's own favourites and some training rows
    (tmp_path / "tested.csv").write_text("sequence\n" + "".join(f"{s}\n" for s in banned))
    out = tmp_path / "batch"
    assert main(["propose", "--model", str(model), "--budget", "16", "--seed", "3", "--fix", "0=G", "--exclude",
                 str(tmp_path / "tested.csv"), "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    rows = _rows(out / "designs.csv")
    designs = [r["sequence"] for r in rows]
    assert len(designs) == 16 == len(set(designs))
    assert all(len(s) == 6 and set(s) <= set("ACGT") and s[0] == "G" for s in designs)
    assert not set(designs) & set(banned) and not set(designs) & set(seqs)
    assert {"predicted_score", "in_distribution", "distance_to_training"} <= set(rows[0])
    result = json.loads((out / "result.json").read_text())
    assert result["constraints"] == ["fixed positions 0=G", "13 excluded designs"] and result["n_unique"] == 16
    scored = tmp_path / "scored.csv"
    assert main(["score", "--model", str(model), "--data", str(data), "--out", str(scored), "--device", "cpu"]) == 0
    assert len(_rows(scored)) == len(seqs)


def test_score_adds_two_columns_to_every_row(fitted: tuple[Path, Path], tmp_path: Path) -> None:
    data, model = fitted
    out = tmp_path / "scored.csv"
    assert main(["score", "--model", str(model), "--data", str(data), "--out", str(out), "--device", "cpu"]) == 0
    rows = _rows(out)
    assert len(rows) == 150
    assert list(rows[0]) == ["sequence", "score", "predicted_score", "predicted_score_std", "in_distribution"]
    assert all(0.0 <= float(r["in_distribution"]) <= 100.0 and np.isfinite(float(r["predicted_score"])) for r in rows)


@pytest.mark.slow
def test_xy_files_keep_their_column_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(80, 2))
    (tmp_path / "x.csv").write_text("temp,pressure\n" + "".join(f"{a},{b}\n" for a, b in x))
    (tmp_path / "y.csv").write_text("yield\n" + "".join(f"{-(a * a + b * b)}\n" for a, b in x))
    out = tmp_path / "run"
    assert main(["optimize", "--x", str(tmp_path / "x.csv"), "--y", str(tmp_path / "y.csv"), "--budget", "8",
                 "--out", str(out), "--quiet", "--device", "cpu", *T]) == 0
    rows = _rows(out / "designs.csv")
    assert len(rows) == 8 and {"temp", "pressure", "predicted_yield", "in_distribution"} <= set(rows[0])


@pytest.mark.slow
def test_optimize_with_bounds_keeps_every_design_inside(tmp_path: Path) -> None:
    out = tmp_path / "branin"
    assert main(["optimize", "--task", "Branin-Exact-v0", "--budget", "16", "--lower", "0,5", "--upper", "x0=5",
                 "--out", str(out), "--quiet", "--device", "cpu", *T]) == 0
    with np.load(out / "designs.npz", allow_pickle=False) as z:
        x = z["x"]
    assert x.shape[0] > 0 and (x[:, 0] >= 0).all() and (x[:, 0] <= 5).all() and (x[:, 1] >= 5).all()
    result = json.loads((out / "result.json").read_text())
    assert result["constraints"] == ["bounds 0 <= x0 <= 5, 5 <= x1 <= inf"]


@pytest.mark.slow
def test_optimize_is_quiet_when_not_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "quiet"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "n2ce_bbo.cli", "optimize", "--task", "Branin-Exact-v0", "--budget", "32",
         "--out", str(out), "--device", "cpu", *T, "train.log_every=5"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len(lines) <= 30, "\n".join(lines)
    assert any("training" in ln and "done" in ln for ln in lines)  # the phase is still reported
    log = _rows(out / "train_log.csv")
    assert len(log) == TINY["train"]["max_steps"] // 5  # every logged step, none printed
    for name in ("designs.csv", "designs.npz", "result.json", "report.png", "model/model.json"):
        assert (out / name).is_file(), name


@pytest.mark.slow
def test_verbose_prints_the_losses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seqs, ys = dna_rows(60)
    data = tmp_path / "d.csv"
    data.write_text("sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True)))
    assert main(["fit", "--data", str(data), "--target", "score", "--design-column", "sequence", "--out",
                 str(tmp_path / "m"), "--verbose", "--quiet", "--device", "cpu", *T, "train.log_every=20"]) == 0
    err = capsys.readouterr().err
    assert err.count("[latent-ebm] step") == TINY["train"]["max_steps"] // 20


# ---------------------------------------------------------------------------- bad input: exit 2, nothing written


BAD_TABLES = {
    "letter outside the alphabet": ("sequence,score\nACGTAC,1\nACGXAC,2\nGGGGGG,3\n",
                                    ["line 3", "'sequence'", "'X'", "position 3"]),
    "unequal lengths": ("sequence,score\nACGTAC,1\nACGTA,2\nGGGGGG,3\n",
                        ["'sequence'", "2 lengths: 6 (2 rows), 5 (1, first at line 3)", "--length 6"]),
    "missing target column": ("sequence,activity\nACGTAC,1\nGGGGGG,3\n", ["no target column named 'score'", "activity"]),
    "header-only file": ("sequence,score\n", ["header line", "no data rows"]),
    "NaN targets": ("sequence,score\nACGTAC,1\nACGTAA,nan\nGGGGGG,\n", ["NaN", "line 3", "line 4"]),
}


@pytest.mark.parametrize("command", ["fit", "optimize"])
@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_bad_tables_exit_2_and_write_nothing(case: str, command: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    text, parts = BAD_TABLES[case]
    data = tmp_path / "bad.csv"
    data.write_text(text)
    out = tmp_path / "out"
    code = main([command, "--data", str(data), "--target", "score", "--design-column", "sequence", "--alphabet",
                 "dna", "--out", str(out), "--quiet", *T])
    err = capsys.readouterr().err
    assert code == 2, err
    for part in parts:
        assert part in err, (part, err)
    assert not out.exists()


def test_bad_model_folders_exit_2(fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, model = fitted
    corrupt = Path(shutil.copytree(model, tmp_path / "corrupt"))
    (corrupt / "model.json").write_text("{")
    old = Path(shutil.copytree(model, tmp_path / "old"))
    manifest = json.loads((old / "model.json").read_text())
    manifest["version"] = 0
    (old / "model.json").write_text(json.dumps(manifest))
    for folder, message in ((tmp_path / "missing", "does not exist"), (corrupt, "not valid JSON"),
                            (old, "format version 0")):
        out = tmp_path / f"p-{folder.name}"
        assert main(["propose", "--model", str(folder), "--budget", "4", "--out", str(out), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()
        scored = tmp_path / f"s-{folder.name}.csv"
        assert main(["score", "--model", str(folder), "--data", str(data), "--out", str(scored)]) == 2
        assert message in capsys.readouterr().err
        assert not scored.exists()


def test_bad_constraints_and_designs_exit_2(fitted: tuple[Path, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    data, model = fitted
    out = tmp_path / "p"
    assert main(["propose", "--model", str(model), "--fix", "9=G", "--out", str(out), "--quiet"]) == 2
    assert "position 9" in capsys.readouterr().err
    assert main(["propose", "--model", str(model), "--fix", "0=Z", "--out", str(out), "--quiet"]) == 2
    assert "'Z'" in capsys.readouterr().err
    assert main(["propose", "--model", str(model), "--lower", "0", "--out", str(out), "--quiet"]) == 2
    assert "continuous" in capsys.readouterr().err
    assert not out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence\nACGTAC\nACGTNN\n")
    assert main(["score", "--model", str(model), "--data", str(bad), "--out", str(tmp_path / "s.csv")]) == 2
    assert "line 3" in capsys.readouterr().err and not (tmp_path / "s.csv").exists()


def test_duplicates_with_different_scores_are_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seqs, ys = dna_rows(60)
    data = tmp_path / "dup.csv"
    data.write_text("sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True))
                    + f"{seqs[0]},{ys[0] + 5}\n")
    assert main(["fit", "--data", str(data), "--target", "score", "--design-column", "sequence", "--out",
                 str(tmp_path / "m"), "--quiet", "--device", "cpu", *T]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "different scores" in err and "mean of its scores" in err


# ---------------------------------------------------------------------------- delimiters, infeasible constraints, --quiet


def test_sep_option_reads_a_semicolon_table(fitted: tuple[Path, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seqs, ys = dna_rows(60)
    data = tmp_path / "export.csv"
    data.write_text("sequence;score\n" + "".join(f"{s};{y}\n" for s, y in zip(seqs, ys, strict=True)))
    for sep in (";", "semicolon", None):  # said, named, or detected
        args = build_parser().parse_args(["fit", "--data", str(data), "--target", "score", "--design-column",
                                          "sequence", "--out", str(tmp_path / "m")] + (["--sep", sep] if sep else []))
        source = load_cli_data(args)
        assert source.data.n == 60 and source.data.schema.columns == ("sequence",)
    _, model = fitted
    out = tmp_path / "scored.csv"
    assert main(["score", "--model", str(model), "--data", str(data), "--sep", ";", "--out", str(out),
                 "--device", "cpu"]) == 0
    assert len(_rows(out)) == 60
    assert main(["score", "--model", str(model), "--data", str(data), "--sep", ",", "--out", str(out)]) == 2
    assert "read with delimiter ','; pass --sep to change it" in capsys.readouterr().err
    bad = tmp_path / "bad"
    assert main(["fit", "--data", str(data), "--target", "activity", "--design-column", "sequence", "--out", str(bad),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no target column named 'activity'" in err and "read with delimiter ';'" in err and not bad.exists()


@pytest.mark.slow
def test_constraints_no_design_can_meet_exit_2_and_write_nothing(fitted: tuple[Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # This used to write an empty designs table and exit 0.
    _, model = fitted
    (tmp_path / "all.csv").write_text("sequence\n" + "".join(f"GGGGG{c}\n" for c in "ACGT"))
    out = tmp_path / "p"
    code = main(["propose", "--model", str(model), "--budget", "8", "--fix", "0=G,1=G,2=G,3=G,4=G", "--exclude",
                 str(tmp_path / "all.csv"), "--out", str(out), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("n2ce-bbo: error: no design satisfies the constraints (fixed positions 0=G, 1=G, 2=G, "
                          "3=G, 4=G; 4 excluded designs)"), err
    assert "allow 4 designs and the excluded designs include all of them" in err and not out.exists()
    # optimize stops before training when the whole (tiny) space is excluded
    seqs, ys = dna_rows(16, length=2)
    data = tmp_path / "tiny.csv"
    data.write_text("sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True)))
    out = tmp_path / "o"
    assert main(["optimize", "--data", str(data), "--target", "score", "--design-column", "sequence", "--exclude",
                 str(data), "--budget", "4", "--out", str(out), "--quiet", "--device", "cpu", *T]) == 2
    err = capsys.readouterr().err
    assert "the design space holds 16 designs and the excluded designs include all of them" in err, err
    assert not out.exists()


@pytest.mark.slow
def test_quiet_leaves_stderr_empty(fitted: tuple[Path, Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    # `--quiet` used to print the "n2ce-bbo propose: model ... | budget ... | seed ..." line on stderr.
    _, model = fitted
    out = tmp_path / "q"
    assert main(["propose", "--model", str(model), "--budget", "4", "--out", str(out), "--quiet", "--device",
                 "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "wrote" in captured.out
    assert main(["propose", "--model", str(model), "--budget", "4", "--out", str(out), "--device", "cpu"]) == 0
    assert "n2ce-bbo propose: model" in capsys.readouterr().err  # without --quiet the line is there
    seqs, ys = dna_rows(60)
    data = tmp_path / "d.csv"
    data.write_text("sequence,score\n" + "".join(f"{s},{y}\n" for s, y in zip(seqs, ys, strict=True)))
    assert main(["optimize", "--data", str(data), "--target", "score", "--design-column", "sequence", "--budget", "4",
                 "--out", str(tmp_path / "o"), "--quiet", "--device", "cpu", *T, "train.max_steps=10"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "wrote" in captured.out


# ---------------------------------------------------------------------------- FASTA, --length, the mutation budget


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _write_fasta(path: Path, n: int = 150, extra: int = 0) -> list[str]:
    """:func:`dna_rows` as FASTA with ``activity=`` in each header; ``extra`` records of length 7 first."""
    seqs, ys = dna_rows(n)
    odd = "".join(f">odd{i} activity=0.5\nACGTACG\n" for i in range(extra))
    path.write_text(odd + "".join(f">v{i} activity={y} expression=1\n{s}\n" for i, (s, y) in
                                  enumerate(zip(seqs, ys, strict=True))))
    return seqs


def test_fasta_with_length_and_a_mutation_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FASTA library of two lengths is refused naming both; --length keeps one; every proposal of
    --max-mutations 2 --parent S lies within 2 substitutions of S."""
    data = tmp_path / "library.fa"
    seqs = _write_fasta(data, extra=3)
    out = tmp_path / "run"
    base = ["optimize", "--data", str(data), "--target", "activity", "--out", str(out), "--quiet", "--device", "cpu",
            "--budget", "12"]
    assert main(base + T) == 2
    err = capsys.readouterr().err
    assert "2 lengths: 6 (150 records), 7 (3, first at record odd0 (line 1))" in err and "--length 6" in err
    assert not out.exists()
    parent = seqs[0]
    assert main(base + ["--length", "6", "--max-mutations", "2", "--parent", parent, *T]) == 0
    err = capsys.readouterr().err
    assert "kept 150 of 153 records" in err and "dropped 3" in err
    designs = [r["sequence"] for r in _rows(out / "designs.csv")]
    assert designs and all(len(s) == 6 and _hamming(s, parent) <= 2 for s in designs)
    assert json.loads((out / "result.json").read_text())["constraints"] == \
        [f"at most 2 mutations (substitutions) from the parent {parent}"]


def test_fasta_options_and_budget_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "seqs.fasta"
    seqs = _write_fasta(data, n=40)
    (tmp_path / "scores.csv").write_text("id,activity\n" + "".join(f"v{i},{i}\n" for i in range(40)))
    args = build_parser().parse_args(["fit", "--data", str(data), "--values", str(tmp_path / "scores.csv"),
                                      "--id-column", "id", "--target", "activity", "--out", str(tmp_path / "m")])
    source = load_cli_data(args)
    assert source.data.n == 40 and source.data.schema.target == "activity" and source.name == "seqs"
    assert sorted(source.data.y.tolist()) == list(range(40))
    out = tmp_path / "o"
    for extra, message in ((["--max-mutations", "2"], "needs the parents"),
                           (["--parent", seqs[0]], "add --max-mutations"),
                           (["--parent", "ACGT", "--max-mutations", "1"], "length 4; the designs have length 6"),
                           (["--parent", "ACGTNA", "--max-mutations", "1"], "'N'"),
                           (["--target", "potency"], "no record's header has a value named 'potency'")):
        argv = ["optimize", "--data", str(data), "--target", "activity", "--out", str(out), "--quiet", *extra, *T]
        assert main(argv) == 2
        assert message in capsys.readouterr().err, extra
        assert not out.exists()
    table = tmp_path / "t.csv"
    table.write_text("sequence,score\nACGTAC,1\nACGTAA,2\n")
    assert main(["fit", "--data", str(table), "--target", "score", "--design-column", "sequence", "--values",
                 str(tmp_path / "scores.csv"), "--out", str(out), "--quiet"]) == 2
    assert "not a FASTA file" in capsys.readouterr().err
