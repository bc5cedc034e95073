"""The model folder: every file is covered by SHA256SUMS, so an edited setting is refused, not silently used."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import n2ce_bbo
from n2ce_bbo.errors import CorruptDataError, IncompatibleModelError

from .conftest import TINY, dna_rows

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seqs, ys = dna_rows(60)
    model = n2ce_bbo.fit((seqs, ys), config={**TINY, "train": {"max_steps": 10, "batch_size": 64}}, device="cpu")
    return model.save(tmp_path_factory.mktemp("models") / "dna")


def _copy(saved: Path, tmp_path: Path, name: str = "m") -> Path:
    return Path(shutil.copytree(saved, tmp_path / name))


def _edit_json(path: Path, change: dict) -> None:
    d = json.loads(path.read_text())
    for dotted, value in change.items():
        *parents, key = dotted.split(".")
        node = d
        for p in parents:
            node = node[p]
        node[key] = value
    path.write_text(json.dumps(d, indent=2))


def test_every_file_is_listed_and_an_untouched_folder_loads(saved: Path) -> None:
    lines = (saved / "SHA256SUMS").read_text().splitlines()
    listed = {name: sha for sha, name in (ln.split("  ", 1) for ln in lines)}
    files = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == files and {"model.json", "surrogate/config.json", "data.npz", "train_log.csv"} <= files
    assert all(hashlib.sha256((saved / n).read_bytes()).hexdigest() == sha for n, sha in listed.items())
    assert json.loads((saved / "model.json").read_text())["version"] == 2
    assert n2ce_bbo.load(saved, device="cpu").method_name == "n2ce"


@pytest.mark.parametrize("name, change", [
    ("model.json", {"seed": 7}),                                # the default proposal seed
    ("model.json", {"config.propose.n_chains": 4}),              # a propose setting
    ("surrogate/config.json", {"config.train.lr": 0.5}),         # the surrogate's settings
])
def test_an_edited_setting_is_refused_naming_the_file(saved: Path, tmp_path: Path, name: str, change: dict) -> None:
    # These edits used to load silently and change the proposals.
    folder = _copy(saved, tmp_path)
    _edit_json(folder / name, change)
    with pytest.raises(CorruptDataError, match=rf"{name} fails its sha256 check: it was modified"):
        n2ce_bbo.load(folder, device="cpu")


def test_missing_added_and_unlisted_files_are_refused(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path, "log")
    (folder / "train_log.csv").write_text("step,loss\n1,0\n")
    with pytest.raises(CorruptDataError, match="train_log.csv fails its sha256 check"):
        n2ce_bbo.load(folder, device="cpu")
    folder = _copy(saved, tmp_path, "gone")
    (folder / "data.npz").unlink()
    with pytest.raises(CorruptDataError, match="data.npz is missing"):
        n2ce_bbo.load(folder, device="cpu")
    folder = _copy(saved, tmp_path, "added")
    (folder / "surrogate" / "weights-0000.pt").write_bytes(b"x")
    (folder / ".DS_Store").write_bytes(b"finder")  # hidden files are ignored
    with pytest.raises(CorruptDataError, match=r"surrogate/weights-0000.pt is not listed in SHA256SUMS"):
        n2ce_bbo.load(folder, device="cpu")
    folder = _copy(saved, tmp_path, "unlisted")
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(ln + "\n" for ln in sums.read_text().splitlines() if not ln.endswith("  model.json")))
    with pytest.raises(CorruptDataError, match="model.json is not listed"):
        n2ce_bbo.load(folder, device="cpu")
    folder = _copy(saved, tmp_path, "nosums")
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(CorruptDataError, match="has no SHA256SUMS"):
        n2ce_bbo.load(folder, device="cpu")


def test_a_version_1_folder_is_refused_with_a_request_to_refit(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    _edit_json(folder / "model.json", {"version": 1})
    (folder / "SHA256SUMS").unlink(missing_ok=True)  # version 1 folders had none
    with pytest.raises(IncompatibleModelError, match=r"format version 1 .*no checksums.*refit"):
        n2ce_bbo.load(folder, device="cpu")
