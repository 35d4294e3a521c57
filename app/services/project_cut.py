"""A project's cut read from the database into the neutral export timeline (what to play, with which file).

Three grouped queries whatever the project's size (scenes, clips, selected results) plus the music, so a
10,000-clip project loads in well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from sqlmodel import Session, col, select

from app.config import get_settings
from app.exports.notes import safe_stem
from app.exports.timeline import (
    DEFAULT_START_TIMECODE,
    ExportTimeline,
    MediaPaths,
    MediaRef,
    SourceClip,
    SourceScene,
    build_timeline,
    rate_for,
)
from data.errors import Invalid
from data.models import Clip, GalleryItem, MediaAsset, Project, Scene, User

from . import projects, prompt_compose, scenes
from .editor_settings import editor_settings
from .prompt_compose import Target


def clip_label(clip: Any) -> str:
    return clip.label.strip() or f"Clip {clip.id}"


class _MediaFolder:
    """Stored paths → files on disk, with the media folder resolved once (a project has thousands of files).

    Paths that would leave the folder give None, as scenes.media_path does; the package resolves each
    file it actually reads again with scenes.media_path (which also follows symbolic links).
    """

    def __init__(self) -> None:
        self.root = str(get_settings().media_dir.resolve())  # a str: joining a Path costs a conversion per file
        self.prefix = self.root + os.sep

    def path(self, stored: str | None) -> str | None:
        if not stored:
            return None
        joined = os.path.normpath(stored if os.path.isabs(stored) else os.path.join(self.root, stored))
        return joined if joined.startswith(self.prefix) else None


def result_media(item: Any, clip_name: str, folder: _MediaFolder | None = None) -> MediaRef:
    """A selected result as a file of the cut; its package name is readable and unique (the result's id)."""
    path = (folder or _MediaFolder()).path(item.file_path)
    suffix = os.path.splitext(item.file_path)[1].lower()
    return MediaRef(
        key=f"r{item.id}",
        kind="video" if item.kind == "video" else "still",
        stored_path=item.file_path,
        path=path,
        package_name=f"media/{safe_stem(clip_name)}-{item.id}{suffix}",
        width=item.width,
        height=item.height,
        seconds=item.duration,
        exists=path is not None and os.path.isfile(path),
    )


def music_media(session: Session, project_id: int) -> MediaRef | None:
    """The project's music track: its newest uploaded music file."""
    asset = session.exec(
        select(MediaAsset)
        .where(MediaAsset.project_id == project_id, MediaAsset.kind == "music")
        .order_by(col(MediaAsset.created_at).desc(), col(MediaAsset.id).desc())
    ).first()
    if asset is None:
        return None
    resolved = scenes.media_path(asset.file_path)
    path = str(resolved) if resolved is not None else None
    suffix = PurePosixPath(asset.original_name or asset.file_path).suffix.lower() or ".wav"
    stem = safe_stem(PurePosixPath(asset.original_name).stem if asset.original_name else "music", "music")
    return MediaRef(
        key=f"m{asset.id}",
        kind="audio",
        stored_path=asset.file_path,
        path=path,
        package_name=f"music/{stem}-{asset.id}{suffix}",
        seconds=asset.duration,
        exists=resolved is not None and resolved.is_file(),
    )


_RESULT_COLUMNS = (
    GalleryItem.id,
    GalleryItem.clip_id,
    GalleryItem.kind,
    GalleryItem.file_path,
    GalleryItem.width,
    GalleryItem.height,
    GalleryItem.duration,
    GalleryItem.params,
)
_CLIP_COLUMNS = (
    Clip.id,
    Clip.scene_id,
    Clip.start_frame,
    Clip.duration_frames,
    Clip.label,
    Clip.image_prompt,
    Clip.video_prompt,
    Clip.notes,
)


def selected_results(session: Session, project_id: int) -> dict[int, Any]:
    """Clip id → the result the cut plays: its selected video, else its selected image (newest wins a tie).

    Rows of columns rather than entities: building 10,000 ORM objects would cost more than the export.
    """
    rows: Sequence[Any] = session.exec(
        select(*_RESULT_COLUMNS)  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        .where(GalleryItem.project_id == project_id, GalleryItem.selected == True)  # noqa: E712
        .order_by(col(GalleryItem.created_at), col(GalleryItem.id))
    ).all()
    chosen: dict[int, Any] = {}
    for item in rows:
        current = chosen.get(item.clip_id)
        if current is None or current.kind != "video" or item.kind == "video":
            chosen[item.clip_id] = item
    return chosen


def _check_scope(
    session: Session, project: Project, scene_id: int | None, clip_ids: Iterable[int] | None
) -> list[int] | None:
    if scene_id is not None and clip_ids is not None:
        raise Invalid("Choose one scope: a scene or some clips, not both.", field="scope")
    if scene_id is not None:
        scene = session.get(Scene, scene_id)
        if scene is None or scene.project_id != project.id:
            raise Invalid(f"Scene {scene_id} is not a scene of this project.", field="scope.scene_id")
    if clip_ids is None:
        return None
    wanted = list(dict.fromkeys(clip_ids))
    if not wanted:
        raise Invalid("Choose at least one clip, or leave the clip scope out to export everything.", field="scope")
    found = set(session.exec(select(Clip.id).where(Clip.project_id == project.id, col(Clip.id).in_(wanted))).all())
    strangers = [clip_id for clip_id in wanted if clip_id not in found]
    if strangers:
        raise Invalid("Not clips of this project: " + ", ".join(map(str, strangers)) + ".", field="scope.clip_ids")
    return wanted


def _as_sent(text: str, scene: Scene | None, clip: Any, project: Project, target: Target, index: int) -> str:
    """The prompt as generating sends it (variables filled, fragments added), for the editor's notes; a prompt
    that cannot be composed (an unknown variable) is noted as written."""
    if not text:
        return text
    try:
        return prompt_compose.compose(text, scene, clip, project, target=target, clip_index=index)
    except Invalid:
        return text


def load_cut(
    session: Session,
    actor: User,
    project_id: int,
    *,
    scene_id: int | None = None,
    clip_ids: Iterable[int] | None = None,
    frame_rate: str | float | None = None,
    width: int | None = None,
    height: int | None = None,
    start_timecode: str | None = None,
    drop_frame: bool | None = None,
    media_paths: MediaPaths = "absolute",
    include_metadata: bool = True,
    codec_hint: str = "",
) -> ExportTimeline:
    """The project's cut (or one scene's, or some clips') as an export timeline; NotFound for others' projects."""
    project = projects.get_project(session, actor, project_id)
    chosen = _check_scope(session, project, scene_id, clip_ids)
    source_rate = rate_for(project.fps)
    rate = rate_for(frame_rate) if frame_rate is not None else source_rate
    if drop_frame is None:
        drop_frame = editor_settings(project).drop_frame and rate.supports_drop_frame
    scene_query = select(Scene).where(Scene.project_id == project.id)
    if scene_id is not None:
        scene_query = scene_query.where(Scene.id == scene_id)
    scene_rows = session.exec(scene_query.order_by(col(Scene.position), col(Scene.id))).all()
    clip_query = select(*_CLIP_COLUMNS).where(Clip.project_id == project.id)  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
    if scene_id is not None:
        clip_query = clip_query.where(Clip.scene_id == scene_id)
    clip_rows: Sequence[Any] = session.exec(
        clip_query.order_by(col(Clip.scene_id), col(Clip.start_frame), col(Clip.id))
    ).all()
    results = selected_results(session, project.id)  # type: ignore[arg-type]  # a stored row's id is never None
    folder = _MediaFolder()
    by_scene: dict[int, list[SourceClip]] = {}
    scene_of = {scene.id: scene for scene in scene_rows}
    for clip in clip_rows:
        name = clip_label(clip)
        index = len(by_scene.get(clip.scene_id, ())) + 1  # rows come by scene, then start: the timeline's order
        image_prompt, video_prompt = (
            _as_sent(clip.image_prompt, scene_of.get(clip.scene_id), clip, project, "image", index),
            _as_sent(clip.video_prompt, scene_of.get(clip.scene_id), clip, project, "video", index),
        )
        item = results.get(clip.id)
        by_scene.setdefault(clip.scene_id, []).append(
            SourceClip(
                clip_id=clip.id,
                start=clip.start_frame,
                duration=clip.duration_frames,
                name=name,
                media=result_media(item, name, folder) if item is not None else None,
                image_prompt=image_prompt,
                video_prompt=video_prompt,
                notes=clip.notes,
                params=dict(item.params or {}) if item is not None else {},
            )
        )
    sources = [
        SourceScene(scene.id, scene.name, tuple(by_scene.get(scene.id, ())))  # type: ignore[arg-type]  # a stored row's id is never None
        for scene in scene_rows
    ]
    whole = scene_id is None and chosen is None
    music = music_media(session, project.id)  # type: ignore[arg-type]  # a stored row's id is never None
    name = project.name
    if scene_id is not None and scene_rows:
        name = f"{project.name} – {scene_rows[0].name}"
    elif chosen is not None:
        name = f"{project.name} – selected clips"
    timeline = build_timeline(
        name,
        sources,
        source_rate=source_rate,
        rate=rate,
        width=width or project.width,
        height=height or project.height,
        clip_ids=chosen,
        start_timecode=start_timecode or DEFAULT_START_TIMECODE,
        drop_frame=drop_frame,
        music=music if whole else None,
        media_paths=media_paths,
        include_metadata=include_metadata,
        codec_hint=codec_hint,
        project_id=project.id,
    )
    if music is not None and not whole:
        note = "The music track goes with whole-project exports only; this part of the cut is written without it."
        timeline = replace(timeline, warnings=(*timeline.warnings, note))
    return timeline
