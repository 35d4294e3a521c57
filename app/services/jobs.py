"""The generation queue as people act on it: cancel, retry and delete jobs, one at a time or in bulk.

Jobs are created by the generation service and moved along by the dispatcher; this module only
performs a user's actions on them in the database. Which jobs a person may see (and so act on) is
decided in app/services/job_views.py, the read side, so both sides share one rule. The dispatcher
may change the same row at the same moment, so every state change here is a compare-and-set
UPDATE on the status it expects, never a read-modify-write of the row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import update
from sqlmodel import Session, col, select

from data.errors import Conflict
from data.models import ComfyServer, GenerationJob, User
from data.models._common import utcnow

from . import events, projects, scenes
from .job_views import get_job, id_slices, scope_to_visible

ACTIVE = ("dispatched", "running")
FINISHED = ("completed", "failed", "cancelled")
RETRYABLE = ("failed", "cancelled")

# What a retry resets: the job starts over as if just queued (its age, and so its place, stays).
_FRESH: dict[str, Any] = {
    "status": "queued",
    "can_retry": True,
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
    "notified": False,
    "last_message_at": None,
    "dispatched_at": None,
    "started_at": None,
    "finished_at": None,
}


# --- a user's actions -----------------------------------------------------------------------------


def _set_where(session: Session, job_ids: Sequence[int], statuses: Sequence[str], values: dict[str, Any]) -> int:
    """Compare-and-set: change only the jobs still in one of `statuses`; returns how many changed."""
    changed = 0
    for chunk in id_slices(job_ids):
        result = session.exec(
            update(GenerationJob)
            .where(col(GenerationJob.id).in_(chunk), col(GenerationJob.status).in_(statuses))
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
    events.jobs_queued.emit()
    return job


@dataclass(frozen=True)
class _Target:
    """The little a bulk action needs of a job (full rows carry graphs and params)."""

    id: int
    project_id: int
    status: str
    cancel_requested: bool
    preview_path: str | None
    can_retry: bool = True


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
    for chunk in id_slices(job_ids):
        result = session.exec(
            sql_delete(GenerationJob)
            .where(col(GenerationJob.id).in_(chunk), col(GenerationJob.status).in_(statuses))
            .execution_options(synchronize_session=False)
        )
        deleted += result.rowcount or 0
    return deleted


def _forget(session: Session, job_ids: Iterable[int]) -> None:
    """Rows deleted in the database leave the session too, so a later get() cannot return them."""
    for job_id in job_ids:
        loaded = session.identity_map.get(session.identity_key(GenerationJob, job_id))
        if loaded is not None:
            session.expunge(loaded)


def _target(job: GenerationJob) -> _Target:
    return _Target(job.id, job.project_id, job.status, job.cancel_requested, job.preview_path)  # type: ignore[arg-type]  # a stored row's id is never None


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
    query = select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        GenerationJob.id,
        GenerationJob.project_id,
        GenerationJob.status,
        GenerationJob.cancel_requested,
        GenerationJob.preview_path,
        GenerationJob.can_retry,
    )
    query = scope_to_visible(query, actor, project_id).where(col(GenerationJob.status).in_(statuses))
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
    """Every visible failed job back to the queue, as retry_job does for one; not those the server refused
    (their graph would be refused again: they need their settings or workflow changed)."""
    failed = [job for job in _targets(session, actor, project_id, ["failed"]) if job.can_retry]
    count = _set_where(session, [job.id for job in failed], ["failed"], _FRESH)
    session.commit()
    _emit(job.project_id for job in failed)
    if count:
        events.jobs_queued.emit()
    return count


def requeue(session: Session, job_ids: Sequence[int]) -> int:
    """Failed or cancelled jobs back to the queue from scratch, as retry_job does for one; for callers that
    chose the jobs themselves (a batch's failures). The caller commits and emits; returns how many went back."""
    return _set_where(session, job_ids, RETRYABLE, _FRESH)


def clear_completed(session: Session, actor: User, *, project_id: int | None = None) -> int:
    """Removes completed jobs from the queue; their results stay in the galleries."""
    completed = _targets(session, actor, project_id, ["completed"])
    count = _delete_where(session, [job.id for job in completed], ["completed"])
    session.commit()
    _forget(session, [job.id for job in completed])
    _remove_previews(completed)
    _emit(job.project_id for job in completed)
    return count
