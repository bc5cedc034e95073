"""Repository-wide checks: every public function, class and method has a docstring, and ``ruff`` is clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "n2ce_bbo"


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def missing_docstrings(root: Path) -> list[str]:
    """``path:line name`` of every public module-level function/class, and public method of a public class,
    in the ``.py`` files under ``root`` (private modules ``_x.py`` skipped) that has no docstring."""
    missing = []
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _is_public(node.name):
                overload = not isinstance(node, ast.ClassDef) and _is_overload_or_property_setter(node)
                if ast.get_docstring(node) is None and not overload:
                    missing.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if (
                            isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                            and _is_public(item.name)
                            and ast.get_docstring(item) is None
                            and not _is_overload_or_property_setter(item)
                        ):
                            missing.append(f"{path.relative_to(root.parent)}:{item.lineno} {node.name}.{item.name}")
    return missing


def _is_overload_or_property_setter(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Attribute) and dec.attr in {"setter", "deleter"}:
            return True
        if isinstance(dec, ast.Name) and dec.id == "overload":
            return True
    return False


def test_every_public_function_has_a_docstring() -> None:
    missing = missing_docstrings(PACKAGE)
    assert not missing, "public functions/classes without a docstring:\n" + "\n".join(missing)


def test_the_docstring_check_can_fail(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(
        'def documented():\n    """Yes."""\n\n\ndef bare():\n    pass\n\n\n'
        'class C:\n    """Doc."""\n\n    def method(self):\n        return 1\n\n    def _private(self):\n        return 2\n'
    )
    assert [m.split(" ")[1] for m in missing_docstrings(pkg)] == ["bare", "C.method"]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it comes with the dev extra: pip install -e .[dev])")
    repo = PACKAGE.parent
    proc = subprocess.run([ruff, "check", str(repo)], capture_output=True, text=True, cwd=repo, timeout=300)
    assert proc.returncode == 0, f"ruff check failed:\n{proc.stdout}\n{proc.stderr}"
