"""The whole project as one JSON document (schema "storycanvas.project", version 1), and its import.

The document (all times are whole frames of the project's rate; seconds are given beside them to read):

    {"schema": "storycanvas.project", "version": 1, "exported_at": ISO-8601,
     "source": {"project_id", "app_version"},                    # where it came from; not imported
     "project": {"name", "description", "fps", "width", "height", "target_duration", "tags", "settings"},
     "characters": [{"key", "scope": "project"|"global", "name", "description", "prompt", "negative_prompt"}],
     "styles": [{"key", "scope", "name", "description", "prompt_prefix", "prompt_suffix", "negative_prompt",
                 "params"}],
     "scenes": [{"name", "description", "estimated_duration",
                 "clips": [{"start_frame", "duration_frames", "start", "duration", "label", "notes", "color",
                            "image_prompt", "video_prompt", "overlap_allowed",
                            "characters": [key…], "styles": [key…],
                            "results": [{"kind": "image"|"video", "file", "path", "thumbnail", "content_hash",
                                         "selected", "width", "height", "duration", "params", "created_at"}]}]}],
     "media_assets": [{"kind", "original_name", "mime_type", "size_bytes", "duration", "analysis", "path"}]}

Characters and styles are those of the project plus the global ones its clips use; clips refer to them by
key. `path` is where a file lies in the exporting installation (relative to its media folder), `file` its
name. Import recreates the project for the importing user: same scenes, clips, prompts, links, results
(files copied from projects that user may see; others are skipped and reported) and selections. A global
character or style is linked when the user has one of that name, else recreated in the project. Exporting
the imported project gives the same document, except exported_at, source and the paths.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from app import __version__
from app.config import get_settings
from app.services import events, frames, media_store, projects, scenes
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

SCHEMA = "storycanvas.project"
VERSION = 1
FORMAT = "json"
EXTENSION = "storycanvas.json"
MEDIA_TYPE = "application/json"


_CLIP_COLUMNS = (
    Clip.id,
    Clip.scene_id,
    Clip.start_frame,
    Clip.duration_frames,
    Clip.label,
    Clip.notes,
    Clip.color,
    Clip.image_prompt,
    Clip.video_prompt,
    Clip.overlap_allowed,
)
_RESULT_COLUMNS = (
    GalleryItem.clip_id,
    GalleryItem.kind,
    GalleryItem.file_path,
    GalleryItem.thumbnail_path,
    GalleryItem.content_hash,
    GalleryItem.selected,
    GalleryItem.width,
    GalleryItem.height,
    GalleryItem.duration,
    GalleryItem.params,
    GalleryItem.created_at,
)


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _keys(rows: list[Any], prefix: str, project_id: int) -> dict[int, str]:
    """Stable keys by scope and name (then age), so an imported project exports the same keys."""
    ordered = sorted(rows, key=lambda row: (row.project_id is None, row.name, row.id))
    return {row.id: f"{prefix}{index}" for index, row in enumerate(ordered, start=1)}


def export_document(session: Session, actor: User, project_id: int) -> dict[str, Any]:
    """The project as the schema above; NotFound for a project the user may not see."""
    project = projects.get_project(session, actor, project_id)
    fps = project.fps
    scene_rows = session.exec(
        select(Scene).where(Scene.project_id == project.id).order_by(col(Scene.position), col(Scene.id))
    ).all()
    # Rows of columns, not entities: a 10,000-clip project would spend most of its export building objects.
    clip_rows = session.exec(
        select(*_CLIP_COLUMNS).where(Clip.project_id == project.id).order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    results: dict[int, list[Any]] = {}
    for item in session.exec(
        select(*_RESULT_COLUMNS)
        .where(GalleryItem.project_id == project.id)
        .order_by(col(GalleryItem.created_at), col(GalleryItem.id))
    ).all():
        results.setdefault(item.clip_id, []).append(item)
    in_project = select(Clip.id).where(Clip.project_id == project.id)
    character_links = session.exec(
        select(ClipCharacterLink).where(col(ClipCharacterLink.clip_id).in_(in_project))
    ).all()
    style_links = session.exec(select(ClipStyleLink).where(col(ClipStyleLink.clip_id).in_(in_project))).all()
    used_characters = {link.character_id for link in character_links}
    used_styles = {link.style_id for link in style_links}
    characters = session.exec(
        select(Character).where((Character.project_id == project.id) | col(Character.id).in_(used_characters))
    ).all()
    styles = session.exec(
        select(StyleTemplate).where((StyleTemplate.project_id == project.id) | col(StyleTemplate.id).in_(used_styles))
    ).all()
    character_keys = _keys(list(characters), "c", project.id)  # type: ignore[arg-type]
    style_keys = _keys(list(styles), "s", project.id)  # type: ignore[arg-type]
    clip_characters: dict[int, list[str]] = {}
    for link in character_links:
        clip_characters.setdefault(link.clip_id, []).append(character_keys[link.character_id])
    clip_styles: dict[int, list[str]] = {}
    for link in style_links:
        clip_styles.setdefault(link.clip_id, []).append(style_keys[link.style_id])
    by_scene: dict[int, list[Any]] = {}
    for clip in clip_rows:
        by_scene.setdefault(clip.scene_id, []).append(clip)
    assets = session.exec(
        select(MediaAsset)
        .where(MediaAsset.project_id == project.id)
        .order_by(col(MediaAsset.created_at), col(MediaAsset.id))
    ).all()
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "exported_at": _time(datetime.now(UTC)),
        "source": {"project_id": project.id, "app_version": __version__},
        "project": {
            "name": project.name,
            "description": project.description,
            "fps": project.fps,
            "width": project.width,
            "height": project.height,
            "target_duration": project.target_duration,
            "tags": list(project.tags or []),
            "settings": dict(project.settings or {}),
        },
        "characters": [
            {
                "key": character_keys[row.id],  # type: ignore[index]
                "scope": "global" if row.project_id is None else "project",
                "name": row.name,
                "description": row.description,
                "prompt": row.prompt,
                "negative_prompt": row.negative_prompt,
            }
            for row in sorted(characters, key=lambda row: character_keys[row.id])  # type: ignore[index]
        ],
        "styles": [
            {
                "key": style_keys[row.id],  # type: ignore[index]
                "scope": "global" if row.project_id is None else "project",
                "name": row.name,
                "description": row.description,
                "prompt_prefix": row.prompt_prefix,
                "prompt_suffix": row.prompt_suffix,
                "negative_prompt": row.negative_prompt,
                "params": dict(row.params or {}),
            }
            for row in sorted(styles, key=lambda row: style_keys[row.id])  # type: ignore[index]
        ],
        "scenes": [
            {
                "name": scene.name,
                "description": scene.description,
                "estimated_duration": scene.estimated_duration,
                "clips": [
                    {
                        "start_frame": clip.start_frame,
                        "duration_frames": clip.duration_frames,
                        "start": frames.frames_to_seconds(clip.start_frame, fps),
                        "duration": frames.frames_to_seconds(clip.duration_frames, fps),
                        "label": clip.label,
                        "notes": clip.notes,
                        "color": clip.color,
                        "image_prompt": clip.image_prompt,
                        "video_prompt": clip.video_prompt,
                        "overlap_allowed": clip.overlap_allowed,
                        "characters": sorted(clip_characters.get(clip.id, [])),  # type: ignore[arg-type]
                        "styles": sorted(clip_styles.get(clip.id, [])),  # type: ignore[arg-type]
                        "results": [
                            {
                                "kind": item.kind,
                                "file": PurePosixPath(item.file_path).name,
                                "path": item.file_path,
                                "thumbnail": item.thumbnail_path,
                                "content_hash": item.content_hash,
                                "selected": item.selected,
                                "width": item.width,
                                "height": item.height,
                                "duration": item.duration,
                                "params": dict(item.params or {}),
                                "created_at": _time(item.created_at),
                            }
                            for item in results.get(clip.id, [])  # type: ignore[arg-type]
                        ],
                    }
                    for clip in by_scene.get(scene.id, [])  # type: ignore[arg-type]
                ],
            }
            for scene in scene_rows
        ],
        "media_assets": [
            {
                "kind": asset.kind,
                "original_name": asset.original_name,
                "mime_type": asset.mime_type,
                "size_bytes": asset.size_bytes,
                "duration": asset.duration,
                "analysis": dict(asset.analysis or {}),
                "path": asset.file_path,
            }
            for asset in assets
        ],
    }


def write_document(document: dict[str, Any]) -> bytes:
    """Compact JSON: the C encoder writes a 10,000-clip project in a blink, an indented one takes seconds."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


# --- import ------------------------------------------------------------------------------------------


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
