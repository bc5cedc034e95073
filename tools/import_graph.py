#!/usr/bin/env python3
"""Draw and check the import graph of the ``n2ce_bbo`` package.

Every ``.py`` file under the package folder is parsed with :mod:`ast` (the package is never imported). Each import
of a package module is recorded with where it sits:

* ``module``: executed when the importing module is imported (top level, class bodies, ``try`` blocks, ...);
* ``local``: inside a function or method (also recorded for third-party and standard-library imports);
* ``type_checking``: under ``if TYPE_CHECKING:`` (counts for the layering rule, never for run-time cycles).

Resolution: relative imports are made absolute; ``from n2ce_bbo.x import y`` goes to ``n2ce_bbo.x.y`` when that
is a module and to ``n2ce_bbo.x`` otherwise; ``import n2ce_bbo.x.y`` goes to ``n2ce_bbo.x.y``. Edges from a
package's ``__init__`` (re-exports) count like any other. The implicit import of parent packages that Python
performs (``n2ce_bbo/__init__.py`` runs before any ``n2ce_bbo.x``) is not an edge. String references resolved at
run time (``"n2ce_bbo.methods.grad:GradientAscent"`` given to ``registry.import_target``) are not imports here.

Every module is placed in a layer by :data:`LAYERS` (first matching prefix wins; a prefix ``p`` matches ``p`` and
``p.*``; the package root itself matches only itself). A module that matches no prefix is an error.

Usage::

    python tools/import_graph.py [--png PATH] [--check] [--allowed-local ray,matplotlib,...] [--max-lines N]

The functions are pure and importable by file path (``tests/test_architecture.py`` does so).
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple


class Layer(NamedTuple):
    """One row of the layer table: its number (0 = bottom), a name, and the module prefixes it owns."""

    number: int
    name: str
    prefixes: tuple[str, ...]


#: The layer table, lowest layer first; a module may import only from its own layer or lower ones.
LAYERS: tuple[Layer, ...] = (
    Layer(0, "foundation", ("n2ce_bbo.errors", "n2ce_bbo.config", "n2ce_bbo.registry", "n2ce_bbo.utils",
                            "n2ce_bbo.provenance")),
    Layer(1, "data and maths", ("n2ce_bbo.io", "n2ce_bbo.tasks", "n2ce_bbo.losses", "n2ce_bbo.samplers",
                                "n2ce_bbo.constraints", "n2ce_bbo.mutations", "n2ce_bbo.parallel")),
    Layer(2, "networks", ("n2ce_bbo.models",)),
    Layer(3, "training", ("n2ce_bbo.training",)),
    Layer(4, "methods", ("n2ce_bbo.methods",)),
    Layer(5, "run path", ("n2ce_bbo.workflow",)),
    Layer(6, "benchmark, campaigns", ("n2ce_bbo.benchmark", "n2ce_bbo.campaign")),
    Layer(7, "entry points", ("n2ce_bbo.cli", "n2ce_bbo")),
)

#: Default longest module, in lines.
MAX_LINES = 400

Kind = Literal["module", "local", "type_checking"]
Scope = Literal["internal", "third_party", "stdlib"]

KIND_LABEL: dict[str, str] = {"module": "module-level", "local": "function-local", "type_checking": "TYPE_CHECKING"}


@dataclass(frozen=True)
class Import:
    """One import statement's reference to one module.

    Attributes:
        source: the importing module (``n2ce_bbo.methods.grad``).
        target: for ``internal`` the imported package module; otherwise the dotted name as written.
        path: the importing file, relative to the folder that holds the package.
        line: line of the import statement.
        kind: ``module``, ``local`` or ``type_checking``.
        scope: ``internal`` (a module of the package), ``third_party`` or ``stdlib``.
        resolved: False for an internal name that is no module of the package (a stale import).
    """

    source: str
    target: str
    path: str
    line: int
    kind: Kind
    scope: Scope
    resolved: bool = True

    @property
    def top_level(self) -> str:
        """The top-level package of the target (``matplotlib`` for ``matplotlib.pyplot``)."""
        return self.target.split(".")[0]

    @property
    def where(self) -> str:
        """``path:line``."""
        return f"{self.path}:{self.line}"


@dataclass(repr=False)
class Graph:
    """The parsed package: its modules (name -> file) and every recorded import."""

    package: str
    root: Path
    modules: dict[str, Path]
    imports: list[Import]
    layers: tuple[Layer, ...] = field(default=LAYERS)

    def __repr__(self) -> str:
        return f"Graph({self.package}: {len(self.modules)} modules, {len(self.imports)} imports)"

    def internal(self, kinds: Iterable[str] = ("module", "local", "type_checking")) -> list[Import]:
        """The imports of package modules of the given kinds."""
        wanted = set(kinds)
        return [i for i in self.imports if i.scope == "internal" and i.kind in wanted]

    def layer_of(self, module: str) -> Layer | None:
        """The layer of ``module`` under this graph's table, or None."""
        return layer_of(module, self.layers, self.package)


# ---------------------------------------------------------------------------------------------------- parsing


def module_name(path: Path, package_dir: Path) -> str:
    """Dotted name of the module in ``path`` (``pkg/a/__init__.py`` -> ``pkg.a``, ``pkg/a/b.py`` -> ``pkg.a.b``)."""
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect_modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package: dotted name -> file, sorted by name."""
    found = {module_name(p, package_dir): p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts}
    return dict(sorted(found.items()))


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _walk_imports(nodes: Iterable[ast.AST], local: bool = False,
                  type_checking: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
    """Every import statement below ``nodes`` with its kind."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, "type_checking" if type_checking else "local" if local else "module"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk_imports(ast.iter_child_nodes(node), True, type_checking)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk_imports(node.body, local, True)
            yield from _walk_imports(node.orelse, local, type_checking)
        else:
            yield from _walk_imports(ast.iter_child_nodes(node), local, type_checking)


def _scope_of(name: str, package: str) -> Scope:
    top = name.split(".")[0]
    if top == package:
        return "internal"
    return "stdlib" if top in sys.stdlib_module_names else "third_party"


def _internal_target(name: str, modules: dict[str, Path]) -> tuple[str, bool]:
    """The module ``name`` refers to, or its deepest existing parent (then not resolved)."""
    if name in modules:
        return name, True
    parts = name.split(".")
    while len(parts) > 1:
        parts.pop()
        if ".".join(parts) in modules:
            return ".".join(parts), False
    return name, False


def _absolute_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: max(len(parts) - (node.level - 1), 0)]
    return ".".join([*parts, node.module] if node.module else parts)


def find_imports(path: Path, package_dir: Path, modules: dict[str, Path]) -> list[Import]:
    """The imports in one file: internal ones of every kind; third-party and stdlib ones only when local."""
    package = package_dir.name
    module = module_name(path, package_dir)
    rel = path.relative_to(package_dir.parent).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[tuple[str, int], Import] = {}

    def add(name: str, line: int, kind: Kind) -> None:
        scope = _scope_of(name, package)
        if scope == "internal":
            target, resolved = _internal_target(name, modules)
        elif kind == "local":
            target, resolved = name, True
        else:
            return
        found.setdefault((target, line), Import(module, target, rel, line, kind, scope, resolved))

    for node, kind in _walk_imports(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, kind)
            continue
        base = _absolute_base(node, module, path.name == "__init__.py")
        if not base or base == "__future__":
            continue
        if _scope_of(base, package) != "internal":
            add(base, node.lineno, kind)
            continue
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            add(sub if sub in modules else base, node.lineno, kind)
    return sorted(found.values(), key=lambda i: (i.line, i.target))


def build_graph(package_dir: Path | str, layers: tuple[Layer, ...] = LAYERS) -> Graph:
    """Parse every module of the package in ``package_dir``."""
    package_dir = Path(package_dir).resolve()
    modules = collect_modules(package_dir)
    imports = [i for p in modules.values() for i in find_imports(p, package_dir, modules)]
    return Graph(package_dir.name, package_dir, modules, imports, layers)


# ---------------------------------------------------------------------------------------------------- layers


def layer_of(module: str, layers: Sequence[Layer] = LAYERS, package: str = "n2ce_bbo") -> Layer | None:
    """The first layer with a prefix matching ``module``; the package root as a prefix matches only itself."""
    for layer in layers:
        for prefix in layer.prefixes:
            if module == prefix or (prefix != package and module.startswith(prefix + ".")):
                return layer
    return None


def unassigned_modules(graph: Graph) -> list[str]:
    """Modules that match no prefix of the layer table (each must be placed in a layer)."""
    return [f"{m} ({graph.modules[m].relative_to(graph.root.parent).as_posix()}) is in no layer: add it to LAYERS"
            for m in graph.modules if graph.layer_of(m) is None]


def _layer_label(layer: Layer | None) -> str:
    return f"L{layer.number} {layer.name}" if layer else "no layer"


def upward_imports(graph: Graph) -> list[str]:
    """Imports (of any kind) from a module of a lower layer to a module of a higher one."""
    out = []
    for i in graph.internal():
        src, dst = graph.layer_of(i.source), graph.layer_of(i.target)
        if src is not None and dst is not None and dst.number > src.number:
            out.append(f"{i.where} {i.source} ({_layer_label(src)}) imports {i.target} ({_layer_label(dst)}) "
                       f"[{KIND_LABEL[i.kind]}]")
    return out


def layer_edges(graph: Graph) -> dict[tuple[int, int], Counter[str]]:
    """``(from layer, to layer) -> Counter(kind)`` over internal imports between modules of two different
    layers (-1 stands for 'no layer')."""
    counts: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for i in graph.internal():
        src, dst = graph.layer_of(i.source), graph.layer_of(i.target)
        a, b = (src.number if src else -1), (dst.number if dst else -1)
        if a != b:
            counts[(a, b)][i.kind] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[0][0], -kv[0][1])))


# ---------------------------------------------------------------------------------------------------- cycles


def strongly_connected(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return sorted(components)


def cycles(graph: Graph) -> list[str]:
    """Strongly connected components of more than one module in the graph of run-time imports (module-level and
    function-local, not TYPE_CHECKING), each with its modules and the imports inside it."""
    runtime = [i for i in graph.internal(("module", "local")) if i.source != i.target]
    edges: dict[str, set[str]] = defaultdict(set)
    for i in runtime:
        edges[i.source].add(i.target)
    out = []
    for component in strongly_connected(graph.modules, edges):
        if len(component) < 2:
            continue
        members = set(component)
        inside = sorted((i for i in runtime if i.source in members and i.target in members),
                        key=lambda i: (i.source, i.line))
        lines = [f"cycle of {len(component)} modules: {', '.join(component)}"]
        lines += [f"    {i.source} -> {i.target}  ({i.where}, {KIND_LABEL[i.kind]})" for i in inside]
        out.append("\n".join(lines))
    return out


# ---------------------------------------------------------------------------------------------------- local imports


class LocalImports(NamedTuple):
    """Every function-local import as ``path:line module``, split by what it imports."""

    internal: list[str]
    third_party: list[str]
    stdlib: list[str]


def local_imports(graph: Graph) -> LocalImports:
    """Every function-local import (``path:line module``): of package modules, third-party ones, stdlib ones."""
    split: dict[str, list[str]] = {"internal": [], "third_party": [], "stdlib": []}
    for i in graph.imports:
        if i.kind == "local":
            split[i.scope].append(f"{i.where} {i.target}")
    return LocalImports(split["internal"], split["third_party"], split["stdlib"])


def disallowed_local_imports(graph: Graph, allowed_third_party: set[str]) -> list[str]:
    """Function-local imports of package modules (always disallowed) and of third-party top-level packages not in
    ``allowed_third_party`` (standard-library ones are allowed)."""
    out = []
    for i in graph.imports:
        if i.kind != "local":
            continue
        if i.scope == "internal":
            out.append(f"{i.where} {i.target} (a package module: import it at module level)")
        elif i.scope == "third_party" and i.top_level not in allowed_third_party:
            out.append(f"{i.where} {i.target} ({i.top_level} is not an allowed heavy/optional package)")
    return out


def local_third_party_counts(graph: Graph) -> Counter[str]:
    """Function-local third-party imports counted by top-level package."""
    return Counter(i.top_level for i in graph.imports if i.kind == "local" and i.scope == "third_party")


# ---------------------------------------------------------------------------------------------------- other checks


def unresolved_imports(graph: Graph) -> list[str]:
    """Imports of package names that are no module of the package (stale after a move)."""
    return [f"{i.where} imports unknown module (nearest existing: {i.target})"
            for i in graph.imports if i.scope == "internal" and not i.resolved]


def long_modules(graph: Graph, max_lines: int = MAX_LINES) -> list[str]:
    """Modules whose file has more than ``max_lines`` lines."""
    out = []
    for path in graph.modules.values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > max_lines:
            out.append(f"{path.relative_to(graph.root.parent).as_posix()}: {n} lines (> {max_lines})")
    return out


# ---------------------------------------------------------------------------------------------------- picture


def node_of(module: str, package: str) -> str:
    """The picture's node of a module: its top-level subpackage or module (``n2ce_bbo.methods.grad`` -> ``methods``);
    the package root is its own node."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else package


def write_png(graph: Graph, path: Path | str) -> None:
    """Draw the graph aggregated to top-level subpackages/modules, in horizontal bands by layer (layer 0 at the
    bottom); edge width by import count, upward imports in red, imports that are never module-level dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    # nodes: (name, layer number or -1), in table order
    sizes: Counter[tuple[str, int]] = Counter()
    for m in graph.modules:
        layer = graph.layer_of(m)
        sizes[(node_of(m, graph.package), layer.number if layer else -1)] += 1
    order = {node_of(p, graph.package): k for k, p in enumerate(p for layer in graph.layers for p in layer.prefixes)}
    rows: dict[int, list[str]] = defaultdict(list)
    for name, number in sorted(sizes, key=lambda n: (order.get(n[0], len(order)), n[0])):
        rows[number].append(name)
    numbers = [layer.number for layer in graph.layers] + ([-1] if -1 in rows else [])
    band = {number: k for k, number in enumerate(numbers)}  # -1 (no layer) on top

    width, box_h = 12.0, 0.42
    pos: dict[tuple[str, int], tuple[float, float]] = {}
    for number, names in rows.items():
        step = width / len(names)
        for k, name in enumerate(names):
            # a lone node zig-zags around the middle so that edges skipping a layer miss the boxes between
            x = width / 2 + (1.0 if band[number] % 2 else -1.0) if len(names) == 1 else step * (k + 0.5)
            pos[(name, number)] = (1.6 + x, band[number] + 0.5)

    fig, ax = plt.subplots(figsize=(14, 10), dpi=100)
    ax.set_xlim(0, width + 1.7)
    ax.set_ylim(0, len(numbers))
    ax.axis("off")
    titles = {layer.number: f"L{layer.number}\n{layer.name}" for layer in graph.layers} | {-1: "no layer\n(error)"}
    for number, k in band.items():
        ax.axhspan(k + 0.03, k + 0.97, color="#f2f2f2" if k % 2 else "#e6eef7", zorder=0)
        ax.text(0.08, k + 0.5, titles[number], va="center", ha="left", fontsize=12, fontweight="bold",
                color="#b00000" if number == -1 else "#333333")

    boxes: dict[tuple[str, int], FancyBboxPatch] = {}
    for (name, number), (x, y) in pos.items():
        label = f"{name} (facade)" if name == graph.package else name
        box_w = max(1.45, 0.13 * len(label) + 0.35)
        box = FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.08",
                             facecolor="#ffe0e0" if number == -1 else "white", edgecolor="#335577", linewidth=1.4,
                             zorder=3)
        ax.add_patch(box)
        boxes[(name, number)] = box
        ax.text(x, y + 0.06, label, ha="center", va="center", fontsize=12, fontweight="bold", zorder=4)
        n = sizes[(name, number)]
        ax.text(x, y - 0.11, f"{n} module{'s' if n != 1 else ''}", ha="center", va="center", fontsize=9,
                color="#555555", zorder=4)

    agg: dict[tuple[tuple[str, int], tuple[str, int]], Counter[str]] = defaultdict(Counter)
    for i in graph.internal():
        src_layer, dst_layer = graph.layer_of(i.source), graph.layer_of(i.target)
        a = (node_of(i.source, graph.package), src_layer.number if src_layer else -1)
        b = (node_of(i.target, graph.package), dst_layer.number if dst_layer else -1)
        if a != b:
            agg[(a, b)][i.kind] += 1
    n_up = 0
    for (a, b), kinds in sorted(agg.items(), key=lambda kv: sum(kv[1].values())):
        count = sum(kinds.values())
        upward = a[1] != -1 and b[1] != -1 and b[1] > a[1]
        n_up += upward
        (xa, ya), (xb, yb) = pos[a], pos[b]
        # a constant bend: a -> b and b -> a take opposite sides
        rad = 0.35 if ya == yb else 0.12
        line_w = 0.7 + 1.1 * math.log2(count)
        arrow = FancyArrowPatch(
            (xa, ya), (xb, yb), patchA=boxes[a], patchB=boxes[b], connectionstyle=f"arc3,rad={rad}",
            arrowstyle="-|>", mutation_scale=18 if upward else 14, linewidth=max(line_w, 2.2) if upward else line_w,
            linestyle="-" if kinds["module"] else (0, (4, 3)),
            color="#d62020" if upward else "#4a6d8c", alpha=1.0 if upward else 0.5, zorder=5 if upward else 2)
        ax.add_patch(arrow)

    n_mod, n_imp = len(graph.modules), len(graph.internal())
    ax.set_title(f"{graph.package} import graph: {n_mod} modules, {n_imp} internal imports, "
                 f"{n_up} upward edge{'s' if n_up != 1 else ''} (red)", fontsize=15, fontweight="bold")
    legend = [
        Line2D([], [], color="#4a6d8c", lw=2, label="import (down or within a layer)"),
        Line2D([], [], color="#d62020", lw=2, label="upward import (violation)"),
        Line2D([], [], color="#4a6d8c", lw=2, ls=(0, (4, 3)), label="only function-local / TYPE_CHECKING"),
        Line2D([], [], color="#4a6d8c", lw=0.7, label="1 import"),
        Line2D([], [], color="#4a6d8c", lw=0.7 + 1.1 * math.log2(32), label="32 imports (width ~ log count)"),
    ]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.005), ncol=5, fontsize=10, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- report


def report(graph: Graph, allowed_local: set[str], max_lines: int = MAX_LINES) -> tuple[str, bool]:
    """The text report and whether every check passed."""
    out: list[str] = []

    def section(title: str, items: Sequence[str]) -> None:
        out.append(f"\n== {title} ({len(items)}) ==")
        out.extend(items if items else ["none"])

    out.append(f"== Layers ({graph.package}: {len(graph.modules)} modules) ==")
    for layer in graph.layers:
        members = [m for m in graph.modules if graph.layer_of(m) == layer]
        out.append(f"L{layer.number} {layer.name} ({len(members)}): {', '.join(members) or '-'}")

    out.append("\n== Imports between layers (count: module-level / function-local / TYPE_CHECKING) ==")
    names = {layer.number: _layer_label(layer) for layer in graph.layers} | {-1: "no layer"}
    for (a, b), kinds in layer_edges(graph).items():
        mark = "   <-- UPWARD" if a != -1 and b != -1 and b > a else ""
        out.append(f"{names[a]} -> {names[b]}: {sum(kinds.values())} "
                   f"({kinds['module']} / {kinds['local']} / {kinds['type_checking']}){mark}")

    unassigned = unassigned_modules(graph)
    upward = upward_imports(graph)
    cyc = cycles(graph)
    unresolved = unresolved_imports(graph)
    disallowed = disallowed_local_imports(graph, allowed_local)
    long = long_modules(graph, max_lines) if max_lines > 0 else []
    section("Modules in no layer", unassigned)
    section("Upward imports", upward)
    section("Run-time cycles", cyc)
    section("Unresolved imports of package modules", unresolved)

    local = local_imports(graph)
    out.append(f"\n== Function-local imports: {len(local.internal)} of {graph.package} modules, "
               f"{len(local.third_party)} third-party, {len(local.stdlib)} stdlib ==")
    out.append("third-party by package: " + (", ".join(
        f"{pkg} {n}" for pkg, n in sorted(local_third_party_counts(graph).items(), key=lambda kv: (-kv[1], kv[0])))
        or "none"))
    section(f"Function-local imports of {graph.package} modules", local.internal)
    section("Function-local third-party imports", local.third_party)
    allowed = ", ".join(sorted(allowed_local)) or "none"
    section(f"Disallowed function-local imports (allowed third-party: {allowed})", disallowed)
    if max_lines > 0:
        section(f"Modules over {max_lines} lines", long)

    failed = {"no layer": unassigned, "upward": upward, "cycles": cyc, "unresolved": unresolved,
              "disallowed local": disallowed, "long modules": long}
    bad = {k: len(v) for k, v in failed.items() if v}
    out.append("\nresult: " + ("OK" if not bad else "FAIL (" + ", ".join(f"{k} {n}" for k, n in bad.items()) + ")"))
    return "\n".join(out), not bad


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the report, optionally draw the picture, exit 1 on failure with ``--check``."""
    default_package = Path(__file__).resolve().parents[1] / "n2ce_bbo"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", type=Path, default=default_package, help="package folder (default: %(default)s)")
    parser.add_argument("--png", type=Path, help="write the layered picture here")
    parser.add_argument("--check", action="store_true", help="exit 1 when any check fails")
    parser.add_argument("--allowed-local", default="",
                        help="comma-separated third-party packages allowed as function-local imports")
    parser.add_argument("--max-lines", type=int, default=MAX_LINES,
                        help="longest allowed module in lines, 0 to skip the check (default: %(default)s)")
    args = parser.parse_args(argv)

    graph = build_graph(args.package)
    allowed = {name.strip() for name in args.allowed_local.split(",") if name.strip()}
    text, ok = report(graph, allowed, args.max_lines)
    print(text)
    if args.png:
        write_png(graph, args.png)
        print(f"picture: {args.png}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
