"""The dispatcher: keeps every ComfyUI server fed from the one queue, follows the prompts it
sent, stores their results, and puts failed or lost work back in the queue.

State lives in the database; what this object keeps in memory (open websockets, which prompt a
server is on, when a prompt last spoke) is rebuilt from the database and the servers after a
restart. A tick runs every `dispatch_tick_seconds` and whenever something finishes (`kick`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyClient, ComfyError, HistoryEntry, PreviewFrame, PromptRejected, WsEvent
from app.services import events
from data.engine import session_scope
from data.models import ComfyServer, GalleryItem, GenerationJob
from data.models._common import utcnow

from . import claims, results

log = logging.getLogger("storycanvas.dispatch")

PROGRESS_WRITE_SECONDS = 0.5
POLL_QUIET_SECONDS = 3.0
OFFLINE_AFTER_SECONDS = 4.0


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


class Dispatcher:
    def __init__(self, worker_id: str | None = None) -> None:
        settings = get_settings()
        self.worker_id = worker_id or settings.resolved_worker_id
        self.client_id = f"storycanvas-{uuid.uuid5(uuid.NAMESPACE_URL, self.worker_id).hex[:16]}"
        self._lock = asyncio.Lock()
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

    # ---- lifecycle -------------------------------------------------------------------------

    def kick(self) -> None:
        """Something changed (a job queued or finished): tick soon instead of waiting for the timer."""
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._lock.locked():
            self._again = True
            return
        self._spawn(self.tick(), loop)

    def _spawn(self, coroutine: Awaitable[Any], loop: asyncio.AbstractEventLoop | None = None) -> None:
        task = (loop or asyncio.get_running_loop()).create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Dispatcher task failed", exc_info=task.exception())

    async def close(self) -> None:
        self._closed = True
        for task in list(self._monitors.values()) + list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._monitors.values(), *self._tasks, return_exceptions=True)
        self._monitors.clear()
        for _key, client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def tick(self) -> None:
        if self._closed:
            return
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            if not self._reconciled:
                self._reconciled = True
                await self._adopt(self._own_active_jobs())
            for _ in range(10):
                self._again = False
                await self._handle_cancels()
                self._fill()
                if not self._again:
                    break
            now = time.monotonic()
            if now - self._last_housekeeping >= 1.0:
                self._last_housekeeping = now
                await self._housekeeping()

    # ---- clients and monitors --------------------------------------------------------------

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

    # ---- websocket messages ----------------------------------------------------------------

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
            tracked.node_label = _node_label(tracked.graph, node)[:200]
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

    # ---- filling server slots --------------------------------------------------------------

    def _fill(self) -> None:
        settings = get_settings()
        with session_scope() as session:
            slots = claims.open_slots(session, self._catalogs, self._loaded, set(self._finishing))
            if not slots:
                return
            free_total = sum(slot.free for slot in slots)
            jobs = claims.candidates(session, utcnow(), limit=max(500, free_total * 12))
            if not jobs:
                return
            loads = claims.owner_loads(session)
            others_can = {
                job.id: sum(1 for slot in slots if claims.can_run(slot, job)) > 1
                for job in jobs
                if job.id in self._avoid
            }
            progress = True
            while progress and jobs:
                progress = False
                for slot in slots:
                    if slot.free <= 0 or not jobs:
                        continue
                    serving: dict[str | None, int] = {}
                    for server_id, name in self._loaded.items():
                        if server_id != slot.server_id:
                            serving[name] = serving.get(name, 0) + 1
                    job = claims.choose(slot, jobs, loads, self._avoid, others_can, serving)
                    if job is None:
                        continue
                    jobs.remove(job)
                    row = session.get(GenerationJob, job.id)
                    if row is None or (row.resolved_graph is None and not self._prepare_dependent(session, row)):
                        continue
                    prompt_id = str(uuid.uuid4())
                    if not claims.claim(
                        session,
                        job.id,
                        slot.server_id,
                        self.worker_id,
                        prompt_id,  # type: ignore[arg-type]
                        settings.lease_seconds,
                    ):
                        continue
                    slot.free -= 1
                    progress = True
                    loads[job.owner_id] = loads.get(job.owner_id, 0) + 1
                    if job.checkpoint:
                        slot.checkpoint = job.checkpoint
                        self._loaded[slot.server_id] = job.checkpoint
                    self._avoid.pop(job.id, None)
                    self._track(prompt_id, row, slot.server_id)
                    self._submitting.add(prompt_id)  # until its POST is answered, no poll may call it lost
                    self._spawn(self._submit(prompt_id, job.id, slot.server_id))  # type: ignore[arg-type]
                    events.emit(events.jobs_changed, job.project_id)

    def _prepare_dependent(self, session: Any, job: GenerationJob) -> bool:
        """A "both" video: resolve its graph from the image its dependency made."""
        from app.services import generation

        source = session.exec(
            select(GalleryItem)
            .where(GalleryItem.job_id == job.depends_on_id, GalleryItem.kind == "image")
            .order_by(col(GalleryItem.id))
        ).first()
        if source is None:
            source = session.exec(
                select(GalleryItem).where(
                    GalleryItem.clip_id == job.clip_id,
                    GalleryItem.kind == "image",
                    GalleryItem.selected == True,  # noqa: E712
                )
            ).first()
        try:
            if source is None:
                raise ValueError("The image job made no image to start from.")
            generation.finish_dependent_graph(session, job, source)
            session.add(job)
            session.commit()
            return True
        except Exception as error:
            message = getattr(error, "message", str(error))
            job.status = "failed"
            job.error = f"Could not prepare the video: {message}"
            job.finished_at = utcnow()
            session.add(job)
            session.commit()
            events.emit(events.jobs_changed, job.project_id)
            return False

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

    async def _submit(self, prompt_id: str, job_id: int, server_id: int) -> None:
        """One POST at a time per server, so prompts arrive in the order they were chosen."""
        lock = self._submit_locks.setdefault(server_id, asyncio.Lock())
        try:
            async with lock:
                await self._send(prompt_id, job_id, server_id)
        finally:
            self._submitting.discard(prompt_id)

    async def _send(self, prompt_id: str, job_id: int, server_id: int) -> None:
        settings = get_settings()
        server = self._server(server_id)
        with session_scope() as session:
            job = session.get(GenerationJob, job_id)
        if server is None or job is None:
            return
        if server.runpod_endpoint_id:
            from .runpod_runner import submit_runpod

            await submit_runpod(self, server, job, prompt_id)
            return
        self._ensure_monitor(server)
        client = self._client(server)
        try:
            missing = await self._upload_inputs(client, job)
            if missing is not None:
                self._forget(prompt_id)
                with session_scope() as session:
                    claims.fail_now(session, job_id, prompt_id, missing)
                events.emit(events.jobs_changed, job.project_id)
                return
            await client.queue_prompt(
                job.resolved_graph or {},
                prompt_id=prompt_id,
                client_id=self.client_id,
                extra_data={"storycanvas_job": job_id},
            )
        except PromptRejected as rejected:
            self._forget(prompt_id)
            with session_scope() as session:
                claims.fail_now(session, job_id, prompt_id, f"{server.name} refused the workflow: {rejected.message}")
            events.emit(events.jobs_changed, job.project_id)
            self.kick()
        except ComfyError as error:
            if error.kind in ("timeout", "http", "protocol"):
                # The server may have taken it: its queue and history will tell on the next poll.
                log.info("Submit of job %s to %s uncertain: %s", job_id, server.name, error.message)
                return
            self._forget(prompt_id)
            self._avoid[job_id] = server_id
            self._note_unreachable(server, error)
            with session_scope() as session:
                claims.retry_or_fail(
                    session,
                    job_id,
                    prompt_id,
                    f"{server.name}: {error.message}",
                    base=settings.retry_base_seconds,
                    cap=settings.retry_cap_seconds,
                )
            events.emit(events.jobs_changed, job.project_id)
            self.kick()

    async def _upload_inputs(self, client: ComfyClient, job: GenerationJob) -> str | None:
        """Init and face images go to the server under the names the stored graph already uses."""
        from app.services.scenes import media_path

        params = job.params or {}
        for name_key, path_key in (("init_image", "init_image_path"), ("face_image", "face_image_path")):
            name, stored = params.get(name_key), params.get(path_key)
            if not name or not stored:
                continue
            path = media_path(stored)
            if path is None or not path.is_file():
                return f"The input image {stored} is missing from the media folder: pick another image and retry."
            subfolder, _, file_name = str(name).rpartition("/")
            data = await asyncio.to_thread(path.read_bytes)
            await client.upload_image(file_name, data, subfolder=subfolder or "storycanvas")
        return None

    def _forget(self, prompt_id: str) -> None:
        tracked = self._tracked.pop(prompt_id, None)
        self._finishing.pop(prompt_id, None)
        self._interrupt_sent.discard(prompt_id)
        if tracked is not None and self._running_on.get(tracked.server_id) == prompt_id:
            self._running_on.pop(tracked.server_id, None)

    # ---- finishing ---------------------------------------------------------------------------

    def _settle_soon(self, prompt_id: str) -> None:
        if prompt_id in self._settling or prompt_id not in self._tracked:
            return
        tracked = self._tracked[prompt_id]
        self._finishing[prompt_id] = tracked.server_id
        self._settling.add(prompt_id)
        self._spawn(self._settle(prompt_id))
        self.kick()  # the slot is free already: feed the server while results download

    async def _settle(self, prompt_id: str, entry: HistoryEntry | None = None, *, checked_queue: bool = False) -> None:
        """Read /history (the truth) and act on it: store results, retry, cancel or requeue."""
        try:
            tracked = self._tracked.get(prompt_id)
            if tracked is None:
                return
            server = self._server(tracked.server_id)
            if server is None:
                return
            client = self._client(server)
            if entry is None:
                entry = await self._history_with_patience(client, prompt_id)
            if entry is None and not checked_queue:
                # /queue first, then /history: a prompt that ends between the two is then still found.
                state = await client.queue()
                if prompt_id in state.running or prompt_id in state.pending:
                    self._finishing.pop(prompt_id, None)
                    return
                entry = await client.history(prompt_id)
            if entry is None:
                await self._requeue(prompt_id, tracked, f"{server.name} lost the prompt (was it restarted?).")
                return
            await self._apply_history(prompt_id, tracked, server, client, entry)
        except ComfyError as error:
            self._finishing.pop(prompt_id, None)
            log.info("Settling %s postponed: %s", prompt_id, error.message)
        finally:
            self._settling.discard(prompt_id)

    async def _history_with_patience(self, client: ComfyClient, prompt_id: str) -> HistoryEntry | None:
        """execution_success can arrive a moment before the history entry is written."""
        for pause in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
            if pause:
                await asyncio.sleep(pause)
            entry = await client.history(prompt_id)
            if entry is not None:
                return entry
        return None

    async def _apply_history(
        self, prompt_id: str, tracked: Tracked, server: ComfyServer, client: ComfyClient, entry: HistoryEntry
    ) -> None:
        settings = get_settings()
        if entry.interrupted:
            with session_scope() as session:
                job = session.get(GenerationJob, tracked.job_id)
                cancelled = job is not None and job.cancel_requested
                if cancelled:
                    claims.mark_cancelled(session, tracked.job_id, prompt_id)  # type: ignore[arg-type]
            if not cancelled:
                await self._requeue(prompt_id, tracked, f"{server.name} interrupted the prompt.")
                return
        elif entry.error is not None or not entry.completed:
            reason = entry.error.message if entry.error is not None else f"ended with status {entry.status_str}"
            self._avoid[tracked.job_id] = tracked.server_id
            with session_scope() as session:
                claims.retry_or_fail(
                    session,
                    tracked.job_id,
                    prompt_id,
                    f"{server.name}: {reason}",
                    base=settings.retry_base_seconds,
                    cap=settings.retry_cap_seconds,
                )
        else:
            wanted = [out for out in entry.outputs if out.type == "output" and out.media in ("image", "video")]
            if not wanted:
                with session_scope() as session:
                    claims.fail_now(
                        session,
                        tracked.job_id,
                        prompt_id,
                        "The workflow finished without an image or video output: add a Save node.",
                    )
            else:
                blobs = await asyncio.gather(*(client.view(out) for out in wanted))
                outputs = [
                    results.Output(node_id=out.node_id, filename=out.filename, media=out.media, data=blob)
                    for out, blob in zip(wanted, blobs, strict=True)
                ]
                stored = await asyncio.to_thread(results.store_results, tracked.job_id, prompt_id, server.name, outputs)
                if stored.completed:
                    self.completed += 1
                    events.emit(events.project_changed, tracked.project_id)
            # Only memory on the server (a restart forgets it anyway): failing to free it is harmless.
            with contextlib.suppress(ComfyError):
                await client.delete_history([prompt_id])
        self._forget(prompt_id)
        events.emit(events.jobs_changed, tracked.project_id)
        self.kick()

    async def _requeue(self, prompt_id: str, tracked: Tracked, reason: str) -> None:
        settings = get_settings()
        self._avoid[tracked.job_id] = tracked.server_id
        with session_scope() as session:
            claims.retry_or_fail(
                session,
                tracked.job_id,
                prompt_id,
                reason,
                base=settings.retry_base_seconds,
                cap=settings.retry_cap_seconds,
            )
        self._forget(prompt_id)
        events.emit(events.jobs_changed, tracked.project_id)
        self.kick()

    # ---- cancels -----------------------------------------------------------------------------

    async def _handle_cancels(self) -> None:
        with session_scope() as session:
            wanted = session.exec(
                select(GenerationJob).where(
                    GenerationJob.cancel_requested == True,  # noqa: E712
                    col(GenerationJob.status).in_(claims.ACTIVE),
                    GenerationJob.claimed_by == self.worker_id,
                )
            ).all()
        # Until a cancelled waiting prompt has reached its server, do not interrupt the running one there:
        # the waiting one would start (and finish) in the gap.
        sending = {job.server_id for job in wanted if job.remote_prompt_id in self._submitting}
        # Waiting prompts first: interrupting a running one lets the next waiting one start at once.
        for job in sorted(wanted, key=lambda job: job.status != "dispatched"):
            prompt_id = job.remote_prompt_id
            if prompt_id is None or prompt_id in self._interrupt_sent or job.server_id is None:
                continue
            if prompt_id in self._submitting or (job.status == "running" and job.server_id in sending):
                continue
            server = self._server(job.server_id)
            if server is None:
                continue
            if server.runpod_endpoint_id:
                from .runpod_runner import cancel_runpod

                await cancel_runpod(self, server, job)
                continue
            client = self._client(server)
            try:
                state = await client.queue()
                if prompt_id in state.pending:
                    await client.delete_pending([prompt_id])
                    with session_scope() as session:
                        claims.mark_cancelled(session, job.id, prompt_id)  # type: ignore[arg-type]
                    self._forget(prompt_id)
                    events.emit(events.jobs_changed, job.project_id)
                elif prompt_id in state.running:
                    self._interrupt_sent.add(prompt_id)
                    await client.interrupt(prompt_id)
                else:
                    self._interrupt_sent.add(prompt_id)
                    if prompt_id not in self._tracked:
                        self._track(prompt_id, job, job.server_id)
                    entry = await client.history(prompt_id)
                    if entry is None:  # never reached the server: nothing ran
                        with session_scope() as session:
                            claims.mark_cancelled(session, job.id, prompt_id)  # type: ignore[arg-type]
                        self._forget(prompt_id)
                        events.emit(events.jobs_changed, job.project_id)
                    else:
                        self._settling.add(prompt_id)
                        self._spawn(self._settle(prompt_id, entry))
            except ComfyError as error:
                log.info("Cancel of job %s waits for %s: %s", job.id, server.name, error.message)

    # ---- housekeeping: leases, quiet servers, stalls, take-overs -------------------------------

    async def _housekeeping(self) -> None:
        settings = get_settings()
        with session_scope() as session:
            claims.renew_leases(session, self.worker_id, settings.lease_seconds)
            taken = claims.take_over_expired(session, self.worker_id, settings.lease_seconds)
            for job in claims.fail_orphaned_dependents(session):
                events.emit(events.jobs_changed, job.project_id)
        if taken:
            await self._adopt(taken)
        self._check_stalls()
        await self._poll_quiet()

    def _own_active_jobs(self) -> list[GenerationJob]:
        with session_scope() as session:
            return list(
                session.exec(
                    select(GenerationJob).where(
                        col(GenerationJob.status).in_(claims.ACTIVE), GenerationJob.claimed_by == self.worker_id
                    )
                ).all()
            )

    async def _adopt(self, jobs: list[GenerationJob]) -> None:
        """Jobs this process follows from now on (its own after a restart, or a crashed peer's)."""
        servers: set[int] = set()
        for job in jobs:
            if job.remote_prompt_id is None or job.server_id is None:
                with session_scope() as session:
                    current = session.get(GenerationJob, job.id)
                    if current is not None and current.status in claims.ACTIVE:
                        current.status, current.server_id, current.claimed_by = "queued", None, None
                        session.add(current)
                        session.commit()
                continue
            self._track(job.remote_prompt_id, job, job.server_id)
            self._tracked[job.remote_prompt_id].last_message = 0.0  # ask the server at once
            servers.add(job.server_id)
        for server_id in servers:
            server = self._server(server_id)
            if server is not None:
                self._ensure_monitor(server)
            await self._poll_server(server_id)

    async def _poll_quiet(self) -> None:
        """Servers whose websocket said nothing for a while: ask their queue and history directly."""
        now = time.monotonic()
        quiet = {
            tracked.server_id for tracked in self._tracked.values() if now - tracked.last_message > POLL_QUIET_SECONDS
        }
        if quiet:
            await asyncio.gather(*(self._poll_server(server_id) for server_id in quiet))

    async def _poll_server(self, server_id: int) -> None:
        server = self._server(server_id)
        mine = [(pid, tracked) for pid, tracked in self._tracked.items() if tracked.server_id == server_id]
        if server is None:
            for prompt_id, tracked in mine:
                await self._requeue(prompt_id, tracked, "Its server was removed.")
            return
        if server.runpod_endpoint_id:
            from .runpod_runner import poll_runpod

            await poll_runpod(self, server, mine)
            return
        if not mine:
            return
        client = self._client(server)
        # Prompts still being sent when we ask are skipped: the answer may predate their arrival.
        sending = set(self._submitting)
        try:
            state = await client.queue()
        except ComfyError as error:
            if self._note_unreachable(server, error):
                for prompt_id, tracked in mine:
                    if prompt_id not in self._settling and prompt_id not in sending | self._submitting:
                        await self._requeue(prompt_id, tracked, f"{server.name} is unreachable: {error.message}")
            return
        self._unreachable_since.pop(server_id, None)
        now = time.monotonic()
        for prompt_id, tracked in mine:
            if prompt_id in self._settling or prompt_id in sending or prompt_id in self._submitting:
                continue
            if prompt_id in state.running:
                if not tracked.running:
                    self._mark_running(prompt_id, tracked)
                self._running_on[server_id] = prompt_id
                continue
            if prompt_id in state.pending:
                tracked.last_message = now
                continue
            self._settling.add(prompt_id)
            self._finishing[prompt_id] = server_id
            self._spawn(self._settle(prompt_id, checked_queue=True))

    def _note_unreachable(self, server: ComfyServer, error: ComfyError) -> bool:
        """True once a server has failed to answer for long enough to give its work to others."""
        assert server.id is not None
        now = time.monotonic()
        since = self._unreachable_since.setdefault(server.id, now)
        if now - since < OFFLINE_AFTER_SECONDS and error.kind not in ("refused", "dns"):
            return False
        with session_scope() as session:
            current = session.get(ComfyServer, server.id)
            if current is not None and current.status != "offline":
                current.status = "offline"
                current.last_error = error.message
                current.last_checked_at = utcnow()
                session.add(current)
                session.commit()
                events.emit(events.servers_changed, server.id)
        return True

    def _check_stalls(self) -> None:
        """A prompt "running" without a word for too long is stuck: interrupt it and run it elsewhere."""
        timeout = get_settings().stall_timeout_seconds
        now = time.monotonic()
        for prompt_id, tracked in list(self._tracked.items()):
            if not tracked.running or prompt_id in self._settling or now - tracked.last_message < timeout:
                continue
            self._spawn(self._stalled(prompt_id, tracked, timeout))

    async def _stalled(self, prompt_id: str, tracked: Tracked, timeout: float) -> None:
        server = self._server(tracked.server_id)
        if server is None:
            return
        self._settling.add(prompt_id)
        try:
            with contextlib.suppress(ComfyError):
                await self._client(server).interrupt(prompt_id)
            with session_scope() as session:
                current = session.get(ComfyServer, server.id)
                if current is not None:
                    current.status = "degraded"
                    current.last_error = (
                        f"A prompt made no progress for {timeout:.0f} s: it was interrupted and queued elsewhere."
                    )
                    session.add(current)
                    session.commit()
            events.emit(events.servers_changed, tracked.server_id)
            await self._requeue(prompt_id, tracked, f"{server.name} stalled (no progress for {timeout:.0f} s).")
        finally:
            self._settling.discard(prompt_id)


def _node_label(graph: dict[str, Any], node: str) -> str:
    spec = graph.get(node) or {}
    title = (spec.get("_meta") or {}).get("title")
    return str(title or spec.get("class_type") or node)


# The process's dispatcher; the scheduler ticks it and services kick it.
_instance: Dispatcher | None = None


def current() -> Dispatcher | None:
    return _instance


def install(dispatcher: Dispatcher | None) -> None:
    global _instance
    _instance = dispatcher


def kick() -> None:
    """Services call this after queueing: a no-op where no dispatcher runs (the CLI, tests)."""
    if _instance is not None:
        _instance.kick()


TickFunction = Callable[[], Awaitable[None]]
