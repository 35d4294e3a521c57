"""Finished jobs become notices for their owners: the sweep the dispatcher runs on every tick.

Jobs reach their final state in many places of the dispatcher (results, retries that give up,
rejections, cancels, orphaned dependents), so notices are not hooked into those places: `sweep`
finds finished jobs nobody was told about yet and turns them into notices. Every step is a
compare-and-set UPDATE (a job's `notified` flag, a batch's `notified_at`) inside one transaction
that takes its row locks in id order, so several app processes sweeping one PostgreSQL database
never tell anyone twice and never deadlock each other.

Jobs of a batch get no notice of their own: the batch gets one summary when its last job ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, update
from sqlmodel import Session, col, select

from data.models import Batch, GalleryItem, GenerationJob, Notification, User
from data.models._common import utcnow
from data.words import counted

from . import events, job_views
from .notification_prefs import Preferences, get_preferences

FINISHED = ("completed", "failed", "cancelled")
UNFINISHED = ("queued", "dispatched", "running")
# Finished jobs handled per sweep: a backlog (say, after an outage of the dispatcher) goes over a few ticks.
SWEEP_LIMIT = 500
_TITLE_MAX = 300
_BODY_MAX = 2000
_KIND_NAMES = {"image": "Image", "video": "Video", "faceswap": "Face swap"}


def _told(session: Session, job_id: int, status: str) -> bool:
    """Compare-and-set: True for the one process that marks this finished job as told."""
    result = session.exec(
        update(GenerationJob)
        .where(
            col(GenerationJob.id) == job_id,
            col(GenerationJob.notified) == False,  # noqa: E712
            col(GenerationJob.status) == status,
        )
        .values(notified=True)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


def _batch_done(session: Session, batch_id: int) -> bool:
    """Compare-and-set: True for the one process that finds the batch finished and not yet announced."""
    still_working = exists().where(col(GenerationJob.batch_id) == batch_id, col(GenerationJob.status).in_(UNFINISHED))
    result = session.exec(
        update(Batch)
        .where(col(Batch.id) == batch_id, col(Batch.notified_at).is_(None), ~still_working)
        .values(notified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 1) if start and end else None


def _clip_link(scene_id: int | None, clip_id: int | None, project_id: int) -> str:
    if scene_id is not None:
        return f"/scenes/{scene_id}" + (f"?clip={clip_id}" if clip_id is not None else "")
    return f"/projects/{project_id}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _job_notice(
    view: job_views.JobView, item_ids: list[int], finished_at: datetime | None, created_at: datetime
) -> Notification:
    what = _KIND_NAMES.get(view.kind, view.kind.capitalize())
    where = view.clip_label or view.project_name
    duration = _seconds_between(created_at, finished_at)
    extra: dict[str, Any] = {"job_kind": view.kind, "project_name": view.project_name}
    if view.clip_label:
        extra["clip_label"] = view.clip_label
    if view.status == "completed":
        title = f"{what} ready: {where}"
        body = f"{view.project_name} · {view.prompt}" if view.prompt else view.project_name
        kind, level = "job_completed", "positive"
        if item_ids:
            extra["item_ids"] = item_ids[:8]
    else:
        title = f"{what} failed: {where}"
        body = view.error or "The job failed without a message from the server."
        kind, level = "job_failed", "negative"
        extra["can_retry"] = view.can_retry
    return Notification(
        user_id=0,  # set by the caller: the job's owner
        project_id=view.project_id,
        kind=kind,
        level=level,
        title=_shorten(title, _TITLE_MAX),
        body=_shorten(body, _BODY_MAX),
        job_id=view.id,
        clip_id=view.clip_id,
        link=_clip_link(view.scene_id, view.clip_id, view.project_id),
        duration_seconds=duration,
        extra=extra,
    )


def _batch_counts(session: Session, batch_id: int) -> tuple[dict[str, int], datetime | None]:
    rows = session.exec(
        select(GenerationJob.status, func.count(), func.max(GenerationJob.finished_at))
        .where(GenerationJob.batch_id == batch_id)
        .group_by(GenerationJob.status)
    ).all()
    counts = {status: count for status, count, _ in rows}
    last = max((finished for _, _, finished in rows if finished is not None), default=None)
    return counts, last


def batch_summary(name: str, counts: dict[str, int]) -> str:
    """ "Batch “Harbour”: 8 completed, 2 failed" (cancelled jobs only when there were some)."""
    parts = [f"{counts.get('completed', 0)} completed", f"{counts.get('failed', 0)} failed"]
    if counts.get("cancelled"):
        parts.append(f"{counts['cancelled']} cancelled")
    return f"{name}: {', '.join(parts)}"


def _batch_notice(session: Session, batch: Batch) -> Notification | None:
    counts, last = _batch_counts(session, batch.id)  # type: ignore[arg-type]  # a stored row's id is never None
    if not counts.get("completed") and not counts.get("failed"):
        return None  # everything was cancelled (by the person themselves): nothing to tell
    name = f"Batch “{batch.name}”" if batch.name else f"Batch {batch.id}"
    failed = counts.get("failed", 0)
    body = (
        f"{counted(failed, 'job')} failed: open the batch to see why, or retry them."
        if failed
        else "Every job made its result."
    )
    return Notification(
        user_id=batch.owner_id,
        project_id=batch.project_id,
        kind="batch_finished",
        level="negative" if failed else "positive",
        title=_shorten(batch_summary(name, counts), _TITLE_MAX),
        body=body,
        batch_id=batch.id,
        link=f"/batches/{batch.id}",
        duration_seconds=_seconds_between(batch.created_at, last),
        extra={"counts": counts, "failed": failed, "batch_name": batch.name},
    )


def sweep(session: Session) -> int:
    """Turns finished jobs nobody was told about into notices for their owners; returns how many were made.

    Completed and failed jobs outside a batch get one notice each; cancelled ones none (the person
    cancelled them). A batch gets one summary once none of its jobs is waiting or running any more.
    A kind the owner switched off is marked as told without a notice. Cheap when nothing waits:
    one query on the indexed `notified` flag.
    """
    found = session.exec(
        select(GenerationJob.id, GenerationJob.status)
        .where(GenerationJob.notified == False, col(GenerationJob.status).in_(FINISHED))  # noqa: E712
        .order_by(col(GenerationJob.id))  # one lock order for every process: no deadlock between sweeps
        .limit(SWEEP_LIMIT)
    ).all()
    if not found:
        return 0
    won = [job_id for job_id, status in found if _told(session, job_id, status)]  # type: ignore[arg-type]  # a stored row's id is never None
    if not won:
        session.rollback()
        return 0
    rows = list(
        session.exec(
            select(GenerationJob).where(col(GenerationJob.id).in_(won)).execution_options(populate_existing=True)
        ).all()
    )
    batch_ids = sorted({job.batch_id for job in rows if job.batch_id is not None})
    solo = [job for job in rows if job.batch_id is None and job.status in ("completed", "failed")]
    preferences: dict[int, Preferences] = {}

    def wants(user_id: int, kind: str) -> bool:
        if user_id not in preferences:
            owner = session.get(User, user_id, populate_existing=True)
            preferences[user_id] = get_preferences(owner) if owner is not None else Preferences()
        return preferences[user_id].wants(kind)

    made: list[Notification] = []
    if solo:
        items: dict[int, list[int]] = {}
        for item_id, job_id in session.exec(
            select(GalleryItem.id, GalleryItem.job_id)
            .where(col(GalleryItem.job_id).in_([job.id for job in solo]))
            .order_by(col(GalleryItem.id))
        ):
            items.setdefault(job_id, []).append(item_id)  # type: ignore[arg-type]  # only items of these jobs: job_id is set
        by_id = {job.id: job for job in solo}
        for view in job_views.job_views(session, solo):
            job = by_id[view.id]
            notice = _job_notice(view, items.get(view.id, []), job.finished_at, job.created_at)
            if wants(job.owner_id, notice.kind):
                notice.user_id = job.owner_id
                made.append(notice)
    for batch_id in batch_ids:
        if not _batch_done(session, batch_id):
            continue
        batch = session.get(Batch, batch_id, populate_existing=True)
        if batch is None:
            continue
        batch_notice = _batch_notice(session, batch)
        if batch_notice is not None and wants(batch.owner_id, "batch_finished"):
            made.append(batch_notice)
    session.add_all(made)
    session.commit()
    for user_id in sorted({notice.user_id for notice in made}):
        events.emit(events.notifications_changed, user_id)
    return len(made)
