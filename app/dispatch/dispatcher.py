"""The dispatcher: keeps every server fed from the one queue, follows the prompts it sent, stores their
results, and puts failed or lost work back in the queue.

A tick runs every `dispatch_tick_seconds` and whenever something changes (`kick`): cancels, then filling
free slots, then (once a second) housekeeping. The parts:
- prompts.py: one record per prompt followed, with its phase (submitting → following → settling →
  interrupting → done), its server, job and timestamps;
- backends.py: what a kind of server must do (submit, follow, poll, settle, cancel, interrupt, forget);
  comfy_backend.py and runpod_backend.py are the two kinds, listed in BACKENDS below;
- base.py: the book of prompts and a prompt's end (settle reads it, end writes it: endings.py decides
  what an ending means for the job, in one place);
- upkeep.py: cancels, leases, polls, stalls, take-overs, notices of finished jobs;
- failover.py: dead and hung servers (their prompts move at once, without using an attempt) and the
  prompts abandoned on them, deleted or interrupted there once they answer again;
- progress.py: running, progress and previews written to the job; results.py: storing outputs;
- claims.py: choosing and claiming jobs, and the guarded writes that move them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from app.config import get_settings
from app.services import dispatcher_stats, events
from data.engine import session_scope
from data.models import GalleryItem, GenerationJob
from data.models._common import utcnow

from . import claims
from .backends import Sent, fetch_job, fetch_server
from .base import BackendFactory
from .comfy_backend import ComfyBackend
from .prompts import Phase, Prompt
from .runpod_backend import RunpodBackend
from .upkeep import Upkeep

log = logging.getLogger("storycanvas.dispatch")

# The kinds of server, asked in order which one serves a server: ComfyUI, last, serves every other.
BACKENDS: tuple[BackendFactory, ...] = (RunpodBackend, ComfyBackend)


# The notification sweep runs after a job ended in this process, and at least this often otherwise.
SWEEP_AT_LEAST_EVERY_SECONDS = 2.0

# Queued jobs read per fill at least (more with many free slots), so jobs no free server can run (a model it
# lacks) do not hide the ones behind them; reading 500 every tick was a quarter of a tick at 100,000 queued.
CANDIDATES_AT_LEAST = 120

# Choose-then-claim rounds per fill: a later round refills the slots whose picks another process took first.
CLAIM_ROUNDS = 3

class Dispatcher(Upkeep):
    def __init__(self, worker_id: str | None = None, backends: Sequence[BackendFactory] = BACKENDS) -> None:
        super().__init__(worker_id, backends)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tick_thread.shutdown(wait=False)
        for backend in self._backends:
            await backend.close()

    async def tick(self) -> None:
        if self._closed:
            return
        if self._lock.locked():
            self._again = True
            return
        if not self.loop_watch.started:
            self.loop_watch.started = True  # a first tick from kick() has set _loop already: a flag of its own
            self.spawn(self.loop_watch.run())
        self._loop = asyncio.get_running_loop()
        async with self._lock:
            started = time.perf_counter()
            try:
                await self._tick_body()
            finally:
                dispatcher_stats.record_tick((time.perf_counter() - started) * 1000)

    async def _tick_body(self) -> None:
        """Cancels, filling free slots, notices of finished jobs, and (once a second) housekeeping."""
        if not self._reconciled:
            self._reconciled = True
            await self._adopt(self._own_active_jobs())
        for _ in range(10):
            self._again = False
            await self._handle_cancels()
            await self._fill()
            if not self._again:
                break
        now = time.monotonic()
        if self._ended_since_sweep or now - self._last_sweep >= SWEEP_AT_LEAST_EVERY_SECONDS:
            # When a job ended here, at once; otherwise now and then, for jobs other processes ended.
            self._ended_since_sweep, self._last_sweep = False, now
            await self.in_tick_thread(self._notify)
        if now - self._last_housekeeping >= 1.0:
            self._last_housekeeping = now
            await self._housekeeping()

    async def _fill(self) -> None:
        """Claims a job for every free slot it can; the database work runs in a worker thread, so a tick that
        claims for 64 servers does not hold the event loop (every tab) while it reads and writes."""
        freeing = self.prompts.freeing_slots()
        claimed = await self.in_tick_thread(self._claim_for_free_slots, freeing, dict(self._loaded), dict(self._avoid))
        for prompt_id, row, server_id in claimed:
            if row.checkpoint:
                self._loaded[server_id] = row.checkpoint
            self._avoid.pop(row.id, None)  # type: ignore[arg-type]  # a stored row's id is never None
            # Submitting until its POST is answered: no poll may call it lost before.
            prompt = self.track(prompt_id, row, server_id, Phase.SUBMITTING)
            self.spawn(self._submit(prompt))
        for project_id in {row.project_id for _, row, _ in claimed}:
            events.emit(events.jobs_changed, project_id)

    def _claim_for_free_slots(
        self, freeing: set[str], loaded: dict[int, str | None], avoid: dict[int, int]
    ) -> list[tuple[str, GenerationJob, int]]:
        """(prompt id, claimed row, server) for each job claimed; runs in a worker thread with copies of the
        dispatcher's memory (only the catalog cache is shared, and only ticks, one at a time, use it).

        Jobs are chosen for every free slot from the few columns choosing needs, then claimed in one
        statement; only the claimed rows are read whole (their graphs). A job another process took first
        frees its slot for the next round's choice; a server another process filled meanwhile gets no more,
        and the jobs chosen for it are candidates again."""
        claimed: list[tuple[str, GenerationJob, int]] = []
        with session_scope() as session:
            slots = claims.open_slots(session, self._catalogs, loaded, freeing)
            if not slots:
                return claimed
            free_total = sum(slot.free for slot in slots)
            jobs = claims.candidates(session, utcnow(), limit=max(CANDIDATES_AT_LEAST, free_total * 12))
            if not jobs:
                return claimed
            loads = claims.owner_loads(session)
            others_can = {
                job.id: sum(1 for slot in slots if claims.can_run(slot, job)) > 1 for job in jobs if job.id in avoid
            }
            by_id = {job.id: job for job in jobs}
            for _ in range(CLAIM_ROUNDS):
                picks = self._choose_for_slots(session, slots, jobs, loads, loaded, avoid, others_can)
                if not picks:
                    break
                fitting, full = claims.fit_to_room(session, picks, freeing)
                taken = claims.claim_many(session, fitting, self.worker_id, get_settings().lease_seconds)
                slot_of = {slot.server_id: slot for slot in slots}
                for server_id in full:  # another process filled it, or is filling it now
                    slot_of[server_id].free = 0
                for pick in picks:
                    if pick.server_id in full and pick not in fitting:  # not tried: a candidate again
                        job = by_id[pick.job_id]
                        jobs.append(job)
                        loads[job.owner_id] -= 1
                    elif pick.job_id not in taken and pick.server_id not in full:  # another process got the job first
                        slot_of[pick.server_id].free += 1
                jobs.sort(key=lambda job: (-job.priority, job.created_at or utcnow(), job.id))
                rows = {
                    row.id: row
                    for row in session.exec(select(GenerationJob).where(col(GenerationJob.id).in_(taken))).all()
                }
                claimed.extend(
                    (pick.prompt_id, rows[pick.job_id], pick.server_id) for pick in picks if pick.job_id in rows
                )
                if len(taken) == len(picks):
                    break
        return claimed

    def _choose_for_slots(
        self,
        session: Any,
        slots: list[claims.Slot],
        jobs: list[claims.Candidate],
        loads: dict[int, int],
        loaded: dict[int, str | None],
        avoid: dict[int, int],
        others_can: dict[int, bool],
    ) -> list[claims.Pick]:
        """A job for every free slot it can fill, slot by slot in turns (so servers share the best jobs);
        the slots, loads and loaded checkpoints are counted as if every pick will be claimed."""
        picks: list[claims.Pick] = []
        progress = True
        while progress and jobs:
            progress = False
            for slot in slots:
                if slot.free <= 0 or not jobs:
                    continue
                serving: dict[str | None, int] = {}
                for server_id, name in loaded.items():
                    if server_id != slot.server_id:
                        serving[name] = serving.get(name, 0) + 1
                job = claims.choose(slot, jobs, loads, avoid, others_can, serving)
                if job is None:
                    continue
                jobs.remove(job)
                if job.depends_on_id is not None and not self._graph_ready(session, job.id):
                    continue
                slot.free -= 1
                progress = True
                loads[job.owner_id] = loads.get(job.owner_id, 0) + 1
                if job.checkpoint:
                    slot.checkpoint = job.checkpoint
                    loaded[slot.server_id] = job.checkpoint
                avoid.pop(job.id, None)
                picks.append(claims.Pick(job.id, slot.server_id, str(uuid.uuid4())))
        return picks

    def _graph_ready(self, session: Any, job_id: int) -> bool:
        """A dependent video's graph is finished from its image before it is claimed (once)."""
        row = session.get(GenerationJob, job_id)
        return row is not None and (row.resolved_graph is not None or self._prepare_dependent(session, row))

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

    async def _submit(self, prompt: Prompt) -> None:
        """One submit at a time per server, so prompts arrive in the order they were chosen."""
        lock = self._submit_locks.setdefault(prompt.server_id, asyncio.Lock())
        try:
            async with lock:
                await self._send(prompt)
        finally:
            prompt.sent_at = time.monotonic()
            if prompt.phase is Phase.SUBMITTING:
                prompt.phase = Phase.FOLLOWING

    async def _send(self, prompt: Prompt) -> None:
        server, job = await fetch_server(prompt.server_id), await fetch_job(prompt.job_id)
        if server is None or job is None:
            return
        backend = self.backend(server)
        backend.follow(server)
        sent = await backend.submit(prompt, job, server)
        if not isinstance(sent, Sent):
            await self.end(prompt, sent, server)
        elif sent.remote_id is not None:
            self._rename(prompt, sent.remote_id)

    def _rename(self, prompt: Prompt, remote_id: str) -> None:
        """The server named the prompt itself: the job and the record take its name."""
        with session_scope() as session:
            moved = claims.guarded_update(
                session, prompt.job_id, prompt.prompt_id, ("dispatched",), remote_prompt_id=remote_id
            )
        if moved:
            self.prompts.rename(prompt, remote_id)
        else:  # cancelled or taken over meanwhile
            self.prompts.remove(prompt)


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
