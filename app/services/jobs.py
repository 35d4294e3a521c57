"""The generation queue as people see it: reading jobs, and what a person may do to them.

Jobs are created by the generation service and moved along by the dispatcher; this module only
reads them and performs a user's actions (cancel, retry, delete) in the database. The dispatcher
may change the same row at the same moment, so every state change here is a compare-and-set
UPDATE on the status it expects, never a read-modify-write of the row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from data.models import JOB_STATUSES, Clip, ComfyServer, GalleryItem, GenerationJob, Project, Scene, User
from data.models._common import utcnow

from . import events, job_estimates, projects, scenes
from .errors import Conflict, Invalid, NotFound

ACTIVE = ("dispatched", "running")
FINISHED = ("completed", "failed", "cancelled")
RETRYABLE = ("failed", "cancelled")
PROMPT_PREVIEW = 140
_CHUNK = 500

# What a retry resets: the job starts over as if just queued (its age, and so its place, stays).
_FRESH: dict[str, Any] = {
    "status": "queued",
    "attempts": 0,
    "error": None,
    "next_attempt_at": None,
    "server_id": None,
    "remote_prompt_id": None,
    "claimed_by": None,
    "lease_until": None,
    "progress": 0.0,
    "current_node": None,
    "preview_path": None,
    "cancel_requested": False,
    "last_message_at": None,
    "dispatched_at": None,
    "started_at": None,
    "finished_at": None,
}


@dataclass
class JobView:
    """One job as the queue shows it, with the names of what it belongs to."""

    id: int
    kind: str
    status: str
    project_id: int
    project_name: str
    clip_id: int | None
    clip_label: str | None
    scene_id: int | None
    batch_id: int | None
    server_id: int | None
    server_name: str | None
    priority: int
    attempts: int
    max_attempts: int
    progress: float
    current_node: str | None
    has_preview: bool
    error: str | None
    checkpoint: str | None
    prompt: str
    remote_prompt_id: str | None
    created_at: datetime
    dispatched_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    cancel_requested: bool
    queue_position: int | None
    estimated_wait_s: float | None
    duration_s: float | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobDetails(JobView):
    """Everything about one job: what it was asked to do, what was sent, and what it made."""

    resolved_graph: dict[str, Any] | None = None
    gallery_item_ids: list[int] = field(default_factory=list)
    waited_s: float | None = None  # created → started (or dispatched, when it never started)


# --- visibility -----------------------------------------------------------------------------------


def _visible_project_ids(actor: User):  # type: ignore[no-untyped-def]
    """The same rule as projects.get_project: owners see their projects' jobs, admins see every job."""
    return None if actor.is_admin else select(Project.id).where(Project.owner_id == actor.id)


def _scoped(query, actor: User, project_id: int | None):  # type: ignore[no-untyped-def]
    visible = _visible_project_ids(actor)
    if visible is not None:
        query = query.where(col(GenerationJob.project_id).in_(visible))
    if project_id is not None:
        query = query.where(GenerationJob.project_id == project_id)
    return query


def get_job(session: Session, actor: User, job_id: int) -> GenerationJob:
    """Another user's job is NotFound: its existence is not disclosed."""
    job = session.get(GenerationJob, job_id, populate_existing=True)
    try:
        if job is None:
            raise NotFound("")
        projects.get_project(session, actor, job.project_id)
    except NotFound:
        raise NotFound(f"Job {job_id} does not exist or is not yours.") from None
    return job


def _check_filters(session: Session, actor: User, status: str | None, project_id: int | None) -> None:
    if status is not None and status not in JOB_STATUSES:
        raise Invalid(f"Unknown status “{status}”: use one of {', '.join(JOB_STATUSES)}.", field="status")
    if project_id is not None:
        projects.get_project(session, actor, project_id)


# --- reading --------------------------------------------------------------------------------------


def list_jobs(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    project_id: int | None = None,
    clip_id: int | None = None,
    server_id: int | None = None,
    limit: int = 500,
) -> list[JobView]:
    """Newest first; queued jobs alone come in queue order. A handful of queries for any number of jobs."""
    _check_filters(session, actor, status, project_id)
    query = _filtered(select(GenerationJob), actor, status, project_id, clip_id, server_id)
    if status == "queued":
        query = query.order_by(*job_estimates.queue_order(utcnow()))
    else:
        query = query.order_by(col(GenerationJob.created_at).desc(), col(GenerationJob.id).desc())
    found = list(session.exec(query.limit(max(0, limit))))
    return job_views(session, found)


def _filtered(query, actor: User, status, project_id, clip_id, server_id):  # type: ignore[no-untyped-def]
    query = _scoped(query, actor, project_id)
    if status is not None:
        query = query.where(GenerationJob.status == status)
    if clip_id is not None:
        query = query.where(GenerationJob.clip_id == clip_id)
    if server_id is not None:
        query = query.where(GenerationJob.server_id == server_id)
    return query


def status_counts(
    session: Session,
    actor: User,
    *,
    project_id: int | None = None,
    clip_id: int | None = None,
    server_id: int | None = None,
) -> dict[str, int]:
    """How many visible jobs are in each status (every status present, zeros included), for filter chips."""
    _check_filters(session, actor, None, project_id)
    query = _filtered(
        select(GenerationJob.status, func.count()).group_by(GenerationJob.status),
        actor,
        None,
        project_id,
        clip_id,
        server_id,
    )
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status, count in session.exec(query):
        counts[status] = int(count)
    return counts


def server_names(session: Session) -> dict[int, str]:
    """Every registered server by id: servers are shared by the studio, so anyone may filter by them."""
    return {
        server_id: name
        for server_id, name in session.exec(select(ComfyServer.id, ComfyServer.name).order_by(ComfyServer.name))
        if server_id is not None
    }


def _clip_labels(session: Session, clip_ids: set[int]) -> dict[int, tuple[str, int]]:
    """Clip id → ("Scene name · #3", scene id): its 1-based place in its scene by start time."""
    if not clip_ids:
        return {}
    scene_ids = set(_chunked(session, select(Clip.scene_id), col(Clip.id), clip_ids))
    names = dict(_chunked(session, select(Scene.id, Scene.name), col(Scene.id), scene_ids))
    rank = (
        func.row_number().over(partition_by=Clip.scene_id, order_by=(col(Clip.start_frame), col(Clip.id))).label("rank")
    )
    labels: dict[int, tuple[str, int]] = {}
    rows = _chunked(session, select(Clip.id, Clip.scene_id, rank), col(Clip.scene_id), scene_ids)
    for clip_id, scene_id, position in rows:
        if clip_id in clip_ids:
            labels[clip_id] = (f"{names.get(scene_id, 'Scene')} · #{position}", scene_id)
    return labels


def _chunked(session: Session, query, column, ids: Iterable[int]) -> list:  # type: ignore[no-untyped-def,type-arg]
    """IN lists in slices, so thousands of ids never hit a database's parameter limit."""
    ordered = sorted(ids)
    rows: list = []  # type: ignore[type-arg]
    for start in range(0, len(ordered), _CHUNK):
        rows.extend(session.exec(query.where(column.in_(ordered[start : start + _CHUNK]))).all())
    return rows


def shorten(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def preview_file(job: GenerationJob):  # type: ignore[no-untyped-def]
    """The live preview's file when it exists inside the media folder, else None."""
    path = scenes.media_path(job.preview_path)
    return path if path is not None and path.is_file() else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 1) if start and end else None


def job_views(session: Session, jobs: Sequence[GenerationJob]) -> list[JobView]:
    """Views of already-visible jobs, with projects, clips and servers loaded in bulk."""
    project_names = dict(
        _chunked(session, select(Project.id, Project.name), col(Project.id), {job.project_id for job in jobs})
    )
    clips = _clip_labels(session, {job.clip_id for job in jobs if job.clip_id is not None})
    server_ids = {job.server_id for job in jobs if job.server_id is not None}
    servers = dict(_chunked(session, select(ComfyServer.id, ComfyServer.name), col(ComfyServer.id), server_ids))
    estimates = job_estimates.estimate_queue(session, jobs)
    views = []
    for job in jobs:
        clip_label, scene_id = clips.get(job.clip_id, (None, None)) if job.clip_id is not None else (None, None)
        position, wait = estimates.get(job.id, (None, None))  # type: ignore[arg-type]
        views.append(
            JobView(
                id=job.id,  # type: ignore[arg-type]
                kind=job.kind,
                status=job.status,
                project_id=job.project_id,
                project_name=project_names.get(job.project_id, f"Project {job.project_id}"),
                clip_id=job.clip_id,
                clip_label=clip_label,
                scene_id=scene_id,
                batch_id=job.batch_id,
                server_id=job.server_id,
                server_name=servers.get(job.server_id) if job.server_id is not None else None,
                priority=job.priority,
                attempts=job.attempts,
                max_attempts=job.max_attempts,
                progress=job.progress or 0.0,
                current_node=job.current_node,
                has_preview=bool(job.preview_path) and preview_file(job) is not None,
                error=job.error,
                checkpoint=job.checkpoint,
                prompt=shorten(str((job.params or {}).get("prompt") or ""), PROMPT_PREVIEW),
                remote_prompt_id=job.remote_prompt_id,
                created_at=job.created_at,
                dispatched_at=job.dispatched_at,
                started_at=job.started_at,
                finished_at=job.finished_at,
                next_attempt_at=job.next_attempt_at,
                cancel_requested=job.cancel_requested,
                queue_position=position,
                estimated_wait_s=wait,
                duration_s=_seconds(job.started_at, job.finished_at),
                params=dict(job.params or {}),
            )
        )
    return views


def job_view(session: Session, actor: User, job_id: int) -> JobView:
    """One row of the queue, e.g. to redraw it when only its progress changed."""
    return job_views(session, [get_job(session, actor, job_id)])[0]


def job_details(session: Session, actor: User, job_id: int) -> JobDetails:
    job = get_job(session, actor, job_id)
    view = job_views(session, [job])[0]
    item_ids = session.exec(
        select(GalleryItem.id).where(GalleryItem.job_id == job.id).order_by(col(GalleryItem.id))
    ).all()
    return JobDetails(
        **vars(view),
        resolved_graph=job.resolved_graph,
        gallery_item_ids=[item_id for item_id in item_ids if item_id is not None],
        waited_s=_seconds(job.created_at, job.started_at or job.dispatched_at),
    )


# --- a user's actions -----------------------------------------------------------------------------


def _set_where(session: Session, job_ids: Sequence[int], statuses: Sequence[str], values: dict[str, Any]) -> int:
    """Compare-and-set: change only the jobs still in one of `statuses`; returns how many changed."""
    changed = 0
    ordered = sorted(job_ids)
    for start in range(0, len(ordered), _CHUNK):
        result = session.exec(
            update(GenerationJob)
            .where(col(GenerationJob.id).in_(ordered[start : start + _CHUNK]), col(GenerationJob.status).in_(statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0
    return changed


def _emit(project_ids: Iterable[int]) -> None:
    for project_id in sorted(set(project_ids)):
        events.emit(events.jobs_changed, project_id)


def _where(session: Session, job: GenerationJob) -> str:
    server = session.get(ComfyServer, job.server_id) if job.server_id is not None else None
    return f"on {server.name}" if server is not None else "on a server"


def _finished_conflict(job: GenerationJob, verb: str) -> Conflict:
    return Conflict(f"Job {job.id} already finished ({job.status}): nothing to {verb}.")


def cancel_job(session: Session, actor: User, job_id: int) -> GenerationJob:
    """A queued job is cancelled at once; a dispatched or running one is flagged, and the dispatcher
    takes it off its server (removing it from the server's queue or interrupting it), then marks it."""
    job = get_job(session, actor, job_id)
    for _ in range(3):  # the dispatcher may move the job between our read and our write
        if job.status == "queued":
            if _set_where(session, [job_id], ["queued"], {"status": "cancelled", "finished_at": utcnow()}):
                break
        elif job.status in ACTIVE:
            if job.cancel_requested or _set_where(session, [job_id], ACTIVE, {"cancel_requested": True}):
                break
        else:
            raise _finished_conflict(job, "cancel")
        session.rollback()
        session.refresh(job)
    else:
        raise Conflict(f"Job {job_id} kept changing while being cancelled: look at it again and retry.")
    session.commit()
    session.refresh(job)
    _emit([job.project_id])
    return job


def retry_job(session: Session, actor: User, job_id: int) -> GenerationJob:
    """A failed or cancelled job goes back to the queue from scratch (attempts 0, no server, no error)."""
    job = get_job(session, actor, job_id)
    if not _set_where(session, [job_id], RETRYABLE, _FRESH):
        session.rollback()
        session.refresh(job)
        if job.status == "queued":
            raise Conflict(f"Job {job_id} is already queued: nothing to retry.")
        if job.status in ACTIVE:
            raise Conflict(f"Job {job_id} is still running {_where(session, job)}: wait for it or cancel it first.")
        raise Conflict(
            f"Job {job_id} already completed: generate the clip again for another result."
            if job.status == "completed"
            else f"Job {job_id} cannot be retried while it is {job.status}."
        )
    session.commit()
    session.refresh(job)
    _emit([job.project_id])
    return job


@dataclass(frozen=True)
class _Target:
    """The little a bulk action needs of a job (full rows carry graphs and params)."""

    id: int
    project_id: int
    status: str
    cancel_requested: bool
    preview_path: str | None


def _remove_previews(targets: Iterable[_Target]) -> None:
    """A job's live preview goes with it; its own folder (jobs/<id>/) too once empty."""
    for target in targets:
        path = scenes.media_path(target.preview_path)
        if path is None:
            continue
        path.unlink(missing_ok=True)
        if path.parent.name == str(target.id):
            with contextlib.suppress(OSError):  # something else is in it: leave it
                path.parent.rmdir()


def _delete_where(session: Session, job_ids: Sequence[int], statuses: Sequence[str]) -> int:
    """Compare-and-delete: only jobs still in one of `statuses` go."""
    deleted = 0
    ordered = sorted(job_ids)
    for start in range(0, len(ordered), _CHUNK):
        result = session.exec(
            sql_delete(GenerationJob)
            .where(col(GenerationJob.id).in_(ordered[start : start + _CHUNK]), col(GenerationJob.status).in_(statuses))
            .execution_options(synchronize_session=False)
        )
        deleted += result.rowcount or 0
    return deleted


def _forget(session: Session, job_ids: Iterable[int]) -> None:
    """Rows deleted in the database leave the session too, so a later get() cannot return them."""
    for job_id in job_ids:
        loaded = session.identity_map.get(session.identity_key(GenerationJob, job_id))  # type: ignore[arg-type]
        if loaded is not None:
            session.expunge(loaded)


def _target(job: GenerationJob) -> _Target:
    return _Target(job.id, job.project_id, job.status, job.cancel_requested, job.preview_path)  # type: ignore[arg-type]


def delete_job(session: Session, actor: User, job_id: int) -> None:
    """Only a finished job can go; what it made stays in the galleries (their link to it is cleared)."""
    job = get_job(session, actor, job_id)
    if job.status == "queued":
        raise Conflict(f"Cancel job {job_id} first: it is waiting in the queue.")
    if job.status in ACTIVE:
        raise Conflict(f"Cancel job {job_id} first: it is running {_where(session, job)}.")
    target = _target(job)
    if not _delete_where(session, [job_id], FINISHED):
        session.rollback()
        raise Conflict(f"Job {job_id} was just put back in the queue: cancel it first.")
    session.commit()
    _forget(session, [job_id])
    _remove_previews([target])
    _emit([target.project_id])


# --- bulk actions ---------------------------------------------------------------------------------


def _targets(session: Session, actor: User, project_id: int | None, statuses: Sequence[str]) -> list[_Target]:
    if project_id is not None:
        projects.get_project(session, actor, project_id)
    query = select(
        GenerationJob.id,
        GenerationJob.project_id,
        GenerationJob.status,
        GenerationJob.cancel_requested,
        GenerationJob.preview_path,
    )
    query = _scoped(query, actor, project_id).where(col(GenerationJob.status).in_(statuses))
    return [_Target(*row) for row in session.exec(query)]


def count_cancellable(session: Session, actor: User, *, project_id: int | None = None) -> tuple[int, int]:
    """(queued, active) jobs that Cancel all would stop, for its confirmation."""
    found = _targets(session, actor, project_id, ("queued", *ACTIVE))
    queued = sum(1 for job in found if job.status == "queued")
    return queued, sum(1 for job in found if job.status in ACTIVE and not job.cancel_requested)


def cancel_all(session: Session, actor: User, *, project_id: int | None = None) -> int:
    """Every visible queued job is cancelled at once and every active one is flagged for the dispatcher."""
    found = _targets(session, actor, project_id, ("queued", *ACTIVE))
    queued = [job.id for job in found if job.status == "queued"]
    active = [job.id for job in found if job.status in ACTIVE and not job.cancel_requested]
    count = _set_where(session, queued, ["queued"], {"status": "cancelled", "finished_at": utcnow()})
    count += _set_where(session, active, ACTIVE, {"cancel_requested": True})
    session.commit()
    _emit(job.project_id for job in found)
    return count


def retry_failed(session: Session, actor: User, *, project_id: int | None = None) -> int:
    """Every visible failed job back to the queue, as retry_job does for one."""
    failed = _targets(session, actor, project_id, ["failed"])
    count = _set_where(session, [job.id for job in failed], ["failed"], _FRESH)
    session.commit()
    _emit(job.project_id for job in failed)
    return count


def clear_completed(session: Session, actor: User, *, project_id: int | None = None) -> int:
    """Removes completed jobs from the queue; their results stay in the galleries."""
    completed = _targets(session, actor, project_id, ["completed"])
    count = _delete_where(session, [job.id for job in completed], ["completed"])
    session.commit()
    _forget(session, [job.id for job in completed])
    _remove_previews(completed)
    _emit(job.project_id for job in completed)
    return count
