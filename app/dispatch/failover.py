"""Servers that die or hang: their prompts move to other servers at once, and what was left on them never runs.

A dead server refuses connections: its prompts move as soon as a call is refused. A hung one (a frozen
process, a wedged machine) accepts connections and answers nothing, and its websocket goes silent; silence
alone proves nothing (a long node sends no progress), so a silent server is asked GET /queue with a short
timeout. ComfyUI answers /queue from its event loop while prompts run in a worker thread: a busy server
answers in milliseconds, even mid-job. The timeouts, so that a hang moves the work within about 11 s:

- POLL_QUIET_SECONDS (upkeep.py, 3 s): prompts its server said nothing about for this long are asked about;
- POLL_TIMEOUT_SECONDS (3 s): no answer to /queue within this is a failed poll (3 s is also where the
  health check calls a server slow, "degraded");
- HUNG_AFTER_SECONDS (6 s): a server is hung once its polls have failed for this long in a row, so two
  failed polls at least, never a single lost answer; housekeeping asks again each second, one poll per
  server at a time, and never waits on a poll itself.

Worst case from the hang: 3 s quiet + up to 1 s to the next housekeeping + 3 s + up to 1 s + 3 s ≈ 11 s,
then the jobs are claimed for free servers on the next tick.

A moved prompt ends as endings.moved: its job is queued again with no wait and its attempt given back, the
server is marked offline, and the prompt is written down (table abandoned_prompts, so a restart of the app
keeps the list). The sweep then deletes those prompts from the server's queue (POST /queue {"delete"}) and
interrupts the one running (POST /interrupt {"prompt_id"}): its requests are sent at once and wait, with a
long timeout, in the hung server's socket, so the server handles them the moment it wakes, before it starts
a prompt of ours again. A late result of a moved prompt is never stored: every write is guarded by the
prompt id, which the job no longer has.
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.integrations.comfyui import ComfyError
from app.services import events
from data.engine import session_scope
from data.models import AbandonedPrompt, ComfyServer
from data.models._common import utcnow

from . import claims, endings
from .backends import fetch_server
from .base import DispatcherBase

log = logging.getLogger("storycanvas.dispatch")

# No answer to GET /queue within this is a failed poll.
POLL_TIMEOUT_SECONDS = 3.0
# Polls failing for this long in a row (two at least) mean the server is hung.
HUNG_AFTER_SECONDS = 6.0
# A failure this long after the previous one starts a new count (the server answered something in between).
FRESH_AFTER_SECONDS = 15.0
# The sweep's requests wait this long for a hung server to wake before they are sent again.
SWEEP_TIMEOUT_SECONDS = 30.0
# After a refused sweep, ask again this often (the offline probe's pace).
SWEEP_RETRY_SECONDS = 3.0
# After deleting and interrupting, look at the queue again this much later: a request that waited in the
# server's socket while it hung (a submit sent just before) lands by then, and is deleted too.
SWEEP_CONFIRM_SECONDS = 1.0


class Failover(DispatcherBase):
    def note_unreachable(self, server: ComfyServer, error: ComfyError, asked_at: float | None = None) -> bool:
        """True once a server is dead (refused, unknown name) or has not answered for HUNG_AFTER_SECONDS
        (counted from when the first unanswered request of the run was sent); it is then marked offline,
        so it gets no new work until a health check finds it answering."""
        assert server.id is not None
        if error.kind == "timeout" and asked_at is not None and self.loop_watch.stalled_since(asked_at):
            # The app's own loop stalled while it waited: the answer may be unread in the socket. Not counted.
            log.info("%s: a request timed out while this app's event loop stalled; not counted", server.name)
            return False
        now = time.monotonic()
        since, last = self._unreachable_since.get(server.id, (None, None))
        if since is None or last is None or now - last > FRESH_AFTER_SECONDS:
            since = asked_at if asked_at is not None else now
        self._unreachable_since[server.id] = (since, now)
        if error.kind not in ("refused", "dns") and now - since < HUNG_AFTER_SECONDS:
            return False
        self._unreachable_since.pop(server.id, None)  # the next run of failures (after it is back) counts afresh
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

    def note_reachable(self, server_id: int) -> None:
        self._unreachable_since.pop(server_id, None)

    async def move_off(self, server: ComfyServer, reason: str) -> None:
        """Every prompt followed on a dead or hung server goes back to the queue for another server, at once.

        Prompts still being sent go too: their POST may be waiting in the hung server's socket; the sweep
        deletes them there if they land."""
        assert server.id is not None
        for prompt in self.prompts.on_server(server.id):
            if prompt.live:
                await self.end(prompt, endings.moved(reason), server)

    # Prompts left on servers that stopped answering

    def _sweep_abandoned(self, servers: list[int]) -> None:
        """One sweep per server holding abandoned prompts (housekeeping finds them every second)."""
        for server_id in servers:
            if server_id not in self._sweeping:
                self._sweeping.add(server_id)
                self.spawn(self._sweep(server_id))

    async def _sweep(self, server_id: int) -> None:
        """Delete or interrupt the abandoned prompts on this server until none is left there."""
        try:
            while not self._closed:
                abandoned = await asyncio.to_thread(_abandoned_on, server_id)
                server = await fetch_server(server_id)
                if server is None or not abandoned:
                    return
                try:
                    gone = await self.backend(server).abandon(server, abandoned)
                except ComfyError as error:
                    log.debug("Abandoned prompts on %s wait: %s", server.name, error.message)
                    # A timeout was the wait itself; a refusal is retried at the offline probe's pace.
                    await asyncio.sleep(0.1 if error.kind == "timeout" else SWEEP_RETRY_SECONDS)
                    continue
                self.note_reachable(server_id)
                await asyncio.to_thread(_forget_abandoned, server_id, gone)
                if gone:
                    log.info("%s: abandoned prompts deleted or interrupted: %d", server.name, len(gone))
                if len(gone) < len(abandoned):
                    await asyncio.sleep(SWEEP_CONFIRM_SECONDS)
        finally:
            self._sweeping.discard(server_id)


def _abandoned_on(server_id: int) -> list[AbandonedPrompt]:
    with session_scope() as session:
        return claims.abandoned_on(session, server_id)


def _forget_abandoned(server_id: int, prompt_ids: list[str]) -> None:
    with session_scope() as session:
        claims.forget_abandoned(session, server_id, prompt_ids)
