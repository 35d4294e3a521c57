"""The dispatcher's memory and a prompt's life in it: the book of prompts, the backends, settling and ending.

State lives in the database; what this keeps (a record per prompt it follows, open connections, servers
that stopped answering) is rebuilt from the database and the servers after a restart. Every prompt's
end goes through `end`, the one place that writes what an ending means for its job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from app.config import DISPATCH_THREADS, get_settings
from app.integrations.comfyui import ComfyError
from app.services import events
from data.models import ComfyServer, GenerationJob

from . import claims, endings
from .backends import Backend, Host, fetch_server
from .endings import Ending
from .loop_watch import LoopWatch
from .prompts import Phase, Prompt, Prompts

log = logging.getLogger("storycanvas.dispatch")

T = TypeVar("T")

# A job moved off dead or hung servers this many times in this process keeps its attempts counted from then
# on: a job that itself brings servers down (a node that wedges ComfyUI) must not move forever.
MAX_FREE_MOVES = 2

BackendFactory = Callable[[Host], Backend]


class DispatcherBase:
    def __init__(self, worker_id: str | None, backends: Sequence[BackendFactory]) -> None:
        settings = get_settings()
        self.worker_id = worker_id or settings.resolved_worker_id
        self.client_id = f"storycanvas-{uuid.uuid5(uuid.NAMESPACE_URL, self.worker_id).hex[:16]}"
        self.prompts = Prompts()
        self.completed = 0
        self._backends: list[Backend] = [make(self) for make in backends]
        self._lock = asyncio.Lock()
        self._ended_since_sweep = False
        self._last_sweep = 0.0  # monotonic; 0: the first tick sweeps
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it ticks on, learnt at its first tick
        self._again = False
        self._closed = False
        self._reconciled = False
        self._last_housekeeping = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loaded: dict[int, str | None] = {}  # server → the checkpoint it was last given
        self._avoid: dict[int, int] = {}  # job → the server its last attempt failed on
        # server → (when its first unanswered request of this run was sent, when the last one failed)
        self._unreachable_since: dict[int, tuple[float, float]] = {}
        self._moves: dict[int, int] = {}  # job → moves off dead or hung servers in this process
        self._polling: set[int] = set()  # servers being asked about their prompts now
        self._sweeping: set[int] = set()  # servers whose abandoned prompts are being deleted
        self._catalogs = claims.CatalogCache()
        self._submit_locks: dict[int, asyncio.Lock] = {}
        self.loop_watch = LoopWatch()
        # The tick's database work (claims, cancels, leases, notices) has a thread of its own: in the shared
        # pool it queued behind result storing and progress writes for every server, and ticks took seconds.
        self._tick_thread = ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="dispatch-tick")

    @property
    def closed(self) -> bool:
        return self._closed

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
        self.spawn(self.tick(), running)

    async def tick(self) -> None:  # dispatcher.py
        raise NotImplementedError

    async def poll_server(self, server_id: int) -> None:  # upkeep.py
        raise NotImplementedError

    def note_unreachable(self, server: ComfyServer, error: ComfyError, asked_at: float | None = None) -> bool:
        raise NotImplementedError  # failover.py

    def note_reachable(self, server_id: int) -> None:
        raise NotImplementedError  # failover.py

    async def move_off(self, server: ComfyServer, reason: str) -> None:
        raise NotImplementedError  # failover.py

    async def in_tick_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Runs the tick's database work in the dispatcher's own thread (never on the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._tick_thread, work, *args)

    def spawn(self, coroutine: Awaitable[Any], loop: asyncio.AbstractEventLoop | None = None) -> None:
        task: asyncio.Task[Any] = (loop or asyncio.get_running_loop()).create_task(coroutine)  # type: ignore[arg-type]  # create_task wants a Coroutine; every caller passes one
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Dispatcher task failed", exc_info=task.exception())

    def backend(self, server: ComfyServer) -> Backend:
        """The first backend that serves this kind of server (ComfyUI, the last, serves the rest)."""
        return next(backend for backend in self._backends if backend.serves(server))

    def track(self, prompt_id: str, job: GenerationJob, server_id: int, phase: Phase = Phase.FOLLOWING) -> Prompt:
        """The prompt's record (a new one, or the one already followed under that id)."""
        graph = job.resolved_graph or {}
        return self.prompts.add(
            Prompt(
                prompt_id=prompt_id,
                job_id=job.id,  # type: ignore[arg-type]  # stored rows have ids
                server_id=server_id,
                project_id=job.project_id,
                graph=graph,
                start=phase,
                started_at=time.monotonic() if job.status == "running" else None,
                node_count=max(1, len(graph)),
            )
        )

    # A prompt's end: settle (read the truth), then end (write what it means)

    def settle(
        self, prompt: Prompt, *, frees_slot: bool, hint: object | None = None, checked_queue: bool = False
    ) -> None:
        """Read how the prompt ended, in the background; at most one settle per prompt at a time.

        `frees_slot`: it ended on its server, so its slot is free already while its results download."""
        if not prompt.may(Phase.SETTLING):
            return
        prompt.phase = Phase.SETTLING
        prompt.frees_slot = frees_slot
        self.spawn(self._settle(prompt, hint, checked_queue))
        if frees_slot:
            self.kick()  # feed the server while the results download

    async def _settle(self, prompt: Prompt, hint: object | None, checked_queue: bool) -> None:
        try:
            server = await fetch_server(prompt.server_id)
            if server is None:
                return
            ending = await self.backend(server).settle(prompt, server, hint, checked_queue)
            if ending is not None:
                await self.end(prompt, ending, server)
        except ComfyError as error:
            log.info("Settling %s postponed: %s", prompt.prompt_id, error.message)
        finally:
            if prompt.phase is Phase.SETTLING:  # not over after all, or the server could not say
                prompt.phase = prompt.waiting

    async def end(self, prompt: Prompt, ending: Ending, server: ComfyServer | None) -> None:
        """The one way a prompt ends: its ending is written (endings.write decides: queued again, failed,
        cancelled or completed), the server's memory of it freed, and the prompt leaves the book.

        The first path to end a prompt wins; a later one (a poll racing a settle) changes nothing."""
        if not prompt.live:
            return
        prompt.phase = Phase.DONE
        if ending.kind == "move" and ending.free and self._moves.get(prompt.job_id, 0) >= MAX_FREE_MOVES:
            ending = replace(ending, free=False)
        try:
            status = await endings.write(prompt, ending, server.name if server is not None else None)
        except BaseException:
            # Not written (the database failed, or the process is stopping): follow the prompt afresh,
            # so the next poll reads its end again.
            self.prompts.remove(prompt)
            self.prompts.add(prompt.afresh())
            raise
        try:
            if status == "queued":
                self._avoid[prompt.job_id] = prompt.server_id  # another server gets it first, if one can run it
                if ending.kind == "move":
                    self._moves[prompt.job_id] = self._moves.get(prompt.job_id, 0) + 1
            elif status is not None:
                self._moves.pop(prompt.job_id, None)
                self._ended_since_sweep = True  # its owner is told on the next tick
            if status == "completed":
                self.completed += 1
                events.emit(events.project_changed, prompt.project_id)
            if ending.release and server is not None:
                with contextlib.suppress(ComfyError):  # only memory on the server: failing to free it is harmless
                    await self.backend(server).forget(prompt, server)
        finally:
            self.prompts.remove(prompt)
        events.emit(events.jobs_changed, prompt.project_id)
        self.kick()
