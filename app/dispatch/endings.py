"""How a prompt ended, and the one place that turns an ending into the job's next state.

Backends say what happened (`retry`, `fail`, `cancelled`, `stored`, or `moved` when the server, not
the job, was the trouble); `write` decides what it means for the job: back to the queue with a growing
wait, back to the queue at once without using an attempt, failed for good, cancelled, or completed
with its results. Every write is guarded by the prompt id (claims.guarded_update), so an ending that arrives
for an attempt no longer current changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.config import get_settings
from data.engine import session_scope

from . import claims, results
from .prompts import Prompt

log = logging.getLogger("storycanvas.dispatch")

Kind = Literal["retry", "fail", "cancel", "store", "move"]


@dataclass(frozen=True)
class Ending:
    """What became of a prompt, as its backend saw it."""

    kind: Kind
    reason: str = ""
    outputs: list[results.Output] = field(default_factory=list)
    # The server keeps a record of the prompt (ComfyUI's history) that can go once this is written.
    release: bool = False
    # False: the server refused the graph itself; Retry is not offered for it.
    can_retry: bool = True
    # A move: the prompt may still be on its server, to be deleted (or interrupted) there once it answers.
    abandon: bool = False
    # A move that gives its attempt back (the dispatcher stops giving it back to a job that keeps moving).
    free: bool = True
    # When the server started and ended it, as its history says (None: not said).
    ran: tuple[datetime | None, datetime | None] = (None, None)


def retry(reason: str) -> Ending:
    """The attempt failed for a reason another attempt may not meet (server error, lost, stalled, unreachable)."""
    return Ending("retry", reason)


def moved(reason: str, *, abandon: bool = True) -> Ending:
    """Its server is dead or hung: the job goes back to the queue at once, without a wait and without using
    an attempt (the server was the cause, not the job). `abandon`: the prompt may be on the server still
    (a hung server may run it when it wakes), so it is written down to be deleted there."""
    return Ending("move", reason, abandon=abandon)


def fail(reason: str, *, release: bool = False) -> Ending:
    """The attempt failed for a reason every attempt would meet (refused graph, missing input, no output)."""
    return Ending("fail", reason, release=release)


def refused(reason: str) -> Ending:
    """The server refused the graph (validation): it fails, and is not offered Retry unchanged."""
    return Ending("fail", reason, can_retry=False)


def cancelled() -> Ending:
    """A cancel stopped it before it ran (or before it reached its server)."""
    return Ending("cancel")


def stored(
    outputs: list[results.Output], *, release: bool = False, ran: tuple[datetime | None, datetime | None] = (None, None)
) -> Ending:
    """It finished: these outputs are its results; `ran` the server's own start and end times."""
    return Ending("store", outputs=outputs, release=release, ran=ran)


async def write(prompt: Prompt, ending: Ending, server_name: str | None) -> str | None:
    """The job's next state for this ending: "queued", "failed", "cancelled" or "completed";
    None when the attempt was no longer current (another path or process moved the job first).

    A retry of a job whose cancel was asked becomes "cancelled" (claims.retry_or_fail checks first)."""
    if ending.kind == "store":
        try:
            done = await asyncio.to_thread(
                results.store_results, prompt.job_id, prompt.prompt_id, server_name, ending.outputs, ending.ran
            )
        except results.BadOutput as bad:  # an output that is not what it claims: every attempt would make it
            log.warning("Job %s: %s", prompt.job_id, bad)
            ending = fail(str(bad))
        else:
            return "completed" if done.completed else None
    with session_scope() as session:
        if ending.kind == "move":
            return claims.move_back(
                session,
                prompt.job_id,
                prompt.prompt_id,
                ending.reason,
                give_back=ending.free,
                abandoned_on=prompt.server_id if ending.abandon else None,
                running=prompt.running,
            )
        if ending.kind == "retry":
            settings = get_settings()
            return claims.retry_or_fail(
                session,
                prompt.job_id,
                prompt.prompt_id,
                ending.reason,
                base=settings.retry_base_seconds,
                cap=settings.retry_cap_seconds,
            )
        if ending.kind == "fail":
            failed = claims.fail_now(
                session, prompt.job_id, prompt.prompt_id, ending.reason, can_retry=ending.can_retry
            )
            return "failed" if failed else None
        return "cancelled" if claims.mark_cancelled(session, prompt.job_id, prompt.prompt_id) else None
