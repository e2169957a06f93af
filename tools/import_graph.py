"""Hearth's import graph: which package imports which, cycles, and imports that break the layers.

    .venv/bin/python tools/import_graph.py            # a readable report
    .venv/bin/python tools/import_graph.py --json     # the same as one JSON object
    .venv/bin/python tools/import_graph.py --dot      # Graphviz source of the package graph

Reads the source with `ast` (nothing is imported), so it runs on any checkout. Imports inside
functions count as edges too (they are marked "lazy"); imports under `if TYPE_CHECKING:` do not,
because they never run. Nodes are packages and top-level modules one level below each layer
(`engine.session`, `engine.context`, `app.library`, `ui.gauges`...). The layer rules are those of
the design map: ui imports neither app nor the heavy engine libraries; engine imports no Qt, app
or ui; the API server (app.serve) imports no Qt or ui; inside engine no two nodes import each
other, directly or through others. And no module takes part in an import-time cycle (imports
that run when a module is first imported, a package's `__init__` counted with every module in
it): two threads importing such modules for the first time at once can be handed a
half-initialized module.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("engine", "app", "ui")
HEAVY = ("llama_cpp", "chromadb", "sentence_transformers", "torch", "pymupdf", "fitz")
QT = ("PySide6", "shiboken6")


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module, dotted, as written (absolute)
    line: int
    lazy: bool  # inside a function or method


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(root: Path, path: Path) -> Iterator[Import]:
    """Every import statement of one file that runs, with relative imports made absolute."""
    source = module_name(root, path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def walk(node: ast.AST, lazy: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if _type_checking_block(child):
                continue
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(source, alias.name, child.lineno, lazy)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import module` imports the module when it is one.
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    yield Import(source, candidate if _is_module(root, candidate) else base,
                                 child.lineno, lazy)  # fmt: skip
            yield from walk(child, inner)

    yield from walk(tree, False)


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def node_of(module: str) -> str:
    """The graph node of a module: its layer plus one more level (`engine.context`)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def collect(root: Path) -> list[Import]:
    found = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            found.extend(imports_of(root, path))
    return found


def internal(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.target.split(".")[0] in LAYERS]


def package_edges(imports: list[Import]) -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for item in internal(imports):
        a, b = node_of(item.source), node_of(item.target)
        if a != b and b not in LAYERS:  # `import engine` alone is the empty package
            edges[(a, b)].append(item)
    return edges


def cycles(edges: dict[tuple[str, str], list[Import]], prefix: str = "engine") -> list[list[str]]:
    """Strongly connected components with more than one node, among nodes under `prefix`."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a.startswith(prefix) and b.startswith(prefix):
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def import_time_cycles(imports: list[Import]) -> list[list[str]]:
    """Cycles among modules through the imports that run at import time.

    Importing `a.b.c` first runs `a/__init__` and `a/b/__init__`, so an import of `a.b.c` is an
    edge to each enclosing package as well as to the module: a package whose `__init__` imports
    its own modules, which import each other through the package, forms a cycle.
    """
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for item in internal(imports):
        if item.lazy:
            continue
        parts = item.target.split(".")
        for end in range(2, len(parts) + 1):
            target = ".".join(parts[:end])
            if target != item.source:
                edges[(item.source, target)].append(item)
    return [c for layer in LAYERS for c in cycles(edges, prefix=layer)]


def violations(imports: list[Import]) -> list[Import]:
    """Imports that point the wrong way between layers, or into heavy libraries from ui."""
    forbidden = {"engine": ("app", "ui", *QT), "ui": ("app", *HEAVY)}
    bad = []
    for item in imports:
        layer = item.source.split(".")[0]
        top = item.target.split(".")[0]
        # The library process never draws, so its package imports no widgets.
        never_ui = item.source.startswith("app.library") and top == "ui"
        # The API server runs headless, in `hearth serve` as in the window.
        never_qt = item.source.startswith(("app.serve", "app.cli_serve")) and top in (*QT, "ui")
        if top in forbidden.get(layer, ()) or never_ui or never_qt:
            bad.append(item)
    return bad


def report(root: Path) -> dict:
    imports = collect(root)
    edges = package_edges(imports)
    layer_edges: dict[str, int] = defaultdict(int)
    for (a, b), items in edges.items():
        layer_edges[f"{a.split('.')[0]} -> {b.split('.')[0]}"] += len(items)
    return {
        "modules": len({i.source for i in imports}),
        "layer_edges": dict(sorted(layer_edges.items())),
        "package_edges": {f"{a} -> {b}": len(items) for (a, b), items in sorted(edges.items())},
        "engine_cycles": cycles(edges),
        "import_time_cycles": import_time_cycles(imports),
        "violations": [
            f"{i.source}:{i.line} imports {i.target}{' (lazy)' if i.lazy else ''}"
            for i in violations(imports)
        ],
    }


def dot(root: Path) -> str:
    edges = package_edges(collect(root))
    lines = ["digraph hearth {", "  rankdir=TB; node [shape=box, fontsize=10];"]
    for (a, b), items in sorted(edges.items()):
        lazy = all(i.lazy for i in items)
        style = " [style=dashed]" if lazy else ""
        lines.append(f'  "{a}" -> "{b}"{style};')
    lines.append("}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dot", action="store_true", help="print Graphviz source")
    args = parser.parse_args(argv)
    if args.dot:
        print(dot(args.root))
        return 0
    result = report(args.root)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['modules']} modules")
    print("\nImports between layers:")
    for edge, count in result["layer_edges"].items():
        print(f"  {edge}: {count}")
    print("\nImports between packages:")
    for edge, count in result["package_edges"].items():
        print(f"  {edge}: {count}")
    print("\nCycles between engine packages:", result["engine_cycles"] or "none")
    print("\nImport-time cycles between modules:", result["import_time_cycles"] or "none")
    print("\nImports against the layers:", "none" if not result["violations"] else "")
    for line in result["violations"]:
        print(f"  {line}")
    failed = result["engine_cycles"] or result["import_time_cycles"] or result["violations"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
