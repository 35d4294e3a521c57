"""The dispatcher: keeps every ComfyUI server fed from the one queue, follows the prompts it
sent, stores their results, and puts failed or lost work back in the queue.

A tick runs every `dispatch_tick_seconds` and whenever something finishes (`kick`). Its parts:
base.py (memory and tools), following.py (websocket progress), settling.py (history and results),
upkeep.py (cancels, leases, polls, stalls, take-overs, notices of finished jobs); choosing and claiming
jobs is claims.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from sqlmodel import col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyClient, ComfyError, PromptRejected
from app.services import events
from data.engine import session_scope
from data.models import GalleryItem, GenerationJob
from data.models._common import utcnow

from . import claims
from .following import Following
from .settling import Settling
from .upkeep import Upkeep

log = logging.getLogger("storycanvas.dispatch")


class Dispatcher(Following, Settling, Upkeep):
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
        self._loop = asyncio.get_running_loop()
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
            self._notify()
            now = time.monotonic()
            if now - self._last_housekeeping >= 1.0:
                self._last_housekeeping = now
                await self._housekeeping()

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


# The process's dispatcher; the scheduler ticks it and queued work wakes it (events.jobs_queued).
_instance: Dispatcher | None = None


def current() -> Dispatcher | None:
    return _instance


def install(dispatcher: Dispatcher | None) -> None:
    """The installed dispatcher wakes whenever a service queues work (services emit, never call it)."""
    global _instance
    if _instance is not None:
        events.jobs_queued.unsubscribe(_instance.kick)
    _instance = dispatcher
    if dispatcher is not None:
        events.jobs_queued.subscribe(dispatcher.kick)
