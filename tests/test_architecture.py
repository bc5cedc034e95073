"""The package's architecture, checked on its import graph (``tools/import_graph.py``, parsed with ``ast``, nothing
imported): imports go down the layers of ``LAYERS`` only, no run-time import cycle, function-local imports only of
heavy or optional third-party packages, and no module over ``MAX_LINES`` lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "n2ce_bbo"
TOOL = REPO / "tools" / "import_graph.py"
MAX_LINES = 400

# Third-party packages a function may import locally: optional extras (ray, botorch/gpytorch, cma, pyarrow, mlflow,
# Bio, pyfastx, design_bench) or heavy ones (matplotlib, sklearn, scipy, tqdm, yaml) that are loaded only on the
# path that needs them, so that `import n2ce_bbo` and listing tasks/methods stay fast and work without the extras.
HEAVY_OR_OPTIONAL = {"ray", "matplotlib", "botorch", "gpytorch", "sklearn", "scipy", "cma", "pyarrow", "mlflow", "Bio",
                     "pyfastx", "design_bench", "tqdm", "yaml"}


def _load_tool() -> ModuleType:
    name = "_n2ce_bbo_import_graph_tool"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOL)
    assert spec is not None and spec.loader is not None, f"cannot load {TOOL}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


@pytest.fixture(scope="module")
def graph() -> Any:
    """The import graph of ``n2ce_bbo/`` (parsed once for this file)."""
    return tool.build_graph(PACKAGE)


def _listing(title: str, items: list[str], hint: str) -> str:
    return f"{title} ({len(items)}):\n" + "\n".join(f"  {item}" for item in items) + f"\n{hint}"


def test_every_module_is_in_a_layer(graph: Any) -> None:
    missing = tool.unassigned_modules(graph)
    assert not missing, _listing("modules in no layer", missing,
                                 f"place each in a layer of LAYERS in {TOOL.relative_to(REPO)}")


def test_no_upward_import(graph: Any) -> None:
    upward = tool.upward_imports(graph)
    assert not upward, _listing(
        "imports from a lower layer to a higher one (module-level, function-local and TYPE_CHECKING all count)",
        upward, "move the code to the right layer, or pass what is needed down as an argument")


def test_no_runtime_import_cycle(graph: Any) -> None:
    found = tool.cycles(graph)
    assert not found, _listing("run-time import cycles (module-level and function-local imports)", found,
                               "break each cycle: move the shared code down, or import from the defining module")


def test_function_local_imports_only_of_heavy_or_optional_packages(graph: Any) -> None:
    bad = tool.disallowed_local_imports(graph, HEAVY_OR_OPTIONAL)
    assert not bad, _listing(
        "disallowed function-local imports", bad,
        f"import package modules at module level; third-party packages allowed locally: {sorted(HEAVY_OR_OPTIONAL)}")


def test_no_module_is_too_long() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            long.append(f"{path.relative_to(REPO).as_posix()}: {n} lines")
    assert not long, _listing(f"modules over {MAX_LINES} lines", long, "split each into focused modules")


# ---------------------------------------------------------------------------------------------------- the tool itself


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_tool_finds_each_kind_of_violation(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    _write(pkg, {
        "__init__.py": "from pkg.high import run\n",
        "low.py": "def helper():\n    from pkg.high import run\n    import ray\n    import numpy.linalg\n"
                  "    import json\n    return run\n",
        "high.py": "import pkg.a\n\n\ndef run():\n    return pkg.a\n",
        "a.py": "from pkg import b\n",
        "b.py": "from . import a\n",
        "c.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.d import D\n",
        "d.py": "import pkg.c\n\n\nclass D:\n    pass\n",
        "sub/__init__.py": "from . import leaf\n",
        "sub/leaf.py": "from ..a import x\n",
        "stray.py": "\n",
    })
    layers = (tool.Layer(0, "base", ("pkg.low", "pkg.a", "pkg.b", "pkg.c", "pkg.sub")),
              tool.Layer(1, "top", ("pkg.high", "pkg.d", "pkg")))
    g = tool.build_graph(pkg, layers)

    edges = {(i.source, i.target, i.kind) for i in g.imports if i.scope == "internal"}
    assert ("pkg.a", "pkg.b", "module") in edges  # from pkg import <submodule>
    assert ("pkg.b", "pkg.a", "module") in edges  # relative import
    assert ("pkg.sub", "pkg.sub.leaf", "module") in edges  # relative import in a package __init__
    assert ("pkg.sub.leaf", "pkg.a", "module") in edges  # two dots
    assert ("pkg", "pkg.high", "module") in edges  # re-export of the facade
    assert ("pkg.c", "pkg.d", "type_checking") in edges

    assert tool.unassigned_modules(g) == ["pkg.stray (pkg/stray.py) is in no layer: add it to LAYERS"]

    upward = tool.upward_imports(g)
    assert len(upward) == 2, upward
    assert upward[0].startswith("pkg/c.py:4 pkg.c (L0 base) imports pkg.d (L1 top)") and "TYPE_CHECKING" in upward[0]
    assert upward[1].startswith("pkg/low.py:2 pkg.low (L0 base) imports pkg.high") and "function-local" in upward[1]

    found = tool.cycles(g)
    assert len(found) == 1, found  # c <-> d is closed only by a TYPE_CHECKING import: no cycle
    assert found[0].startswith("cycle of 2 modules: pkg.a, pkg.b")

    local = tool.local_imports(g)
    assert local.internal == ["pkg/low.py:2 pkg.high"]
    assert local.third_party == ["pkg/low.py:3 ray", "pkg/low.py:4 numpy.linalg"]
    assert local.stdlib == ["pkg/low.py:5 json"]
    bad = tool.disallowed_local_imports(g, {"ray"})
    assert [b.split(" (")[0] for b in bad] == ["pkg/low.py:2 pkg.high", "pkg/low.py:4 numpy.linalg"]


def test_the_tool_passes_a_clean_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    _write(pkg, {
        "__init__.py": "from pkg.top import run\n",
        "base.py": "X = 1\n",
        "top.py": "from pkg.base import X\n\n\ndef run():\n    import ray\n    return X, ray\n",
    })
    g = tool.build_graph(pkg, (tool.Layer(0, "base", ("pkg.base",)), tool.Layer(1, "top", ("pkg.top", "pkg"))))
    assert tool.unassigned_modules(g) == []
    assert tool.upward_imports(g) == []
    assert tool.cycles(g) == []
    assert tool.disallowed_local_imports(g, {"ray"}) == []
