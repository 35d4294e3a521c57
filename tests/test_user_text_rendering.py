"""User text reaches the browser only as element text or property values, never as parsed source.

`.props()`, `.classes()` and `.style()` parse their string, `ui.html`/`ui.markdown` render theirs
as markup, and `run_javascript`/`add_head_html` run theirs: text formatted into any of them can
add its own Vue-bound attribute or script (a stored script in another user's session). So their
arguments must be constants: a string literal, a module constant (an UPPER_CASE name, a
subscript or `.get()` of one), or a choice between such. Dynamic values go through
`element.props[...] = value`, constructor arguments or element text; data for JavaScript goes
through `components.browser_script`, which encodes it as JSON with `</` escaped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("app", "pages", "components")

# Methods of any element that parse their argument as source.
PARSING_METHODS = {"props", "classes", "style"}
# Calls whose argument is markup or script, whatever they are called on.
SOURCE_CALLS = {"run_javascript", "add_head_html", "add_body_html", "add_css", "markdown", "mermaid"}
# `ui.html(...)`: only through the `ui` namespace (other `.html` attributes are not NiceGUI's).
UI_ONLY_CALLS = {"html"}

# (module, function) pairs allowed to pass a built value: each encodes its data itself.
ALLOWED_BUILDERS: dict[tuple[str, str], str] = {
    ("components/browser_script.py", "call"): "JSON-encodes every argument and escapes '</'",
}


def _is_constant_name(name: str) -> bool:
    return name.lstrip("_").isupper() or name.lstrip("_").replace("_", "").isupper()


def _allowed(node: ast.expr) -> bool:
    """True for expressions that can only evaluate to strings written in the source."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bool | type(None))
    if isinstance(node, ast.Name):
        return _is_constant_name(node.id)
    if isinstance(node, ast.Attribute):  # a constant of another module: theme.FIELD
        return _is_constant_name(node.attr)
    if isinstance(node, ast.IfExp):
        return _allowed(node.body) and _allowed(node.orelse)
    if isinstance(node, ast.Subscript):  # STATUS_COLORS[status]: the values are literals
        return _allowed(node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return _allowed(node.func.value) and all(_allowed(arg) for arg in node.args[1:])
    return False


def _target(call: ast.Call) -> str | None:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr in PARSING_METHODS or func.attr in SOURCE_CALLS:
        return func.attr
    if func.attr in UI_ONLY_CALLS and isinstance(func.value, ast.Name) and func.value.id == "ui":
        return f"ui.{func.attr}"
    return None


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call) and (target := _target(child)):
                arguments = [*child.args, *(keyword.value for keyword in child.keywords)]
                bad = [arg for arg in arguments if not _allowed(arg)]
                if bad and (relative, name) not in ALLOWED_BUILDERS:
                    source = ast.get_source_segment(path.read_text(), bad[0]) or "?"
                    found.append(f"{relative}:{child.lineno} {target}({source[:80]})")
            visit(child, name)

    visit(tree, "<module>")
    return found


def _sources() -> list[Path]:
    return sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))


def test_no_built_string_reaches_props_classes_style_html_or_javascript() -> None:
    found = [line for path in _sources() for line in _violations(path)]
    assert not found, "Built strings passed where the browser parses them:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        "el.props(f'label=\"{name}\"')",
        "el.classes('a ' + extra)",
        "el.style('color: %s' % colour)",
        "el.props('title=\"{}\"'.format(name))",
        "ui.html(markup)",
        "ui.run_javascript(f'go({value})')",
        "el.props(add=f'x={y}')",
        "ui.markdown(text)",
    ],
)
def test_the_check_catches_each_way_of_building_a_string(snippet: str, tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(f"def f(el, ui, name, extra, colour, markup, value, y, text):\n    {snippet}\n")
    assert _violations(module), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "el.props('outlined dense')",
        "el.props(FIELD)",
        "el.classes('a' if ok else 'b')",
        "el.props(STATUS_COLORS.get(status, 'primary'))",
        "el.props(remove='error')",
    ],
)
def test_the_check_lets_constants_through(snippet: str, tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(f"def f(el, ok, status):\n    {snippet}\n")
    assert not _violations(module), snippet
