"""Batches as people read them: a project's clips to choose from, and a batch's state per clip and in total.

Pages, components and the REST API draw batches from these views; app/services/batches.py creates, estimates
and retries them. Who may see a batch is the rule of its project (projects.get_project), here alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlmodel import Session, col, select

from data.errors import Invalid
from data.models import Batch, BatchBase, Clip, GalleryItem, GenerationJob, Scene, User

from . import projects
from .job_views import id_slices

ACTIVE = ("dispatched", "running")
FINISHED = ("completed", "failed", "cancelled")
ClipState = Literal["queued", "running", "completed", "failed", "cancelled", "cleared"]
BatchState = Literal["queued", "running", "completed", "failed", "cancelled"]
CLIP_STATES: tuple[str, ...] = ("queued", "running", "completed", "failed", "cancelled", "cleared")
JOB_STATES: tuple[str, ...] = ("queued", "dispatched", "running", "completed", "failed", "cancelled")


# --- view shapes (the REST contract) ---------------------------------------------------------------


class BatchJobState(BaseModel):
    id: int
    kind: str
    status: str
    progress: float


class BatchClipRow(BaseModel):
    clip_id: int
    label: str
    scene_id: int
    scene_name: str
    status: ClipState
    progress: float
    error: str | None
    jobs: list[BatchJobState]
    # The newest result the batch made for this clip (a gallery item id), once there is one.
    result_item_id: int | None


class BatchSummary(BatchBase):
    id: int
    project_id: int
    owner_id: int
    created_at: datetime
    notified_at: datetime | None
    status: BatchState
    progress: float
    finished: bool
    clip_count: int
    job_count: int
    clip_counts: dict[str, int]
    job_counts: dict[str, int]


class BatchView(BatchSummary):
    settings: dict[str, Any]
    clips: list[BatchClipRow]


@dataclass(frozen=True)
class ClipInfo:
    """A clip as the batch dialog and the progress rows name it."""

    id: int
    label: str
    index: int  # 1-based in its scene, by start time
    scene_id: int
    scene_name: str
    has_image: bool
    has_video: bool


@dataclass(frozen=True)
class SceneClips:
    scene_id: int
    name: str
    clips: list[ClipInfo]


# --- the project's clips ---------------------------------------------------------------------------


def _result_kinds(session: Session, clip_ids: Iterable[int]) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = defaultdict(set)
    for chunk in id_slices(clip_ids):
        query = select(GalleryItem.clip_id, GalleryItem.kind).where(col(GalleryItem.clip_id).in_(chunk)).distinct()
        for clip_id, kind in session.exec(query):
            kinds[clip_id].add(kind)
    return kinds


def directory(session: Session, project_id: int) -> list[SceneClips]:
    """Every clip of the project, grouped by scene in scene order, each scene's clips by start time."""
    scene_rows = session.exec(
        select(Scene.id, Scene.name).where(Scene.project_id == project_id).order_by(col(Scene.position), col(Scene.id))
    ).all()
    clip_rows = session.exec(
        select(Clip.id, Clip.scene_id, Clip.label)
        .where(Clip.project_id == project_id)
        .order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    kinds = _result_kinds(session, [row[0] for row in clip_rows])  # type: ignore[misc]  # a stored row's id is never None
    by_scene: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for clip_id, clip_scene_id, label in clip_rows:
        by_scene[clip_scene_id].append((clip_id, label))  # type: ignore[arg-type]  # a stored row's id is never None
    groups = []
    for scene_id, scene_name in scene_rows:
        infos = [
            ClipInfo(
                id=clip_id,
                label=label or f"Clip #{index}",
                index=index,
                scene_id=scene_id,  # type: ignore[arg-type]  # ids of stored scenes are never None
                scene_name=scene_name,
                has_image="image" in kinds.get(clip_id, set()),
                has_video="video" in kinds.get(clip_id, set()),
            )
            for index, (clip_id, label) in enumerate(by_scene.get(scene_id, []), start=1)  # type: ignore[arg-type]  # ids of stored scenes are never None
        ]
        groups.append(SceneClips(scene_id, scene_name, infos))  # type: ignore[arg-type]  # ids of stored scenes are never None
    return groups


def batch_candidates(session: Session, actor: User, project_id: int) -> list[SceneClips]:
    """What the batch dialog offers: the project's clips by scene, each saying whether it has results."""
    project = projects.get_project(session, actor, project_id)
    return directory(session, project.id)  # type: ignore[arg-type]  # a stored row's id is never None


def result_kind(mode: str) -> str:
    """The kind of result a mode ends in: a video for "video" and "both", else an image."""
    return "video" if mode in ("video", "both") else "image"


def clips_without_result(session: Session, actor: User, project_id: int, kind: str = "image") -> list[int]:
    """Clips (in scene and time order) with no result of this kind at all: none chosen and none to choose from."""
    if kind not in ("image", "video"):
        raise Invalid(f"Unknown result kind “{kind}”: use image or video.", field="kind")
    groups = batch_candidates(session, actor, project_id)
    attribute = "has_image" if kind == "image" else "has_video"
    return [clip.id for group in groups for clip in group.clips if not getattr(clip, attribute)]


def unique(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


# --- reading ---------------------------------------------------------------------------------------


def get_batch(session: Session, actor: User, batch_id: int) -> Batch:
    """Another user's batch is NotFound, like their project: its existence is not disclosed."""
    return projects.get_within(session, actor, Batch, batch_id, "Batch", fresh=True)


@dataclass(frozen=True)
class _JobRow:
    id: int
    kind: str
    batch_id: int
    clip_id: int | None
    status: str
    progress: float
    error: str | None


def _job_rows(session: Session, batch_ids: Iterable[int]) -> dict[int, list[_JobRow]]:
    rows: dict[int, list[_JobRow]] = defaultdict(list)
    for chunk in id_slices(batch_ids):
        query = (
            select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
                GenerationJob.id,
                GenerationJob.kind,
                GenerationJob.batch_id,
                GenerationJob.clip_id,
                GenerationJob.status,
                GenerationJob.progress,
                GenerationJob.error,
            )
            .where(col(GenerationJob.batch_id).in_(chunk))
            .order_by(col(GenerationJob.id))
        )
        for row in session.exec(query):
            job = _JobRow(*row)
            rows[job.batch_id].append(job)
    return rows


def _done(job: _JobRow) -> float:
    """How far one job is: a finished job (whatever its outcome) counts whole."""
    if job.status in FINISHED:
        return 1.0
    if job.status in ACTIVE:
        return max(0.0, min(1.0, job.progress or 0.0))
    return 0.0


def clip_state(statuses: Sequence[str]) -> ClipState:
    """A clip's jobs as one state: still working while any job is, then failed or cancelled if any was."""
    if not statuses:
        return "cleared"
    if any(s in ACTIVE for s in statuses):
        return "running"
    if any(s == "queued" for s in statuses):
        return "running" if any(s in FINISHED for s in statuses) else "queued"
    if any(s == "failed" for s in statuses):
        return "failed"
    if any(s == "cancelled" for s in statuses):
        return "cancelled"
    return "completed"


def _batch_state(clip_states: Sequence[str]) -> BatchState:
    working = [s for s in clip_states if s in ("queued", "running")]
    if working:
        return "queued" if all(s == "queued" for s in clip_states) else "running"
    if any(s == "failed" for s in clip_states):
        return "failed"
    if clip_states and all(s == "cancelled" for s in clip_states):
        return "cancelled"
    return "completed"


def _existing_clips(session: Session, project_id: int) -> set[int]:
    return {clip_id for clip_id in session.exec(select(Clip.id).where(Clip.project_id == project_id)) if clip_id}


def _batch_clips(batch: Batch, by_clip: dict[int, list[_JobRow]], existing: set[int]) -> list[int]:
    """The batch's clips that still exist, in the order they were queued (a deleted clip's jobs went with it)."""
    return [c for c in unique([*(batch.params or {}).get("clip_ids", []), *by_clip]) if c in existing]


def _summary(
    batch: Batch, rows: list[_JobRow], existing: set[int]
) -> tuple[BatchSummary, dict[int, list[_JobRow]], list[int]]:
    by_clip: dict[int, list[_JobRow]] = defaultdict(list)
    for job in rows:
        if job.clip_id is not None:
            by_clip[job.clip_id].append(job)
    clip_ids = _batch_clips(batch, by_clip, existing)
    states = [clip_state([job.status for job in by_clip.get(clip_id, [])]) for clip_id in clip_ids]
    clip_counts = dict.fromkeys(CLIP_STATES, 0)
    for state in states:
        clip_counts[state] += 1
    job_counts = dict.fromkeys(JOB_STATES, 0)
    for job in rows:
        job_counts[job.status] = job_counts.get(job.status, 0) + 1
    summary = BatchSummary(
        id=batch.id,  # type: ignore[arg-type]  # a stored row's id is never None
        project_id=batch.project_id,
        owner_id=batch.owner_id,
        name=batch.name,
        priority=batch.priority,
        created_at=batch.created_at,
        notified_at=batch.notified_at,
        status=_batch_state(states),
        progress=round(sum(_done(job) for job in rows) / len(rows), 4) if rows else 1.0,
        finished=not any(job.status == "queued" or job.status in ACTIVE for job in rows),
        clip_count=len(clip_ids),
        job_count=len(rows),
        clip_counts=clip_counts,
        job_counts=job_counts,
    )
    return summary, by_clip, clip_ids


def _newest_results(session: Session, job_ids: Iterable[int]) -> dict[int, int]:
    """Clip id → the newest gallery item made by one of these jobs."""
    newest: dict[int, int] = {}
    for chunk in id_slices(job_ids):
        query = select(GalleryItem.clip_id, GalleryItem.id).where(col(GalleryItem.job_id).in_(chunk))
        for clip_id, item_id in session.exec(query):
            newest[clip_id] = max(newest.get(clip_id, 0), item_id)  # type: ignore[type-var, assignment]  # a stored row's id is never None
    return newest


def batch_status(session: Session, actor: User, batch_id: int) -> BatchView:
    """The batch as its progress view shows it: one row per clip (its jobs' state as one, how far, why it
    failed, its newest result) and the counts."""
    batch = get_batch(session, actor, batch_id)
    rows = _job_rows(session, [batch_id]).get(batch_id, [])
    infos = {clip.id: clip for group in directory(session, batch.project_id) for clip in group.clips}
    summary, by_clip, clip_ids = _summary(batch, rows, set(infos))
    results = _newest_results(session, [job.id for job in rows])
    clip_rows = []
    for clip_id in clip_ids:
        info = infos[clip_id]
        found = by_clip.get(clip_id, [])
        errors = [job.error for job in found if job.status == "failed" and job.error]
        clip_rows.append(
            BatchClipRow(
                clip_id=clip_id,
                label=info.label,
                scene_id=info.scene_id,
                scene_name=info.scene_name,
                status=clip_state([job.status for job in found]),
                progress=round(sum(_done(job) for job in found) / len(found), 4) if found else 1.0,
                error=errors[0] if errors else None,
                jobs=[BatchJobState(id=j.id, kind=j.kind, status=j.status, progress=_done(j)) for j in found],
                result_item_id=results.get(clip_id),
            )
        )
    return BatchView(
        **summary.model_dump(),
        settings=dict((batch.params or {}).get("settings") or {}),
        clips=clip_rows,
    )


def list_batches(session: Session, actor: User, project_id: int) -> list[BatchSummary]:
    """A project's batches, newest first, each with its counts."""
    project = projects.get_project(session, actor, project_id)
    found = list(
        session.exec(
            select(Batch)
            .where(Batch.project_id == project.id)
            .order_by(col(Batch.created_at).desc(), col(Batch.id).desc())
        )
    )
    rows = _job_rows(session, [batch.id for batch in found])  # type: ignore[misc]  # a stored row's id is never None
    existing = _existing_clips(session, project.id)  # type: ignore[arg-type]  # a stored row's id is never None
    return [_summary(batch, rows.get(batch.id, []), existing)[0] for batch in found]  # type: ignore[arg-type]  # a stored row's id is never None
