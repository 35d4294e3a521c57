"""The whole project as one JSON document (schema "storycanvas.project", version 1); project_import reads it back.

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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlmodel import Session, col, select

from app import __version__
from data import frames
from data.models import (
    Character,
    Clip,
    ClipCharacterLink,
    ClipStyleLink,
    GalleryItem,
    MediaAsset,
    Scene,
    StyleTemplate,
    User,
)

from . import projects

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
    clip_rows: Sequence[Any] = session.exec(
        select(*_CLIP_COLUMNS)  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        .where(Clip.project_id == project.id)
        .order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    result_rows: Sequence[Any] = session.exec(
        select(*_RESULT_COLUMNS)  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        .where(GalleryItem.project_id == project.id)
        .order_by(col(GalleryItem.created_at), col(GalleryItem.id))
    ).all()
    results: dict[int, list[Any]] = {}
    for item in result_rows:
        results.setdefault(item.clip_id, []).append(item)
    in_project = select(Clip.id).where(Clip.project_id == project.id)
    character_links = session.exec(
        select(ClipCharacterLink).where(col(ClipCharacterLink.clip_id).in_(in_project))
    ).all()
    style_links = session.exec(select(ClipStyleLink).where(col(ClipStyleLink.clip_id).in_(in_project))).all()
    used_characters = {link.character_id for link in character_links}
    used_styles = {link.style_id for link in style_links}
    characters = session.exec(
        select(Character).where((col(Character.project_id) == project.id) | col(Character.id).in_(used_characters))
    ).all()
    styles = session.exec(
        select(StyleTemplate).where(
            (col(StyleTemplate.project_id) == project.id) | col(StyleTemplate.id).in_(used_styles)
        )
    ).all()
    character_keys = _keys(list(characters), "c", project.id)  # type: ignore[arg-type]  # a stored row's id is never None
    style_keys = _keys(list(styles), "s", project.id)  # type: ignore[arg-type]  # a stored row's id is never None
    clip_characters: dict[int, list[str]] = {}
    for link in character_links:
        clip_characters.setdefault(link.clip_id, []).append(character_keys[link.character_id])
    clip_styles: dict[int, list[str]] = {}
    for style_link in style_links:
        clip_styles.setdefault(style_link.clip_id, []).append(style_keys[style_link.style_id])
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
                "key": character_keys[row.id],  # type: ignore[index]  # a stored row's id is never None
                "scope": "global" if row.project_id is None else "project",
                "name": row.name,
                "description": row.description,
                "prompt": row.prompt,
                "negative_prompt": row.negative_prompt,
            }
            for row in sorted(characters, key=lambda row: character_keys[row.id])  # type: ignore[index]  # a stored row's id is never None
        ],
        "styles": [
            {
                "key": style_keys[row.id],  # type: ignore[index]  # a stored row's id is never None
                "scope": "global" if row.project_id is None else "project",
                "name": row.name,
                "description": row.description,
                "prompt_prefix": row.prompt_prefix,
                "prompt_suffix": row.prompt_suffix,
                "negative_prompt": row.negative_prompt,
                "params": dict(row.params or {}),
            }
            for row in sorted(styles, key=lambda row: style_keys[row.id])  # type: ignore[index]  # a stored row's id is never None
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
                        "characters": sorted(clip_characters.get(clip.id, [])),
                        "styles": sorted(clip_styles.get(clip.id, [])),
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
                            for item in results.get(clip.id, [])
                        ],
                    }
                    for clip in by_scene.get(scene.id, [])  # type: ignore[arg-type]  # a stored row's id is never None
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
