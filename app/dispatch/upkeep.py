"""Cancels, claims kept alive, quiet or unreachable servers, stalled prompts and crashed peers' jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlmodel import col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyError
from app.services import events, notifications
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob
from data.models._common import utcnow

from . import claims
from .base import DispatcherBase, Tracked

log = logging.getLogger("storycanvas.dispatch")

# A server whose websocket said nothing this long about our prompts is asked directly.
POLL_QUIET_SECONDS = 3.0
# How long a server may fail to answer before its work goes to others.
OFFLINE_AFTER_SECONDS = 4.0


class Upkeep(DispatcherBase):
    def _notify(self) -> None:
        """Finished jobs become notices for their owners (one indexed query when none are waiting).

        A failure here must never stop the queue: it is logged and the next tick tries again."""
        try:
            with session_scope() as session:
                notifications.sweep(session)
        except Exception:
            log.exception("Notifying the owners of finished jobs failed; trying again on the next tick")

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
