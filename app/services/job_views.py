"""The generation queue as people read it: which jobs a person may see, and views of them.

Pages, components and the REST API draw the queue from these views (names of projects, clips and
servers loaded in bulk, queue position and wait estimates), never from raw rows. The rule for who may
see which job lives here alone; app/services/jobs.py builds a user's actions (cancel, retry, delete)
on the same rule, so reading and acting can never disagree about what a person's jobs are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from data.errors import DomainError, Invalid
from data.models import JOB_STATUSES, Clip, ComfyServer, GalleryItem, GenerationJob, Project, Scene, User
from data.models._common import utcnow

from . import job_estimates, projects, scenes, unreadable_rows

PROMPT_PREVIEW = 140
_CHUNK = 500  # ids per IN list: well under any database's limit on bound parameters


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
    can_retry: bool
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


def _visible_project_ids(actor: User):
    """The same rule as projects.get_project: owners see their projects' jobs, admins see every job."""
    return None if actor.is_admin else select(Project.id).where(Project.owner_id == actor.id)


def scope_to_visible(query, actor: User, project_id: int | None):
    """Narrows a query on GenerationJob to the jobs `actor` may see (in one project, when given)."""
    visible = _visible_project_ids(actor)
    if visible is not None:
        query = query.where(col(GenerationJob.project_id).in_(visible))
    if project_id is not None:
        query = query.where(GenerationJob.project_id == project_id)
    return query


def id_slices(ids: Iterable[int]) -> Iterator[list[int]]:
    """Ids in sorted slices for IN lists, so thousands of ids never hit a database's parameter limit."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def get_job(session: Session, actor: User, job_id: int) -> GenerationJob:
    """The job behind every view and every action. Another user's job is NotFound: its existence is not disclosed."""
    return projects.get_within(session, actor, GenerationJob, job_id, "Job", fresh=True)


def progress_of(session: Session, actor: User, job_ids: Iterable[int]) -> dict[int, tuple[GenerationJob, bool] | None]:
    """Each job of a burst of progress ticks, read once through the viewer's own visibility rules (`get_job`),
    with whether its live preview can be shown. A job the viewer may not see, or one that is gone, answers
    None: the caller redraws rather than show what it cannot vouch for."""
    found: dict[int, tuple[GenerationJob, bool] | None] = {}
    for job_id in job_ids:
        try:
            job = get_job(session, actor, job_id)
        except DomainError:
            found[job_id] = None
            continue
        found[job_id] = (job, preview_file(job) is not None)
    return found


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
    # a row nobody can read (written past the checks) is left out, not a broken page for everyone
    found = unreadable_rows.load_each(session, query.limit(max(0, limit)), GenerationJob)
    return job_views(session, found)


def _filtered(query, actor: User, status, project_id, clip_id, server_id):
    query = scope_to_visible(query, actor, project_id)
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
        func.row_number()
        .over(partition_by=col(Clip.scene_id), order_by=(col(Clip.start_frame), col(Clip.id)))
        .label("rank")
    )
    labels: dict[int, tuple[str, int]] = {}
    rows = _chunked(session, select(Clip.id, Clip.scene_id, rank), col(Clip.scene_id), scene_ids)
    for clip_id, scene_id, position in rows:
        if clip_id in clip_ids:
            labels[clip_id] = (f"{names.get(scene_id, 'Scene')} · #{position}", scene_id)
    return labels


def _chunked(session: Session, query, column, ids: Iterable[int]) -> list:
    rows: list = []
    for chunk in id_slices(ids):
        rows.extend(session.exec(query.where(column.in_(chunk))).all())
    return rows


def shorten(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def preview_file(job: GenerationJob):
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
        position, wait = estimates.get(job.id, (None, None))  # type: ignore[arg-type]  # a stored row's id is never None
        views.append(
            JobView(
                id=job.id,  # type: ignore[arg-type]  # a stored row's id is never None
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
                can_retry=job.can_retry,
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
