"""A page's filters kept in its address, so a filtered view can be bookmarked, shared and reloaded.

The query is built with urlencode (user text is percent-encoded, never spliced into script); NiceGUI
hands the address to the browser's history as a JSON string."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from nicegui import ui


def with_filters(path: str, filters: Mapping[str, object]) -> str:
    """`path?name=value…` with the filters that are set (None, "" and False are left out)."""
    query = urlencode({name: value for name, value in filters.items() if value not in (None, "", False)})
    return f"{path}?{query}" if query else path


def keep_filters(path: str, filters: Mapping[str, object]) -> None:
    """Replaces the address (no new history entry per keystroke) with one that reopens these filters."""
    ui.navigate.history.replace(with_filters(path, filters))
