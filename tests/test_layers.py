"""Every import points down (docs/layout.md, "Layers"): the package's module graph, read from
the source with ``ast``, has no cycle, and no module imports one of a higher layer.

Every ``import`` and ``from ... import`` counts, wherever it is (top of the file, inside a
function, under ``if``), relative (``from ..data import cmu``) or absolute (``poselift.x``).
``from pkg import name`` is an edge to the module ``pkg.name`` when there is one, else to
``pkg``; importing ``a.b`` is not counted as importing the package ``a`` (its ``__init__``).
The root package's lazy one-call API (``poselift.lift`` etc., resolved by name through
``importlib``) is a facade and is not an import statement.

Modules of one layer may import each other (``data.dataset`` imports ``data.cmu``,
``realtime`` imports ``stream``): the no-cycle check keeps those one-way. A new module has
to be placed in :data:`LAYERS` (the test says so).
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

import poselift

# (name, what it holds, the modules: names relative to ``poselift``; ``pkg.*`` = the folder's
# package and every module in it, an exact name wins over a pattern; "" = the root package).
# Lowest first.
LAYERS: list[tuple[str, str, tuple[str, ...]]] = [
    ("base", "errors, checks of numbers and names, all-or-nothing outputs, bundled files, safe file "
             "reading and writing, the declaration of a run setting",
     ("", "errors", "_array", "background", "checks", "transaction", "assets_path", "data.filetype", "data.formats", "settings")),
    ("geometry", "pure functions on arrays: joint layouts, cameras, the model input encoding, rotations, "
                 "metrics, bones, "
                 "triangulation, smoothing, fusion, root placement",
     ("skeleton", "metrics", "camera", "encode", "rotations", "bones", "triangulate", "contact", "fuse", "smooth",
      "root")),
    ("sources, networks, detectors, drawing", "datasets and file formats; the networks, their factory and "
                                              "checkpoint reading; 2D detectors and importers; video reading and "
                                              "writing; figures, videos and exports - none of them knows training, "
                                              "evaluation or inference",
     ("data.*", "models.*", "detect.*", "render.*", "video")),
    ("cores", "what the jobs share: the inference core (a checkpoint's model, a sequence lifted through it) "
              "and the typed run settings",
     ("predict", "config")),
    ("pipelines", "the jobs: training, evaluation, inference (batch, streaming, live, everyone in a video), "
                  "retrieval, ONNX export",
     ("train.*", "evaluate", "infer", "stream", "realtime", "realtime_people", "people", "retrieval",
      "export_onnx")),
    ("command line", "the command and the jobs it runs on top of the pipelines: demo, bench",
     ("cli.*", "__main__", "demo", "bench")),
]

# Cycles known and not yet taken apart: {the modules of the cycle: what to do}. A cycle not
# listed here fails; so does an entry whose cycle is gone (remove it: the ratchet only turns one way).
KNOWN_CYCLES: dict[frozenset[str], str] = {}

ROOT = Path(poselift.__file__).resolve().parent


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` under ``root`` (the package ``package``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _known(name: str, modules) -> str | None:
    """The longest prefix of ``name`` that is a module of the package (None: outside it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [_known(a.name, modules) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for a in node.names:
                    sub = f"{source}.{a.name}"
                    targets.append(sub if sub in modules else _known(source, modules))
            for t in targets:
                if t is not None and t != mod:
                    edges.setdefault(t, node.lineno)
        graph[mod] = edges
    return graph


def layer_of(mod: str, package: str = "poselift", layers=LAYERS) -> int | None:
    """The layer index of ``mod`` (an exact name first, then a ``pkg.*`` pattern); None if unplaced."""
    rel = mod[len(package) + 1:] if mod.startswith(package + ".") else ("" if mod == package else mod)
    for i, (_, _, names) in enumerate(layers):
        if rel in names:
            return i
    for i, (_, _, names) in enumerate(layers):
        if any(n.endswith(".*") and (fnmatchcase(rel, n) or rel == n[:-2]) for n in names):
            return i
    return None


def find_cycles(graph: dict[str, dict[str, int]]) -> list[tuple[frozenset[str], list[str]]]:
    """The import cycles: per strongly connected component of more than one module (Tarjan's
    algorithm), its modules and a shortest closed path through its first module by name (that
    module repeated at the end)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:  # the package has a few hundred edges: recursion depth is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for comp in comps:  # a shortest way back to the start, inside the component
        members, start = set(comp), min(comp)
        prev: dict[str, str] = {}
        frontier, seen, end = [start], {start}, None
        while frontier and end is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w == start:
                        end = v
                        break
                    if w in members and w not in seen:
                        seen.add(w)
                        prev[w] = v
                        nxt.append(w)
                if end is not None:
                    break
            frontier = nxt
        path = [end]
        while path[-1] != start:
            path.append(prev[path[-1]])
        cycles.append((frozenset(comp), path[::-1] + [start]))
    return cycles


def describe_cycle(members, path, graph, modules) -> str:
    """'a -> b -> a  (a's file:line, b's file:line)', and the other modules tangled in when there are more."""
    where = ", ".join(f"{modules[a]}:{graph[a][b]}" for a, b in zip(path, path[1:]))
    more = sorted(members - set(path))
    return " -> ".join(path) + f"  ({where})" + (f"; also in this tangle: {', '.join(more)}" if more else "")


def upward_imports(graph, modules, package: str = "poselift", layers=LAYERS) -> list[str]:
    """Each import of a module of a higher layer, as 'file:line: a (layer) imports b (layer)'."""
    out = []
    for a, edges in sorted(graph.items()):
        la = layer_of(a, package, layers)
        for b, line in sorted(edges.items()):
            lb = layer_of(b, package, layers)
            if la is not None and lb is not None and lb > la:
                out.append(f"{modules[a]}:{line}: {a} ({la} {layers[la][0]}) imports {b} ({lb} {layers[lb][0]})")
    return out


@pytest.fixture(scope="module")
def package():
    modules = module_files(ROOT, "poselift")
    return modules, import_edges(modules)


def test_every_module_has_a_layer(package):
    modules, _ = package
    unplaced = [m for m in modules if layer_of(m) is None]
    assert not unplaced, f"place these modules in a layer of tests/test_layers.py LAYERS: {unplaced}"


def test_no_import_cycles(package):
    modules, graph = package
    found = find_cycles(graph)
    new = [describe_cycle(members, path, graph, modules) for members, path in found if members not in KNOWN_CYCLES]
    assert not new, "import cycles (a piece two modules share goes below both):\n" + "\n".join(new)
    gone = [sorted(k) for k in KNOWN_CYCLES if k not in {members for members, _ in found}]
    assert not gone, f"these known cycles are gone (or changed): update KNOWN_CYCLES in tests/test_layers.py: {gone}"


def test_every_import_points_down(package):
    modules, graph = package
    up = upward_imports(graph, modules)
    assert not up, "imports from a lower layer into a higher one:\n" + "\n".join(up)


def test_the_graph_sees_the_known_edges(package):
    """The parser reads what the modules import: top-level, inside functions, relative and
    ``from pkg import module`` (a check that the other tests are not vacuous)."""
    _, graph = package
    assert "poselift.errors" in graph["poselift.skeleton"]  # top of the file
    assert "poselift.metrics" in graph["poselift.skeleton"]  # inside a function
    assert "poselift._array" in graph["poselift.camera"]  # from . import _array
    assert "poselift.predict" in graph["poselift.infer"]
    assert "poselift.cli" in graph["poselift.__main__"]
    assert "poselift" not in graph["poselift.camera"]  # a submodule is not its package's __init__


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """On a small package of the same shape: a cycle made of an import inside a function and a
    relative ``from .. import``, and an upward absolute import, are both reported."""
    root = tmp_path / "pkg"
    _write(root, {
        "__init__.py": "",
        "low.py": "def f():\n    from .sub import high\n",  # upward (0 -> 1), and half of a cycle
        "sub/__init__.py": "",
        "sub/high.py": "from .. import low\n",  # the other half
        "sub/other.py": "import os\n\nimport pkg.top\n",  # upward (1 -> 2), no cycle
        "top.py": "from pkg.sub.high import x\n",  # downward: fine
    })
    layers = [("zero", "", ("", "low")), ("one", "", ("sub.*",)), ("two", "", ("top",))]
    modules = module_files(root, "pkg")
    graph = import_edges(modules)
    assert graph["pkg.low"] == {"pkg.sub.high": 2} and graph["pkg.sub.high"] == {"pkg.low": 1}
    assert find_cycles(graph) == [({"pkg.low", "pkg.sub.high"}, ["pkg.low", "pkg.sub.high", "pkg.low"])]
    up = upward_imports(graph, modules, "pkg", layers)
    assert [u.split(": ", 1)[1] for u in up] == ["pkg.low (0 zero) imports pkg.sub.high (1 one)",
                                                 "pkg.sub.other (1 one) imports pkg.top (2 two)"]
    assert up[0].startswith(f"{root / 'low.py'}:2:")
