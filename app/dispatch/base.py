"""What the dispatcher keeps in memory, and the small tools every part of it uses.

State lives in the database; what this keeps (open clients and websockets, which prompt a server
is on, when a prompt last spoke) is rebuilt from the database and the servers after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from app.config import get_settings
from app.integrations.comfyui import ComfyClient, ComfyError, HistoryEntry
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob

from . import claims

log = logging.getLogger("storycanvas.dispatch")


@dataclass
class Tracked:
    """A prompt this process follows."""

    job_id: int
    server_id: int
    project_id: int
    graph: dict[str, Any]
    last_message: float
    running: bool = False
    node_done: int = 0
    node_count: int = 1
    last_write: float = 0.0
    last_preview: float = 0.0
    progress: float = 0.0
    node_label: str | None = None


class DispatcherBase:
    def __init__(self, worker_id: str | None = None) -> None:
        settings = get_settings()
        self.worker_id = worker_id or settings.resolved_worker_id
        self.client_id = f"storycanvas-{uuid.uuid5(uuid.NAMESPACE_URL, self.worker_id).hex[:16]}"
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it ticks on, learnt at its first tick
        self._again = False
        self._closed = False
        self._reconciled = False
        self._last_housekeeping = 0.0
        self._clients: dict[int, tuple[tuple[str, str | None], ComfyClient]] = {}
        self._monitors: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tracked: dict[str, Tracked] = {}
        self._settling: set[str] = set()
        self._finishing: dict[str, int] = {}  # prompt id → server, while its results are stored
        self._interrupt_sent: set[str] = set()
        self._loaded: dict[int, str | None] = {}
        self._avoid: dict[int, int] = {}
        self._unreachable_since: dict[int, float] = {}
        self._running_on: dict[int, str] = {}
        self._catalogs = claims.CatalogCache()
        self._submitting: set[str] = set()
        self._submit_locks: dict[int, asyncio.Lock] = {}
        self.completed = 0

    def kick(self) -> None:
        """Something changed (a job queued or finished): tick soon instead of waiting for the timer.

        Safe from any thread: a job queued by a synchronous REST route arrives in a worker thread,
        which hands the wake-up to the dispatcher's own loop."""
        if self._closed:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None or (self._loop is not None and running is not self._loop):
            if self._loop is not None and self._loop.is_running():
                self._loop.call_soon_threadsafe(self.kick)
            return
        self._loop = running
        if self._lock.locked():
            self._again = True
            return
        self._spawn(self.tick(), running)

    def _spawn(self, coroutine: Awaitable[Any], loop: asyncio.AbstractEventLoop | None = None) -> None:
        task = (loop or asyncio.get_running_loop()).create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Dispatcher task failed", exc_info=task.exception())

    def _client(self, server: ComfyServer) -> ComfyClient:
        from app.services.servers import client_for

        assert server.id is not None
        key = (server.base_url, server.encrypted_api_key)
        known = self._clients.get(server.id)
        if known is not None and known[0] == key:
            return known[1]
        client = client_for(server)
        if known is not None:
            self._spawn(known[1].aclose())
        self._clients[server.id] = (key, client)
        return client

    def _server(self, server_id: int) -> ComfyServer | None:
        with session_scope() as session:
            return session.get(ComfyServer, server_id)

    def _track(self, prompt_id: str, job: GenerationJob, server_id: int) -> None:
        graph = job.resolved_graph or {}
        self._tracked[prompt_id] = Tracked(
            job_id=job.id,  # type: ignore[arg-type]
            server_id=server_id,
            project_id=job.project_id,
            graph=graph,
            last_message=time.monotonic(),
            running=job.status == "running",
            node_count=max(1, len(graph)),
        )

    def _forget(self, prompt_id: str) -> None:
        tracked = self._tracked.pop(prompt_id, None)
        self._finishing.pop(prompt_id, None)
        self._interrupt_sent.discard(prompt_id)
        if tracked is not None and self._running_on.get(tracked.server_id) == prompt_id:
            self._running_on.pop(tracked.server_id, None)

    async def tick(self) -> None:  # the dispatcher's own; parts kick it
        raise NotImplementedError

    def _settle_soon(self, prompt_id: str) -> None:  # settling.py
        raise NotImplementedError

    async def _requeue(self, prompt_id: str, tracked: Tracked, reason: str) -> None:  # settling.py
        raise NotImplementedError

    async def _settle(self, prompt_id: str, entry: HistoryEntry | None = None, *, checked_queue: bool = False) -> None:
        raise NotImplementedError

    def _mark_running(self, prompt_id: str, tracked: Tracked) -> None:  # following.py
        raise NotImplementedError

    def _ensure_monitor(self, server: ComfyServer) -> None:  # following.py
        raise NotImplementedError

    async def _poll_server(self, server_id: int) -> None:  # upkeep.py
        raise NotImplementedError

    def _note_unreachable(self, server: ComfyServer, error: ComfyError) -> bool:  # upkeep.py
        raise NotImplementedError


def node_label(graph: dict[str, Any], node: str) -> str:
    spec = graph.get(node) or {}
    title = (spec.get("_meta") or {}).get("title")
    return str(title or spec.get("class_type") or node)
