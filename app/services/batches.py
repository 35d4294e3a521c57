"""Batches: one generation setup applied to many clips of a project, queued together and retried together.

Each clip is queued by `generation.queue_clip_jobs`, the function a single clip's Generate uses, so a batch
keeps every rule of a single generation (each clip's own prompts, seeds, the fleet check). A batch is all
or nothing: when one clip cannot be queued, nothing is, and the error names that clip. The estimate runs
the very same queuing and rolls it back, so what it calls a problem is exactly what submitting would refuse.
How a batch reads (its clips' states, counts, lists) lives in app/services/batch_views.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from data.errors import DomainError, Invalid
from data.models import BATCH_NAME_MAX, PRIORITY_MAX, PRIORITY_MIN, Batch, BodyId, Clip, GenerationJob, Scene, User
from data.words import counted

from . import events, form_errors, generation, job_estimates, jobs, projects
from .batch_views import ClipInfo, directory, get_batch, unique
from .generation import GenerateRequest, GenerationSettings
from .job_views import id_slices

MAX_CLIPS = 2000


# --- request shapes (the REST contract) -----------------------------------------------------------


class BatchSettings(GenerationSettings):
    """What every clip of the batch shares; each clip keeps its own prompts and starts a video from its own
    selected image, so prompts and an init image are refused here rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class BatchRequest(BaseModel):
    clip_ids: list[BodyId] = Field(default_factory=list, max_length=MAX_CLIPS)
    settings: BatchSettings
    name: str | None = Field(default=None, max_length=BATCH_NAME_MAX)
    # Every job of the batch gets this priority: the queue serves higher first (0 is a normal request).
    priority: int = Field(default=0, ge=PRIORITY_MIN, le=PRIORITY_MAX)


def parse_batch_request(**values: Any) -> BatchRequest:
    """A request from a form's values; what is wrong comes back as Invalid naming the field."""
    try:
        return BatchRequest(**values)
    except ValidationError as error:
        raise form_errors.invalid_from(error) from error


class ClipProblem(BaseModel):
    clip_id: int
    reason: str


class BatchEstimate(BaseModel):
    clips: int
    jobs: int
    # None when no enabled server is online: nothing would move, so no figure is given.
    estimate_seconds: float | None
    problems: list[ClipProblem]
    # Clips that can be queued but probably should not be as they are (an empty prompt): marked, not refused.
    warnings: list[ClipProblem] = []


def _chosen_clips(session: Session, project_id: int, ids: Sequence[int]) -> tuple[list[Clip], list[int]]:
    """The project's clips among `ids`, in scene then time order (the order they are queued and served in),
    and the ids that are not clips of this project."""
    found: dict[int, Clip] = {}
    for chunk in id_slices(ids):
        for clip in session.exec(select(Clip).where(col(Clip.id).in_(chunk), Clip.project_id == project_id)):
            found[clip.id] = clip  # type: ignore[index]  # a stored row's id is never None
    positions = dict(session.exec(select(Scene.id, Scene.position).where(Scene.project_id == project_id)).all())
    ordered = sorted(found.values(), key=lambda c: (positions.get(c.scene_id, 0), c.scene_id, c.start_frame, c.id))
    return ordered, [clip_id for clip_id in ids if clip_id not in found]


def _not_in_project(clip_id: int) -> str:
    return f"Clip {clip_id} is not in this project (it may have been deleted): leave it out."


def _per_clip(request: BatchRequest, position: int) -> GenerateRequest:
    """The request one clip is queued with. With the "increment" policy a given seed starts the first clip;
    every later clip continues the project's sequence where the one before stopped."""
    values = request.settings.model_dump()
    if position > 0 and values["seed_policy"] == "increment":
        values["seed"] = None
    return GenerateRequest(**values, priority=request.priority)


def _title(info: ClipInfo | None, clip: Clip) -> str:
    if info is None:
        return f"Clip {clip.id}"
    return f"Clip {clip.id} ({info.scene_name} · {info.label})"


# --- creating and estimating -----------------------------------------------------------------------


def default_name(count: int) -> str:
    return f"Batch of {counted(count, 'clip')}"


def create_batch(session: Session, actor: User, project_id: int, request: BatchRequest) -> Batch:
    """Every chosen clip queued with the shared settings and its own prompts, as one Batch; all or nothing.

    Invalid (422) names the first clip that cannot be queued and why; nothing is stored then.
    """
    project = projects.get_project(session, actor, project_id)
    ids = unique(request.clip_ids)
    if not ids:
        raise Invalid("Select at least one clip.", field="clip_ids")
    chosen, missing = _chosen_clips(session, project.id, ids)  # type: ignore[arg-type]  # a stored row's id is never None
    if missing:
        raise Invalid(_not_in_project(missing[0]) + " Nothing was queued.", field="clip_ids")
    name = " ".join((request.name or "").split()) or default_name(len(chosen))
    batch = Batch(
        project_id=project.id,  # type: ignore[arg-type]  # a stored row's id is never None
        owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
        name=name,
        priority=request.priority,
        params={"settings": request.settings.model_dump(mode="json"), "clip_ids": [c.id for c in chosen]},
    )
    passed: set[tuple[object, ...]] = set()
    created: list[GenerationJob] = []
    try:
        session.add(batch)
        session.flush()
        for position, clip in enumerate(chosen):
            per_clip = _per_clip(request, position)
            try:
                created += generation.queue_clip_jobs(session, actor, clip, per_clip, batch_id=batch.id, passed=passed)
            except Invalid as error:
                info = {c.id: c for g in directory(session, project.id) for c in g.clips}.get(clip.id)  # type: ignore[arg-type]  # a stored row's id is never None
                raise Invalid(
                    f"{_title(info, clip)}: {error.message} Nothing was queued: fix that clip or leave it out.",
                    field="clip_ids",
                ) from error
    except DomainError:
        session.rollback()
        raise
    projects.log_activity(
        session,
        project.id,  # type: ignore[arg-type]  # a stored row's id is never None
        actor,
        "generate",
        f"Queued batch “{name}”: {counted(len(created), 'job')} for {counted(len(chosen), 'clip')}",
    )
    session.commit()
    session.refresh(batch)
    events.emit(events.jobs_changed, project.id)
    events.jobs_queued.emit()
    return batch


def estimate_batch(session: Session, actor: User, project_id: int, request: BatchRequest) -> BatchEstimate:
    """How many jobs the batch would make, roughly how long until all are done, and which clips would be
    refused and why. It queues each clip as create_batch would, then rolls everything back: nothing stays."""
    project = projects.get_project(session, actor, project_id)
    ids = unique(request.clip_ids)
    chosen, missing = _chosen_clips(session, project.id, ids)  # type: ignore[arg-type]  # a stored row's id is never None
    problems = [ClipProblem(clip_id=clip_id, reason=_not_in_project(clip_id)) for clip_id in missing]
    passed: set[tuple[object, ...]] = set()
    checkpoints: list[str | None] = []
    failed: dict[int, str] = {}
    try:
        for position, clip in enumerate(chosen):
            try:
                made = generation.queue_clip_jobs(session, actor, clip, _per_clip(request, position), passed=passed)
            except Invalid as error:
                failed[clip.id] = error.message  # type: ignore[index]  # a stored row's id is never None
                continue
            checkpoints.extend(job.checkpoint for job in made)
    finally:
        session.rollback()
    order = {clip_id: position for position, clip_id in enumerate(ids)}
    problems += [ClipProblem(clip_id=k, reason=v) for k, v in sorted(failed.items(), key=lambda i: order[i[0]])]
    seconds = job_estimates.estimate_new_jobs(session, checkpoints, priority=request.priority)
    warnings = [
        ClipProblem(clip_id=clip.id, reason=warning)
        for clip in chosen
        if clip.id not in failed and (warning := generation.empty_prompt_warning(clip, request.settings.mode))
    ]
    return BatchEstimate(
        clips=len(chosen), jobs=len(checkpoints), estimate_seconds=seconds, problems=problems, warnings=warnings
    )


# --- acting on a batch -----------------------------------------------------------------------------


def retry_failed(session: Session, actor: User, batch_id: int) -> int:
    """Only the batch's failed and cancelled jobs go back to the queue (from scratch, as a job's Retry does);
    the batch may then say again that it finished. Returns how many went back."""
    batch = get_batch(session, actor, batch_id)
    ids = session.exec(
        select(GenerationJob.id).where(
            GenerationJob.batch_id == batch.id,
            col(GenerationJob.status).in_(jobs.RETRYABLE),
            col(GenerationJob.can_retry).is_(True),  # a refused graph would be refused again
        )
    ).all()
    count = jobs.requeue(session, [job_id for job_id in ids if job_id is not None])
    if count:
        batch.notified_at = None
        session.add(batch)
        projects.log_activity(
            session,
            batch.project_id,
            actor,
            "generate",
            f"Retried {counted(count, 'failed job')} of batch “{batch.name}”",
        )
    session.commit()
    if count:
        events.emit(events.jobs_changed, batch.project_id)
        events.jobs_queued.emit()
    return count
