"""Projects and what they contain: scenes, clips, gallery items and an activity log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from ._common import StrictNumber, json_column, utcnow

FRAME_RATES: tuple[float, ...] = (23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0)


def _clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if not tag:
            continue
        if len(tag) > 40:
            raise ValueError("each tag is at most 40 characters")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > 30:
        raise ValueError("at most 30 tags")
    return cleaned


def _check_fps(fps: float | None) -> float | None:
    if fps is None:
        return None
    for rate in FRAME_RATES:
        if abs(fps - rate) < 0.0005:
            return rate
    allowed = ", ".join(f"{r:g}" for r in FRAME_RATES)
    raise ValueError(f"frame rate must be one of {allowed}")


class ProjectBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    fps: float = Field(default=24.0)
    width: int = Field(default=1920, ge=64, le=8192)
    height: int = Field(default=1080, ge=64, le=8192)
    target_duration: float = Field(default=60.0, gt=0, le=36000)


class Project(ProjectBase, table=True):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_owner_archived_updated", "owner_id", "archived", "updated_at"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    tags: list[str] = Field(default_factory=list, sa_column=json_column())
    archived: bool = Field(default=False)
    # Generation defaults edited on the project settings page (later issues fill them).
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProjectCreate(ProjectBase):
    tags: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be empty")
        return value

    @field_validator("fps")
    @classmethod
    def _fps(cls, value: float) -> float:
        return _check_fps(value)  # type: ignore[return-value]  # a required fps is never None here, so neither is the check's result

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _clean_tags(value) or []


class ProjectUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    fps: float | None = None
    width: int | None = Field(default=None, ge=64, le=8192)
    height: int | None = Field(default=None, ge=64, le=8192)
    target_duration: float | None = Field(default=None, gt=0, le=36000)
    tags: list[str] | None = None
    archived: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("name must not be empty")
        return value

    @field_validator("fps")
    @classmethod
    def _fps(cls, value: float | None) -> float | None:
        return _check_fps(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return _clean_tags(value)


class ProjectPublic(ProjectBase):
    id: int
    owner_id: int
    tags: list[str]
    archived: bool
    created_at: datetime
    updated_at: datetime


# Each scene and clip text field's limit, in one place: the table, the REST shapes, the services' checks and
# the forms all read these.
SCENE_NAME_MAX = 200
SCENE_DESCRIPTION_MAX = 5000
CLIP_TEXT_LIMITS = {"image_prompt": 20000, "video_prompt": 20000, "label": 200, "notes": 10000}
CLIP_COLOR_MAX = 20

# Where a clip that lands on others goes: allowed to overlap, pushing the later ones (ripple), or trimming them.
OverlapPolicy = Literal["allow", "ripple", "trim"]


class SceneBase(SQLModel):
    """The fields a person writes, with their limits: the table, SceneCreate and ScenePublic share them."""

    name: str = Field(min_length=1, max_length=SCENE_NAME_MAX)
    description: str = Field(default="", max_length=SCENE_DESCRIPTION_MAX)
    estimated_duration: float | None = Field(default=None, ge=0)


class Scene(SceneBase, table=True):
    __tablename__ = "scenes"
    __table_args__ = (Index("ix_scenes_project_position", "project_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    position: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SceneCreate(SceneBase):
    pass


class SceneUpdate(SQLModel):
    """Only the fields given change."""

    name: str | None = Field(default=None, min_length=1, max_length=SCENE_NAME_MAX)
    description: str | None = Field(default=None, max_length=SCENE_DESCRIPTION_MAX)
    estimated_duration: float | None = Field(default=None, ge=0)


class ScenePublic(SceneBase):
    id: int
    project_id: int
    position: int
    created_at: datetime
    updated_at: datetime


class ClipBase(SQLModel):
    """The texts of a clip. The prompts' and notes' lengths are checked by the clip service (CLIP_TEXT_LIMITS,
    answered as a 422 that names the field) rather than here, and their columns stay unbounded."""

    image_prompt: str = Field(default="", sa_type=AutoString)
    video_prompt: str = Field(default="", sa_type=AutoString)
    label: str = Field(default="", max_length=CLIP_TEXT_LIMITS["label"])
    notes: str = Field(default="", sa_type=AutoString)


class Clip(ClipBase, table=True):
    """A timeline clip; times are whole frames of the project's rate so edits never drift."""

    __tablename__ = "clips"
    __table_args__ = (Index("ix_clips_scene_start", "scene_id", "start_frame"),)

    id: int | None = Field(default=None, primary_key=True)
    scene_id: int = Field(foreign_key="scenes.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    start_frame: int = Field(default=0, ge=0)
    duration_frames: int = Field(default=1, ge=1)
    color: str = Field(default="#5c7cfa", max_length=CLIP_COLOR_MAX)
    overlap_allowed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClipCreate(ClipBase):
    """Times in seconds, snapped to the project's frames."""

    start: StrictNumber | None = Field(default=None, description="seconds from the scene start; empty: first free")
    duration: StrictNumber | None = Field(default=None, description="seconds; empty: the project's default")
    color: str | None = Field(default=None, max_length=CLIP_COLOR_MAX)
    overlap: OverlapPolicy = "allow"


class ClipUpdate(SQLModel):
    """Only the fields given change."""

    start: StrictNumber | None = None
    duration: StrictNumber | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None
    label: str | None = Field(default=None, max_length=CLIP_TEXT_LIMITS["label"])
    notes: str | None = None
    color: str | None = Field(default=None, max_length=CLIP_COLOR_MAX)
    overlap: OverlapPolicy = "allow"
    expected_updated_at: datetime | None = Field(
        default=None,
        description="the updated_at your edit started from: if the clip changed since, 409 and nothing is saved",
    )


class ClipPublic(ClipBase):
    """Times both in seconds and in the project's frames."""

    id: int
    scene_id: int
    project_id: int
    start: float
    duration: float
    start_frame: int
    duration_frames: int
    color: str
    overlap: bool
    created_at: datetime
    updated_at: datetime


class GalleryItem(SQLModel, table=True):
    """A generated (or imported) image or video of a clip; `selected` marks the one the cut uses."""

    __tablename__ = "gallery_items"
    __table_args__ = (
        Index("ix_gallery_items_clip_kind_created", "clip_id", "kind", "created_at"),
        Index("ix_gallery_items_clip_selected", "clip_id", "selected"),
        # A replayed or re-reconciled result is never stored twice for one clip.
        UniqueConstraint("clip_id", "content_hash", name="uq_gallery_items_clip_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clips.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    job_id: int | None = Field(default=None, foreign_key="generation_jobs.id", ondelete="SET NULL", index=True)
    kind: str = Field(max_length=10)  # image | video
    file_path: str = Field(max_length=1000)
    thumbnail_path: str | None = Field(default=None, max_length=1000)
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    content_hash: str | None = Field(default=None, max_length=64)
    selected: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Activity(SQLModel, table=True):
    """What happened in a project, newest first on its dashboard."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_project_created", "project_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    kind: str = Field(max_length=40)
    message: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ClipPromptVersion(SQLModel, table=True):
    """One saved state of a clip's two prompts, so a director can look back and restore an earlier wording.

    `n` counts up per clip and is never reused (the oldest versions are pruned past a bound, so the lowest
    kept `n` may be above 1). `saved_by` keeps the name as it was, so a version outlives its author's account."""

    __tablename__ = "clip_prompt_versions"
    __table_args__ = (UniqueConstraint("clip_id", "n", name="uq_clip_prompt_versions_clip_n"),)

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clips.id", ondelete="CASCADE")
    n: int = Field(ge=1)
    image_prompt: str = Field(default="")
    video_prompt: str = Field(default="")
    saved_at: datetime = Field(default_factory=utcnow)
    saved_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    saved_by: str = Field(default="", max_length=40)
