"""Which queued job goes to which server slot, and the compare-and-set writes that move a job.

Every state change of a job the dispatcher makes is an UPDATE guarded by what it expects the
row to be (status, and the prompt id it sent): two app processes on one PostgreSQL, or a late
websocket message about an earlier attempt, can then never move a job twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, text, update
from sqlmodel import Session, col, select

from data.models import WORKING_SERVER_STATUSES, AbandonedPrompt, ComfyServer, GenerationJob, ModelEntry, ServerModel
from data.models._common import utcnow
from data.words import counted

ACTIVE = ("dispatched", "running")
WORKING = WORKING_SERVER_STATUSES
FINISHED = ("completed", "failed", "cancelled")


@dataclass
class Slot:
    """A server with room for `free` more jobs, and what it can run."""

    server_id: int
    name: str
    free: int
    checkpoint: str | None
    node_types: set[str]
    models: dict[str, set[str]] | None  # None: catalog never read, so anything is allowed
    runpod: bool = False
    taken: list[int] = field(default_factory=list)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential: base, 2×base, 4×base … up to cap, by how many attempts have failed."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def active_counts(session: Session, ended: set[str] | None = None, servers: list[int] | None = None) -> dict[int, int]:
    """Jobs on each server (or on these); `ended` names prompts that finished there but are still being stored."""
    query = select(GenerationJob.server_id, func.count()).where(
        col(GenerationJob.status).in_(ACTIVE), col(GenerationJob.server_id).is_not(None)
    )
    if servers is not None:
        query = query.where(col(GenerationJob.server_id).in_(servers))
    if ended:
        query = query.where(col(GenerationJob.remote_prompt_id).not_in(ended))
    rows = session.exec(query.group_by(col(GenerationJob.server_id))).all()
    return {server_id: count for server_id, count in rows if server_id is not None}


def owner_loads(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(GenerationJob.owner_id, func.count())
        .where(col(GenerationJob.status).in_(ACTIVE))
        .group_by(col(GenerationJob.owner_id))
    ).all()
    return dict(rows)


class CatalogCache:
    """Model files and node types per server, reread only when a server's catalog changed: decoding them
    for every server on every tick was most of a tick's CPU with 64 servers."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[datetime | None, dict[str, set[str]] | None]] = {}
        self._nodes: dict[int, tuple[datetime, set[str]]] = {}

    def models(self, session: Session, server: ServerRow) -> dict[str, set[str]] | None:
        if server.catalog_refreshed_at is None:
            return None
        cached = self._seen.get(server.id)
        if cached is not None and cached[0] == server.catalog_refreshed_at:
            return cached[1]
        rows = session.exec(
            select(ModelEntry.kind, ModelEntry.file_name)
            .join(ServerModel, col(ServerModel.model_id) == ModelEntry.id)
            .where(ServerModel.server_id == server.id)
        ).all()
        found: dict[str, set[str]] = {}
        for kind, file_name in rows:
            found.setdefault(kind, set()).add(file_name)
        self._seen[server.id] = (server.catalog_refreshed_at, found)
        return found

    def node_types(self, session: Session, server: ServerRow) -> set[str]:
        """Node class names, stored with the catalog (refreshed together)."""
        refreshed = server.catalog_refreshed_at
        cached = self._nodes.get(server.id)
        if refreshed is not None and cached is not None and cached[0] == refreshed:
            return cached[1]
        names = set(session.exec(select(ComfyServer.node_types).where(ComfyServer.id == server.id)).first() or [])
        if refreshed is not None:
            self._nodes[server.id] = (refreshed, names)
        return names


@dataclass(frozen=True)
class ServerRow:
    """The columns of a server that choosing needs: not its node or model lists, which the cache keeps."""

    id: int
    name: str
    max_jobs: int
    status: str
    last_checkpoint: str | None
    catalog_refreshed_at: datetime | None
    runpod_endpoint_id: str | None


def working_servers(session: Session) -> list[ServerRow]:
    """Enabled servers that answer (online, or degraded: slow but working, as its health message promises)."""
    rows = session.exec(
        select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
            ComfyServer.id,
            ComfyServer.name,
            ComfyServer.max_jobs,
            ComfyServer.status,
            ComfyServer.last_checkpoint,
            ComfyServer.catalog_refreshed_at,
            ComfyServer.runpod_endpoint_id,
        ).where(
            ComfyServer.enabled == True,  # noqa: E712
            col(ComfyServer.status).in_(WORKING),
        )
    ).all()
    return [ServerRow(*row) for row in rows]


def open_slots(
    session: Session,
    cache: CatalogCache,
    loaded: dict[int, str | None],
    ended: set[str],
) -> list[Slot]:
    """Working servers with room; online ones are offered first. Prompts in `ended` finished on their server
    but their results are still being stored: their slot is free already, so the GPU never waits on us."""
    counts = active_counts(session, ended)
    slots = []
    degraded: set[int] = set()
    for server in working_servers(session):
        free = server.max_jobs - counts.get(server.id, 0)
        if free <= 0:
            continue
        slots.append(
            Slot(
                server_id=server.id,
                name=server.name,
                free=free,
                checkpoint=loaded.get(server.id, server.last_checkpoint),
                node_types=cache.node_types(session, server),
                models=cache.models(session, server),
                runpod=bool(server.runpod_endpoint_id),
            )
        )
        if server.status != "online":
            degraded.add(server.id)
    return sorted(slots, key=lambda slot: (slot.server_id in degraded, -slot.free))


@dataclass
class Candidate:
    """What choosing needs of a queued job (not its graph: loading graphs every tick is the costly part)."""

    id: int
    priority: int
    owner_id: int
    project_id: int
    checkpoint: str | None
    required_models: list[dict[str, str]]
    required_nodes: list[str]
    created_at: datetime | None = None
    depends_on_id: int | None = None  # a "both" video: its graph may still wait for its image


# Per person with queued work, how many of their next jobs are always among the candidates.
HEADS_PER_OWNER = 8

# The people with queued work, by skipping from one owner to the next in the index (a loose index
# scan): as fast with 100,000 queued jobs as with ten, where GROUP BY would read every one.
_QUEUED_OWNERS = text(
    """
    WITH RECURSIVE owners(owner_id) AS (
        SELECT MIN(owner_id) FROM generation_jobs WHERE status = 'queued'
        UNION ALL
        SELECT (SELECT MIN(later.owner_id) FROM generation_jobs AS later
                WHERE later.status = 'queued' AND later.owner_id > owners.owner_id)
        FROM owners WHERE owners.owner_id IS NOT NULL
    )
    SELECT owner_id FROM owners WHERE owner_id IS NOT NULL
    """
)


def candidates(session: Session, now: datetime, limit: int = 300) -> list[Candidate]:
    """Queued jobs whose wait (backoff) is over and whose image to start from exists, in queue order.

    The oldest `limit` by priority, plus the next few of every other person with queued work: fair
    shares choose among people, so someone behind a colleague's 5,000 jobs is a candidate at once.
    Both queries walk an index in its own order (ix_generation_jobs_queue, ix_generation_jobs_owner_queue).
    """
    done = select(GenerationJob.id).where(GenerationJob.status == "completed")
    ready = select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        GenerationJob.id,
        GenerationJob.priority,
        GenerationJob.owner_id,
        GenerationJob.project_id,
        GenerationJob.checkpoint,
        GenerationJob.required_models,
        GenerationJob.required_nodes,
        GenerationJob.created_at,
        GenerationJob.depends_on_id,
    ).where(
        GenerationJob.status == "queued",
        or_(col(GenerationJob.next_attempt_at).is_(None), col(GenerationJob.next_attempt_at) <= now),
        or_(col(GenerationJob.depends_on_id).is_(None), col(GenerationJob.depends_on_id).in_(done)),
    )
    queue_order = (col(GenerationJob.priority).desc(), col(GenerationJob.created_at), col(GenerationJob.id))
    found = [Candidate(*row) for row in session.exec(ready.order_by(*queue_order).limit(limit)).all()]
    seen = {job.owner_id for job in found}
    waiting = [row[0] for row in session.execute(_QUEUED_OWNERS)]
    for owner_id in sorted(set(waiting) - seen):
        rows = session.exec(
            ready.where(GenerationJob.owner_id == owner_id).order_by(*queue_order).limit(HEADS_PER_OWNER)
        ).all()
        found.extend(Candidate(*row) for row in rows)
    if len(seen) < len(set(waiting)):
        found.sort(key=lambda job: (-job.priority, job.created_at or now, job.id))
    return found


def can_run(slot: Slot, job: Candidate | GenerationJob) -> bool:
    if slot.node_types and not set(job.required_nodes or []) <= slot.node_types:
        return False
    if slot.models is None:
        return True
    kinds = {"checkpoint": "checkpoint", "lora": "lora", "vae": "vae", "upscaler": "upscaler", "embedding": "embedding"}
    return all(
        model["file_name"] in slot.models.get(kinds.get(model["kind"], model["kind"]), set())
        for model in job.required_models or []
    )


def choose(
    slot: Slot,
    jobs: list[Candidate],
    loads: dict[int, int],
    avoid: dict[int, int],
    others_can: dict[int, bool],
    serving: dict[str | None, int] | None = None,
) -> Candidate | None:
    """The best job for this slot: highest priority first; within it, the user with the fewest jobs
    running (fair shares); within that, a job on the checkpoint the server has loaded; then the oldest."""
    eligible = [
        job
        for job in jobs
        if can_run(slot, job) and not (avoid.get(job.id) == slot.server_id and others_can.get(job.id, False))
    ]
    if not eligible:
        return None
    top = eligible[0].priority
    tier = [job for job in eligible if job.priority == top]
    least = min(loads.get(job.owner_id, 0) for job in tier)
    fair = [job for job in tier if loads.get(job.owner_id, 0) == least]
    if slot.checkpoint:
        for job in fair:
            if job.checkpoint == slot.checkpoint:
                return job
    if len(fair) > 1:
        # A server switching models takes the checkpoint with the most waiting work per server already
        # on it, so servers spread over the models and each stays on its own longest.
        waiting: dict[str | None, int] = {}
        for job in fair:
            waiting[job.checkpoint] = waiting.get(job.checkpoint, 0) + 1
        on = serving or {}
        best = max(waiting, key=lambda name: waiting[name] / (1 + on.get(name, 0)))
        return next(job for job in fair if job.checkpoint == best)
    return fair[0]


@dataclass(frozen=True)
class Pick:
    """A queued job chosen for a server, under the prompt id it will be sent with."""

    job_id: int
    server_id: int
    prompt_id: str


# The first key of the advisory locks a claim takes on a server's slots (PostgreSQL), so they cannot meet
# another feature's locks; the second key is the server's id.
SLOT_LOCKS = 0x5C_0_5107


def fit_to_room(session: Session, picks: list[Pick], ended: set[str]) -> tuple[list[Pick], set[int]]:
    """The picks that fit their servers' free slots as they are now, and the servers whose picks were cut.

    Free slots are chosen from a snapshot, so two processes could both fill a server's one free slot (a prompt
    then waits in that server's queue while another GPU idles). On PostgreSQL each server's slots are locked
    for the claiming transaction (an advisory lock, released by the commit that claims), then counted again:
    a process that finds a server locked leaves it to the process filling it, and never waits. Runs in the
    transaction claim_many() then commits."""
    servers = sorted({pick.server_id for pick in picks})
    if not servers:
        return [], set()
    cut: set[int] = set()
    if session.get_bind().dialect.name == "sqlite":
        # A write that changes nothing takes the one write lock first, so the counts below are read in the
        # transaction that claims (a read alone would run outside it) and no other claim runs in between.
        session.execute(text("UPDATE comfy_servers SET max_jobs = max_jobs WHERE 0 = 1"))
    else:
        locked = session.execute(
            text("SELECT s FROM unnest(CAST(:servers AS integer[])) AS s WHERE pg_try_advisory_xact_lock(:kind, s)"),
            {"servers": servers, "kind": SLOT_LOCKS},
        ).scalars()
        cut = set(servers) - set(locked)
    counting = [server_id for server_id in servers if server_id not in cut]
    counts = active_counts(session, ended, counting) if counting else {}
    limits = (
        dict(session.exec(select(ComfyServer.id, ComfyServer.max_jobs).where(col(ComfyServer.id).in_(counting))).all())
        if counting
        else {}
    )
    room = {server_id: limits.get(server_id, 0) - counts.get(server_id, 0) for server_id in counting}
    fitting = []
    for pick in picks:
        if pick.server_id in cut:
            continue
        if room[pick.server_id] <= 0:
            cut.add(pick.server_id)
            continue
        room[pick.server_id] -= 1
        fitting.append(pick)
    return fitting, cut


def claim_many(session: Session, picks: list[Pick], worker_id: str, lease_seconds: float) -> set[int]:
    """Takes the chosen jobs still queued, in one statement and one commit; answers the ids taken.

    A job another dispatcher (or a cancel) moved first is left out. On PostgreSQL the rows are locked
    with SKIP LOCKED, so two processes claiming at once never wait for each other: one takes a row,
    the other passes over it (SQLite has one writer at a time, and the status guard decides)."""
    if not picks:
        session.commit()  # ends the transaction fit_to_room() began: its slot locks go with it
        return set()
    now = utcnow()
    ids = [pick.job_id for pick in picks]
    still_queued = (
        select(GenerationJob.id)
        .where(col(GenerationJob.id).in_(ids), GenerationJob.status == "queued")
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(GenerationJob)
        .where(col(GenerationJob.id).in_(still_queued.scalar_subquery()), col(GenerationJob.status) == "queued")
        .values(
            status="dispatched",
            server_id=case({pick.job_id: pick.server_id for pick in picks}, value=GenerationJob.id),
            remote_prompt_id=case({pick.job_id: pick.prompt_id for pick in picks}, value=GenerationJob.id),
            claimed_by=worker_id,
            lease_until=now + timedelta(seconds=lease_seconds),
            dispatched_at=now,
            started_at=None,
            attempts=GenerationJob.attempts + 1,
            progress=0.0,
            current_node=None,
            last_message_at=None,
        )
        .returning(col(GenerationJob.id))
        .execution_options(synchronize_session=False)
    )
    taken = set(session.execute(statement).scalars().all())
    session.commit()
    return taken


def claim(session: Session, job_id: int, server_id: int, worker_id: str, prompt_id: str, lease_seconds: float) -> bool:
    """Take a queued job for a server; False when another dispatcher (or a cancel) got there first."""
    return bool(claim_many(session, [Pick(job_id, server_id, prompt_id)], worker_id, lease_seconds))


def guarded_update(session: Session, job_id: int, prompt_id: str, statuses: tuple[str, ...], **values: Any) -> bool:
    """Change a job only while it is still this attempt (prompt id) in one of these states."""
    result = session.execute(
        update(GenerationJob)
        .where(
            col(GenerationJob.id) == job_id,
            col(GenerationJob.remote_prompt_id) == prompt_id,
            col(GenerationJob.status).in_(statuses),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE answers a CursorResult, which has rowcount


def retry_or_fail(session: Session, job_id: int, prompt_id: str, reason: str, *, base: float, cap: float) -> str | None:
    """After a failed attempt: back to the queue with a growing wait, or failed once attempts run out.

    Returns the new status, or None when the attempt was no longer current."""
    job = session.get(GenerationJob, job_id)
    if job is None or job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
        return None
    session.refresh(job)
    now = utcnow()
    if job.cancel_requested:
        return "cancelled" if mark_cancelled(session, job_id, prompt_id) else None
    if job.attempts >= job.max_attempts:
        ok = guarded_update(
            session,
            job_id,
            prompt_id,
            ACTIVE,
            status="failed",
            finished_at=now,
            claimed_by=None,
            lease_until=None,
            error=f"Failed after {counted(job.attempts, 'attempt')}: {reason}",
        )
        return "failed" if ok else None
    delay = backoff_seconds(job.attempts, base, cap)
    ok = guarded_update(
        session,
        job_id,
        prompt_id,
        ACTIVE,
        status="queued",
        next_attempt_at=now + timedelta(seconds=delay),
        server_id=None,
        remote_prompt_id=None,
        claimed_by=None,
        lease_until=None,
        progress=0.0,
        current_node=None,
        preview_path=None,
        error=f"Attempt {job.attempts} of {job.max_attempts} failed: {reason} Retrying in {delay:.0f} s.",
    )
    return "queued" if ok else None


def move_back(
    session: Session,
    job_id: int,
    prompt_id: str,
    reason: str,
    *,
    give_back: bool = True,
    abandoned_on: int | None = None,
    running: bool = False,
) -> str | None:
    """A job whose server is dead or hung: back to the queue at once (no backoff), its attempt given back
    (claim counted one; the server, not the job, was the trouble). `give_back=False` keeps the attempt
    counted (and fails the job once they run out). A job whose cancel was asked ends cancelled.

    `abandoned_on`: the server may still hold the prompt; it is written down (in the same transaction as
    the move, so no crash in between can lose it) to be deleted or interrupted there once it answers.
    Returns the new status, or None when the attempt was no longer current."""
    job = session.get(GenerationJob, job_id)
    if job is None:
        return None
    session.refresh(job)
    if job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
        return None
    now = utcnow()
    values: dict[str, Any]
    if job.cancel_requested:
        status = "cancelled"
        values = {"finished_at": now}
    elif not give_back and job.attempts >= job.max_attempts:
        status = "failed"
        values = {"finished_at": now, "error": f"Failed after {counted(job.attempts, 'attempt')}: {reason}"}
    else:
        status = "queued"
        attempts = max(0, job.attempts - 1) if give_back else job.attempts
        note = "this does not count as an attempt" if give_back else f"attempt {job.attempts} of {job.max_attempts}"
        values = {
            "next_attempt_at": None,
            "attempts": attempts,
            "server_id": None,
            "remote_prompt_id": None,
            "progress": 0.0,
            "current_node": None,
            "preview_path": None,
            "error": f"{reason} Queued again for another server at once ({note}).",
        }
    result = session.execute(
        update(GenerationJob)
        .where(
            col(GenerationJob.id) == job_id,
            col(GenerationJob.remote_prompt_id) == prompt_id,
            col(GenerationJob.status).in_(ACTIVE),
        )
        .values(status=status, claimed_by=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE answers a CursorResult, which has rowcount
        session.rollback()
        return None
    if abandoned_on is not None:
        session.merge(AbandonedPrompt(server_id=abandoned_on, prompt_id=prompt_id, running=running))
    session.commit()
    return status


def abandoned_servers(session: Session) -> list[int]:
    """Servers holding prompts whose jobs moved elsewhere."""
    return list(session.exec(select(AbandonedPrompt.server_id).distinct()).all())


def abandoned_on(session: Session, server_id: int) -> list[AbandonedPrompt]:
    return list(
        session.exec(
            select(AbandonedPrompt)
            .where(AbandonedPrompt.server_id == server_id)
            .order_by(col(AbandonedPrompt.abandoned_at), col(AbandonedPrompt.prompt_id))
        ).all()
    )


def forget_abandoned(session: Session, server_id: int, prompt_ids: list[str]) -> None:
    """The server no longer holds these prompts (deleted, interrupted, or forgotten in a restart)."""
    if not prompt_ids:
        return
    session.execute(
        delete(AbandonedPrompt).where(
            col(AbandonedPrompt.server_id) == server_id, col(AbandonedPrompt.prompt_id).in_(prompt_ids)
        )
    )
    session.commit()


def mark_cancelled(session: Session, job_id: int, prompt_id: str) -> bool:
    return guarded_update(
        session, job_id, prompt_id, ACTIVE, status="cancelled", finished_at=utcnow(), claimed_by=None, lease_until=None
    )


def fail_now(session: Session, job_id: int, prompt_id: str, reason: str, *, can_retry: bool = True) -> bool:
    """A failure every attempt would meet fails at once; `can_retry` False for a graph the server refused,
    which no Retry offers (it needs its settings or workflow changed)."""
    return guarded_update(
        session,
        job_id,
        prompt_id,
        ACTIVE,
        status="failed",
        finished_at=utcnow(),
        error=reason,
        can_retry=can_retry,
        claimed_by=None,
        lease_until=None,
    )


def renew_leases(session: Session, worker_id: str, lease_seconds: float) -> None:
    session.execute(
        update(GenerationJob)
        .where(col(GenerationJob.claimed_by) == worker_id, col(GenerationJob.status).in_(ACTIVE))
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()


def take_over_expired(session: Session, worker_id: str, lease_seconds: float) -> list[GenerationJob]:
    """Active jobs whose process stopped renewing its claim (it crashed): this process follows them now."""
    now = utcnow()
    stale = session.exec(
        select(GenerationJob).where(
            col(GenerationJob.status).in_(ACTIVE),
            or_(col(GenerationJob.claimed_by).is_(None), col(GenerationJob.claimed_by) != worker_id),
            or_(col(GenerationJob.lease_until).is_(None), col(GenerationJob.lease_until) < now),
        )
    ).all()
    taken = []
    for job in stale:
        result = session.execute(
            update(GenerationJob)
            .where(
                col(GenerationJob.id) == job.id,
                col(GenerationJob.status).in_(ACTIVE),
                or_(col(GenerationJob.claimed_by).is_(None), col(GenerationJob.claimed_by) == job.claimed_by),
                or_(col(GenerationJob.lease_until).is_(None), col(GenerationJob.lease_until) < now),
            )
            .values(claimed_by=worker_id, lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE answers a CursorResult, which has rowcount
            taken.append(job)
    session.commit()
    return taken


def fail_orphaned_dependents(session: Session) -> list[GenerationJob]:
    """A video waiting for an image whose job failed or was cancelled can never start."""
    dead = select(GenerationJob.id).where(col(GenerationJob.status).in_(("failed", "cancelled")))
    orphans = session.exec(
        select(GenerationJob).where(GenerationJob.status == "queued", col(GenerationJob.depends_on_id).in_(dead))
    ).all()
    now = utcnow()
    for job in orphans:
        job.status = "failed"
        job.finished_at = now
        job.error = (
            "The image this video starts from was not made (its job failed or was cancelled). Retry that job first."
        )
    session.commit()
    return list(orphans)
