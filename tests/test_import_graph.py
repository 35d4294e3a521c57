"""The import graph keeps its shape: no cycles between modules, and no module imports a layer above it.

Layers, lowest first: data < (app.exports, app.integrations) < app.services < (app.api, app.dispatch)
< components < pages. The entry points (app.main, app.cli, app.config) sit outside the layers; the
data layer is handed its settings and imports nothing of app/. Imports inside functions count (they
still tie the modules together); imports under `if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "data", "pages", "components")
LAYERS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("data",), 0),
    (("app.exports", "app.integrations"), 1),
    (("app.services",), 2),
    (("app.api", "app.dispatch"), 3),
    (("components",), 4),
    (("pages",), 5),
)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours an import names (`app.services.jobs.retry_job` → `app.services.jobs`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                skipped.update(id(inner) for inner in ast.walk(statement))
    return skipped


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                found = _known(target, modules)
                if found is not None and found != name:
                    graph[name].add(found)
    return graph


def _layer(name: str) -> int | None:
    for prefixes, level in LAYERS:
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return level
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert _cycles(import_graph()) == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for name, targets in import_graph().items():
        own = _layer(name)
        for target in sorted(targets):
            other = _layer(target)
            if own == 0 and target.startswith("app"):
                upward.append(f"{name} -> {target} (data is handed its settings, it never reads the app's)")
            elif own is not None and other is not None and other > own:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_checks_see_cycles_and_upward_imports() -> None:
    """The graph reader itself: a planted cycle and a planted upward edge are found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    real = import_graph()
    assert "app.services.events" in real["app.dispatch.dispatcher"]  # absolute imports are read
    assert "app.dispatch.claims" in real["app.dispatch.dispatcher"]  # relative ones too
    assert "app.services.generation" in real["app.dispatch.dispatcher"]  # and those inside functions
    assert _layer("app.services.jobs") == 2 and _layer("pages.queue") == 5 and _layer("app.main") is None
