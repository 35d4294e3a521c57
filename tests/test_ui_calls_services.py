"""Pages and components reach the database only through the service layer, one way (components/service_call.py).

Read from the source: no page or component imports the engine or builds a query. The lists below are the
modules not yet moved over; they only shrink."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THE_WAY = {"components/service_call.py"}
FORBIDDEN = ("data.engine", "sqlmodel", "sqlalchemy")

PAGES_NOT_YET: set[str] = set()

COMPONENTS_NOT_YET: set[str] = {
    "components/batch_dialog.py",
    "components/clip_generation.py",
    "components/generation_dialog.py",
    "components/generation_settings.py",
}


def _database_imports(path: Path) -> list[str]:
    """Every import (function-local ones too) of the engine or of a query builder."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found.extend(name for name in names if name.split(".")[0] in FORBIDDEN or name.startswith("data.engine"))
    return found


def _modules() -> list[str]:
    paths = [path for folder in ("pages", "components") for path in (ROOT / folder).rglob("*.py")]
    return sorted(str(path.relative_to(ROOT)) for path in paths)


def test_pages_and_components_reach_the_database_only_through_services() -> None:
    offenders = {
        module: imports
        for module in _modules()
        if module not in THE_WAY | PAGES_NOT_YET | COMPONENTS_NOT_YET
        and (imports := _database_imports(ROOT / module))
    }
    assert offenders == {}, "call services through components/service_call.py instead"


def test_the_lists_of_modules_not_yet_moved_only_shrink() -> None:
    """A module moved over leaves its list, so it cannot slide back."""
    stale = {module for module in PAGES_NOT_YET | COMPONENTS_NOT_YET if not _database_imports(ROOT / module)}
    assert stale == set(), "these no longer open sessions: take them off the list"
