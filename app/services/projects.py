"""Projects: who may see them, their life cycle (archive, duplicate, delete) and their dashboard figures."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypeVar

from pydantic import ValidationError
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from data.errors import Invalid, NotFound
from data.models import Activity, Clip, GalleryItem, Project, ProjectCreate, ProjectUpdate, Scene, User
from data.models._common import utcnow
from data.words import counted

from . import events, form_errors, media_store, unreadable_rows

T = TypeVar("T")

SortKey = Literal["name", "updated", "created"]
ArchivedFilter = Literal["active", "archived", "all"]


def validation_error(error: ValidationError) -> Invalid:
    """Every problem of a pydantic error in plain words, each under its field (form_errors says how)."""
    return form_errors.invalid_from(error)


def parse_create(**values: object) -> ProjectCreate:
    try:
        return ProjectCreate(**values)  # type: ignore[arg-type]  # pydantic validates the loose values and says what is wrong
    except ValidationError as error:
        raise validation_error(error) from error


def parse_update(**values: object) -> ProjectUpdate:
    try:
        return ProjectUpdate(**values)  # type: ignore[arg-type]  # pydantic validates the loose values and says what is wrong
    except ValidationError as error:
        raise validation_error(error) from error


def _visible(actor: User):
    return select(Project) if actor.is_admin else select(Project).where(Project.owner_id == actor.id)


def get_project(session: Session, actor: User, project_id: int) -> Project:
    """Another user's project is NotFound, not Forbidden: its existence is not disclosed."""
    project = session.get(Project, project_id)
    if project is None or (project.owner_id != actor.id and not actor.is_admin):
        raise NotFound(f"Project {project_id} does not exist or is not yours.")
    return project


def get_within(session: Session, actor: User, model: type[T], row_id: int, noun: str, *, fresh: bool = False) -> T:
    """A row that belongs to a project (scene, clip, result, job, batch), for those who may see that project.

    Another user's row is NotFound like their project, with the same words whether it exists or not.
    `fresh` re-reads a row the session may hold stale (jobs and batches change in other processes)."""
    row = session.get(model, row_id, populate_existing=fresh)
    try:
        if row is None:
            raise NotFound("")
        get_project(session, actor, row.project_id)  # type: ignore[attr-defined]  # every model passed here has a project_id column
    except NotFound:
        raise NotFound(f"{noun} {row_id} does not exist or is not yours.") from None
    return row


def list_projects(
    session: Session,
    actor: User,
    *,
    text: str = "",
    tag: str | None = None,
    sort: SortKey = "updated",
    archived: ArchivedFilter = "active",
) -> unreadable_rows.Listing[Project]:
    """A row that cannot be read is set aside in `.unreadable` instead of breaking the list for everyone."""
    query = _visible(actor)
    if archived != "all":
        query = query.where(Project.archived == (archived == "archived"))
    if text.strip():
        pattern = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(Project.name).like(pattern), func.lower(Project.description).like(pattern)))
    order = {
        "name": func.lower(Project.name).asc(),
        "updated": col(Project.updated_at).desc(),
        "created": col(Project.created_at).desc(),
    }[sort]
    projects = unreadable_rows.load_each(session, query.order_by(order, col(Project.id).desc()), Project)
    if tag:
        kept = [p for p in projects if isinstance(p.tags, list) and tag.lower() in p.tags]
        return unreadable_rows.Listing(kept, projects.unreadable)
    return projects


def all_tags(session: Session, actor: User) -> list[str]:
    """Tags of the projects that can be read; a malformed tag list adds nothing."""
    tags: set[str] = set()
    for project in unreadable_rows.load_each(session, _visible(actor), Project):
        if isinstance(project.tags, list):
            tags.update(tag for tag in project.tags if isinstance(tag, str))
    return sorted(tags)


def log_activity(session: Session, project_id: int, actor: User | None, kind: str, message: str) -> None:
    session.add(Activity(project_id=project_id, user_id=actor.id if actor else None, kind=kind, message=message[:500]))


def create_project(session: Session, actor: User, data: ProjectCreate) -> Project:
    project = Project(**data.model_dump(), owner_id=actor.id)  # type: ignore[arg-type]  # a stored row's id is never None
    session.add(project)
    session.flush()
    log_activity(session, project.id, actor, "project.created", f"Created project “{project.name}”")  # type: ignore[arg-type]  # a stored row's id is never None
    session.commit()
    session.refresh(project)
    events.emit(events.project_changed, project.id)
    return project


def update_project(session: Session, actor: User, project_id: int, data: ProjectUpdate) -> Project:
    project = get_project(session, actor, project_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return project
    old_name, old_fps = project.name, project.fps
    for key, value in changes.items():
        setattr(project, key, value)
    project.updated_at = utcnow()
    session.add(project)
    if project.fps != old_fps:
        _retime_clips(session, project.id, old_fps, project.fps)  # type: ignore[arg-type]  # a stored row's id is never None
    if "archived" in changes and len(changes) == 1:
        verb = "Archived" if project.archived else "Restored"
        log_activity(session, project_id, actor, "project.archived", f"{verb} the project")
    elif "name" in changes and changes["name"] != old_name:
        log_activity(session, project_id, actor, "project.renamed", f"Renamed “{old_name}” to “{project.name}”")
    else:
        log_activity(session, project_id, actor, "project.updated", "Updated " + ", ".join(sorted(changes)))
    session.commit()
    session.refresh(project)
    events.emit(events.project_changed, project.id)
    return project


def _retime_clips(session: Session, project_id: int, old_fps: float, new_fps: float) -> None:
    """A new frame rate keeps every clip where it is in seconds, rounded to the new frames.

    Start and end are converted separately, so clips that touched still touch; a clip keeps at least one frame.
    """
    from data.frames import frame_rate

    ratio = frame_rate(new_fps) / frame_rate(old_fps)

    def convert(frame: int) -> int:
        return int((frame * ratio + Fraction(1, 2)) // 1)

    for clip in session.exec(select(Clip).where(Clip.project_id == project_id)):
        start, end = convert(clip.start_frame), convert(clip.start_frame + clip.duration_frames)
        clip.start_frame, clip.duration_frames = start, max(1, end - start)
        session.add(clip)


def set_archived(session: Session, actor: User, project_ids: list[int], archived: bool) -> int:
    """Archive or restore many at once; all are checked before any changes."""
    projects = [get_project(session, actor, pid) for pid in project_ids]
    for project in projects:
        if project.archived == archived:
            continue
        project.archived = archived
        project.updated_at = utcnow()
        session.add(project)
        verb = "Archived" if archived else "Restored"
        log_activity(session, project.id, actor, "project.archived", f"{verb} the project")  # type: ignore[arg-type]  # a stored row's id is never None
    session.commit()
    for project in projects:
        events.emit(events.project_changed, project.id)
    return len(projects)


@dataclass(frozen=True)
class DeletionSummary:
    """What a deletion removes, said in the confirmation before it happens."""

    projects: int
    scenes: int
    clips: int
    gallery_items: int

    def describe(self) -> str:
        """ "2 projects, 3 scenes, 12 clips and 40 generated results (with their files)"; zero counts left out."""
        counts = [
            (self.projects, "project"),
            (self.scenes, "scene"),
            (self.clips, "clip"),
            (self.gallery_items, "generated result"),
        ]
        parts = [counted(n, noun) for n, noun in counts if n]
        if not parts:
            return "nothing"
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return text + (" (with their files)" if self.gallery_items else "")


def deletion_summary(session: Session, actor: User, project_ids: list[int]) -> DeletionSummary:
    ids = [get_project(session, actor, pid).id for pid in project_ids]

    def count(model: type) -> int:
        return session.exec(select(func.count()).select_from(model).where(model.project_id.in_(ids))).one()  # type: ignore[attr-defined]  # every model passed here has a project_id column

    return DeletionSummary(len(ids), count(Scene), count(Clip), count(GalleryItem))


def delete_projects(session: Session, actor: User, project_ids: list[int]) -> int:
    """Rows go by the database's cascades; media files go after the commit succeeds.

    Only ids and owners are read, so a project whose other values cannot be read can still be deleted."""
    _held = unreadable_rows.load_keys(session, Project, project_ids)
    projects = [get_project(session, actor, pid) for pid in project_ids]
    ids = [p.id for p in projects]
    session.exec(sql_delete(Project).where(col(Project.id).in_(ids)))
    session.commit()
    for project_id in ids:
        media_store.remove_project_media(project_id)  # type: ignore[arg-type]  # a stored row's id is never None
        events.emit(events.project_changed, project_id)
    return len(ids)


def delete_project(session: Session, actor: User, project_id: int) -> None:
    delete_projects(session, actor, [project_id])


def duplicate_project(session: Session, actor: User, project_id: int, name: str | None = None) -> Project:
    """Copies scenes and clips (prompts, timing); generated results stay with the original."""
    source = get_project(session, actor, project_id)
    copy = Project(
        name=(name or f"{source.name} (copy)")[:200],
        description=source.description,
        fps=source.fps,
        width=source.width,
        height=source.height,
        target_duration=source.target_duration,
        tags=list(source.tags or []),
        settings=dict(source.settings or {}),
        owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
    )
    session.add(copy)
    session.flush()
    scenes = session.exec(select(Scene).where(Scene.project_id == source.id).order_by(col(Scene.position)))
    for scene in scenes:
        new_scene = Scene(
            project_id=copy.id,  # type: ignore[arg-type]  # a stored row's id is never None
            position=scene.position,
            name=scene.name,
            description=scene.description,
            estimated_duration=scene.estimated_duration,
        )
        session.add(new_scene)
        session.flush()
        for clip in session.exec(select(Clip).where(Clip.scene_id == scene.id)):
            session.add(
                Clip(
                    scene_id=new_scene.id,  # type: ignore[arg-type]  # a stored row's id is never None
                    project_id=copy.id,  # type: ignore[arg-type]  # a stored row's id is never None
                    **clip.model_dump(
                        include={
                            "start_frame",
                            "duration_frames",
                            "image_prompt",
                            "video_prompt",
                            "label",
                            "notes",
                            "color",
                            "overlap_allowed",
                        }
                    ),
                )
            )
    log_activity(session, copy.id, actor, "project.created", f"Duplicated from “{source.name}”")  # type: ignore[arg-type]  # a stored row's id is never None
    session.commit()
    session.refresh(copy)
    events.emit(events.project_changed, copy.id)
    return copy


@dataclass(frozen=True)
class ProjectStats:
    scenes: int
    clips: int
    generated_items: int
    clips_with_selection: int

    @property
    def completion_percent(self) -> float:
        """Clips that have a selected result, out of all clips."""
        return round(100.0 * self.clips_with_selection / self.clips, 1) if self.clips else 0.0


def project_stats(session: Session, actor: User, project_id: int) -> ProjectStats:
    project = get_project(session, actor, project_id)

    def count(model: type) -> int:
        return session.exec(select(func.count()).select_from(model).where(model.project_id == project.id)).one()  # type: ignore[attr-defined]  # every model passed here has a project_id column

    selected = session.exec(
        select(func.count(func.distinct(GalleryItem.clip_id))).where(
            GalleryItem.project_id == project.id,
            GalleryItem.selected == True,  # noqa: E712
        )
    ).one()
    return ProjectStats(count(Scene), count(Clip), count(GalleryItem), selected)


def recent_activity(session: Session, actor: User, project_id: int, limit: int = 20) -> list[Activity]:
    get_project(session, actor, project_id)
    return list(
        session.exec(
            select(Activity)
            .where(Activity.project_id == project_id)
            .order_by(col(Activity.created_at).desc(), col(Activity.id).desc())
            .limit(limit)
        )
    )
