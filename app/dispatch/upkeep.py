"""Cancels, claims kept alive, quiet or removed servers, stalled prompts and crashed peers' jobs."""

from __future__ import annotations

import contextlib
import logging
import time

from sqlmodel import col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyError
from app.services import events, notifications
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob

from . import claims, endings
from .backends import fetch_server
from .failover import Failover
from .prompts import Phase, Prompt

log = logging.getLogger("storycanvas.dispatch")

# A server whose websocket said nothing this long about our prompts is asked directly.
POLL_QUIET_SECONDS = 3.0


class Upkeep(Failover):
    def _notify(self) -> None:
        """Finished jobs become notices for their owners (one indexed query when none are waiting).

        A failure here must never stop the queue: it is logged and the next tick tries again."""
        try:
            with session_scope() as session:
                notifications.sweep(session)
        except Exception:
            log.exception("Notifying the owners of finished jobs failed; trying again on the next tick")

    def _cancels_wanted(self) -> list[GenerationJob]:
        with session_scope() as session:
            return list(
                session.exec(
                    select(GenerationJob).where(
                        GenerationJob.cancel_requested == True,  # noqa: E712
                        col(GenerationJob.status).in_(claims.ACTIVE),
                        GenerationJob.claimed_by == self.worker_id,
                    )
                ).all()
            )

    async def _handle_cancels(self) -> None:
        wanted = await self.in_tick_thread(self._cancels_wanted)
        if not wanted:
            return

        def submitting(job: GenerationJob) -> bool:
            prompt = self.prompts.get(job.remote_prompt_id)
            return prompt is not None and prompt.phase is Phase.SUBMITTING

        # Until a cancelled waiting prompt has reached its server, do not interrupt the running one there:
        # the waiting one would start (and finish) in the gap.
        sending = {job.server_id for job in wanted if submitting(job)}
        # Waiting prompts first: interrupting a running one lets the next waiting one start at once.
        for job in sorted(wanted, key=lambda job: job.status != "dispatched"):
            if job.remote_prompt_id is None or job.server_id is None:
                continue
            prompt = self.prompts.get(job.remote_prompt_id)
            if prompt is not None and prompt.phase is not Phase.FOLLOWING:
                continue  # being sent (cancelled once it arrives), already interrupted, or ending anyway
            if job.status == "running" and job.server_id in sending:
                continue
            server = await fetch_server(job.server_id)
            if server is None:
                continue
            prompt = prompt or self.track(job.remote_prompt_id, job, job.server_id)
            try:
                ending = await self.backend(server).cancel(prompt, server)
            except ComfyError as error:
                log.info("Cancel of job %s waits for %s: %s", job.id, server.name, error.message)
                continue
            if ending is not None:
                await self.end(prompt, ending, server)

    def _keep_claims(self) -> tuple[list[GenerationJob], list[int]]:
        """Leases renewed, crashed peers' jobs taken over, orphaned videos failed; and the servers holding
        abandoned prompts. One worker-thread visit per second."""
        settings = get_settings()
        with session_scope() as session:
            claims.renew_leases(session, self.worker_id, settings.lease_seconds)
            taken = claims.take_over_expired(session, self.worker_id, settings.lease_seconds)
            for job in claims.fail_orphaned_dependents(session):
                events.emit(events.jobs_changed, job.project_id)
            return taken, claims.abandoned_servers(session)

    async def _housekeeping(self) -> None:
        taken, abandoned = await self.in_tick_thread(self._keep_claims)
        if taken:
            await self._adopt(taken)
        self._check_stalls()
        self._poll_quiet()
        self._sweep_abandoned(abandoned)

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
            self.track(job.remote_prompt_id, job, job.server_id).last_message = 0.0  # ask the server at once
            servers.add(job.server_id)
        for server_id in servers:
            server = await fetch_server(server_id)
            if server is not None:
                self.backend(server).follow(server)
            await self.poll_server(server_id)

    def _poll_quiet(self) -> None:
        """Servers that said nothing for a while about our prompts: ask them directly, in the background
        (a hung server must not hold up the tick that feeds the others)."""
        now = time.monotonic()
        quiet = {prompt.server_id for prompt in self.prompts if now - prompt.last_message > POLL_QUIET_SECONDS}
        for server_id in quiet - self._polling:
            self.spawn(self.poll_server(server_id))

    async def poll_server(self, server_id: int) -> None:
        """Ask a server about the prompts followed there (one poll per server at a time); a removed
        server's prompts go back to the queue at once."""
        if server_id in self._polling:
            return
        self._polling.add(server_id)
        try:
            mine = [prompt for prompt in self.prompts.on_server(server_id) if prompt.live]
            server = await fetch_server(server_id)
            if server is None:
                for prompt in mine:
                    await self.end(prompt, endings.moved("Its server was removed.", abandon=False), None)
                return
            if not mine:
                return
            # Prompts still being sent when we ask are left out: the answer may predate their arrival.
            await self.backend(server).poll(server, [p for p in mine if p.phase is not Phase.SUBMITTING])
        finally:
            self._polling.discard(server_id)

    def _check_stalls(self) -> None:
        """A prompt "running" without a word for too long is stuck: interrupt it and run it elsewhere."""
        timeout = get_settings().stall_timeout_seconds
        now = time.monotonic()
        for prompt in self.prompts:
            if not prompt.running or not prompt.may(Phase.SETTLING) or now - prompt.last_message < timeout:
                continue
            self.spawn(self._stalled(prompt, timeout))

    async def _stalled(self, prompt: Prompt, timeout: float) -> None:
        server = await fetch_server(prompt.server_id)
        if server is None or not prompt.may(Phase.SETTLING):
            return
        prompt.phase = Phase.SETTLING
        try:
            with contextlib.suppress(ComfyError):
                await self.backend(server).interrupt(prompt, server)
            with session_scope() as session:
                current = session.get(ComfyServer, server.id)
                if current is not None:
                    current.status = "degraded"
                    current.last_error = (
                        f"A prompt made no progress for {timeout:.0f} s: it was interrupted and queued elsewhere."
                    )
                    session.add(current)
                    session.commit()
            events.emit(events.servers_changed, prompt.server_id)
            await self.end(prompt, endings.retry(f"{server.name} stalled (no progress for {timeout:.0f} s)."), server)
        finally:
            if prompt.phase is Phase.SETTLING:
                prompt.phase = prompt.waiting
