"""Following prompts on a server's websocket: running, progress, current node and live previews.

The websocket is for progress only (messages can be missed); settling.py asks /history for the truth."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from app.integrations.comfyui import ComfyError, PreviewFrame, WsEvent
from app.services import events
from data.engine import session_scope
from data.models import ComfyServer
from data.models._common import utcnow

from . import claims, results
from .base import DispatcherBase, Tracked, node_label

log = logging.getLogger("storycanvas.dispatch")

# Progress and previews reach the database (and the pages) at most this often per job.
PROGRESS_WRITE_SECONDS = 0.5


class Following(DispatcherBase):
    def _ensure_monitor(self, server: ComfyServer) -> None:
        assert server.id is not None
        if server.runpod_endpoint_id:
            return
        task = self._monitors.get(server.id)
        if task is None or task.done():
            self._monitors[server.id] = asyncio.get_running_loop().create_task(self._monitor(server.id))

    async def _monitor(self, server_id: int) -> None:
        """Follow one server's websocket; reconnect with the same client id; after any gap, ask /queue and /history."""
        delay = 0.25
        while not self._closed:
            server = self._server(server_id)
            if server is None or not server.enabled:
                return
            client = self._client(server)
            try:
                first = True
                async for message in client.events(self.client_id):
                    if first:
                        first = False
                        delay = 0.25
                        self._spawn(self._poll_server(server_id))
                    await self._on_message(server_id, message)
            except ComfyError as error:
                log.debug("Websocket of server %s: %s", server_id, error.message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Websocket of server %s failed", server_id)
            if self._closed:
                return
            self._spawn(self._poll_server(server_id))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _on_message(self, server_id: int, message: WsEvent | PreviewFrame) -> None:
        if isinstance(message, PreviewFrame):
            prompt_id = message.prompt_id or self._running_on.get(server_id)
            tracked = self._tracked.get(prompt_id or "")
            if tracked is not None and prompt_id is not None:
                tracked.last_message = time.monotonic()
                await self._write_preview(prompt_id, tracked, message)
            return
        data = message.data or {}
        prompt_id = data.get("prompt_id")
        if message.type == "status" or prompt_id is None:
            return
        tracked = self._tracked.get(prompt_id)
        if tracked is None:
            return
        tracked.last_message = time.monotonic()
        kind = message.type
        if kind == "execution_start":
            self._running_on[server_id] = prompt_id
            self._mark_running(prompt_id, tracked)
        elif kind == "executing":
            if data.get("node") is None:
                self._settle_soon(prompt_id)
            else:
                self._running_on[server_id] = prompt_id
                if not tracked.running:
                    self._mark_running(prompt_id, tracked)
                self._progress(prompt_id, tracked, node=str(data["node"]))
        elif kind == "progress_state":
            nodes = data.get("nodes") or {}
            tracked.node_done = sum(1 for node in nodes.values() if node.get("state") == "finished")
            self._progress(prompt_id, tracked)
        elif kind == "progress":
            total = max(1.0, float(data.get("max") or 1))
            self._progress(
                prompt_id,
                tracked,
                fraction=float(data.get("value") or 0) / total,
                node=str(data.get("node")) if data.get("node") else None,
            )
        elif kind in ("execution_success", "execution_error", "execution_interrupted"):
            self._settle_soon(prompt_id)

    def _mark_running(self, prompt_id: str, tracked: Tracked) -> None:
        tracked.running = True
        with session_scope() as session:
            changed = claims.guarded_update(
                session,
                tracked.job_id,
                prompt_id,
                ("dispatched",),
                status="running",
                started_at=utcnow(),
                last_message_at=utcnow(),
            )
        if changed:
            events.emit(events.jobs_changed, tracked.project_id)

    def _progress(self, prompt_id: str, tracked: Tracked, *, fraction: float = 0.0, node: str | None = None) -> None:
        """Progress reaches the database (and the pages) at most twice a second per job."""
        if node is not None:
            tracked.node_label = node_label(tracked.graph, node)[:200]
        tracked.progress = min(0.99, (tracked.node_done + max(0.0, min(1.0, fraction))) / max(1, tracked.node_count))
        now = time.monotonic()
        if now - tracked.last_write < PROGRESS_WRITE_SECONDS:
            return
        tracked.last_write = now
        values: dict[str, Any] = {"progress": tracked.progress, "last_message_at": utcnow()}
        if tracked.node_label is not None:
            values["current_node"] = tracked.node_label
        with session_scope() as session:
            claims.guarded_update(session, tracked.job_id, prompt_id, claims.ACTIVE, **values)
        events.emit(events.job_progress, tracked.job_id)

    async def _write_preview(self, prompt_id: str, tracked: Tracked, frame: PreviewFrame) -> None:
        now = time.monotonic()
        if now - tracked.last_preview < PROGRESS_WRITE_SECONDS:
            return
        tracked.last_preview = now
        path = await asyncio.to_thread(results.write_preview, tracked.job_id, frame.image, frame.mime)
        with session_scope() as session:
            claims.guarded_update(
                session, tracked.job_id, prompt_id, claims.ACTIVE, preview_path=path, last_message_at=utcnow()
            )
        events.emit(events.job_progress, tracked.job_id)
