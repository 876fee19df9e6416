"""The shape of chalicelib's imports, read from the source with `ast` (nothing is imported).

Every import counts: at the top of a module, under TYPE_CHECKING, and inside a function (a
function-local import is still a dependency; it only moves the moment it is paid). Two rules:

- no cycle between chalicelib modules: a use case that needs another module's reaction emits an
  event (chalicelib/services/dispatch.py) instead of calling back into it;
- no `_private` name imported from another module: what another module needs is public.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"


def _modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The chalicelib module a dotted name lives in (`chalicelib.x.y.Thing` -> `chalicelib.x.y`)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path, node: ast.AST) -> list[tuple[str, str | None]]:
    """(dotted target, imported attribute or None) for one import statement."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    return [(f"{base}.{alias.name}", alias.name) for alias in node.names]


def import_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(edges module -> modules it imports, private names imported across modules)."""
    modules = _modules(root)
    edges: dict[str, set[str]] = {name: set() for name in modules}
    privates = []
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for target, attr in _imported_names(module, path, node):
                if not target.startswith(PACKAGE + ".") and target != PACKAGE:
                    continue
                owner = _owner(target, modules)
                if owner is None or owner == module or owner == PACKAGE:
                    continue
                edges[module].add(owner)
                # `from pkg import _name`: a private attribute, unless it is a submodule itself.
                if attr is not None and attr.startswith("_") and target not in modules:
                    privates.append((module, owner, attr))
    return edges, privates


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_chalicelib_modules_counting_function_local_imports():
    edges, _ = import_graph()
    assert cycles(edges) == []


def test_no_private_name_is_imported_from_another_module():
    _, privates = import_graph()
    assert privates == []


def test_the_graph_sees_function_local_imports_and_private_names(tmp_path):
    """The checker itself: a cycle closed only by a function-local import, and a private name,
    are both found."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from chalicelib.b import helper\n")
    (package / "b.py").write_text("def helper():\n    from chalicelib import a\n    return a\n")
    (package / "c.py").write_text("from chalicelib.b import _hidden\n")
    edges, privates = import_graph(tmp_path)
    assert cycles(edges) == [["chalicelib.a", "chalicelib.b"]]
    assert privates == [("chalicelib.c", "chalicelib.b", "_hidden")]
