"""Where a queued job stands in the queue and roughly how long until it starts.

The estimate is deliberately simple and cheap (four small queries for any number of jobs): the work
ahead of a job (what running jobs still have to do plus the expected run time of every queued job
before it) shared over the slots of the servers that can take work now. Expected run times are the
medians of recent real runs, as specific as the history allows.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, or_
from sqlmodel import Session, col, select

from data.models import WORKING_SERVER_STATUSES, ComfyServer, GenerationJob
from data.models._common import utcnow

ACTIVE_STATUSES = ("dispatched", "running")
HISTORY_SIZE = 50
DEFAULT_DURATION_S = 30.0


def queue_order(now: datetime):
    """ORDER BY terms of the queue: jobs that may run now first, then those waiting for a retry;
    within each, higher priority first, then the oldest. The dispatcher serves them in this order."""
    waiting = case(
        (or_(col(GenerationJob.next_attempt_at).is_(None), col(GenerationJob.next_attempt_at) <= now), 0), else_=1
    )
    return (waiting, col(GenerationJob.priority).desc(), col(GenerationJob.created_at), col(GenerationJob.id))


@dataclass(frozen=True)
class DurationModel:
    """Medians of recent run times, from the most specific to the most general."""

    by_server_checkpoint: dict[tuple[int | None, str | None], float]
    by_server: dict[int | None, float]
    by_checkpoint: dict[str | None, float]
    overall: float | None

    def expected(self, server_id: int | None, checkpoint: str | None) -> float:
        """(server, checkpoint), then the server, then the checkpoint anywhere, then all runs, then 30 s."""
        if server_id is not None:
            if (server_id, checkpoint) in self.by_server_checkpoint:
                return self.by_server_checkpoint[(server_id, checkpoint)]
            if server_id in self.by_server:
                return self.by_server[server_id]
        if checkpoint in self.by_checkpoint:
            return self.by_checkpoint[checkpoint]
        return self.overall if self.overall is not None else DEFAULT_DURATION_S


def duration_model(samples: Iterable[tuple[int | None, str | None, float]]) -> DurationModel:
    """From (server id, checkpoint, seconds) of finished runs (pure)."""
    pairs: dict[tuple[int | None, str | None], list[float]] = defaultdict(list)
    servers: dict[int | None, list[float]] = defaultdict(list)
    checkpoints: dict[str | None, list[float]] = defaultdict(list)
    everything: list[float] = []
    for server_id, checkpoint, seconds in samples:
        if seconds < 0:
            continue
        pairs[(server_id, checkpoint)].append(seconds)
        servers[server_id].append(seconds)
        checkpoints[checkpoint].append(seconds)
        everything.append(seconds)

    def medians(groups: dict) -> dict:
        return {key: statistics.median(values) for key, values in groups.items()}

    return DurationModel(
        medians(pairs),
        {key: value for key, value in medians(servers).items() if key is not None},
        medians(checkpoints),
        statistics.median(everything) if everything else None,
    )


def recent_durations(session: Session, limit: int = HISTORY_SIZE) -> DurationModel:
    """The last `limit` completed runs, by when they finished."""
    rows = session.exec(
        select(GenerationJob.server_id, GenerationJob.checkpoint, GenerationJob.started_at, GenerationJob.finished_at)
        .where(
            GenerationJob.status == "completed",
            col(GenerationJob.started_at).is_not(None),
            col(GenerationJob.finished_at).is_not(None),
        )
        .order_by(col(GenerationJob.finished_at).desc(), col(GenerationJob.id).desc())
        .limit(limit)
    ).all()
    return duration_model(
        (server_id, checkpoint, (finished - started).total_seconds())  # type: ignore[operator]  # the query keeps only jobs with both times set
        for server_id, checkpoint, started, finished in rows
    )


def capacity(session: Session) -> int:
    """Job slots of the enabled servers that answer (0 when none does: then nothing moves)."""
    slots = session.exec(
        select(ComfyServer.max_jobs).where(
            ComfyServer.enabled == True,  # noqa: E712
            col(ComfyServer.status).in_(WORKING_SERVER_STATUSES),
        )
    ).all()
    return sum(max(1, value) for value in slots)


def active_work(session: Session, model: DurationModel) -> float:
    """Seconds the running and dispatched jobs still have to go, summed over all of them."""
    active = session.exec(
        select(GenerationJob.server_id, GenerationJob.checkpoint, GenerationJob.progress).where(
            col(GenerationJob.status).in_(ACTIVE_STATUSES)
        )
    ).all()
    return sum(
        max(0.0, 1.0 - min(1.0, progress or 0.0)) * model.expected(server_id, checkpoint)
        for server_id, checkpoint, progress in active
    )


def estimate_new_jobs(session: Session, checkpoints: Sequence[str | None], *, priority: int = 0) -> float | None:
    """Seconds until jobs queued now (one per checkpoint given, at this priority) would all have finished.

    The same model as a queued job's wait: what is running, every queued job the dispatcher would serve
    first (an equal or higher priority: the new jobs are the youngest), then the new jobs themselves,
    shared over the slots of the servers that answer — and never less than the longest new job alone.
    None when no enabled server is online or degraded. Rough on purpose: retries, fair shares between
    users and a video waiting for its image are left out.
    """
    slots = capacity(session)
    if not slots:
        return None
    if not checkpoints:
        return 0.0
    model = recent_durations(session)
    ahead = session.exec(
        select(GenerationJob.checkpoint).where(GenerationJob.status == "queued", GenerationJob.priority >= priority)
    ).all()
    own = [model.expected(None, checkpoint) for checkpoint in checkpoints]
    work = active_work(session, model) + sum(model.expected(None, c) for c in ahead) + sum(own)
    return round(max(work / slots, max(own)), 1)


def estimate_queue(
    session: Session, jobs: Sequence[GenerationJob], *, now: datetime | None = None
) -> dict[int, tuple[int | None, float | None]]:
    """Job id → (1-based position among all queued jobs, estimated seconds until it starts).

    Jobs that are not queued get (None, None). The wait is None when no enabled server is online
    or degraded: the queue does not move, so any figure would mislead. A job waiting for a retry
    waits at least until its next attempt.
    """
    result: dict[int, tuple[int | None, float | None]] = {job.id: (None, None) for job in jobs if job.id is not None}
    if not any(job.status == "queued" for job in jobs):
        return result
    now = now or utcnow()
    queued = session.exec(
        select(GenerationJob.id, GenerationJob.checkpoint, GenerationJob.next_attempt_at)
        .where(GenerationJob.status == "queued")
        .order_by(*queue_order(now))
    ).all()
    model = recent_durations(session)
    slots = capacity(session)
    work_ahead = active_work(session, model)
    wanted = {job.id for job in jobs if job.status == "queued"}
    for position, (job_id, checkpoint, next_attempt_at) in enumerate(queued, start=1):
        if job_id in wanted:
            wait: float | None = None
            if slots:
                wait = work_ahead / slots
                if next_attempt_at is not None:
                    wait = max(wait, (next_attempt_at - now).total_seconds())
                wait = round(wait, 1)
            result[job_id] = (position, wait)  # type: ignore[index]  # a stored row's id is never None
        work_ahead += model.expected(None, checkpoint)
    return result
