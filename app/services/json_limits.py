"""How deep and how large JSON from outside may be before it is stored (workflow graphs, project imports).

Deeply nested JSON is stored fine and then breaks every reader that walks it recursively (serialising a list of
workflows, rendering a page): one user's document answering 500 for everyone. So depth is measured without
recursion, and parsing is refused in words where Python's own parser would hit its recursion limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from data.errors import Invalid, TooLarge


def depth(value: Any, stop_after: int | None = None) -> int:
    """Nesting of objects and arrays (a scalar is 0, [] and {} are 1), without recursion; stops counting past
    `stop_after` so a hostile document costs no more than reaching the limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    children: Iterable[Any]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        if stop_after is not None and deepest > stop_after:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value: Any, max_depth: int, what: str) -> None:
    found = depth(value, stop_after=max_depth)
    if found > max_depth:
        raise Invalid(f"{what} is nested more than {max_depth} levels deep; nothing that deep is needed here.")


def encoded_size(value: Any) -> int:
    """Bytes of the compact JSON text (call after check_depth: the encoder recurses)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def check_size(value: Any, max_bytes: int, what: str) -> None:
    size = encoded_size(value)
    if size > max_bytes:
        raise TooLarge(f"{what} is {_size(size)} of JSON; at most {_size(max_bytes)} is accepted.")


def check(value: Any, *, max_depth: int, max_bytes: int, what: str) -> None:
    """Depth first (cheap, and the size needs the encoder), then size: Invalid (422) or TooLarge (413)."""
    check_depth(value, max_depth, what)
    check_size(value, max_bytes, what)


def loads(raw: bytes | bytearray | str, *, max_depth: int, what: str) -> Any:
    """Parsed JSON no deeper than max_depth; Invalid with the reason otherwise."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise Invalid(
            f"{what} is nested more than {max_depth} levels deep; nothing that deep is needed here."
        ) from None
    check_depth(value, max_depth, what)
    return value


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{max(1, round(count / 1024))} KB"
