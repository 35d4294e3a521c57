"""What a backend heard of a running prompt, written to its job: running, progress, current node, previews.

Progress and previews reach the database (and the pages) at most twice a second per job; every write is
guarded by the prompt id, so a late message about an earlier attempt changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.services import events
from data.engine import session_scope
from data.models._common import utcnow

from . import claims, results
from .prompts import Prompt

# Progress and previews reach the database (and the pages) at most this often per job.
PROGRESS_WRITE_SECONDS = 0.5


def _write(prompt: Prompt, statuses: tuple[str, ...], values: dict[str, Any]) -> bool:
    with session_scope() as session:
        return claims.guarded_update(session, prompt.job_id, prompt.prompt_id, statuses, **values)


async def mark_running(prompt: Prompt) -> None:
    """The server started it: dispatched → running (the record at once, the row in a worker thread)."""
    prompt.started_at = time.monotonic()
    values = {"status": "running", "started_at": utcnow(), "last_message_at": utcnow()}
    if await asyncio.to_thread(_write, prompt, ("dispatched",), values):
        events.emit(events.jobs_changed, prompt.project_id)


async def report(prompt: Prompt, *, fraction: float = 0.0, node: str | None = None) -> None:
    """Finished nodes plus the running node's fraction, over the graph's nodes (never 1 before it is stored)."""
    if node is not None:
        prompt.node_label = node_label(prompt.graph, node)[:200]
    prompt.progress = min(0.99, (prompt.node_done + max(0.0, min(1.0, fraction))) / max(1, prompt.node_count))
    now = time.monotonic()
    if now - prompt.last_write < PROGRESS_WRITE_SECONDS:
        return
    prompt.last_write = now
    values: dict[str, Any] = {"progress": prompt.progress, "last_message_at": utcnow()}
    if prompt.node_label is not None:
        values["current_node"] = prompt.node_label
    await asyncio.to_thread(_write, prompt, claims.ACTIVE, values)
    events.emit(events.job_progress, prompt.job_id)


async def preview(prompt: Prompt, image: bytes, mime: str) -> None:
    """The newest live preview frame, replaced in place."""
    now = time.monotonic()
    if now - prompt.last_preview < PROGRESS_WRITE_SECONDS:
        return
    prompt.last_preview = now
    path = await asyncio.to_thread(results.write_preview, prompt.job_id, image, mime)
    await asyncio.to_thread(_write, prompt, claims.ACTIVE, {"preview_path": path, "last_message_at": utcnow()})
    events.emit(events.job_progress, prompt.job_id)


def node_label(graph: dict[str, Any], node: str) -> str:
    spec = graph.get(node) or {}
    title = (spec.get("_meta") or {}).get("title")
    return str(title or spec.get("class_type") or node)
