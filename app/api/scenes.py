"""Scenes and clips over REST. Times travel as seconds and are snapped to the project's frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.services import clips, projects, prompt_history, scenes, timeline_analysis, timeline_edit
from data.frames import frames_to_seconds, seconds_to_frames
from data.models import (
    BodyId,
    Clip,
    ClipCreate,
    ClipPublic,
    ClipUpdate,
    OverlapPolicy,
    RowId,
    Scene,
    SceneCreate,
    ScenePublic,
    SceneUpdate,
    StrictNumber,
)

from .deps import SessionDep, UserDep

router = APIRouter(tags=["scenes and clips"])

class ReorderRequest(BaseModel):
    scene_ids: list[BodyId]


class DuplicateSceneRequest(BaseModel):
    include_results: bool = False


class PromptVersionPublic(BaseModel):
    n: int
    image_prompt: str
    video_prompt: str
    saved_at: datetime
    saved_by: str


class SplitRequest(BaseModel):
    at: StrictNumber = Field(description="seconds from the scene start (like the playhead)")


class MergeRequest(BaseModel):
    clip_ids: list[BodyId] = Field(min_length=2)
    keep_result_id: BodyId | None = None


class MoveRequest(BaseModel):
    clip_ids: list[BodyId] = Field(min_length=1)
    delta: StrictNumber = Field(description="seconds; snapped to whole frames")
    overlap: OverlapPolicy = "allow"
    target_scene_id: BodyId | None = None


def _scene(scene: Scene) -> ScenePublic:
    return ScenePublic.model_validate(scene, from_attributes=True)


def _clip(clip: Clip, fps: float) -> ClipPublic:
    return ClipPublic(
        **clip.model_dump(
            include={
                "id",
                "scene_id",
                "project_id",
                "start_frame",
                "duration_frames",
                "image_prompt",
                "video_prompt",
                "label",
                "notes",
                "color",
                "created_at",
                "updated_at",
            }
        ),
        start=frames_to_seconds(clip.start_frame, fps),
        duration=frames_to_seconds(clip.duration_frames, fps),
        overlap=clip.overlap_allowed,
    )


def _fps(session: Session, user: Any, project_id: int) -> float:
    return projects.get_project(session, user, project_id).fps


@router.get("/projects/{project_id}/scenes", response_model=list[ScenePublic])
def list_scenes(project_id: RowId, user: UserDep, session: SessionDep) -> list[ScenePublic]:
    return [_scene(s) for s in scenes.list_scenes(session, user, project_id)]


@router.post("/projects/{project_id}/scenes", response_model=ScenePublic, status_code=status.HTTP_201_CREATED)
def create_scene(project_id: RowId, body: SceneCreate, user: UserDep, session: SessionDep) -> ScenePublic:
    return _scene(scenes.create_scene(session, user, project_id, body.name, body.description, body.estimated_duration))


@router.post("/projects/{project_id}/scenes/reorder", response_model=list[ScenePublic])
def reorder_scenes(project_id: RowId, body: ReorderRequest, user: UserDep, session: SessionDep) -> list[ScenePublic]:
    return [_scene(s) for s in scenes.reorder_scenes(session, user, project_id, body.scene_ids)]


@router.patch("/scenes/{scene_id}", response_model=ScenePublic)
def update_scene(scene_id: RowId, body: SceneUpdate, user: UserDep, session: SessionDep) -> ScenePublic:
    return _scene(scenes.update_scene(session, user, scene_id, **body.model_dump(exclude_unset=True)))


@router.delete("/scenes/{scene_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_scene(scene_id: RowId, user: UserDep, session: SessionDep) -> Response:
    scenes.delete_scene(session, user, scene_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/scenes/{scene_id}/duplicate", response_model=ScenePublic, status_code=status.HTTP_201_CREATED)
def duplicate_scene(
    scene_id: RowId, user: UserDep, session: SessionDep, body: DuplicateSceneRequest | None = None
) -> ScenePublic:
    include = body.include_results if body else False
    return _scene(scenes.duplicate_scene(session, user, scene_id, include_results=include))


@router.get("/scenes/{scene_id}/clips", response_model=list[ClipPublic])
def list_clips(scene_id: RowId, user: UserDep, session: SessionDep) -> list[ClipPublic]:
    scene = scenes.get_scene(session, user, scene_id)
    fps = _fps(session, user, scene.project_id)
    return [_clip(c, fps) for c in clips.list_clips(session, user, scene_id)]


@router.post("/scenes/{scene_id}/clips", response_model=ClipPublic, status_code=status.HTTP_201_CREATED)
def create_clip(scene_id: RowId, body: ClipCreate, user: UserDep, session: SessionDep) -> ClipPublic:
    clip = clips.create_clip(session, user, scene_id, **body.model_dump())
    return _clip(clip, _fps(session, user, clip.project_id))


@router.patch("/clips/{clip_id}", response_model=ClipPublic)
def update_clip(clip_id: RowId, body: ClipUpdate, user: UserDep, session: SessionDep) -> ClipPublic:
    changes = body.model_dump(exclude_unset=True)
    changes["overlap"] = body.overlap
    clip = clips.update_clip(session, user, clip_id, **changes)
    return _clip(clip, _fps(session, user, clip.project_id))


@router.delete("/clips/{clip_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_clip(clip_id: RowId, user: UserDep, session: SessionDep) -> Response:
    clips.delete_clips(session, user, [clip_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/clips/{clip_id}/prompt-history", response_model=list[PromptVersionPublic])
def clip_prompt_history(clip_id: RowId, user: UserDep, session: SessionDep) -> list[PromptVersionPublic]:
    """Every kept version of the clip's prompts, newest first."""
    return [
        PromptVersionPublic.model_validate(v, from_attributes=True)
        for v in prompt_history.list_history(session, user, clip_id)
    ]


@router.post("/clips/{clip_id}/prompt-history/{n}/restore", response_model=ClipPublic)
def restore_clip_prompts(clip_id: RowId, n: RowId, user: UserDep, session: SessionDep) -> ClipPublic:
    """The clip's prompts become version n's again, saved as a new version."""
    clip = clips.restore_prompts(session, user, clip_id, n)
    return _clip(clip, _fps(session, user, clip.project_id))


@router.post("/clips/{clip_id}/split", response_model=list[ClipPublic])
def split_clip(clip_id: RowId, body: SplitRequest, user: UserDep, session: SessionDep) -> list[ClipPublic]:
    left, right = timeline_edit.split_clip(session, user, clip_id, at=body.at)
    fps = _fps(session, user, left.project_id)
    return [_clip(left, fps), _clip(right, fps)]


@router.post("/clips/merge", response_model=ClipPublic)
def merge_clips(body: MergeRequest, user: UserDep, session: SessionDep) -> ClipPublic:
    merged = timeline_edit.merge_clips(session, user, body.clip_ids, keep_result_id=body.keep_result_id)
    return _clip(merged, _fps(session, user, merged.project_id))


@router.post("/clips/move", response_model=list[ClipPublic])
def move_clips(body: MoveRequest, user: UserDep, session: SessionDep) -> list[ClipPublic]:
    first = clips.get_clip(session, user, body.clip_ids[0])
    fps = _fps(session, user, first.project_id)
    moved = clips.move_clips(
        session, user, body.clip_ids, seconds_to_frames(body.delta, fps), body.overlap, body.target_scene_id
    )
    return [_clip(c, fps) for c in moved]


@router.get("/projects/{project_id}/timeline/analysis")
def timeline_analysis_route(project_id: RowId, user: UserDep, session: SessionDep) -> dict[str, Any]:
    return timeline_analysis.analyse_project(session, user, project_id)
