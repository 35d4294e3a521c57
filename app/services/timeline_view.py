"""The view-model the timeline editor draws: plain dicts, one per clip, from one query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from data.models import Clip, GalleryItem, GenerationJob, Scene, User

from . import scenes

# What a card's status badge says, most urgent first: a clip with a running job reads "running"
# even while more of its variations wait in the queue.
ACTIVE_STATUSES = {"dispatched": "running", "running": "running", "queued": "queued"}


def clip_cards(session: Session, actor: User, scene_id: int) -> list[dict[str, Any]]:
    """What a clip card shows: timing in frames, label, colour, warnings, the chosen result and the job state.

    Three queries for the whole scene (clips, selected results, job states), whatever its number of clips.
    """
    scenes.get_scene(session, actor, scene_id)
    clips = session.exec(
        select(Clip).where(Clip.scene_id == scene_id).order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    thumbnails = selected_thumbnails(session, scene_id)
    statuses = job_statuses(session, scene_id)
    cards = []
    for clip in clips:
        cards.append(
            {
                "id": clip.id,
                "start_frame": clip.start_frame,
                "duration_frames": clip.duration_frames,
                "label": clip.label or f"Clip {clip.id}",
                "color": clip.color,
                "thumbnail": thumbnails.get(clip.id),  # type: ignore[arg-type]  # a stored row's id is never None
                "status": statuses.get(clip.id),  # type: ignore[arg-type]  # a stored row's id is never None
                "overlap": clip.overlap_allowed,
                "has_prompts": bool(clip.image_prompt.strip() and clip.video_prompt.strip()),
            }
        )
    return cards


def thumbnail_url(item_id: int) -> str:
    """The authenticated thumbnail route (a video's poster frame); it accepts the browser's session cookie."""
    return f"/api/v1/gallery/{item_id}/thumbnail"


def selected_thumbnails(session: Session, scene_id: int) -> dict[int, str]:
    """Clip id → thumbnail of its selected image, or of its selected video when it has no selected image."""
    in_scene = select(Clip.id).where(Clip.scene_id == scene_id)
    rows = session.exec(
        select(GalleryItem.clip_id, GalleryItem.kind, GalleryItem.id).where(
            col(GalleryItem.clip_id).in_(in_scene),
            col(GalleryItem.selected).is_(True),
        )
    ).all()
    found: dict[int, str] = {}
    for clip_id, _kind, item_id in sorted(rows, key=lambda row: row[1] != "image"):  # images first
        found.setdefault(clip_id, thumbnail_url(item_id))  # type: ignore[arg-type]  # a stored row's id is never None
    return found


def job_statuses(session: Session, scene_id: int) -> dict[int, str]:
    """Clip id → "running" / "queued" while it has such jobs, else "failed" when its latest finished job failed.

    A failure stops showing once a later job of the clip completes (a retried job finishes later, so it counts
    by when it finished, not when it was made); cancelled jobs say nothing about the clip.
    """
    in_scene = select(Clip.id).where(Clip.scene_id == scene_id)
    rows = session.exec(
        select(GenerationJob.clip_id, GenerationJob.status, func.max(GenerationJob.finished_at))
        .where(
            col(GenerationJob.clip_id).in_(in_scene),
            col(GenerationJob.status).in_(("queued", "dispatched", "running", "completed", "failed")),
        )
        .group_by(col(GenerationJob.clip_id), col(GenerationJob.status))
    ).all()
    active: dict[int, set[str]] = {}
    finished: dict[int, dict[str, datetime | None]] = {}
    for clip_id, status, last_finished in rows:
        if status in ACTIVE_STATUSES:
            active.setdefault(clip_id, set()).add(ACTIVE_STATUSES[status])  # type: ignore[arg-type]  # only jobs of this scene's clips: clip_id is set
        else:
            finished.setdefault(clip_id, {})[status] = last_finished  # type: ignore[arg-type]  # only jobs of this scene's clips: clip_id is set
    found: dict[int, str] = {}
    for clip_id in active.keys() | finished.keys():
        states = active.get(clip_id, set())
        if states:
            found[clip_id] = "running" if "running" in states else "queued"
            continue
        ends = finished[clip_id]
        failed, completed = ends.get("failed"), ends.get("completed")
        if "failed" in ends and (completed is None or (failed is not None and failed > completed)):
            found[clip_id] = "failed"
    return found


def neighbours(session: Session, actor: User, scene_id: int) -> tuple[Scene | None, Scene | None]:
    """The scenes before and after this one, for previous / next navigation."""
    scene = scenes.get_scene(session, actor, scene_id)
    ordered = scenes.list_scenes(session, actor, scene.project_id)
    index = next(i for i, s in enumerate(ordered) if s.id == scene_id)
    return (ordered[index - 1] if index > 0 else None, ordered[index + 1] if index + 1 < len(ordered) else None)
