"""The one way Python data reaches JavaScript: a fixed function name called with JSON arguments.

Formatting values into a `run_javascript` source lets text that holds a quote or `</script>`
become code in the viewer's session. Here the source is a constant path to a function the page
already defines, and every argument is JSON with `</` escaped, so no value can leave its string.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nicegui import ui

# A dotted path of plain identifiers, e.g. "window.scAlerts.beep" or "navigator.clipboard.writeText".
_FUNCTION_PATH = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")


def encode(value: Any) -> str:
    """JSON that is safe inside a script element and inside a JavaScript expression."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("</", "<\\/")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def source(function: str, *args: Any) -> str:
    """`function(arg, …)` guarded so a missing function is a no-op, not an error in the console."""
    if not _FUNCTION_PATH.match(function):
        raise ValueError(f"not a function path: {function!r}")
    owner = function.rpartition(".")[0]
    guard = f"{owner} && {function} && " if owner else f"typeof {function} === 'function' && "
    return guard + f"{function}({', '.join(encode(arg) for arg in args)})"


def call(function: str, *args: Any, timeout: float = 1.0) -> Any:
    """Run `function(*args)` in the current client's browser; awaitable for its answer."""
    return ui.run_javascript(source(function, *args), timeout=timeout)
