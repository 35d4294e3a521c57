"""What a project's scene cards show, in two grouped queries however many scenes there are."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from data.frames import frames_to_seconds
from data.models import Clip, GalleryItem, Scene, User

from . import projects


@dataclass(frozen=True)
class SceneSummary:
    id: int
    position: int
    name: str
    description: str
    estimated_duration: float | None
    clip_count: int
    duration_frames: int
    duration: float
    clips_with_selection: int


def scene_summaries(session: Session, actor: User, project_id: int) -> list[SceneSummary]:
    """Scenes in order with clip count, length (end of the last clip) and how many clips have a chosen result."""
    project = projects.get_project(session, actor, project_id)
    scenes = session.exec(
        select(Scene).where(Scene.project_id == project_id).order_by(col(Scene.position), col(Scene.id))
    ).all()
    clip_rows = session.exec(
        select(Clip.scene_id, func.count(), func.max(Clip.start_frame + Clip.duration_frames))
        .where(Clip.project_id == project_id)
        .group_by(col(Clip.scene_id))
    ).all()
    selected_rows = session.exec(
        select(Clip.scene_id, func.count(func.distinct(GalleryItem.clip_id)))
        .join(GalleryItem, col(GalleryItem.clip_id) == Clip.id)
        .where(Clip.project_id == project_id, GalleryItem.selected == True)  # noqa: E712
        .group_by(col(Clip.scene_id))
    ).all()
    clips_by_scene = {scene_id: (count, end or 0) for scene_id, count, end in clip_rows}
    selected_by_scene = dict(selected_rows)
    summaries = []
    for scene in scenes:
        count, end = clips_by_scene.get(scene.id, (0, 0))  # type: ignore[arg-type]  # a stored row's id is never None
        summaries.append(
            SceneSummary(
                id=scene.id,  # type: ignore[arg-type]  # a stored row's id is never None
                position=scene.position,
                name=scene.name,
                description=scene.description,
                estimated_duration=scene.estimated_duration,
                clip_count=count,
                duration_frames=end,
                duration=frames_to_seconds(end, project.fps),
                clips_with_selection=selected_by_scene.get(scene.id, 0),  # type: ignore[arg-type]  # a stored row's id is never None
            )
        )
    return summaries
