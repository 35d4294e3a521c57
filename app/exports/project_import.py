"""Importing a StoryCanvas JSON export (the schema is documented in project_json): a new project of the user's.

The document is validated strictly first (unknown fields and newer versions are refused with a reason), then
recreated in one transaction; result files are copied only from projects the importing user may see.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from app.config import get_settings
from app.services import events, media_store, projects, scenes
from app.services.errors import Invalid, NotFound
from data.models import (
    Character,
    Clip,
    ClipCharacterLink,
    ClipStyleLink,
    GalleryItem,
    MediaAsset,
    Project,
    Scene,
    StyleTemplate,
    User,
)

from .project_json import SCHEMA, VERSION


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ResultDoc(_Strict):
    kind: Literal["image", "video"]
    file: str = Field(default="", max_length=300)
    path: str = Field(max_length=1000)
    thumbnail: str | None = Field(default=None, max_length=1000)
    content_hash: str | None = Field(default=None, max_length=64)
    selected: bool = False
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class ClipDoc(_Strict):
    start_frame: int = Field(ge=0, le=6 * 3600 * 60)
    duration_frames: int = Field(ge=1, le=6 * 3600 * 60)
    label: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=10000)
    color: str = Field(default="#5c7cfa", max_length=20)
    image_prompt: str = Field(default="", max_length=20000)
    video_prompt: str = Field(default="", max_length=20000)
    overlap_allowed: bool = False
    characters: list[str] = Field(default_factory=list)
    styles: list[str] = Field(default_factory=list)
    results: list[ResultDoc] = Field(default_factory=list)


class SceneDoc(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    estimated_duration: float | None = Field(default=None, gt=0, le=36000)
    clips: list[ClipDoc] = Field(default_factory=list)


class CharacterDoc(_Strict):
    key: str = Field(min_length=1, max_length=40)
    scope: Literal["project", "global"] = "project"
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    prompt: str = ""
    negative_prompt: str = ""


class StyleDoc(_Strict):
    key: str = Field(min_length=1, max_length=40)
    scope: Literal["project", "global"] = "project"
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative_prompt: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class AssetDoc(_Strict):
    kind: str = Field(max_length=20)
    original_name: str = Field(default="", max_length=255)
    mime_type: str = Field(default="", max_length=100)
    size_bytes: int = 0
    duration: float | None = None
    analysis: dict[str, Any] = Field(default_factory=dict)
    path: str = Field(max_length=1000)


class ProjectDoc(_Strict):
    name: str
    description: str = ""
    fps: float = 24.0
    width: int = 1920
    height: int = 1080
    target_duration: float = 60.0
    tags: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


class Document(_Strict):
    schema_: str = Field(alias="schema")
    version: int
    project: ProjectDoc
    characters: list[CharacterDoc] = Field(default_factory=list)
    styles: list[StyleDoc] = Field(default_factory=list)
    scenes: list[SceneDoc] = Field(default_factory=list)
    media_assets: list[AssetDoc] = Field(default_factory=list)

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str) -> str:
        if value != SCHEMA:
            raise ValueError(f"this is not a StoryCanvas project export (schema must be “{SCHEMA}”)")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value > VERSION:
            raise ValueError(f"made by a newer StoryCanvas (version {value}); this one reads up to {VERSION}")
        if value < 1:
            raise ValueError("unknown version")
        return value


def parse_document(raw: bytes | str | dict[str, Any]) -> Document:
    """The document checked against the schema, with a reason a person can act on when it does not fit."""
    try:
        data = raw if isinstance(raw, dict) else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise Invalid(f"The file is not JSON ({error}). Import a StoryCanvas project export.") from None
    if not isinstance(data, dict):
        raise Invalid("The file is not a StoryCanvas project export: expected a JSON object.")
    try:
        return Document.model_validate(data)
    except ValidationError as error:
        raise projects.validation_error(error) from None


def _readable_source(session: Session, actor: User, stored: str | None) -> Path | None:
    """A file of the document, only when it lies in a project the importing user may see (no peeking)."""
    path = scenes.media_path(stored)
    parts = PurePosixPath(stored or "").parts
    if path is None or not path.is_file() or len(parts) < 3 or parts[0] != "projects" or not parts[1].isdigit():
        return None
    try:
        projects.get_project(session, actor, int(parts[1]))
    except NotFound:
        return None
    return path


def _copy(source: Path, folder: Path, created: list[Path]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if not target.exists():
        shutil.copy2(source, target)
        created.append(target)
    return target.relative_to(get_settings().media_dir).as_posix()


def _library(session: Session, actor: User, project: Project, doc: Document) -> tuple[dict[str, int], dict[str, int]]:
    """Characters and styles by key: the user's global one of that name, else a new one in the project."""
    characters: dict[str, int] = {}
    for entry in doc.characters:
        found = None
        if entry.scope == "global":
            found = session.exec(
                select(Character).where(
                    Character.owner_id == actor.id, col(Character.project_id).is_(None), Character.name == entry.name
                )
            ).first()
        if found is None:
            found = Character(
                owner_id=actor.id,  # type: ignore[arg-type]
                project_id=project.id,
                **entry.model_dump(include={"name", "description", "prompt", "negative_prompt"}),
            )
            session.add(found)
            session.flush()
        characters[entry.key] = found.id  # type: ignore[assignment]
    styles: dict[str, int] = {}
    for entry in doc.styles:
        style = None
        if entry.scope == "global":
            style = session.exec(
                select(StyleTemplate).where(
                    StyleTemplate.owner_id == actor.id,
                    col(StyleTemplate.project_id).is_(None),
                    StyleTemplate.name == entry.name,
                )
            ).first()
        if style is None:
            style = StyleTemplate(
                owner_id=actor.id,  # type: ignore[arg-type]
                project_id=project.id,
                **entry.model_dump(
                    include={"name", "description", "prompt_prefix", "prompt_suffix", "negative_prompt", "params"}
                ),
            )
            session.add(style)
            session.flush()
        styles[entry.key] = style.id  # type: ignore[assignment]
    return characters, styles


def import_document(session: Session, actor: User, raw: bytes | str | dict[str, Any]) -> tuple[Project, list[str]]:
    """A new project of the user's, made from an export; returns it with what could not be brought along."""
    doc = parse_document(raw)
    data = projects.parse_create(
        **doc.project.model_dump(include={"name", "description", "fps", "width", "height", "target_duration", "tags"})
    )
    warnings: list[str] = []
    created: list[Path] = []
    try:
        project = Project(**data.model_dump(), owner_id=actor.id, settings=doc.project.settings)  # type: ignore[arg-type]
        session.add(project)
        session.flush()
        characters, styles = _library(session, actor, project, doc)
        media_root = media_store.project_media_dir(project.id)  # type: ignore[arg-type]
        skipped = 0
        for position, scene_doc in enumerate(doc.scenes):
            scene = Scene(
                project_id=project.id,  # type: ignore[arg-type]
                position=position,
                **scene_doc.model_dump(include={"name", "description", "estimated_duration"}),
            )
            session.add(scene)
            session.flush()
            for clip_doc in scene_doc.clips:
                clip = Clip(
                    scene_id=scene.id,  # type: ignore[arg-type]
                    project_id=project.id,  # type: ignore[arg-type]
                    **clip_doc.model_dump(exclude={"characters", "styles", "results"}),
                )
                session.add(clip)
                session.flush()
                for key in dict.fromkeys(clip_doc.characters):
                    if key not in characters:
                        raise Invalid(f"A clip refers to character “{key}”, which the document does not define.")
                    session.add(ClipCharacterLink(clip_id=clip.id, character_id=characters[key]))  # type: ignore[arg-type]
                for key in dict.fromkeys(clip_doc.styles):
                    if key not in styles:
                        raise Invalid(f"A clip refers to style “{key}”, which the document does not define.")
                    session.add(ClipStyleLink(clip_id=clip.id, style_id=styles[key]))  # type: ignore[arg-type]
                folder = media_root / "clips" / str(clip.id)
                for result in clip_doc.results:
                    source = _readable_source(session, actor, result.path)
                    if source is None:
                        skipped += 1
                        continue
                    thumbnail = _readable_source(session, actor, result.thumbnail)
                    item = GalleryItem(
                        clip_id=clip.id,  # type: ignore[arg-type]
                        project_id=project.id,  # type: ignore[arg-type]
                        kind=result.kind,
                        file_path=_copy(source, folder, created),
                        thumbnail_path=_copy(thumbnail, folder, created) if thumbnail else None,
                        **result.model_dump(
                            include={"width", "height", "duration", "params", "content_hash", "selected"}
                        ),
                    )
                    if result.created_at is not None:
                        item.created_at = result.created_at
                    session.add(item)
        for asset_doc in doc.media_assets:
            source = _readable_source(session, actor, asset_doc.path)
            if source is None:
                skipped += 1
                continue
            session.add(
                MediaAsset(
                    owner_id=actor.id,  # type: ignore[arg-type]
                    project_id=project.id,
                    file_path=_copy(source, media_root / "assets", created),
                    **asset_doc.model_dump(exclude={"path"}),
                )
            )
        if skipped:
            warnings.append(
                f"{skipped} file(s) were not brought along: they are not on this server or not in a project of yours."
            )
        message = f"Imported “{project.name}” from an export"
        projects.log_activity(session, project.id, actor, "project.created", message)  # type: ignore[arg-type]
        session.commit()
    except BaseException:
        session.rollback()
        for path in created:
            path.unlink(missing_ok=True)
        raise
    session.refresh(project)
    events.emit(events.project_changed, project.id)
    return project, warnings
