"""Scenes of a project: their order (gap-free and unique under concurrent edits), copies, and deletion with files.

Also holds what the timeline services share: the per-project edit lock, the roll-back-on-error
wrapper, activity logging that folds repeated timeline edits, and safe handling of result files.
"""

from __future__ import annotations

import functools
import math
import shutil
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import func, inspect
from sqlmodel import Session, col, select

from app.config import get_settings
from data.errors import Invalid, NotFound
from data.models import (
    SCENE_DESCRIPTION_MAX,
    SCENE_NAME_MAX,
    Activity,
    Clip,
    ClipCharacterLink,
    ClipPromptVersion,
    ClipStyleLink,
    GalleryItem,
    Project,
    Scene,
    User,
)
from data.models._common import utcnow

from . import events, media_store, projects

MAX_NAME = SCENE_NAME_MAX
MAX_DESCRIPTION = SCENE_DESCRIPTION_MAX
MAX_ESTIMATE_SECONDS = 36000.0
_FOLD_WINDOW = timedelta(minutes=10)

P = ParamSpec("P")
R = TypeVar("R")


def atomic(function: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Nothing half-applied: any error rolls the session back, which also frees the project lock."""

    @functools.wraps(function)
    def wrapper(session: Session, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(session, *args, **kwargs)
        except BaseException:
            session.rollback()
            raise

    return wrapper


def lock_project(session: Session, project_id: int) -> Project:
    """Serialise edits of one project's scenes and clips until commit or rollback.

    PostgreSQL: a row lock on the project (SELECT … FOR NO KEY UPDATE, which leaves the foreign-key
    checks of other inserts alone). SQLite has no row locks and starts its write transaction only at
    the first write, so the flushed touch of updated_at takes its database-wide write lock: another
    editor waits there, and every read after it sees the others' committed edits.
    """
    query = select(Project).where(Project.id == project_id).with_for_update(key_share=True)
    project = session.exec(query.execution_options(populate_existing=True)).first()
    if project is None:  # deleted since the caller looked it up
        raise NotFound(f"Project {project_id} does not exist any more.")
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project


def log_edit(session: Session, project_id: int, actor: User | None, kind: str, message: str) -> None:
    """An activity entry; the same edit repeated by the same person within minutes updates one entry."""
    latest = session.exec(
        select(Activity)
        .where(Activity.project_id == project_id)
        .order_by(col(Activity.created_at).desc(), col(Activity.id).desc())
        .limit(1)
    ).first()
    if latest is not None and (latest.user_id, latest.kind, latest.message) == (
        actor.id if actor else None,
        kind,
        message[:500],
    ):
        created = latest.created_at if latest.created_at.tzinfo else latest.created_at.replace(tzinfo=UTC)
        if utcnow() - created < _FOLD_WINDOW:
            latest.created_at = utcnow()
            session.add(latest)
            return
    projects.log_activity(session, project_id, actor, kind, message)


# --- result files ---------------------------------------------------------------------------------


def media_path(stored: str | None) -> Path | None:
    """A result file on disk: relative paths are under the media folder, absolute ones are taken as
    they are. None when the path would leave the media folder: such files are never touched."""
    if not stored:
        return None
    root = get_settings().media_dir.resolve()
    path = Path(stored)
    try:
        resolved = (path if path.is_absolute() else root / path).resolve()
    except (OSError, RuntimeError):
        return None
    return resolved if resolved != root and resolved.is_relative_to(root) else None


def result_paths(items: Iterable[GalleryItem]) -> set[str]:
    return {path for item in items for path in (item.file_path, item.thumbnail_path) if path}


def remove_result_files(session: Session, paths: Iterable[str]) -> None:
    """After the rows are gone: delete files no remaining result still points to, inside the media folder only."""
    for stored in set(paths):
        still_used = session.exec(
            select(func.count())
            .select_from(GalleryItem)
            .where((col(GalleryItem.file_path) == stored) | (col(GalleryItem.thumbnail_path) == stored))
        ).one()
        path = media_path(stored)
        if not still_used and path is not None and path.is_file():
            path.unlink(missing_ok=True)


def copy_result_file(stored: str | None, project_id: int, clip_id: int, created: list[Path]) -> str | None:
    """Copy a result file into the clip's folder; returns the new path relative to the media folder."""
    source = media_path(stored)
    if source is None or not source.is_file():
        return None
    folder = media_store.project_media_dir(project_id) / "clips" / str(clip_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex[:8]}-{source.name}"
    shutil.copy2(source, target)
    created.append(target)
    return target.relative_to(get_settings().media_dir).as_posix()


def forget_deleted(session: Session, clip_ids: Iterable[int]) -> None:
    """Drop rows the database removed by cascade from the session, so a later get() cannot return them.
    Reads only what is loaded: touching an expired attribute would query a row that is gone."""
    ids = set(clip_ids)
    for key, obj in list(session.identity_map.items()):  # type: ignore[attr-defined]  # a session's map is a WeakInstanceDict, which has items()
        model, primary_key = key[0], key[1]
        if (model is Clip and primary_key[0] in ids) or (
            model in (GalleryItem, ClipCharacterLink, ClipStyleLink, ClipPromptVersion)
            and inspect(obj).dict.get("clip_id") in ids
        ):
            session.expunge(obj)


def copy_clip_links(session: Session, source_id: int, target_id: int) -> None:
    """The characters and styles a clip uses go with its copy."""
    for link in session.exec(select(ClipCharacterLink).where(ClipCharacterLink.clip_id == source_id)).all():
        session.add(ClipCharacterLink(clip_id=target_id, character_id=link.character_id))
    for style in session.exec(select(ClipStyleLink).where(ClipStyleLink.clip_id == source_id)).all():
        session.add(ClipStyleLink(clip_id=target_id, style_id=style.style_id))


# --- scenes ---------------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("Give the scene a name.", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"A scene name is at most {MAX_NAME} characters.", field="name")
    return name


def _clean_description(description: str) -> str:
    if len(description or "") > MAX_DESCRIPTION:
        raise Invalid(f"A scene description is at most {MAX_DESCRIPTION} characters.", field="description")
    return description or ""


def _clean_estimate(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise Invalid("The estimated duration is a number of seconds.", field="estimated_duration")
    if not 0 < seconds <= MAX_ESTIMATE_SECONDS:
        raise Invalid("The estimated duration is between 0 and 36000 seconds.", field="estimated_duration")
    return float(seconds)


def _ordered(session: Session, project_id: int) -> list[Scene]:
    query = select(Scene).where(Scene.project_id == project_id).order_by(col(Scene.position), col(Scene.id))
    return list(session.exec(query.execution_options(populate_existing=True)))


def _renumber(scenes: list[Scene]) -> None:
    for index, scene in enumerate(scenes):
        if scene.position != index:
            scene.position = index
            scene.updated_at = utcnow()


def _finish(session: Session, project_id: int) -> None:
    session.commit()
    events.emit(events.project_changed, project_id)


def list_scenes(session: Session, actor: User, project_id: int) -> list[Scene]:
    """A project's scenes in their order."""
    projects.get_project(session, actor, project_id)
    return list(
        session.exec(select(Scene).where(Scene.project_id == project_id).order_by(col(Scene.position), col(Scene.id)))
    )


def get_scene(session: Session, actor: User, scene_id: int) -> Scene:
    """Another user's scene is NotFound, like their project; admins see all."""
    return projects.get_within(session, actor, Scene, scene_id, "Scene")


@atomic
def create_scene(
    session: Session,
    actor: User,
    project_id: int,
    name: str,
    description: str = "",
    estimated_duration: float | None = None,
) -> Scene:
    """Appended last; positions stay 0..n-1 because the project is locked while they are counted."""
    projects.get_project(session, actor, project_id)
    name, description = _clean_name(name), _clean_description(description)
    estimate = None if estimated_duration is None else _clean_estimate(estimated_duration)
    lock_project(session, project_id)
    existing = _ordered(session, project_id)
    _renumber(existing)
    scene = Scene(
        project_id=project_id, position=len(existing), name=name, description=description, estimated_duration=estimate
    )
    session.add(scene)
    projects.log_activity(session, project_id, actor, "scene.created", f"Added scene “{name}”")
    _finish(session, project_id)
    return scene


@atomic
def update_scene(
    session: Session,
    actor: User,
    scene_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    estimated_duration: float | None = None,
    clear_estimated_duration: bool = False,
) -> Scene:
    """Only the given fields change (None leaves a field alone; clear_estimated_duration empties the estimate)."""
    scene = get_scene(session, actor, scene_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if description is not None:
        changes["description"] = _clean_description(description)
    if clear_estimated_duration:
        changes["estimated_duration"] = None
    elif estimated_duration is not None:
        changes["estimated_duration"] = _clean_estimate(estimated_duration)
    changes = {key: value for key, value in changes.items() if getattr(scene, key) != value}
    if not changes:
        return scene
    old_name = scene.name
    for key, value in changes.items():
        setattr(scene, key, value)
    scene.updated_at = utcnow()
    session.add(scene)
    if "name" in changes:
        message = f"Renamed scene “{old_name}” to “{scene.name}”"
    else:
        message = f"Updated scene “{scene.name}”: " + ", ".join(sorted(changes)).replace("_", " ")
    projects.log_activity(session, scene.project_id, actor, "scene.updated", message)
    _finish(session, scene.project_id)
    return scene


@atomic
def reorder_scenes(session: Session, actor: User, project_id: int, scene_ids: list[int]) -> list[Scene]:
    """The new order must name exactly the project's scenes, each once; positions become 0..n-1."""
    projects.get_project(session, actor, project_id)
    lock_project(session, project_id)
    scenes = {scene.id: scene for scene in _ordered(session, project_id)}
    repeated = sorted({sid for sid in scene_ids if scene_ids.count(sid) > 1})
    missing = [sid for sid in scenes if sid not in scene_ids]
    extra = [sid for sid in dict.fromkeys(scene_ids) if sid not in scenes]
    problems = []
    if missing:
        problems.append("missing scene " + ", ".join(map(str, missing)))
    if extra:
        problems.append("not scenes of this project: " + ", ".join(map(str, extra)))
    if repeated:
        problems.append("listed more than once: " + ", ".join(map(str, repeated)))
    if problems:
        raise Invalid(
            "The new order must list every scene of the project once; " + "; ".join(problems) + ".", field="scene_ids"
        )
    ordered = [scenes[sid] for sid in scene_ids]
    _renumber(ordered)
    projects.log_activity(session, project_id, actor, "scene.reordered", "Reordered the scenes")
    _finish(session, project_id)
    return ordered


@atomic
def move_scene(session: Session, actor: User, scene_id: int, delta: int) -> list[Scene]:
    """One step up (-1) or down (+1), clamped at either end; returns the scenes in their new order."""
    scene = get_scene(session, actor, scene_id)
    lock_project(session, scene.project_id)
    ordered = _ordered(session, scene.project_id)
    index = ordered.index(scene)
    target = min(max(index + int(delta), 0), len(ordered) - 1)
    ordered.insert(target, ordered.pop(index))
    _renumber(ordered)
    if target != index:
        direction = "up" if target < index else "down"
        message = f"Moved scene “{scene.name}” {direction}"
        projects.log_activity(session, scene.project_id, actor, "scene.reordered", message)
    _finish(session, scene.project_id)
    return ordered


def _copy_results(session: Session, source: Clip, target: Clip, created: list[Path]) -> None:
    items = session.exec(
        select(GalleryItem).where(GalleryItem.clip_id == source.id).order_by(col(GalleryItem.created_at))
    ).all()
    for item in items:
        file_path = copy_result_file(item.file_path, target.project_id, target.id, created)  # type: ignore[arg-type]  # a stored row's id is never None
        if file_path is None:  # the original file is gone or outside the media folder: nothing to copy
            continue
        session.add(
            GalleryItem(
                clip_id=target.id,  # type: ignore[arg-type]  # a stored row's id is never None
                project_id=target.project_id,
                **item.model_dump(include={"kind", "width", "height", "duration", "selected", "created_at"}),
                params=dict(item.params or {}),
                file_path=file_path,
                thumbnail_path=copy_result_file(item.thumbnail_path, target.project_id, target.id, created),  # type: ignore[arg-type]  # a stored row's id is never None
            )
        )


@atomic
def duplicate_scene(session: Session, actor: User, scene_id: int, include_results: bool = False) -> Scene:
    """A copy right after the original with all its clips; results (and copies of their files) only if asked."""
    source = get_scene(session, actor, scene_id)
    lock_project(session, source.project_id)
    ordered = _ordered(session, source.project_id)
    copy = Scene(
        project_id=source.project_id,
        name=f"{source.name} (copy)"[:MAX_NAME],
        description=source.description,
        estimated_duration=source.estimated_duration,
    )
    session.add(copy)
    ordered.insert(ordered.index(source) + 1, copy)
    _renumber(ordered)
    session.flush()
    created_files: list[Path] = []
    try:
        query = select(Clip).where(Clip.scene_id == source.id).order_by(col(Clip.start_frame), col(Clip.id))
        for clip in session.exec(query).all():
            fields = clip.model_dump(exclude={"id", "scene_id", "created_at", "updated_at"})
            new_clip = Clip(**fields, scene_id=copy.id)  # type: ignore[arg-type]  # a stored row's id is never None
            session.add(new_clip)
            session.flush()
            copy_clip_links(session, clip.id, new_clip.id)  # type: ignore[arg-type]  # a stored row's id is never None
            if include_results:
                _copy_results(session, clip, new_clip, created_files)
        message = f"Duplicated scene “{source.name}”" + (" with its results" if include_results else "")
        projects.log_activity(session, source.project_id, actor, "scene.created", message)
        session.commit()
    except BaseException:
        for path in created_files:
            path.unlink(missing_ok=True)
        raise
    events.emit(events.project_changed, source.project_id)
    return copy


def scene_deletion_summary(session: Session, actor: User, scene_id: int) -> projects.DeletionSummary:
    """What deleting the scene removes, for the confirmation: "1 scene, 4 clips and 3 generated results…"."""
    scene = get_scene(session, actor, scene_id)
    clip_ids = select(Clip.id).where(Clip.scene_id == scene.id)
    clips = session.exec(select(func.count()).select_from(Clip).where(Clip.scene_id == scene.id)).one()
    items = session.exec(
        select(func.count()).select_from(GalleryItem).where(col(GalleryItem.clip_id).in_(clip_ids))
    ).one()
    return projects.DeletionSummary(projects=0, scenes=1, clips=clips, gallery_items=items)


@atomic
def delete_scene(session: Session, actor: User, scene_id: int) -> None:
    """Clips and results go by the database's cascades, their files after the commit; positions close up."""
    scene = get_scene(session, actor, scene_id)
    project_id, name = scene.project_id, scene.name
    lock_project(session, project_id)
    clip_ids = list(session.exec(select(Clip.id).where(Clip.scene_id == scene.id)).all())
    paths = result_paths(session.exec(select(GalleryItem).where(col(GalleryItem.clip_id).in_(clip_ids))).all())
    session.delete(scene)
    session.flush()
    forget_deleted(session, clip_ids)  # type: ignore[arg-type]  # ids of stored clips are never None
    _renumber(_ordered(session, project_id))
    projects.log_activity(session, project_id, actor, "scene.deleted", f"Deleted scene “{name}”")
    session.commit()
    remove_result_files(session, paths)
    events.emit(events.project_changed, project_id)


def scene_duration_frames(session: Session, scene: Scene) -> int:
    """A scene lasts until the end of its last-ending clip (0 without clips)."""
    end = session.exec(
        select(func.max(col(Clip.start_frame) + col(Clip.duration_frames))).where(Clip.scene_id == scene.id)
    ).one()
    return int(end or 0)
