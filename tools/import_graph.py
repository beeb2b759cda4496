"""Print adlip's module import graph, its cycles and the imports that point up the layers.

Run from the repository root: ``python tools/import_graph.py`` (``--dot`` prints Graphviz instead).
Reads the source with ``ast`` (nothing is imported or executed) and counts imports inside functions
too, since a function-level import hides a cycle rather than removing it. Exit status 1 if there is a
cycle or an upward import, so the same check runs as a test.
"""
import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "adlip"
# Lower layers first; a module may import only from its own layer or below.
LAYERS = [
    ["adlip", "adlip.checks", "adlip.glue", "adlip.progress", "adlip.data", "adlip.layers", "adlip.architectures", "adlip.reference"],
    ["adlip.detectors"],
    ["adlip.metrics", "adlip.metrics_gan", "adlip.robustness"],
    ["adlip.profiles", "adlip.records", "adlip.estimates", "adlip.resume", "adlip.runs", "adlip.sweeps", "adlip.dask_sweeps", "adlip.studies", "adlip.experiments"],
    ["adlip.studies.catalog"],
    ["adlip.tables", "adlip.plots", "adlip.reproduction", "adlip.views"],
    ["adlip.cli", "adlip.book", "adlip.__main__"],
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set:
    """The adlip modules a file imports (``from adlip.x import y`` counts y if y is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def module_files(root: Path) -> dict:
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def graph(root: Path) -> dict:
    files = module_files(root)
    edges = {}
    for name, path in files.items():
        edges[name] = sorted(m for m in imports_of(path, name) if m in files and m != name)
    return edges


def layer_of(module: str) -> int:
    best, depth = None, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            inside = module == prefix or (prefix != PACKAGE and module.startswith(prefix + "."))
            if inside and len(prefix) > depth:
                best, depth = index, len(prefix)
    if best is None:
        raise ValueError(f"{module} is in no layer: add it to LAYERS in tools/import_graph.py")
    return best


def upward_imports(edges: dict) -> list:
    return [(a, b) for a, targets in edges.items() for b in targets
            if layer_of(b) > layer_of(a) and b != PACKAGE]


def cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, []):
            if w == PACKAGE or (v.startswith(w + ".")):  # a module importing its own package __init__
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current folder)")
    parser.add_argument("--dot", action="store_true", help="print the graph in Graphviz's dot language")
    args = parser.parse_args(argv)
    root = Path(args.root)
    edges = graph(root)
    if args.dot:
        print("digraph adlip {")
        for a, targets in sorted(edges.items()):
            for b in targets:
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in module_files(root).items()}
    for name in sorted(edges):
        print(f"{name} ({sizes[name]} lines) -> {', '.join(edges[name]) or '-'}")
    found_cycles, upward = cycles(edges), upward_imports(edges)
    print(f"\n{len(edges)} modules; largest: "
          + ", ".join(f"{n} {s}" for n, s in sorted(sizes.items(), key=lambda kv: -kv[1])[:5]))
    print(f"cycles: {found_cycles or 'none'}")
    print("upward imports: " + ("none" if not upward else ", ".join(f"{a} -> {b}" for a, b in upward)))
    return 1 if found_cycles or upward else 0


if __name__ == "__main__":
    sys.exit(main())
