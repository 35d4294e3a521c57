"""No control character is ever stored: every flush of every session checks the text it writes.

A NUL in a project name was accepted by SQLite and then broke /projects for its owner and
every administrator (PostgreSQL refused it with a 500 instead). Checking each form and route
would miss one; checking what a session is about to write covers the REST API, the pages,
imports and the dispatcher alike, and the API and pages turn `Invalid` into a 422 / a notice.
Tab, newline and carriage return stay allowed: prompts and notes are multi-line.

Text a peer sends (a ComfyUI server's error with terminal colours, a catalog's file names) is
not refused, which would leave a job unable to fail: those columns are cleaned instead.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from data.errors import Invalid

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TERMINAL_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Columns written from what peers send (ComfyUI, RunPod, catalogs) or derived from it: cleaned, never refused.
PEER_TEXT: dict[str, set[str] | None] = {
    "comfy_servers": {"status", "gpu_name", "comfy_version", "last_error", "last_checkpoint", "node_types"},
    "model_entries": None,
    "generation_jobs": {"current_node", "error", "params", "remote_prompt_id", "preview_path"},
    "gallery_items": {"params"},
    "notifications": None,
    "activities": None,
    "media_assets": {"analysis"},
    # What a browser sends about itself (its user agent) is not the user's to correct.
    "browser_sessions": {"user_agent"},
}
# JSON documents nested deeper than this are refused before they can break a reader.
MAX_JSON_DEPTH = 64

_installed = False


def find_control(value: Any, depth: int = 0) -> str | None:
    """The first control character in a string or anywhere inside a JSON-like value, as U+XXXX."""
    if depth > MAX_JSON_DEPTH:
        return "nesting"
    if isinstance(value, str):
        match = CONTROL_CHARACTERS.search(value)
        return f"U+{ord(match.group()):04X}" if match else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = find_control(key, depth + 1) or find_control(item, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = find_control(item, depth + 1)
            if found:
                return found
    return None


def check_text(value: Any, field: str) -> None:
    """Refuse a value holding a control character (or nested past MAX_JSON_DEPTH) with a 422 naming the field."""
    found = find_control(value)
    if found == "nesting":
        raise Invalid(f"“{field}” is nested more than {MAX_JSON_DEPTH} levels deep: flatten it.", field=field)
    if found:
        raise Invalid(
            f"“{field}” contains an invisible control character ({found}): remove it and try again.", field=field
        )


def clean(value: Any, depth: int = 0) -> Any:
    """The value without terminal escapes and control characters (peer text), nesting cut at MAX_JSON_DEPTH."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", TERMINAL_ESCAPES.sub("", value))
    if depth > MAX_JSON_DEPTH:
        return None
    if isinstance(value, dict):
        return {clean(key): clean(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item, depth + 1) for item in value]
    return value


def _is_peer_text(table: str, column: str) -> bool:
    if table not in PEER_TEXT:
        return False
    columns = PEER_TEXT[table]
    return columns is None or column in columns


def _check_flush(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty):
        state = inspect(instance)
        table = getattr(state.mapper.local_table, "name", "")
        for attribute in state.mapper.column_attrs:
            history = state.attrs[attribute.key].history
            for value in history.added or ():
                if not isinstance(value, str | dict | list) or find_control(value) is None:
                    continue
                if _is_peer_text(table, attribute.key):
                    setattr(instance, attribute.key, clean(value))
                else:
                    check_text(value, attribute.key)


def install() -> None:
    """Check every session's writes from now on (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _check_flush)
        _installed = True
